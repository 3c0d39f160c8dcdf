// MQTT 5.0 SUBSCRIBE, UNSUBSCRIBE and topic matching through the in-memory transport:
// statements of docs/spec/mqtt-5.0.md §2.8-2.11, §3.7 and §3.8 not covered by mqtt5.test.ts or
// shared.test.ts. Titles name the ids they check.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { harness, pkt } from "../broker/harness";
import { p5, take5, types, v5, CONNACK, DISCONNECT, PUBACK, PUBLISH, SUBACK, UNSUBACK, connected, payloadOf, rawPacket, rawStr } from "./harness5";

type H = ReturnType<typeof harness>;
type Rec = Record<string, unknown>;

function expectDisconnect(h: H, c: number, code: number): void {
  expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: code, props: {} }]);
  expect(h.isClosed(c)).toBe(true);
}

/** Which of the topics reach a subscriber of filter. */
function matching(filter: string, topics: string[]): string[] {
  const h = harness();
  const s = connected(h, "s");
  h.send(s, p5.subscribe(1, [[filter, 0]]));
  expect(take5(h, s)).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [0], props: {} }]);
  const p = connected(h, "p");
  for (const t of topics) h.send(p, p5.publish(t, t));
  return take5(h, s).map((r) => r.topic as string);
}

