// A board profile can leave features out (src/features.ts). Each feature that is off must get
// the answer MQTT 3.1.1 allows a server to give, never a crash or silence: these tests run the
// broker with one feature off at a time (the Node and Lua targets install features the same
// way at start-up; the Espruino build makes them constants, see test/espruino/features.test.ts).
import { afterEach, describe, expect, test } from "vitest";
import { brokerSetStore, brokerSysPublish } from "../../src/broker/broker";
import { Features, allFeatures } from "../../src/features";
import { installFeatures } from "../../targets/node/features";
import { logTextDecode } from "../../targets/node/logText";
import { CONNACK_OK, harness, pkt, recordingStore } from "./harness";

function without(name: keyof Features): void {
  const f = allFeatures();
  f[name] = false;
  installFeatures(f);
}

afterEach(() => installFeatures(allFeatures()));

describe("features off: the answers MQTT 3.1.1 allows", () => {
  test("[MQTT-3.1.2-2] mqtt31 off: a 3.1 CONNECT (MQIsdp, level 3) gets CONNACK 0x01, then close", () => {
    without("mqtt31");
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("old", { name: "MQIsdp", level: 3 }));
    expect(h.take(c)).toEqual(["20020001"]);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toContain("unsupported protocol level 3");
    // 3.1.1 clients are served as before.
    const d = h.open();
    h.send(d, pkt.connect("new"));
    expect(h.take(d)).toEqual([CONNACK_OK]);
  });

  test("[MQTT-3.1.2-2] mqtt5 off: a 5.0 CONNECT (MQTT, level 5) gets the 3.1.1 CONNACK 0x01, then close", () => {
    without("mqtt5");
    const h = harness();
    const c = h.open();
    // A well-formed 5.0 CONNECT: flags 02 (Clean Start), keep alive 60, no properties, id "v5".
    h.send(c, "100f00044d5154540502003c000002" + "7635");
    expect(h.take(c)).toEqual(["20020001"]);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toContain("unsupported protocol level 5");
  });

  test("mqtt5 off: a $share/ filter is an ordinary filter (no shared subscriptions), matching only its literal topic", () => {
    without("mqtt5");
    const h = harness();
    const a = h.open();
    const b = h.open();
    h.send(a, pkt.connect("a") + pkt.subscribe(1, [["$share/g/t", 0]]));
    h.send(b, pkt.connect("b") + pkt.subscribe(1, [["$share/g/t", 0]]));
    expect(h.take(a)).toEqual([CONNACK_OK, "9003000100"]);
    expect(h.take(b)).toEqual([CONNACK_OK, "9003000100"]);
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("t", "x") + pkt.publish("$share/g/t", "y"));
    const literal = pkt.publish("$share/g/t", "y");
    expect(h.take(a)).toEqual([literal]);
    expect(h.take(b)).toEqual([literal]);
  });

  test("[MQTT-3.8.4-6] qos2 off: SUBSCRIBE at QoS 2 is granted QoS 1, and deliveries use QoS 1", () => {
    without("qos2");
    const h = harness();
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["t", 2]]));
    expect(h.take(s)).toEqual([CONNACK_OK, "9003000101"]);
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("t", "m", { qos: 1, id: 7 }));
    expect(h.take(p)).toEqual([CONNACK_OK, pkt.ack("puback", 7)]);
    expect(h.take(s)).toEqual([pkt.publish("t", "m", { qos: 1, id: 1 })]);
  });

  test("[SRV-IMPL-17] qos2 off: a QoS 2 PUBLISH closes the publisher's connection (as mosquitto's max_qos), everyone else is served", () => {
    without("qos2");
    const h = harness();
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["t", 1]]));
    h.take(s);
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("t", "two", { qos: 2, id: 3 }));
    expect(h.take(p)).toEqual([CONNACK_OK]);
    expect(h.isClosed(p)).toBe(true);
    expect(h.logs.join("\n")).toContain("Client p disconnected: a QoS 2 PUBLISH is not in this build (feature qos2 off).");
    expect(h.take(s)).toEqual([]);
    const q = h.open();
    h.send(q, pkt.connect("q") + pkt.publish("t", "one", { qos: 1, id: 4 }));
    expect(h.take(s)).toEqual([pkt.publish("t", "one", { qos: 1, id: 1 })]);
  });

  test("[MQTT-3.2.2-6] qos2 off: a CONNECT with a QoS 2 will is refused by closing without CONNACK (no return code says why)", () => {
    without("qos2");
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("w", { will: { topic: "w/t", payload: "gone", qos: 2 } }));
    expect(h.take(c)).toEqual([]);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toContain("Connection from test:1 closed: client w sent a QoS 2 will, which is not in this build (feature qos2 off).");
  });

  test("[MQTT-3.2.2-6] will off: a CONNECT with a will is refused by closing without CONNACK; one without a will is served", () => {
    without("will");
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("w", { will: { topic: "w/t", payload: "gone" } }));
    expect(h.take(c)).toEqual([]);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toContain("Connection from test:1 closed: client w sent a will, which is not in this build (feature will off).");
    const d = h.open();
    h.send(d, pkt.connect("plain"));
    expect(h.take(d)).toEqual([CONNACK_OK]);
  });

  test("[SRV-IMPL-9] retained off: a PUBLISH with RETAIN=1 closes the connection, as retain_available false does", () => {
    without("retained");
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("r") + pkt.publish("r/t", "x", { retain: true }));
    expect(h.take(c)).toEqual([CONNACK_OK]);
    expect(h.isClosed(c)).toBe(true);
    expect(h.broker.stats.retained).toBe(0);
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r/#", 0]]));
    expect(h.take(s)).toEqual([CONNACK_OK, "9003000100"]);
  });

  test("[MQTT-3.2.2-3] [SRV-IMPL-10] persistentSessions off: a CleanSession 0 session ends with its connection, so the next CONNACK has Session Present 0 and nothing was kept", () => {
    without("persistentSessions");
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("keep", { clean: false }) + pkt.subscribe(1, [["t", 1]]));
    expect(h.take(c)).toEqual([CONNACK_OK, "9003000101"]);
    expect(h.logs.join("\n")).toContain("Client keep: a persistent session is not in this build (feature persistentSessions off), served as a clean one.");
    h.send(c, pkt.disconnect);
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("t", "while away", { qos: 1, id: 1 }));
    const again = h.open();
    h.send(again, pkt.connect("keep", { clean: false }));
    expect(h.take(again)).toEqual([CONNACK_OK]);
    expect(h.broker.stats.sessions).toBe(2);
  });

  test("persistence off: a store attached anyway is never written", () => {
    without("persistence");
    const h = harness();
    const calls: string[] = [];
    brokerSetStore(h.broker, recordingStore(calls));
    const c = h.open();
    h.send(c, pkt.connect("k", { clean: false }) + pkt.subscribe(1, [["t", 1]]) + pkt.publish("t", "x", { qos: 1, id: 1, retain: true }));
    expect(h.take(c).length).toBe(4);
    expect(calls).toEqual([]);
  });

  test("[SRV-IMPL-18] sys off: $SYS topics are not published, so a subscriber to $SYS/# gets nothing", () => {
    without("sys");
    const h = harness();
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["$SYS/#", 0]]));
    h.take(s);
    brokerSysPublish(h.broker, "test", 1);
    expect(h.take(s)).toEqual([]);
    expect(h.broker.stats.retained).toBe(0);
  });

  test("logText off: log lines are numbered codes that midge log-text turns back into the same words", () => {
    without("logText");
    const h = harness();
    const c = h.open("peer:9");
    h.send(c, pkt.connect("coded") + pkt.disconnect);
    const coded = h.logs.filter((l) => l.startsWith("{"));
    expect(coded.length).toBe(h.logs.length);
    expect(coded.join("\n")).not.toMatch(/[a-z]{4,} [a-z]{4,}/); // no words, only codes
    installFeatures(allFeatures());
    const h2 = harness();
    const c2 = h2.open("peer:9");
    h2.send(c2, pkt.connect("coded") + pkt.disconnect);
    expect(h.logs.map(logTextDecode)).toEqual(h2.logs);
  });
});
