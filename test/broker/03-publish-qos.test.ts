import { describe, expect, test } from "vitest";
import { CONNACK_OK, CONNACK_PRESENT, harness, pkt } from "./harness";

function pair(h: ReturnType<typeof harness>, subQos: number, filter = "t/#") {
  const sub = h.open();
  h.send(sub, pkt.connect("sub") + pkt.subscribe(1, [[filter, subQos]]));
  h.take(sub);
  const pub = h.open();
  h.send(pub, pkt.connect("pub"));
  h.take(pub);
  return { sub, pub };
}

describe("PUBLISH flows (in-memory)", () => {
  test("[MQTT-4.3.1-1] [MQTT-3.3.4-1] QoS 0: no reply, subscriber gets QoS 0 with DUP 0", () => {
    const h = harness();
    const { sub, pub } = pair(h, 2);
    h.send(pub, pkt.publish("t/a", "m0"));
    expect(h.take(pub)).toEqual([]);
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "m0")]);
  });

  test("[MQTT-4.3.2-1] [MQTT-4.3.2-2] [SRV-PUB-8] QoS 1: PUBACK to publisher, new packet id to subscriber, freed by PUBACK", () => {
    const h = harness();
    const { sub, pub } = pair(h, 1);
    h.send(pub, pkt.publish("t/a", "m1", { qos: 1, id: 300 }));
    expect(h.take(pub)).toEqual(["4002012c"]);
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "m1", { qos: 1, id: 1 })]);
    h.send(sub, pkt.ack("puback", 1));
    h.send(pub, pkt.publish("t/a", "m2", { qos: 1, id: 300 })); // same id after PUBACK is a new message
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "m2", { qos: 1, id: 2 })]);
  });

  test("[MQTT-4.3.3-2] [SRV-OPS-6] QoS 2 inbound (routed at PUBLISH time): PUBREC, a resent PUBLISH before PUBREL is not routed again, PUBCOMP on PUBREL", () => {
    const h = harness();
    const { sub, pub } = pair(h, 2);
    h.send(pub, pkt.publish("t/a", "once", { qos: 2, id: 5 }));
    expect(h.take(pub)).toEqual(["50020005"]);
    h.send(pub, pkt.publish("t/a", "once", { qos: 2, id: 5, dup: true }));
    expect(h.take(pub)).toEqual(["50020005"]);
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "once", { qos: 2, id: 1 })]);
    h.send(pub, pkt.ack("pubrel", 5));
    expect(h.take(pub)).toEqual(["70020005"]);
    h.send(pub, pkt.publish("t/a", "again", { qos: 2, id: 5 })); // after PUBCOMP: a new message
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "again", { qos: 2, id: 2 })]);
  });

  test("[SRV-PUB-10] PUBREL for an unknown id still gets PUBCOMP", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("a") + pkt.ack("pubrel", 77));
    expect(h.take(c)).toEqual([CONNACK_OK, "7002004d"]);
  });

  test("[MQTT-4.3.3-1] [SRV-PUB-11] QoS 2 outbound: PUBREC -> PUBREL, PUBCOMP frees the id; duplicate PUBREC resends PUBREL", () => {
    const h = harness();
    const { sub, pub } = pair(h, 2);
    h.send(pub, pkt.publish("t/a", "x", { qos: 2, id: 1 }));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "x", { qos: 2, id: 1 })]);
    h.send(sub, pkt.ack("pubrec", 1));
    expect(h.take(sub)).toEqual(["62020001"]);
    h.send(sub, pkt.ack("pubrec", 1));
    expect(h.take(sub)).toEqual(["62020001"]);
    h.send(sub, pkt.ack("pubcomp", 1));
    expect(h.broker.sessions[h.broker.conns[sub].session].flightCount).toBe(0);
  });

  test("[MQTT-3.8.4-6] delivery QoS is min(message QoS, granted QoS)", () => {
    const h = harness();
    const { sub, pub } = pair(h, 1);
    h.send(pub, pkt.publish("t/a", "q2", { qos: 2, id: 1 }));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "q2", { qos: 1, id: 1 })]);
    h.send(pub, pkt.publish("t/a", "q0"));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "q0")]);
  });

  test("[MQTT-3.3.5-1] overlapping subscriptions deliver one copy at the highest QoS", () => {
    const h = harness();
    const sub = h.open();
    h.send(sub, pkt.connect("sub") + pkt.subscribe(1, [["a/+", 0], ["a/#", 2], ["a/b", 1]]));
    h.take(sub);
    const pub = h.open();
    h.send(pub, pkt.connect("pub") + pkt.publish("a/b", "o", { qos: 2, id: 4 }));
    expect(h.take(sub)).toEqual([pkt.publish("a/b", "o", { qos: 2, id: 1 })]);
  });

  test("[MQTT-3.3.1-3] DUP of an inbound PUBLISH is not passed on", () => {
    const h = harness();
    const { sub, pub } = pair(h, 1);
    h.send(pub, pkt.publish("t/a", "d", { qos: 1, id: 2, dup: true }));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "d", { qos: 1, id: 1 })]);
  });

  test("[SRV-OPS-11] [MQTT-4.6.0-6] messages beyond the in-flight window wait in order", () => {
    const h = harness({ maxInflight: 2 });
    const { sub, pub } = pair(h, 1);
    for (let i = 1; i <= 5; i++) h.send(pub, pkt.publish("t/a", "m" + i, { qos: 1, id: i }));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "m1", { qos: 1, id: 1 }), pkt.publish("t/a", "m2", { qos: 1, id: 2 })]);
    h.send(sub, pkt.ack("puback", 1));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "m3", { qos: 1, id: 3 })]);
    h.send(sub, pkt.ack("puback", 2) + pkt.ack("puback", 3));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "m4", { qos: 1, id: 4 }), pkt.publish("t/a", "m5", { qos: 1, id: 5 })]);
  });

  test("[SRV-IMPL-10] a full queue drops the oldest message and logs it", () => {
    const h = harness({ maxInflight: 1, maxQueued: 2 });
    const { sub, pub } = pair(h, 1);
    for (let i = 1; i <= 5; i++) h.send(pub, pkt.publish("t/a", "m" + i, { qos: 1, id: i }));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "m1", { qos: 1, id: 1 })]);
    h.send(sub, pkt.ack("puback", 1));
    h.send(sub, pkt.ack("puback", 2));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "m4", { qos: 1, id: 2 }), pkt.publish("t/a", "m5", { qos: 1, id: 3 })]);
    expect(h.logs.join("\n")).toMatch(/Outgoing queue of client sub is full \(2 messages\)/);
  });

  test("[SRV-ENC-13] PUBACK with an unknown id is ignored", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("a") + pkt.ack("puback", 9) + pkt.pingreq);
    expect(h.take(c)).toEqual([CONNACK_OK, "d000"]);
    expect(h.isClosed(c)).toBe(false);
  });

  test("[SRV-OPS-9] a publisher receives its own message when subscribed", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("a") + pkt.subscribe(1, [["me", 0]]) + pkt.publish("me", "echo"));
    expect(h.take(c)).toEqual([CONNACK_OK, "9003000100", pkt.publish("me", "echo")]);
  });

  test("[MQTT-4.7.2-1] wildcard-first filters do not match $ topics; $foo/# does", () => {
    const h = harness();
    const s1 = h.open();
    h.send(s1, pkt.connect("s1") + pkt.subscribe(1, [["#", 0], ["+/x", 0]]));
    const s2 = h.open();
    h.send(s2, pkt.connect("s2") + pkt.subscribe(1, [["$foo/#", 0]]));
    h.take(s1);
    h.take(s2);
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("$foo/x", "d"));
    expect(h.take(s1)).toEqual([]);
    expect(h.take(s2)).toEqual([pkt.publish("$foo/x", "d")]);
  });

  test("[SRV-IMPL-18] [MQTT-3.3.5-2] clients cannot publish to $SYS: acknowledged and dropped", () => {
    const h = harness();
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["$SYS/#", 0]]));
    h.take(s);
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("$SYS/x", "d", { qos: 1, id: 3 }));
    expect(h.take(p)).toEqual([CONNACK_OK, "40020003"]);
    expect(h.take(s)).toEqual([]);
  });

  test("message_size_limit: a larger payload is acknowledged and dropped", () => {
    const h = harness({ messageSizeLimit: 4 });
    const { sub, pub } = pair(h, 1);
    h.send(pub, pkt.publish("t/a", "12345", { qos: 1, id: 8 }));
    expect(h.take(pub)).toEqual(["40020008"]);
    expect(h.take(sub)).toEqual([]);
    h.send(pub, pkt.publish("t/a", "1234", { qos: 1, id: 9 }));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "1234", { qos: 1, id: 1 })]);
  });

  test("slow consumer: QoS 0 messages are dropped while its unsent bytes exceed maxPendingBytes", () => {
    const h = harness({ maxPendingBytes: 100 });
    const { sub, pub } = pair(h, 0);
    h.pending[sub] = 1000;
    h.send(pub, pkt.publish("t/a", "lost"));
    expect(h.take(sub)).toEqual([]);
    expect(h.logs.join("\n")).toMatch(/Client sub is not reading/);
    h.pending[sub] = 0;
    h.send(pub, pkt.publish("t/a", "kept"));
    expect(h.take(sub)).toEqual([pkt.publish("t/a", "kept")]);
  });

  test("[SRV-IMPL-2] inbound QoS 2 flows beyond the limit close the connection", () => {
    const h = harness({ maxInboundQos2: 2 });
    const c = h.open();
    h.send(c, pkt.connect("a") + pkt.publish("t", "1", { qos: 2, id: 1 }) + pkt.publish("t", "2", { qos: 2, id: 2 }));
    expect(h.isClosed(c)).toBe(false);
    h.send(c, pkt.publish("t", "3", { qos: 2, id: 3 }));
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/more than 2 QoS 2 messages awaiting PUBREL/);
  });
});

