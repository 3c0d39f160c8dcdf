// MQTT 5.0 broker behaviour through the in-memory transport: what a 5.0 client sees of
// sessions, messages, subscriptions, wills and errors, and that 3.1.1 clients beside it see
// nothing of 5.0. Titles name the ids of docs/spec/mqtt-5.0.md they check.
import { describe, expect, test } from "vitest";
import { brokerSetStore } from "../../src/broker/broker";
import { harness, pkt, CONNACK_OK, recordingStore } from "../broker/harness";
import { p5, take5, types, CONNACK, DISCONNECT, PUBACK, PUBLISH, SUBACK, connected, payloadOf } from "./harness5";

describe("MQTT 5.0 CONNECT and CONNACK (in-memory)", () => {
  test("[SRV5-CON-28, SRV5-CON-31, SRV5-CON-35, MQTT-3.2.2-16] CONNACK tells the server's limits; an empty client id gets an Assigned Client Identifier", () => {
    const h = harness({ maxInboundQos2: 30, maxPacketSize: 5000 });
    const c = h.open();
    h.send(c, p5.connect("", { clean: false, props: { sessionExpiryInterval: 30 } }));
    const [ack] = take5(h, c);
    expect(ack.type).toBe(CONNACK);
    expect(ack.returnCode).toBe(0);
    const props = ack.props as Record<string, unknown>;
    expect(props.receiveMaximum).toBe(30);
    expect(props.maximumPacketSize).toBe(5000);
    expect(props.topicAliasMaximum).toBe(10);
    expect(props.sharedSubscriptionAvailable).toBe(1); // shared subscriptions: shared.test.ts
    expect(typeof props.assignedClientId).toBe("string");
    expect((props.assignedClientId as string).length).toBeGreaterThan(0);
    expect(props.sessionExpiryInterval).toBeUndefined(); // SRV5-CON-30: only when overridden
  });

  test("[SRV5-CON-40, SRV5-CON-7, SRV5-IMPL-7] max_keepalive: a 5.0 client asking for more, or for none, gets Server Keep Alive and is held to it; a 3.1.1 client asking for more is refused (as mosquitto)", () => {
    const h = harness({ maxKeepAlive: 30 });
    const c = h.open();
    h.send(c, p5.connect("long", { keepAlive: 600 }));
    const [ack] = take5(h, c);
    expect((ack.props as Record<string, unknown>).serverKeepAlive).toBe(30);
    h.advance(40000);
    expect(h.isClosed(c)).toBe(false);
    h.advance(10000); // 50 s > 1.5 x 30 s
    expect(h.isClosed(c)).toBe(true);
    const ok = h.open();
    h.send(ok, p5.connect("short", { keepAlive: 20 }));
    expect((take5(h, ok)[0].props as Record<string, unknown>).serverKeepAlive).toBeUndefined();
    const old = h.open();
    h.send(old, pkt.connect("old", { keepAlive: 600 }));
    expect(h.take(old)).toEqual(["20020002"]);
    expect(h.isClosed(old)).toBe(true);
    expect(h.logs.join("\n")).toContain("keep alive 600 s over max_keepalive 30 s");
  });

  test("[MQTT-3.2.2-18, SRV5-CON-35] max_topic_alias 0: no Topic Alias Maximum in CONNACK, and any alias gets DISCONNECT 0x94", () => {
    const h = harness({ maxTopicAlias: 0 });
    const c = h.open();
    h.send(c, p5.connect("a"));
    expect((take5(h, c)[0].props as Record<string, unknown>).topicAliasMaximum).toBeUndefined();
    h.send(c, p5.publish("t", "x", { props: { topicAlias: 1 } }));
    expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x94, props: {} }]);
  });

  test("[MQTT-4.12.0-1] an Authentication Method the server does not support gets CONNACK 0x8C and a close", () => {
    const h = harness();
    const c = h.open();
    h.send(c, p5.connect("a", { props: { authenticationMethod: "SCRAM-SHA-1" } }));
    const out = take5(h, c);
    expect(out).toEqual([{ type: CONNACK, sessionPresent: false, returnCode: 0x8c, props: {} }]);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toContain("authentication method 'SCRAM-SHA-1' is not supported");
  });

  test("[SRV5-CON-25] bad credentials get CONNACK 0x86, a refused client 0x87", () => {
    const h = harness();
    h.broker.policy = {
      authenticate: (_id, _hu, user) => (user === "bad" ? 4 : user === "no" ? 5 : 0),
      allow: () => true,
    };
    for (const [user, code] of [["bad", 0x86], ["no", 0x87]] as const) {
      const c = h.open();
      h.send(c, p5.connect("x", { username: user, password: "p" }));
      expect(take5(h, c)).toEqual([{ type: CONNACK, sessionPresent: false, returnCode: code, props: {} }]);
      expect(h.isClosed(c)).toBe(true);
    }
  });

  test("[MQTT-3.1.4-1, MQTT-4.13.1-1] a malformed 5.0 CONNECT (a property twice) gets CONNACK 0x82 and a close", () => {
    const h = harness();
    const c = h.open();
    // CONNECT, level 5, Clean Start, Property Length 10: Session Expiry Interval twice.
    h.send(c, "101700044d5154540502003c0a1100000001110000000200017a");
    expect(take5(h, c)).toEqual([{ type: CONNACK, sessionPresent: false, returnCode: 0x82, props: {} }]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[MQTT-3.1.2-23, MQTT-3.1.2-5, SRV5-CON-8] a Session Expiry Interval keeps the session offline; Clean Start 0 resumes it with its queued messages", () => {
    const h = harness();
    const s = connected(h, "keeper", { clean: true, props: { sessionExpiryInterval: 60 } });
    h.send(s, p5.subscribe(1, [["q", 1]]));
    take5(h, s);
    h.peerClose(s);
    const p = connected(h, "pub");
    h.send(p, p5.publish("q", "while away", { qos: 1, id: 5 }));
    const s2 = h.open();
    h.send(s2, p5.connect("keeper", { clean: false, props: { sessionExpiryInterval: 60 } }));
    const out = take5(h, s2);
    expect(out[0]).toMatchObject({ type: CONNACK, sessionPresent: true, returnCode: 0 });
    expect(out[1]).toMatchObject({ type: PUBLISH, topic: "q", qos: 1 });
    expect(payloadOf(out[1])).toBe("while away");
  });

  test("[MQTT-3.1.2-4, SRV5-CON-4] Clean Start 1 discards the stored session; an expired session counts as absent", () => {
    const h = harness();
    const s = connected(h, "k", { props: { sessionExpiryInterval: 5 } });
    h.send(s, p5.subscribe(1, [["q", 1]]));
    take5(h, s);
    h.peerClose(s);
    // Clean Start 1: no session present.
    let c = h.open();
    h.send(c, p5.connect("k", { clean: true, props: { sessionExpiryInterval: 5 } }));
    expect(take5(h, c)[0]).toMatchObject({ sessionPresent: false });
    h.peerClose(c);
    // Past the interval (no tick in between): absent as well.
    h.now.ms += 6000;
    c = h.open();
    h.send(c, p5.connect("k", { clean: false, props: { sessionExpiryInterval: 5 } }));
    expect(take5(h, c)[0]).toMatchObject({ sessionPresent: false });
  });

  test("[SRV5-CON-8, SRV5-OPS-2] a kept session resumed with Session Expiry Interval 0 is deleted from the store at once; one resumed with an interval is not", () => {
    const h = harness();
    const all: string[] = [];
    brokerSetStore(h.broker, recordingStore(all));
    const sessionCalls = () => all.filter((c) => c.startsWith("session") && !c.startsWith("sessionExpiry") && !c.startsWith("sessionWill"));
    for (const id of ["a", "b"]) {
      const c = connected(h, id, { props: { sessionExpiryInterval: 60 } });
      h.peerClose(c);
    }
    expect(sessionCalls()).toEqual(["sessionSet a", "sessionSet b"]);
    const a = h.open();
    h.send(a, p5.connect("a", { clean: false }));
    expect(take5(h, a)[0]).toMatchObject({ sessionPresent: true });
    const b = h.open();
    h.send(b, p5.connect("b", { clean: false, props: { sessionExpiryInterval: 60 } }));
    expect(take5(h, b)[0]).toMatchObject({ sessionPresent: true });
    expect(sessionCalls()).toEqual(["sessionSet a", "sessionSet b", "sessionDelete a"]);
    h.peerClose(a);
    expect(h.broker.stats.sessions).toBe(1);
  });

  test("[SRV5-OPS-2] persistent_client_expiration: a session that never expires by itself (3.1.1 CleanSession 0, 5.0 0xFFFFFFFF) ends after that long offline; a reconnect in time keeps it", () => {
    const h = harness({ persistentClientExpiration: 3600 });
    const old = h.open();
    h.send(old, pkt.connect("old", { clean: false }) + pkt.subscribe(1, [["t", 1]]));
    h.take(old);
    h.peerClose(old);
    h.peerClose(connected(h, "ever", { props: { sessionExpiryInterval: 0xffffffff } }));
    h.advance(1800 * 1000);
    const back = h.open();
    h.send(back, pkt.connect("old", { clean: false }));
    expect(h.take(back)).toEqual(["20020100"]); // still there, and counting stops while online
    h.peerClose(back);
    h.advance(3000 * 1000);
    expect(h.broker.stats.sessions).toBe(1); // "old" again has 3,600 s from its last close
    h.advance(700 * 1000);
    expect(h.broker.stats.sessions).toBe(0);
    expect(h.logs.join("\n")).toContain("Session of client ever expired (session expiry interval 3600 s).");
  });

  test("[MQTT-3.1.2-23] an offline session ends when its Session Expiry Interval runs out", () => {
    const h = harness();
    const s = connected(h, "short", { props: { sessionExpiryInterval: 2 } });
    h.send(s, p5.subscribe(1, [["q", 1]]));
    take5(h, s);
    h.peerClose(s);
    expect(h.broker.stats.sessions).toBe(1);
    h.advance(1000);
    expect(h.broker.stats.sessions).toBe(1);
    h.advance(1500);
    expect(h.broker.stats.sessions).toBe(0);
    expect(h.broker.stats.subscriptions).toBe(0);
    expect(h.logs.join("\n")).toContain("Session of client short expired");
  });

  test("[SRV5-DIS-2, MQTT-3.14.4-3] DISCONNECT may lower the Session Expiry Interval to 0 (session gone, no will); raising it from 0 is a Protocol Error (DISCONNECT 0x82, will sent)", () => {
    const h = harness();
    const w = connected(h, "watch");
    h.send(w, p5.subscribe(1, [["will/#", 0]]));
    take5(h, w);
    const a = connected(h, "a", { props: { sessionExpiryInterval: 100 }, will: { topic: "will/a", payload: "a gone" } });
    h.send(a, p5.disconnect(0, { sessionExpiryInterval: 0 }));
    expect(h.isClosed(a)).toBe(true);
    expect(h.broker.stats.sessions).toBe(1); // only watch
    const b = connected(h, "b", { will: { topic: "will/b", payload: "b gone" } });
    h.send(b, p5.disconnect(0, { sessionExpiryInterval: 100 }));
    expect(take5(h, b)).toEqual([{ type: DISCONNECT, reasonCode: 0x82, props: {} }]);
    expect(h.isClosed(b)).toBe(true);
    const got = take5(h, w);
    expect(got.map((r) => r.topic)).toEqual(["will/b"]);
  });

  test("[MQTT-3.1.4-3] session takeover: the older connection gets DISCONNECT 0x8E before it is closed", () => {
    const h = harness();
    const old = connected(h, "same");
    const c = connected(h, "same");
    expect(take5(h, old)).toEqual([{ type: DISCONNECT, reasonCode: 0x8e, props: {} }]);
    expect(h.isClosed(old)).toBe(true);
    expect(h.isClosed(c)).toBe(false);
  });
});

