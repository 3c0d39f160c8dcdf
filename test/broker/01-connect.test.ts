import { describe, expect, test } from "vitest";
import { CONNACK_OK, CONNACK_PRESENT, harness, pkt } from "./harness";

describe("CONNECT handling (in-memory)", () => {
  test("[MQTT-3.1.4-4] valid CONNECT gets CONNACK 0", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("a"));
    expect(h.take(c)).toEqual([CONNACK_OK]);
    expect(h.isClosed(c)).toBe(false);
  });

  test("[MQTT-3.1.0-1] a first packet other than CONNECT closes without reply", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.pingreq);
    expect(h.take(c)).toEqual([]);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/first packet was PINGREQ, not CONNECT/);
  });

  test("[MQTT-3.1.0-2] a second CONNECT closes the connection and publishes its will", () => {
    const h = harness();
    const w = h.open();
    h.send(w, pkt.connect("watcher") + pkt.subscribe(1, [["will", 0]]));
    h.take(w);
    const c = h.open();
    h.send(c, pkt.connect("a", { will: { topic: "will", payload: "gone" } }));
    h.send(c, pkt.connect("a"));
    expect(h.isClosed(c)).toBe(true);
    expect(h.take(w)).toEqual([pkt.publish("will", "gone")]);
  });

  test("[MQTT-3.1.2-2] protocol level 6 with name MQTT gets CONNACK 1 and is closed", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("a", { level: 6 }));
    expect(h.take(c)).toEqual(["20020001"]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[MQTT-3.1.2-1] unknown protocol name closes without CONNACK", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("a", { name: "MQTX" }));
    expect(h.take(c)).toEqual([]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[SRV-V31-1] MQIsdp level 3 is accepted; CONNACK never has session present (SRV-V31-3)", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("v31", { name: "MQIsdp", level: 3, clean: false }));
    expect(h.take(c)).toEqual([CONNACK_OK]);
    h.send(c, pkt.disconnect);
    const d = h.open();
    h.send(d, pkt.connect("v31", { name: "MQIsdp", level: 3, clean: false }));
    expect(h.take(d)).toEqual([CONNACK_OK]);
  });

  test("[SRV-V31-2] MQTT 3.1 client id longer than 23 characters gets CONNACK 2", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("x".repeat(24), { name: "MQIsdp", level: 3 }));
    expect(h.take(c)).toEqual(["20020002"]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[MQTT-3.1.3-8] empty client id with clean session 0 gets CONNACK 2 and is closed", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("", { clean: false }));
    expect(h.take(c)).toEqual(["20020002"]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[MQTT-3.1.3-6] empty client id with clean session 1 is given a unique id", () => {
    const h = harness();
    const a = h.open();
    const b = h.open();
    h.send(a, pkt.connect(""));
    h.send(b, pkt.connect(""));
    expect(h.take(a)).toEqual([CONNACK_OK]);
    expect(h.take(b)).toEqual([CONNACK_OK]);
    const ids = h.logs.filter((l) => l.startsWith("New client")).map((l) => l.split(" as ")[1]);
    expect(ids[0]).not.toEqual(ids[1]);
  });

  test("[MQTT-3.1.3-9] client id over the configured maximum gets CONNACK 2", () => {
    const h = harness({ maxClientIdLength: 8 });
    const c = h.open();
    h.send(c, pkt.connect("123456789"));
    expect(h.take(c)).toEqual(["20020002"]);
  });

  test("[MQTT-3.1.4-5] packets pipelined after a refused CONNECT are not acted on", () => {
    const h = harness();
    const w = h.open();
    h.send(w, pkt.connect("w") + pkt.subscribe(1, [["t", 0]]));
    h.take(w);
    const c = h.open();
    h.send(c, pkt.connect("", { clean: false }) + pkt.publish("t", "x"));
    expect(h.take(w)).toEqual([]);
  });

  test("[SRV-CON-2] packets pipelined after an accepted CONNECT are processed in order", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("a") + pkt.subscribe(3, [["t", 1]]) + pkt.publish("t", "x", { qos: 1, id: 9 }));
    // Routed (to itself) before the PUBACK: ownership first (SRV-OPS-5).
    expect(h.take(c)).toEqual([CONNACK_OK, "9003000301", pkt.publish("t", "x", { qos: 1, id: 1 }), "40020009"]);
  });

  test("[MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] [MQTT-3.1.4-3] [SRV-OPS-3] session present flag; DISCONNECT keeps a clean-session-0 session", () => {
    const h = harness();
    let c = h.open();
    h.send(c, pkt.connect("p", { clean: false }));
    expect(h.take(c)).toEqual([CONNACK_OK]); // no stored session yet
    h.send(c, pkt.disconnect);
    c = h.open();
    h.send(c, pkt.connect("p", { clean: false }));
    expect(h.take(c)).toEqual([CONNACK_PRESENT]); // empty stored session still counts (SRV-CON-10)
    h.send(c, pkt.disconnect);
    c = h.open();
    h.send(c, pkt.connect("p", { clean: true }));
    expect(h.take(c)).toEqual([CONNACK_OK]);
    h.send(c, pkt.disconnect);
    c = h.open();
    h.send(c, pkt.connect("p", { clean: false }));
    expect(h.take(c)).toEqual([CONNACK_OK]); // MQTT-3.1.2-6: clean session discarded it
  });

  test("[MQTT-3.1.4-2] a second connection with the same client id closes the first, whose will is published", () => {
    const h = harness();
    const w = h.open();
    h.send(w, pkt.connect("w") + pkt.subscribe(1, [["will/#", 0]]));
    h.take(w);
    const first = h.open();
    h.send(first, pkt.connect("same", { will: { topic: "will/same", payload: "bye" } }));
    const second = h.open();
    h.send(second, pkt.connect("same"));
    expect(h.isClosed(first)).toBe(true);
    expect(h.take(second)).toEqual([CONNACK_OK]);
    expect(h.take(w)).toEqual([pkt.publish("will/same", "bye")]);
    expect(h.logs.join("\n")).toMatch(/already connected, closing old connection/);
  });

  test("[SRV-CON-1] a connection without CONNECT is closed after the connect timeout", () => {
    const h = harness({ connectTimeoutMs: 5000 });
    const c = h.open();
    h.advance(4000);
    expect(h.isClosed(c)).toBe(false);
    h.advance(2000);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/no CONNECT within 5 s/);
  });

  test("[MQTT-3.1.2-24] no packet within 1.5 x keep alive closes and publishes the will", () => {
    const h = harness();
    const w = h.open();
    h.send(w, pkt.connect("w", { keepAlive: 0 }) + pkt.subscribe(1, [["will", 0]]));
    h.take(w);
    const c = h.open();
    h.send(c, pkt.connect("k", { keepAlive: 10, will: { topic: "will", payload: "ka" } }));
    h.advance(14000);
    h.send(c, pkt.pingreq); // any packet restarts the timer
    expect(h.take(c)).toEqual([CONNACK_OK, "d000"]);
    h.advance(14000);
    expect(h.isClosed(c)).toBe(false);
    h.advance(2000);
    expect(h.isClosed(c)).toBe(true);
    expect(h.take(w)).toEqual([pkt.publish("will", "ka")]);
  });

  test("[SRV-CON-5] keep alive 0 never times out", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("k", { keepAlive: 0 }));
    h.advance(10 * 3600 * 1000);
    expect(h.isClosed(c)).toBe(false);
  });

  test("[SRV-IMPL-19] no free session slot gets CONNACK 3 and a log line", () => {
    const h = harness({ maxSessions: 1 });
    const a = h.open();
    h.send(a, pkt.connect("a"));
    const b = h.open();
    h.send(b, pkt.connect("b"));
    expect(h.take(b)).toEqual(["20020003"]);
    expect(h.isClosed(b)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/Session table full \(1\)/);
    expect(h.isClosed(a)).toBe(false);
  });

  test("max_connections reached: brokerOpen refuses with -1 and logs", () => {
    const h = harness({ maxConnections: 2 });
    expect(h.open()).toBeGreaterThanOrEqual(0);
    expect(h.open()).toBeGreaterThanOrEqual(0);
    expect(h.open("x:9")).toBe(-1);
    expect(h.logs.join("\n")).toMatch(/Connection from x:9 refused: max_connections \(2\)/);
  });
});

describe("MQTT 3.1 leniency", () => {
  test("[SRV-V31-6] SUBSCRIBE with flags 1010 is accepted from a 3.1 client, refused from 3.1.1", () => {
    const h = harness();
    const old = h.open();
    h.send(old, pkt.connect("old", { name: "MQIsdp", level: 3 }) + "8a06000100017400");
    expect(h.take(old)).toEqual([CONNACK_OK, "9003000100"]);
    const now = h.open();
    h.send(now, pkt.connect("new") + "8a06000100017400");
    expect(h.isClosed(now)).toBe(true);
  });

  test("[SRV-V31-5] a refused subscription of a 3.1 client gets 0x80 too", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("old", { name: "MQIsdp", level: 3 }) + pkt.subscribe(2, [["a/#/b", 1], ["ok", 1]]));
    expect(h.take(c)).toEqual([CONNACK_OK, "900400028001"]);
  });
});