describe("MQTT 5.0 SUBSCRIBE", () => {
  test("[MQTT-3.8.1-1] SUBSCRIBE flags other than 0010 are malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, rawPacket(0x80, [0, 1, 0, ...rawStr("t"), 0]));
    expectDisconnect(h, c, 0x81);
  });

  test("[MQTT-3.8.3-1] a topic filter that is not UTF-8 is malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, rawPacket(0x82, [0, 1, 0, ...rawStr([0x74, 0xc3]), 0]));
    expectDisconnect(h, c, 0x81);
  });

  test("[MQTT-3.8.3-2] a SUBSCRIBE without filters is a Protocol Error: DISCONNECT 0x82", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, rawPacket(0x82, [0, 1, 0]));
    expectDisconnect(h, c, 0x82);
  });

  test("[MQTT-3.8.4-2, MQTT-2.2.1-6, SRV5-SUB-13, SRV5-SUB-2] a SUBSCRIBE (User Properties allowed) is answered by a SUBACK with its id, a Property Length and one code per filter", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(0x1234, [["a", 0], ["b", 1], ["c", 2]], { userProperties: [["k", "v"]] }));
    expect(h.take(c)).toEqual(["9006123400000102"]);
  });

  test("[MQTT-3.8.4-5, SRV5-V311-18] filters of one SUBSCRIBE are handled in order as separate requests: a repeat replaces the earlier one, one SUBACK", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["t", 0], ["t", 1, true, true, 2]]));
    expect(take5(h, c)).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [0, 1], props: {} }]);
    expect(h.broker.stats.subscriptions).toBe(1);
    h.send(c, p5.publish("t", "own", { qos: 1, id: 5, retain: true }));
    expect(take5(h, c)).toEqual([{ type: PUBACK, packetId: 5, reasonCode: 0, props: {} }]); // No Local from the second
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x", { qos: 1, id: 1, retain: true }));
    const got = take5(h, c);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ qos: 1, retain: true }); // QoS 1 and Retain As Published from the second
  });

  test("[SRV5-SUB-5] retained messages follow the SUBACK, and the subscription is in place when they go out", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("r/1", "a", { retain: true }) + p5.publish("r/2", "b", { retain: true }));
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["r/+", 1]]));
    h.send(p, p5.publish("r/3", "live"));
    const out = take5(h, c);
    expect(types(out)).toEqual([SUBACK, PUBLISH, PUBLISH, PUBLISH]);
    expect(out.slice(1).map(payloadOf).sort()).toEqual(["a", "b", "live"]);
  });

  test("[SRV5-SUB-9, SRV5-SUB-8] a PUBLISH resent after its subscription's identifier changed carries the old or the new identifier", () => {
    const h = harness();
    const c = connected(h, "c", { props: { sessionExpiryInterval: 60 } });
    h.send(c, p5.subscribe(1, [["t", 1]], { subscriptionIds: [1] }));
    take5(h, c);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x", { qos: 1, id: 1 }));
    const first = take5(h, c);
    expect((first[0].props as Rec).subscriptionIds).toEqual([1]);
    h.send(c, p5.subscribe(2, [["t", 1, false, false, 2]], { subscriptionIds: [2] }));
    take5(h, c);
    h.peerClose(c);
    const c2 = h.open();
    h.send(c2, p5.connect("c", { clean: false, props: { sessionExpiryInterval: 60 } }));
    const out = take5(h, c2);
    expect(types(out)).toEqual([CONNACK, PUBLISH]);
    expect([[1], [2]]).toContainEqual((out[1].props as Rec).subscriptionIds);
    h.send(p, p5.publish("t", "y", { qos: 1, id: 2 }));
    expect((take5(h, c2)[0].props as Rec).subscriptionIds).toEqual([2]);
  });

  test("[SRV5-SUB-12, SRV5-V311-3, MQTT-3.1.4-4] subscriptions belong to the session: a session ended by Clean Start 1, or by closing with no Session Expiry, takes them along", () => {
    const h = harness();
    const c = connected(h, "c", { props: { sessionExpiryInterval: 60 } });
    h.send(c, p5.subscribe(1, [["t", 0]]));
    take5(h, c);
    const c2 = connected(h, "c", { clean: true });
    expect(h.broker.stats.subscriptions).toBe(0);
    h.send(c2, p5.subscribe(1, [["u", 0]]));
    take5(h, c2);
    h.peerClose(c2); // Clean Start 1 without Session Expiry Interval: ends now
    expect(h.broker.stats.subscriptions).toBe(0);
    const c3 = h.open();
    h.send(c3, p5.connect("c", { clean: false }));
    expect(take5(h, c3)[0]).toMatchObject({ sessionPresent: false });
  });

  test("[SRV5-SUB-14, SRV5-V311-19] a refused filter gets 0x87 on 5.0, the 3.1.1 failure code 0x80 on 3.1.1", () => {
    const h = harness();
    h.broker.policy = { authenticate: () => 0, allow: (_c, _h, _u, topic) => topic !== "secret" };
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["secret", 0], ["ok", 1]]));
    expect(take5(h, c)).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [0x87, 1], props: {} }]);
    const old = h.open();
    h.send(old, pkt.connect("old") + pkt.subscribe(1, [["secret", 0], ["ok", 1]]));
    expect(h.take(old)).toEqual(["20020000", "9004000180" + "01"]);
  });

  test("[SRV5-TOP-5] topics are authorized per topic: a SUBSCRIBE to a refused filter gets 0x87 and a PUBLISH to a refused topic 0x87", () => {
    const h = harness();
    h.broker.policy = { authenticate: () => 0, allow: (_c, _h, _u, topic) => !topic.startsWith("private") };
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["private/x", 1], ["public/x", 1]]) + p5.publish("private/x", "p", { qos: 1, id: 2 }) + p5.publish("public/x", "q", { qos: 1, id: 3 }));
    const out = take5(h, c);
    expect(out[0]).toEqual({ type: SUBACK, packetId: 1, returnCodes: [0x87, 1], props: {} });
    expect(out.filter((r) => r.type === PUBACK).map((r) => [r.packetId, r.reasonCode])).toEqual([[2, 0x87], [3, 0]]);
  });
});

