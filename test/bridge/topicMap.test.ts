// Bridge topic lines and remapping, from the table and rules in mosquitto.conf(5) ("topic
// pattern [[[ out | in | both ] qos-level] local-prefix remote-prefix]").
import { describe, expect, test } from "vitest";
import {
  BridgeTopic,
  Direction,
  TopicLineStatus,
  bridgeTopicInit,
  inAccepted,
  mapIn,
  mapOut,
  newBridgeTopic,
  outQos,
} from "../../src/bridge/topicMap";

function line(pattern: string, direction: Direction, qos: number, localPrefix = "", remotePrefix = ""): BridgeTopic {
  const t = newBridgeTopic();
  const st = bridgeTopicInit(t, pattern, direction, qos, localPrefix, remotePrefix);
  if (st !== TopicLineStatus.OK) throw new Error(`topic line ${pattern} ${localPrefix} ${remotePrefix}: status ${st}`);
  return t;
}

describe("the man page's remapping table", () => {
  // [pattern, local prefix, remote prefix, validity, full local topic, full remote topic]; "" = the "" marker.
  const TABLE: Array<[string, string, string, TopicLineStatus, string, string]> = [
    ["pattern", "L/", "R/", TopicLineStatus.OK, "L/pattern", "R/pattern"],
    ["pattern", "L/", "", TopicLineStatus.OK, "L/pattern", "pattern"],
    ["pattern", "", "R/", TopicLineStatus.OK, "pattern", "R/pattern"],
    ["pattern", "", "", TopicLineStatus.OK, "pattern", "pattern"],
    ["", "local", "remote", TopicLineStatus.OK, "local", "remote"],
    ["", "local", "", TopicLineStatus.BAD_REMAPPING, "", ""],
    ["", "", "remote", TopicLineStatus.BAD_REMAPPING, "", ""],
    ["", "", "", TopicLineStatus.BAD_REMAPPING, "", ""],
  ];
  for (const [pattern, lp, rp, validity, local, remote] of TABLE) {
    test(`pattern '${pattern}' local '${lp}' remote '${rp}': ${validity === TopicLineStatus.OK ? `${local} <-> ${remote}` : "invalid"}`, () => {
      const t = newBridgeTopic();
      expect(bridgeTopicInit(t, pattern, Direction.BOTH, 0, lp, rp)).toBe(validity);
      if (validity !== TopicLineStatus.OK) return;
      expect([t.localTopic, t.remoteTopic]).toEqual([local, remote]);
      // "if you publish to L/topic on the local broker, then the remote broker will receive a message on the topic R/topic"
      expect(mapOut([t], 1, local)).toBe(remote);
      expect(mapIn([t], 1, remote)).toBe(local);
    });
  }

  test("topic # both 2 local/topic/ remote/topic/ remaps the whole tree", () => {
    const t = line("#", Direction.BOTH, 2, "local/topic/", "remote/topic/");
    expect(outQos([t], 1, "local/topic/a/b")).toBe(2);
    expect(mapOut([t], 1, "local/topic/a/b")).toBe("remote/topic/a/b");
    expect(mapIn([t], 1, "remote/topic/x")).toBe("local/topic/x");
    expect(outQos([t], 1, "other/a")).toBe(-1);
    expect(inAccepted([t], 1, "other/a")).toBe(false);
  });

  test("the man page example: topic clients/total in 0 test/mosquitto/org/ $SYS/broker/", () => {
    const t = line("clients/total", Direction.IN, 0, "test/mosquitto/org/", "$SYS/broker/");
    expect(t.remoteTopic).toBe("$SYS/broker/clients/total");
    expect(inAccepted([t], 1, "$SYS/broker/clients/total")).toBe(true);
    expect(mapIn([t], 1, "$SYS/broker/clients/total")).toBe("test/mosquitto/org/clients/total");
    expect(outQos([t], 1, "test/mosquitto/org/clients/total")).toBe(-1); // in only
  });
});

describe("topic line validity", () => {
  const BAD: Array<[string, string, string, TopicLineStatus]> = [
    ["a/#", "L/+/", "", TopicLineStatus.BAD_LOCAL_PREFIX],
    ["a/#", "", "R/#", TopicLineStatus.BAD_REMOTE_PREFIX],
    ["#", "L", "", TopicLineStatus.BAD_PATTERN], // "L#" is not a filter
    ["a/#/b", "", "", TopicLineStatus.BAD_PATTERN],
    ["a+", "", "", TopicLineStatus.BAD_PATTERN],
  ];
  for (const [pattern, lp, rp, status] of BAD) {
    test(`'${pattern}' '${lp}' '${rp}' is refused (${status})`, () => {
      expect(bridgeTopicInit(newBridgeTopic(), pattern, Direction.OUT, 0, lp, rp)).toBe(status);
    });
  }
  test("QoS and direction are checked", () => {
    expect(bridgeTopicInit(newBridgeTopic(), "a", Direction.OUT, 3, "", "")).toBe(TopicLineStatus.BAD_QOS);
    expect(bridgeTopicInit(newBridgeTopic(), "a", 0, 0, "", "")).toBe(TopicLineStatus.BAD_DIRECTION);
  });
});

describe("directions, QoS and which line maps", () => {
  test("out lines send, in lines receive, both do both", () => {
    const lines = [line("o/#", Direction.OUT, 1), line("i/#", Direction.IN, 1), line("b/#", Direction.BOTH, 1)];
    expect([outQos(lines, 3, "o/x"), outQos(lines, 3, "i/x"), outQos(lines, 3, "b/x")]).toEqual([1, -1, 1]);
    expect([inAccepted(lines, 3, "o/x"), inAccepted(lines, 3, "i/x"), inAccepted(lines, 3, "b/x")]).toEqual([false, true, true]);
  });

  test("overlapping out lines: one copy at the highest line QoS", () => {
    const lines = [line("a/#", Direction.OUT, 0), line("a/b", Direction.OUT, 2), line("+/b", Direction.OUT, 1)];
    expect(outQos(lines, 3, "a/b")).toBe(2);
    expect(outQos(lines, 3, "a/c")).toBe(0);
    expect(outQos(lines, 3, "z/b")).toBe(1);
  });

  test("the first matching line with a prefix maps (lines without prefixes are skipped)", () => {
    const lines = [line("s/#", Direction.OUT, 0), line("#", Direction.OUT, 0, "", "edge1/"), line("#", Direction.OUT, 0, "", "edge2/")];
    expect(mapOut(lines, 3, "s/t")).toBe("edge1/s/t");
  });

  test("a prefix is removed only where the topic starts with it", () => {
    // "L/#" also matches the parent level "L", which does not start with "L/".
    const t = line("#", Direction.BOTH, 0, "L/", "R/");
    expect(mapOut([t], 1, "L")).toBe("R/L");
    expect(mapIn([t], 1, "R")).toBe("L/R");
  });

  test("a mapping can end in an empty topic, which the bridge refuses to publish", () => {
    const t = line("#", Direction.OUT, 0, "L/", "");
    expect(mapOut([t], 1, "L/")).toBe("");
  });

  test("wildcards at the start do not match $ topics (MQTT-4.7.2-1)", () => {
    const t = line("#", Direction.BOTH, 0);
    expect(outQos([t], 1, "$SYS/broker/uptime")).toBe(-1);
    expect(inAccepted([t], 1, "$SYS/broker/uptime")).toBe(false);
  });
});