describe("sessions (in-memory)", () => {
  test("[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-4.4.0-1] [MQTT-4.1.0-1] [MQTT-4.5.0-1] [SRV-OPS-4] queued and unacknowledged messages survive a reconnect; resends carry DUP and the original id", () => {
    const h = harness();
    let sub = h.open();
    h.send(sub, pkt.connect("sub", { clean: false }) + pkt.subscribe(1, [["t/#", 2]]));
    h.take(sub);
    const pub = h.open();
    h.send(pub, pkt.connect("pub"));
    h.send(pub, pkt.publish("t/1", "a", { qos: 1, id: 1 }) + pkt.publish("t/2", "b", { qos: 2, id: 2 }) + pkt.publish("t/3", "c", { qos: 2, id: 3 }));
    expect(h.take(sub)).toEqual([pkt.publish("t/1", "a", { qos: 1, id: 1 }), pkt.publish("t/2", "b", { qos: 2, id: 2 }), pkt.publish("t/3", "c", { qos: 2, id: 3 })]);
    h.send(sub, pkt.ack("pubrec", 3)); // t/3 reaches the PUBREL stage
    h.take(sub);
    h.peerClose(sub);
    h.send(pub, pkt.publish("t/4", "offline", { qos: 1, id: 4 }) + pkt.publish("t/5", "q0 not queued"));
    sub = h.open();
    h.send(sub, pkt.connect("sub", { clean: false }));
    expect(h.take(sub)).toEqual([
      CONNACK_PRESENT,
      pkt.publish("t/1", "a", { qos: 1, id: 1, dup: true }),
      pkt.publish("t/2", "b", { qos: 2, id: 2, dup: true }),
      "62020003",
      pkt.publish("t/4", "offline", { qos: 1, id: 4 }),
    ]);
  });

  test("[SRV-OPS-7] inbound QoS 2 ids awaiting PUBREL survive a reconnect", () => {
    const h = harness();
    const sub = h.open();
    h.send(sub, pkt.connect("sub") + pkt.subscribe(1, [["t", 2]]));
    h.take(sub);
    let pub = h.open();
    h.send(pub, pkt.connect("pub", { clean: false }) + pkt.publish("t", "x", { qos: 2, id: 42 }));
    h.peerClose(pub);
    pub = h.open();
    h.send(pub, pkt.connect("pub", { clean: false }) + pkt.publish("t", "x", { qos: 2, id: 42, dup: true }));
    expect(h.take(pub)).toEqual([CONNACK_PRESENT, "5002002a"]);
    expect(h.take(sub)).toEqual([pkt.publish("t", "x", { qos: 2, id: 1 })]);
  });

  test("[MQTT-3.1.2-6] clean session 1 discards the stored session and its subscriptions", () => {
    const h = harness();
    let c = h.open();
    h.send(c, pkt.connect("c", { clean: false }) + pkt.subscribe(1, [["t", 1]]) + pkt.disconnect);
    c = h.open();
    h.send(c, pkt.connect("c", { clean: true }));
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("t", "x", { qos: 1, id: 1 }));
    expect(h.take(c)).toEqual([CONNACK_OK]);
    expect(h.broker.stats.subscriptions).toBe(0);
  });

  test("[MQTT-3.10.4-1] [MQTT-3.10.4-5] UNSUBSCRIBE removes only the literal filter; UNSUBACK always", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("c") + pkt.subscribe(1, [["a/+", 0], ["a/b", 0]]));
    h.take(c);
    h.send(c, pkt.unsubscribe(2, ["a/b"]) + pkt.unsubscribe(3, ["nothing/here"]));
    expect(h.take(c)).toEqual(["b0020002", "b0020003"]);
    h.send(c, pkt.publish("a/b", "still via a/+"));
    expect(h.take(c)).toEqual([pkt.publish("a/b", "still via a/+")]);
    h.send(c, pkt.unsubscribe(4, ["a/+"]) + pkt.publish("a/b", "gone"));
    expect(h.take(c)).toEqual(["b0020004"]);
  });

  test("[MQTT-3.8.4-3] subscribing again with the same filter replaces the QoS", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("c") + pkt.subscribe(1, [["t", 0]]) + pkt.subscribe(2, [["t", 1]]));
    h.take(c);
    expect(h.broker.stats.subscriptions).toBe(1);
    h.send(c, pkt.publish("t", "x", { qos: 1, id: 1 }));
    expect(h.take(c)[0]).toEqual(pkt.publish("t", "x", { qos: 1, id: 1 }));
  });

  test("[SRV-SUB-1] [SRV-SUB-2] invalid filters and full tables get 0x80 while the other filters are granted", () => {
    const h = harness({ maxSubscriptionsPerClient: 2 });
    const c = h.open();
    h.send(c, pkt.connect("c") + pkt.subscribe(7, [["a/#/b", 1], ["ok/1", 1], ["ok/2", 2], ["ok/3", 0]]));
    expect(h.take(c)).toEqual([CONNACK_OK, "900600078001028" + "0"]);
    expect(h.logs.join("\n")).toMatch(/invalid filter 'a\/#\/b'/);
    expect(h.logs.join("\n")).toMatch(/the client has 2 subscriptions/);
  });

  test("subscription table full (all clients) gets 0x80", () => {
    const h = harness({ maxSubscriptions: 1 });
    const a = h.open();
    h.send(a, pkt.connect("a") + pkt.subscribe(1, [["x", 0]]));
    const b = h.open();
    h.send(b, pkt.connect("b") + pkt.subscribe(1, [["y", 0]]));
    expect(h.take(b)).toEqual([CONNACK_OK, "9003000180"]);
    expect(h.logs.join("\n")).toMatch(/subscription table full \(1\)/);
  });
});