describe("MQTT 5.0 wills (in-memory)", () => {
  function watcher(h: ReturnType<typeof harness>): number {
    const w = connected(h, "watch");
    h.send(w, p5.subscribe(1, [["will/#", 0]]));
    take5(h, w);
    return w;
  }

  test("[SRV5-CON-18, MQTT-3.1.2-8, MQTT-3.1.3-10] a will with a Will Delay Interval is published when the delay runs out, with its properties", () => {
    const h = harness();
    const w = watcher(h);
    const c = connected(h, "d", { props: { sessionExpiryInterval: 60 }, will: { topic: "will/d", payload: "late", props: { willDelayInterval: 2, contentType: "text/plain", userProperties: [["b", "2"], ["a", "1"]] } } });
    h.peerClose(c);
    h.advance(1000);
    expect(take5(h, w)).toEqual([]);
    h.advance(1500);
    const got = take5(h, w);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: PUBLISH, topic: "will/d" });
    expect(got[0].props).toEqual({ contentType: "text/plain", userProperties: [["b", "2"], ["a", "1"]] });
  });

  test("[MQTT-3.1.3-9] a reconnect within the Will Delay Interval cancels the will", () => {
    const h = harness();
    const w = watcher(h);
    const c = connected(h, "d", { props: { sessionExpiryInterval: 60 }, will: { topic: "will/d", payload: "late", props: { willDelayInterval: 5 } } });
    h.peerClose(c);
    h.advance(1000);
    connected(h, "d", { clean: false, props: { sessionExpiryInterval: 60 } });
    h.advance(10000);
    expect(take5(h, w)).toEqual([]);
  });

  test("[MQTT-3.1.2-8] a delayed will goes out when the session ends first", () => {
    const h = harness();
    const w = watcher(h);
    const c = connected(h, "d", { props: { sessionExpiryInterval: 1 }, will: { topic: "will/d", payload: "x", props: { willDelayInterval: 100 } } });
    h.peerClose(c);
    h.advance(1500);
    expect(take5(h, w).map((r) => r.topic)).toEqual(["will/d"]);
  });

  test("[SRV5-CON-5, MQTT-3.14.4-3] DISCONNECT 0x04 publishes the will; DISCONNECT 0x00 does not", () => {
    const h = harness();
    const w = watcher(h);
    const a = connected(h, "a", { will: { topic: "will/a", payload: "sent" } });
    h.send(a, p5.disconnect(0x04));
    const b = connected(h, "b", { will: { topic: "will/b", payload: "not sent" } });
    h.send(b, p5.disconnect(0x00));
    expect(take5(h, w).map((r) => r.topic)).toEqual(["will/a"]);
  });
});