describe("MQTT 5.0 UNSUBSCRIBE", () => {
  test("[MQTT-3.10.1-1] UNSUBSCRIBE flags other than 0010 are malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, rawPacket(0xa0, [0, 1, 0, ...rawStr("t")]));
    expectDisconnect(h, c, 0x81);
  });

  test("[MQTT-3.10.3-1] an UNSUBSCRIBE filter that is not UTF-8 is malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, rawPacket(0xa2, [0, 1, 0, ...rawStr([0xf8, 0x88, 0x80, 0x80, 0x80])]));
    expectDisconnect(h, c, 0x81);
  });

  test("[MQTT-3.10.3-2] an UNSUBSCRIBE without filters is a Protocol Error: DISCONNECT 0x82", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, rawPacket(0xa2, [0, 1, 0]));
    expectDisconnect(h, c, 0x82);
  });

  test("[SRV5-SUB-15, SRV5-SUB-18, MQTT-3.10.4-5] UNSUBSCRIBE with User Properties is answered by an UNSUBACK with its id, a Property Length and one code per filter, even when nothing was removed", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, v5({ type: 10, packetId: 0x0102, filters: ["a", "b"], props: { userProperties: [["k", "v"]] } }));
    expect(h.take(c)).toEqual(["b0050102001111"]);
  });

  test("[MQTT-3.10.4-1, MQTT-4.7.3-4] filters are compared literally: a wildcard does not remove the filters it would match", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["a/b", 0], ["a/+", 0], ["A/b", 0]]));
    take5(h, c);
    h.send(c, p5.unsubscribe(2, ["a/#", "a/+", "a/b/"]));
    expect(take5(h, c)).toEqual([{ type: UNSUBACK, packetId: 2, returnCodes: [0x11, 0x00, 0x11], props: {} }]);
    const p = connected(h, "p");
    h.send(p, p5.publish("a/b", "x") + p5.publish("A/b", "y"));
    expect(take5(h, c).map(payloadOf)).toEqual(["x", "y"]);
  });

  test("[MQTT-3.10.4-3, SRV5-SUB-16] after UNSUBSCRIBE a QoS 1 delivery already started is completed and the queued one still delivered; new messages are not", () => {
    const h = harness();
    const c = connected(h, "c", { props: { receiveMaximum: 1 } });
    h.send(c, p5.subscribe(1, [["t", 1]]));
    take5(h, c);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 1, id: 1 }) + p5.publish("t", "2", { qos: 1, id: 2 }));
    const first = take5(h, c);
    expect(first.map(payloadOf)).toEqual(["1"]);
    h.send(c, p5.unsubscribe(2, ["t"]));
    expect(types(take5(h, c))).toEqual([UNSUBACK]);
    h.send(p, p5.publish("t", "3", { qos: 1, id: 3 }));
    h.send(c, p5.ack(PUBACK, first[0].packetId as number));
    const rest = take5(h, c);
    expect(rest.map(payloadOf)).toEqual(["2"]);
    h.send(c, p5.ack(PUBACK, rest[0].packetId as number));
    expect(take5(h, c)).toEqual([]);
    expect(h.isClosed(c)).toBe(false);
  });
});