describe("MQTT 5.0 messages (in-memory)", () => {
  test("[MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.2-20, SRV5-PUB-15, SRV5-RC-4] properties pass through unchanged to 5.0 subscribers; 3.1.1 subscribers get the message without them", () => {
    const h = harness();
    const s5 = connected(h, "s5");
    h.send(s5, p5.subscribe(1, [["t", 1]]));
    take5(h, s5);
    const s3 = h.open();
    h.send(s3, pkt.connect("s3") + pkt.subscribe(1, [["t", 1]]));
    h.take(s3);
    const p = connected(h, "p");
    const props = { payloadFormatIndicator: 1, contentType: "application/json", responseTopic: "reply/p", correlationDataHex: "c0ffee", userProperties: [["z", "1"], ["a", "2"], ["z", "3"]] };
    h.send(p, p5.publish("t", "{}", { qos: 1, id: 9, props }));
    expect(take5(h, p)).toEqual([{ type: PUBACK, packetId: 9, reasonCode: 0, props: {} }]);
    const got = take5(h, s5);
    expect(got).toHaveLength(1);
    expect(got[0].props).toEqual(props);
    expect(h.take(s3)).toEqual([pkt.publish("t", "{}", { qos: 1, id: 1 })]);
  });

  test("[MQTT-3.3.2-5, MQTT-3.3.2-6] a queued message is sent with what is left of its expiry, and not at all once it passed", () => {
    const h = harness();
    const s = connected(h, "s", { props: { sessionExpiryInterval: 600 } });
    h.send(s, p5.subscribe(1, [["t", 1]]));
    take5(h, s);
    h.peerClose(s);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "short", { qos: 1, id: 1, props: { messageExpiryInterval: 5 } }));
    h.send(p, p5.publish("t", "long", { qos: 1, id: 2, props: { messageExpiryInterval: 100 } }));
    h.now.ms += 10000;
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 600 } }));
    const out = take5(h, s2);
    expect(types(out)).toEqual([CONNACK, PUBLISH]);
    expect(payloadOf(out[1])).toBe("long");
    expect((out[1].props as Record<string, unknown>).messageExpiryInterval).toBe(90);
  });

  test("[SRV5-PUB-2] an expired retained message is not sent to new subscribers", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("r/a", "old", { retain: true, props: { messageExpiryInterval: 2 } }));
    h.send(p, p5.publish("r/b", "kept", { retain: true }));
    h.now.ms += 3000;
    const s = connected(h, "s");
    h.send(s, p5.subscribe(1, [["r/#", 0]]));
    const out = take5(h, s);
    expect(types(out)).toEqual([SUBACK, PUBLISH]);
    expect(out[1].topic).toBe("r/b");
  });

  test("[MQTT-3.3.2-12, MQTT-3.3.2-7] a client Topic Alias maps a topic for the rest of the connection only", () => {
    const h = harness();
    const s = connected(h, "s");
    h.send(s, p5.subscribe(1, [["long/topic/name", 0]]));
    take5(h, s);
    const p = connected(h, "p");
    h.send(p, p5.publish("long/topic/name", "1", { props: { topicAlias: 10 } }));
    h.send(p, p5.publish("", "2", { props: { topicAlias: 10 } }));
    expect(take5(h, s).map((r) => [r.topic, payloadOf(r)])).toEqual([["long/topic/name", "1"], ["long/topic/name", "2"]]);
    h.peerClose(p);
    const p2 = connected(h, "p");
    h.send(p2, p5.publish("", "3", { props: { topicAlias: 10 } }));
    expect(take5(h, p2)).toEqual([{ type: DISCONNECT, reasonCode: 0x82, props: {} }]);
    expect(h.isClosed(p2)).toBe(true);
    expect(h.logs.join("\n")).toContain("topic alias 10 was never set");
  });

  test("[MQTT-3.3.2-9, SRV5-PUB-8] a Topic Alias above the maximum gets DISCONNECT 0x94; others are still served", () => {
    const h = harness();
    const s = connected(h, "s");
    h.send(s, p5.subscribe(1, [["t", 0]]));
    take5(h, s);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x", { props: { topicAlias: 11 } }));
    expect(take5(h, p)).toEqual([{ type: DISCONNECT, reasonCode: 0x94, props: {} }]);
    expect(h.isClosed(p)).toBe(true);
    expect(take5(h, s)).toEqual([]);
    const q = connected(h, "q");
    h.send(q, p5.publish("t", "y"));
    expect(take5(h, s).map(payloadOf)).toEqual(["y"]);
  });

  test("[MQTT-3.3.4-9] no more QoS 1 messages in flight than the client's Receive Maximum", () => {
    const h = harness();
    const s = connected(h, "s", { props: { receiveMaximum: 2 } });
    h.send(s, p5.subscribe(1, [["t", 1]]));
    take5(h, s);
    const p = connected(h, "p");
    for (let i = 1; i <= 5; i++) h.send(p, p5.publish("t", "m" + i, { qos: 1, id: i }));
    let got = take5(h, s);
    expect(got.map(payloadOf)).toEqual(["m1", "m2"]);
    h.send(s, p5.ack(4, got[0].packetId as number));
    got = take5(h, s);
    expect(got.map(payloadOf)).toEqual(["m3"]);
  });

  test("[MQTT-3.3.4-7, SRV5-CON-31] more QoS 2 messages awaiting PUBREL than the server's Receive Maximum: DISCONNECT 0x93", () => {
    const h = harness({ maxInboundQos2: 2 });
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 2, id: 1 }) + p5.publish("t", "2", { qos: 2, id: 2 }) + p5.publish("t", "3", { qos: 2, id: 3 }));
    const out = take5(h, p);
    expect(types(out)).toEqual([5, 5, DISCONNECT]);
    expect(out[2].reasonCode).toBe(0x93);
    expect(h.isClosed(p)).toBe(true);
  });

  test("[MQTT-3.1.2-24, MQTT-3.1.2-25] a message larger than the client's Maximum Packet Size is not sent to it; smaller ones are", () => {
    const h = harness();
    const s = connected(h, "s", { props: { maximumPacketSize: 64 } });
    h.send(s, p5.subscribe(1, [["t", 1]]));
    take5(h, s);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x".repeat(100), { qos: 1, id: 1 }) + p5.publish("t", "small", { qos: 1, id: 2 }));
    const got = take5(h, s);
    expect(got.map(payloadOf)).toEqual(["small"]);
  });

  test("[MQTT-3.1.2-24, MQTT-3.3.2-17] QoS 0 copies encoded once for many 5.0 subscribers still respect each one's Maximum Packet Size, and carry the properties", () => {
    const h = harness();
    const small = connected(h, "small", { props: { maximumPacketSize: 64 } });
    h.send(small, p5.subscribe(1, [["t", 0]]));
    const big = connected(h, "big");
    h.send(big, p5.subscribe(1, [["t", 0]]));
    const other = connected(h, "other");
    h.send(other, p5.subscribe(1, [["t", 0]]));
    for (const c of [small, big, other]) take5(h, c);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "y".repeat(100), { props: { userProperties: [["k", "v"]] } }) + p5.publish("t", "s"));
    expect(take5(h, small).map(payloadOf)).toEqual(["s"]);
    for (const c of [big, other]) {
      const got = take5(h, c);
      expect(got.map((r) => payloadOf(r).length)).toEqual([100, 1]);
      expect(got[0].props).toEqual({ userProperties: [["k", "v"]] });
      expect(got[1].props).toEqual({});
    }
  });

  test("[SRV5-PUB-14] a publish the ACL refuses gets PUBACK 0x87 (QoS 1) and PUBREC 0x87 (QoS 2, no PUBREL expected)", () => {
    const h = harness();
    h.broker.policy = { authenticate: () => 0, allow: (_c, _h, _u, topic) => topic !== "secret" };
    const p = connected(h, "p");
    h.send(p, p5.publish("secret", "x", { qos: 1, id: 1 }) + p5.publish("secret", "y", { qos: 2, id: 2 }));
    expect(take5(h, p)).toEqual([
      { type: PUBACK, packetId: 1, reasonCode: 0x87, props: {} },
      { type: 5, packetId: 2, reasonCode: 0x87, props: {} },
    ]);
    expect(h.broker.sessions[0].inboundCount).toBe(0);
  });

  test("[SRV5-PUB-19] PUBREL for an unknown packet id gets PUBCOMP 0x92", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.ack(6, 77));
    expect(take5(h, p)).toEqual([{ type: 7, packetId: 77, reasonCode: 0x92, props: {} }]);
  });

  test("[MQTT-4.13.1-1] a malformed packet after CONNACK gets DISCONNECT 0x81; an AUTH without a method 0x82", () => {
    const h = harness();
    const a = connected(h, "a");
    h.send(a, "3005000174ff01"); // PUBLISH "t" whose Property Length 0xff runs past the end
    const out = take5(h, a);
    expect(out).toEqual([{ type: DISCONNECT, reasonCode: 0x81, props: {} }]);
    expect(h.isClosed(a)).toBe(true);
    const b = connected(h, "b");
    h.send(b, "f000");
    expect(take5(h, b)).toEqual([{ type: DISCONNECT, reasonCode: 0x82, props: {} }]);
  });
});