describe("MQTT 5.0 topic matching", () => {
  test("[SRV5-TOP-1, SRV5-TOP-4] / separates levels and empty levels count; # matches the parent and every child; + exactly one level", () => {
    const topics = ["a", "a/b", "a/b/c", "a//c", "/a", "a/"];
    expect(matching("a/#", topics)).toEqual(["a", "a/b", "a/b/c", "a//c", "a/"]);
    expect(matching("a/+", topics)).toEqual(["a/b", "a/"]);
    expect(matching("a/+/c", topics)).toEqual(["a/b/c", "a//c"]);
    expect(matching("+/+", topics)).toEqual(["a/b", "/a", "a/"]);
    expect(matching("#", topics)).toEqual(topics);
  });

  test("[SRV5-TOP-4, SRV5-SHR-3] the 3.1.1 matcher table (topics.json) holds for 5.0 clients, and for the same filters behind $share/{name}/", () => {
    const table = JSON.parse(readFileSync(new URL("../fixtures/topics.json", import.meta.url), "utf8")) as {
      match: string[][];
      noMatch: string[][];
      invalidFilters: string[][];
    };
    const delivered = (filter: string, topic: string): boolean => {
      const h = harness();
      const s = connected(h, "s");
      h.send(s, p5.subscribe(1, [[filter, 0]]));
      expect(take5(h, s), filter).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [0], props: {} }]);
      const p = connected(h, "p");
      h.send(p, p5.publish(topic, "x"));
      const out = take5(h, s);
      return out.length === 1 && out[0].topic === topic;
    };
    // Clients may not publish to $SYS/ (SRV5-IMPL-19): those rows are left to the unit tests.
    const client = (row: string[]) => !row[1].startsWith("$SYS");
    const match = table.match.filter(client);
    const noMatch = table.noMatch.filter(client);
    expect(match.length).toBeGreaterThan(40);
    expect(noMatch.length).toBeGreaterThan(30);
    for (const [filter, topic] of match) {
      expect(delivered(filter, topic), `${filter} should match ${topic}`).toBe(true);
      if (!topic.startsWith("$")) expect(delivered("$share/g/" + filter, topic), `$share/g/${filter} should match ${topic}`).toBe(true);
    }
    for (const [filter, topic] of noMatch) {
      expect(delivered(filter, topic), `${filter} should not match ${topic}`).toBe(false);
      expect(delivered("$share/g/" + filter, topic), `$share/g/${filter} should not match ${topic}`).toBe(false);
    }
    const h = harness();
    const c = connected(h, "c");
    const bad = table.invalidFilters.map((row) => row[0]).filter((f) => f !== "" && Buffer.byteLength(f) < 60000 && !f.includes("\u0000"));
    h.send(c, p5.subscribe(1, bad.map((f) => [f, 0] as [string, number])));
    const out = take5(h, c);
    expect(out).toHaveLength(1);
    expect(out[0].returnCodes).toEqual(bad.map(() => 0x8f));
  });

  test("[MQTT-4.7.1-1, SRV5-SUB-11] # not alone at the end of its level gets 0x8F for that filter; the rest of the SUBSCRIBE is served", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["a/#/b", 0], ["a#", 0], ["a/b#", 0], ["a+/b", 0], ["a/#", 0]]));
    expect(take5(h, c)).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [0x8f, 0x8f, 0x8f, 0x8f, 0], props: {} }]);
    expect(h.isClosed(c)).toBe(false);
  });

  test("[MQTT-4.7.2-1, SRV5-TOP-2] filters starting with a wildcard do not match topics starting with $; explicit $ filters do", () => {
    expect(matching("#", ["$SYS/x", "$data", "data"])).toEqual(["data"]);
    expect(matching("+/x", ["$SYS/x", "a/x"])).toEqual(["a/x"]);
    expect(matching("$data/#", ["$data/x", "data/x"])).toEqual(["$data/x"]);
  });

  test("[SRV5-TOP-3, MQTT-4.7.3-4] topics are case-sensitive; spaces and leading or trailing / are significant", () => {
    const topics = ["Room", "room", "ro om", "/room", "room/"];
    expect(matching("room", topics)).toEqual(["room"]);
    expect(matching("ro om", topics)).toEqual(["ro om"]);
    expect(matching("/room", topics)).toEqual(["/room"]);
  });

  test("[MQTT-4.7.3-3] a topic name of 65,535 bytes is accepted and delivered", () => {
    const h = harness();
    const topic = "x".repeat(65535);
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [[topic, 0]]));
    expect(take5(h, c)).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [0], props: {} }]);
    const p = connected(h, "p");
    h.send(p, p5.publish(topic, "big"));
    expect(take5(h, c).map((r) => (r.topic as string).length)).toEqual([65535]);
  });

  test("[SRV5-SHR-1, SRV5-SHR-7] a non-shared subscription gives each matching session its own copy, beside a shared group", () => {
    const h = harness();
    const a = connected(h, "a");
    const b = connected(h, "b");
    const g = connected(h, "g");
    h.send(a, p5.subscribe(1, [["t", 0]]));
    h.send(b, p5.subscribe(1, [["+", 0]]));
    h.send(g, p5.subscribe(1, [["$share/x/t", 0]]));
    take5(h, a);
    take5(h, b);
    take5(h, g);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "m"));
    expect(take5(h, a).map(payloadOf)).toEqual(["m"]);
    expect(take5(h, b).map(payloadOf)).toEqual(["m"]);
    expect(take5(h, g).map(payloadOf)).toEqual(["m"]);
  });
});