describe("MQTT 5.0 subscriptions (in-memory)", () => {
  test("[MQTT-3.8.3-3] No Local: a client's own messages do not come back on that subscription", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["t", 0, true]]));
    take5(h, c);
    h.send(c, p5.publish("t", "mine"));
    expect(take5(h, c)).toEqual([]);
    const o = connected(h, "o");
    h.send(o, p5.publish("t", "theirs"));
    expect(take5(h, c).map(payloadOf)).toEqual(["theirs"]);
  });

  test("[MQTT-3.3.1-12, MQTT-3.3.1-13] Retain As Published keeps the RETAIN flag on live deliveries; without it RETAIN is 0", () => {
    const h = harness();
    const keep = connected(h, "keep");
    h.send(keep, p5.subscribe(1, [["t", 0, false, true]]));
    const plain = connected(h, "plain");
    h.send(plain, p5.subscribe(1, [["t", 0]]));
    take5(h, keep);
    take5(h, plain);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "r", { retain: true }));
    expect(take5(h, keep)[0].retain).toBe(true);
    expect(take5(h, plain)[0].retain).toBe(false);
  });

  test("[MQTT-3.3.1-9, MQTT-3.3.1-10, MQTT-3.3.1-11] Retain Handling 0 sends retained messages on every SUBSCRIBE, 1 only for a new subscription, 2 never", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("r", "kept", { retain: true }));
    const c = connected(h, "c");
    const retainedCount = (handling: number) => {
      h.send(c, p5.subscribe(1, [["r", 0, false, false, handling]]));
      return take5(h, c).filter((r) => r.type === PUBLISH).length;
    };
    expect(retainedCount(2)).toBe(0); // new, but never
    expect(retainedCount(1)).toBe(0); // exists now
    expect(retainedCount(0)).toBe(1);
    h.send(c, p5.unsubscribe(2, ["r"]));
    take5(h, c);
    expect(retainedCount(1)).toBe(1); // new again
  });

  test("[MQTT-3.3.4-3, MQTT-3.3.4-4, SRV5-SUB-1] deliveries carry the Subscription Identifiers of every matching subscription", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["a/#", 1]], { subscriptionIds: [7] }) + p5.subscribe(2, [["a/+", 0]], { subscriptionIds: [300] }) + p5.subscribe(3, [["a/b", 0]]));
    take5(h, c);
    const p = connected(h, "p");
    h.send(p, p5.publish("a/b", "x", { qos: 1, id: 1 }));
    const got = take5(h, c);
    expect(got).toHaveLength(1);
    expect(got[0].qos).toBe(1);
    expect(((got[0].props as Record<string, unknown>).subscriptionIds as number[]).sort((x, y) => x - y)).toEqual([7, 300]);
  });

  test("[SRV5-SUB-10, MQTT-3.9.3-1] SUBACK codes per filter in order: granted QoS, 0x8F invalid filter, a shared subscription's granted QoS", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(4, [["ok", 2], ["bad/#/x", 1], ["$share/g/t", 1], ["fine", 1]]));
    expect(take5(h, c)).toEqual([{ type: SUBACK, packetId: 4, returnCodes: [2, 0x8f, 1, 1], props: {} }]);
  });

  test("[SRV5-SUB-19, MQTT-3.11.3-1] UNSUBACK: 0x00 for a removed subscription, 0x11 where there was none, in order", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["a", 0]]));
    take5(h, c);
    h.send(c, p5.unsubscribe(2, ["nothing", "a"]));
    expect(take5(h, c)).toEqual([{ type: 11, packetId: 2, returnCodes: [0x11, 0x00], props: {} }]);
  });

  test("[SRV5-RC-4] a 3.1.1 client beside 5.0 clients still gets 3.1.1 answers", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("old") + pkt.subscribe(1, [["bad/#/x", 0]]) + pkt.unsubscribe(2, ["none"]));
    expect(h.take(c)).toEqual([CONNACK_OK, "9003000180", "b0020002"]);
  });
});
