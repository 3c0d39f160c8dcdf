// MQTT 5.0 PUBLISH, its acknowledgements and the QoS flows through the in-memory transport:
// statements of docs/spec/mqtt-5.0.md §1.5, §2.3-2.7 and §3.3-3.6 not covered by
// mqtt5.test.ts. Titles name the ids they check.
import { describe, expect, test } from "vitest";
import { harness, pkt } from "../broker/harness";
import { p5, take5, types, v5, CONNACK, DISCONNECT, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, connected, payloadOf, rawPacket, rawStr } from "./harness5";

type H = ReturnType<typeof harness>;
type Rec = Record<string, unknown>;

function subscriber(h: H, id: string, filter: string, qos: number, o: Parameters<typeof p5.connect>[1] = {}): number {
  const c = connected(h, id, o);
  h.send(c, p5.subscribe(1, [[filter, qos]]));
  expect(types(take5(h, c))).toEqual([SUBACK]);
  return c;
}

function expectDisconnect(h: H, c: number, code: number): void {
  expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: code, props: {} }]);
  expect(h.isClosed(c)).toBe(true);
}

describe("MQTT 5.0 PUBLISH fixed header and fields", () => {
  test("[MQTT-3.3.1-2, MQTT-4.3.1-1] a QoS 0 message goes out once, with DUP 0", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 0);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x", { qos: 1, id: 3 }));
    const got = take5(h, s);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: PUBLISH, qos: 0, dup: false });
    expect(got[0].packetId).toBeUndefined();
    h.advance(60000);
    expect(take5(h, s)).toEqual([]);
  });

  test("[MQTT-3.3.1-3] the publisher's DUP flag is not forwarded", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 1);
    const p = connected(h, "p");
    h.send(p, v5({ type: 3, dup: true, qos: 1, retain: false, topic: "t", packetId: 4, payloadHex: "78", props: {} }));
    expect(take5(h, p)).toEqual([{ type: PUBACK, packetId: 4, reasonCode: 0, props: {} }]);
    const got = take5(h, s);
    expect(got).toHaveLength(1);
    expect(got[0].dup).toBe(false);
  });

  test("[SRV5-PUB-1] a QoS 0 PUBLISH with DUP 1 is malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, rawPacket(0x38, [...rawStr([0x74]), 0])); // PUBLISH DUP=1 QoS 0, topic "t", Property Length 0
    expectDisconnect(h, p, 0x81);
  });

  test("[MQTT-3.3.1-4] QoS 3 is malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, rawPacket(0x36, [...rawStr([0x74]), 0, 1, 0])); // QoS bits 11, id 1, Property Length 0
    expectDisconnect(h, p, 0x81);
  });

  test("[MQTT-3.3.2-1, MQTT-1.5.4-1] a topic name that is not well-formed UTF-8 is malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, rawPacket(0x30, [...rawStr([0x61, 0xed, 0xa0, 0x80]), 0]));
    expectDisconnect(h, p, 0x81);
  });

  test("[MQTT-1.5.4-2, MQTT-4.7.3-2] a topic name containing U+0000 is malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, rawPacket(0x30, [...rawStr([0x61, 0x00, 0x62]), 0]));
    expectDisconnect(h, p, 0x81);
  });

  test("[MQTT-1.5.4-3, SRV5-ENC-6, MQTT-4.7.3-4] a topic starting with EF BB BF keeps it: it is a different topic from the one without", () => {
    const h = harness();
    const plain = subscriber(h, "plain", "t", 0);
    const bom = connected(h, "bom");
    h.send(bom, rawPacket(0x82, [0, 1, 0, ...rawStr([0xef, 0xbb, 0xbf, 0x74]), 0]));
    expect(take5(h, bom)).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [0], props: {} }]);
    const p = connected(h, "p");
    h.send(p, rawPacket(0x30, [...rawStr([0xef, 0xbb, 0xbf, 0x74]), 0, 0x31]));
    h.send(p, p5.publish("t", "2"));
    expect(take5(h, plain).map(payloadOf)).toEqual(["2"]);
    const got = take5(h, bom);
    expect(got.map(payloadOf)).toEqual(["1"]);
    expect(Buffer.from(got[0].topic as string, "utf8").toString("hex")).toBe("efbbbf74");
  });

  test("[SRV5-ENC-5, SRV5-IMPL-20] control characters and non-characters in a topic are accepted and delivered as sent", () => {
    const h = harness();
    const topic = "a\u0001b\u007f\uffff";
    const s = subscriber(h, "s", topic, 0);
    const p = connected(h, "p");
    h.send(p, p5.publish(topic, "x"));
    expect(take5(h, s).map((r) => r.topic)).toEqual([topic]);
  });

  test("[MQTT-3.3.2-2, MQTT-4.7.0-1] a topic name with + or # is a Protocol Error: DISCONNECT 0x82", () => {
    for (const topic of ["a/+", "#"]) {
      const h = harness();
      const p = connected(h, "p");
      h.send(p, p5.publish(topic, "x"));
      expectDisconnect(h, p, 0x82);
    }
  });

  test("[MQTT-3.3.2-13, MQTT-3.3.2-14, MQTT-3.3.2-19, MQTT-1.5.4-1] Response Topic and Content Type must be well-formed UTF-8 (DISCONNECT 0x81), and the Response Topic has no wildcards (DISCONNECT 0x82)", () => {
    const cases: Array<[number[], number]> = [
      [[0x08, ...rawStr([0x72, 0xff])], 0x81], // Response Topic, bad UTF-8
      [[0x08, ...rawStr([0x72, 0x2f, 0x23])], 0x82], // Response Topic "r/#"
      [[0x08, ...rawStr([0x2b])], 0x82], // Response Topic "+"
      [[0x03, ...rawStr([0xc0, 0xaf])], 0x81], // Content Type, overlong
    ];
    for (const [props, code] of cases) {
      const h = harness();
      const p = connected(h, "p");
      h.send(p, rawPacket(0x30, [...rawStr([0x74]), props.length, ...props]));
      expectDisconnect(h, p, code);
    }
  });

  test("[MQTT-1.5.7-1, SRV5-ENC-8] a User Property whose name or value is not UTF-8 is malformed; valid pairs pass unchanged", () => {
    for (const pair of [[...rawStr([0xff]), ...rawStr([0x61])], [...rawStr([0x61]), ...rawStr([0x00])]]) {
      const h = harness();
      const p = connected(h, "p");
      h.send(p, rawPacket(0x30, [...rawStr([0x74]), pair.length + 1, 0x26, ...pair]));
      expectDisconnect(h, p, 0x81);
    }
    const h = harness();
    const s = subscriber(h, "s", "t", 0);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x", { props: { userProperties: [["ключ", "значение"], ["", ""]] } }));
    expect(take5(h, s)[0].props).toEqual({ userProperties: [["ключ", "значение"], ["", ""]] });
  });

  test("[SRV5-PUB-6, SRV5-IMPL-16, MQTT-3.3.2-4] a payload marked UTF-8 is not checked: invalid bytes are delivered with the indicator", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 0);
    const p = connected(h, "p");
    h.send(p, v5({ type: 3, dup: false, qos: 0, retain: false, topic: "t", payloadHex: "ff00fe", props: { payloadFormatIndicator: 1 } }));
    const got = take5(h, s);
    expect(got[0].payloadHex).toBe("ff00fe");
    expect(got[0].props).toEqual({ payloadFormatIndicator: 1 });
  });

  test("[SRV5-PUB-9, MQTT-3.1.2-26, SRV5-IMPL-5] the server sends no Topic Alias, even to a client that allows them: full topic names only", () => {
    const h = harness();
    const s = subscriber(h, "s", "long/topic", 0, { props: { topicAliasMaximum: 10 } });
    const p = connected(h, "p");
    h.send(p, p5.publish("long/topic", "1") + p5.publish("long/topic", "2"));
    const got = take5(h, s);
    expect(got.map((r) => r.topic)).toEqual(["long/topic", "long/topic"]);
    for (const r of got) expect((r.props as Rec).topicAlias).toBeUndefined();
  });

  test("[SRV5-PUB-11] the payload is opaque and may be empty: delivered byte for byte", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 0);
    const p = connected(h, "p");
    h.send(p, v5({ type: 3, dup: false, qos: 0, retain: false, topic: "t", payloadHex: "", props: {} }));
    h.send(p, v5({ type: 3, dup: false, qos: 0, retain: false, topic: "t", payloadHex: "00ff10", props: {} }));
    expect(take5(h, s).map((r) => r.payloadHex)).toEqual(["", "00ff10"]);
  });
});

describe("MQTT 5.0 retained messages", () => {
  test("[MQTT-3.3.1-6, MQTT-3.3.1-7] RETAIN 1 with an empty payload is delivered to subscribers and removes the retained message; it is not stored itself", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("r", "kept", { retain: true }));
    const s = connected(h, "s");
    h.send(s, p5.subscribe(2, [["r", 0]]));
    expect(types(take5(h, s))).toEqual([SUBACK, PUBLISH]); // retained
    h.send(p, p5.publish("r", "", { retain: true }));
    const live = take5(h, s);
    expect(live).toHaveLength(1);
    expect(live[0].payloadHex).toBe("");
    const late = connected(h, "late");
    h.send(late, p5.subscribe(1, [["r", 0]]));
    expect(types(take5(h, late))).toEqual([SUBACK]);
  });

  test("[MQTT-3.3.1-8] RETAIN 0 leaves the retained message in place", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("r", "kept", { retain: true }));
    h.send(p, p5.publish("r", "live only"));
    const s = connected(h, "s");
    h.send(s, p5.subscribe(1, [["r", 0]]));
    const out = take5(h, s);
    expect(types(out)).toEqual([SUBACK, PUBLISH]);
    expect(payloadOf(out[1])).toBe("kept");
  });
});

describe("MQTT 5.0 packet identifiers and acknowledgements", () => {
  test("[MQTT-2.2.1-4, SRV5-ENC-9, MQTT-4.3.2-1, MQTT-4.3.3-1] outbound QoS 1 and 2 messages get non-zero ids not in use towards that client", () => {
    const h = harness();
    const s = connected(h, "s");
    h.send(s, p5.subscribe(1, [["a", 1], ["b", 2]]));
    take5(h, s);
    const p = connected(h, "p");
    // The publisher's ids (all 1) are its own space: they do not decide the subscriber's.
    for (let i = 0; i < 6; i++) h.send(p, p5.publish(i % 2 ? "b" : "a", "m" + i, { qos: 1, id: 1 }));
    const got = take5(h, s);
    expect(got).toHaveLength(6);
    const ids = got.map((r) => r.packetId as number);
    for (const id of ids) expect(id).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(6);
  });

  test("[MQTT-2.2.1-5, MQTT-4.3.2-4, MQTT-4.3.3-8, MQTT-4.3.3-11, MQTT-3.3.4-1] inbound QoS 1 gets PUBACK and QoS 2 PUBREC with the PUBLISH's id; PUBREL gets PUBCOMP with its id; QoS 0 gets nothing", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "0") + p5.publish("t", "1", { qos: 1, id: 513 }) + p5.publish("t", "2", { qos: 2, id: 65535 }));
    expect(take5(h, p)).toEqual([
      { type: PUBACK, packetId: 513, reasonCode: 0, props: {} },
      { type: PUBREC, packetId: 65535, reasonCode: 0, props: {} },
    ]);
    h.send(p, p5.ack(PUBREL, 65535));
    expect(take5(h, p)).toEqual([{ type: PUBCOMP, packetId: 65535, reasonCode: 0, props: {} }]);
  });

  test("[SRV5-PUB-16, SRV5-V311-11] a success PUBACK, PUBREC and PUBCOMP are the four-byte short form", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 1, id: 1 }) + p5.publish("t", "2", { qos: 2, id: 2 }) + p5.ack(PUBREL, 2));
    expect(h.take(p)).toEqual(["40020001", "50020002", "70020002"]);
  });

  test("[SRV5-ENC-11] packet id 0 on a QoS 1 PUBLISH, a SUBSCRIBE or an UNSUBSCRIBE is a Protocol Error: DISCONNECT 0x82", () => {
    for (const hex of [
      rawPacket(0x32, [...rawStr([0x74]), 0, 0, 0]), // PUBLISH QoS 1, id 0
      rawPacket(0x82, [0, 0, 0, ...rawStr([0x74]), 0]), // SUBSCRIBE id 0
      rawPacket(0xa2, [0, 0, 0, ...rawStr([0x74])]), // UNSUBSCRIBE id 0
    ]) {
      const h = harness();
      const p = connected(h, "p");
      h.send(p, hex);
      expectDisconnect(h, p, 0x82);
    }
  });

  test("[SRV5-ENC-11, MQTT-4.3.3-10, SRV5-OPS-7, SRV5-IMPL-28] a repeated QoS 2 PUBLISH before PUBREL gets PUBREC again and is delivered once", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 0);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "once", { qos: 2, id: 7 }));
    h.send(p, v5({ type: 3, dup: true, qos: 2, retain: false, topic: "t", packetId: 7, payloadHex: "6f6e6365", props: {} }));
    expect(types(take5(h, p))).toEqual([PUBREC, PUBREC]);
    h.send(p, p5.ack(PUBREL, 7));
    expect(types(take5(h, p))).toEqual([PUBCOMP]);
    expect(take5(h, s).map(payloadOf)).toEqual(["once"]);
  });

  test("[MQTT-4.3.2-5, MQTT-4.3.3-12, MQTT-4.3.3-9] once acknowledged (PUBACK, PUBCOMP, or a failing PUBREC), a PUBLISH with the same id is a new message", () => {
    const h = harness();
    h.broker.policy = { authenticate: () => 0, allow: (_c, _h, _u, topic) => topic !== "secret" };
    const s = subscriber(h, "s", "t", 0);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "a", { qos: 1, id: 1 }) + p5.publish("t", "b", { qos: 1, id: 1 }));
    h.send(p, p5.publish("t", "c", { qos: 2, id: 2 }) + p5.ack(PUBREL, 2) + p5.publish("t", "d", { qos: 2, id: 2 }) + p5.ack(PUBREL, 2));
    h.send(p, p5.publish("secret", "e", { qos: 2, id: 3 }) + p5.publish("t", "f", { qos: 2, id: 3 }) + p5.ack(PUBREL, 3));
    expect(take5(h, s).map(payloadOf)).toEqual(["a", "b", "c", "d", "f"]);
    expect(take5(h, p).map((r) => [r.type, r.packetId, r.reasonCode])).toEqual([
      [PUBACK, 1, 0],
      [PUBACK, 1, 0],
      [PUBREC, 2, 0],
      [PUBCOMP, 2, 0],
      [PUBREC, 2, 0],
      [PUBCOMP, 2, 0],
      [PUBREC, 3, 0x87],
      [PUBREC, 3, 0],
      [PUBCOMP, 3, 0],
    ]);
  });

  test("[MQTT-3.6.1-1] PUBREL flags other than 0010 are malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x", { qos: 2, id: 1 }));
    take5(h, p);
    h.send(p, "60020001");
    expectDisconnect(h, p, 0x81);
  });

  test("[MQTT-3.5.2-1, MQTT-3.4.2-1, SRV5-OPS-6, SRV5-ERR-3] refused publishes get failing PUBACK/PUBREC codes from their tables; the connection carries on", () => {
    const PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
    const h = harness();
    h.broker.policy = { authenticate: () => 0, allow: (_c, _h, _u, topic) => topic !== "secret" };
    const p = connected(h, "p");
    h.send(p, p5.publish("secret", "x", { qos: 1, id: 1 }) + p5.publish("secret", "x", { qos: 2, id: 2 }) + p5.publish("t", "x", { qos: 1, id: 3 }));
    const out = take5(h, p);
    expect(types(out)).toEqual([PUBACK, PUBREC, PUBACK]);
    for (const r of out) expect(PUBACK_CODES).toContain(r.reasonCode);
    expect(out[0].reasonCode).toBeGreaterThanOrEqual(0x80);
    expect(out[1].reasonCode).toBeGreaterThanOrEqual(0x80);
    expect(h.isClosed(p)).toBe(false);
  });
});

describe("MQTT 5.0 outbound QoS flows", () => {
  test("[MQTT-4.3.2-2, MQTT-4.3.2-3, SRV5-PUB-17, SRV5-ENC-10] outbound QoS 1 goes with QoS 1, DUP 0, and holds its id and quota until PUBACK", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 1, { props: { receiveMaximum: 1 } });
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 1, id: 1 }) + p5.publish("t", "2", { qos: 1, id: 2 }));
    let got = take5(h, s);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ qos: 1, dup: false });
    h.send(s, p5.ack(PUBACK, got[0].packetId as number));
    got = take5(h, s);
    expect(got.map(payloadOf)).toEqual(["2"]);
  });

  test("[SRV5-PUB-17, MQTT-4.4.0-2] a failing PUBACK ends the flow: quota returns and the message is never resent, not even after reconnecting", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 1, { props: { receiveMaximum: 1, sessionExpiryInterval: 60 } });
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 1, id: 1 }) + p5.publish("t", "2", { qos: 1, id: 2 }));
    const first = take5(h, s);
    h.send(s, p5.ack(PUBACK, first[0].packetId as number, 0x80));
    const second = take5(h, s);
    expect(second.map(payloadOf)).toEqual(["2"]);
    h.peerClose(s);
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60 } }));
    const out = take5(h, s2);
    expect(out.filter((r) => r.type === PUBLISH).map(payloadOf)).toEqual(["2"]);
  });

  test("[MQTT-4.3.3-2, MQTT-4.3.3-3, MQTT-4.3.3-4, MQTT-4.3.3-5, SRV5-PUB-18, SRV5-PUB-20] outbound QoS 2: QoS 2 and DUP 0, PUBREL with the same id after PUBREC, quota back after PUBCOMP", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 2, { props: { receiveMaximum: 1 } });
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 2, id: 1 }) + p5.ack(PUBREL, 1) + p5.publish("t", "2", { qos: 2, id: 2 }) + p5.ack(PUBREL, 2));
    const got = take5(h, s);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ qos: 2, dup: false });
    const id = got[0].packetId as number;
    h.send(s, p5.ack(PUBREC, id));
    expect(take5(h, s)).toEqual([{ type: PUBREL, packetId: id, reasonCode: 0, props: {} }]); // still no room
    h.send(s, p5.ack(PUBCOMP, id));
    const next = take5(h, s);
    expect(next.map(payloadOf)).toEqual(["2"]);
    // An unknown PUBCOMP is ignored.
    h.send(s, p5.ack(PUBCOMP, 999));
    expect(take5(h, s)).toEqual([]);
    expect(h.isClosed(s)).toBe(false);
  });

  test("[SRV5-PUB-18, MQTT-4.4.0-2, SRV5-OPS-11] a failing PUBREC ends the QoS 2 flow without PUBREL, frees the quota and is not resent", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 2, { props: { receiveMaximum: 1, sessionExpiryInterval: 60 } });
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 2, id: 1 }) + p5.ack(PUBREL, 1) + p5.publish("t", "2", { qos: 2, id: 2 }) + p5.ack(PUBREL, 2));
    const first = take5(h, s);
    expect(first).toHaveLength(1);
    h.send(s, p5.ack(PUBREC, first[0].packetId as number, 0x80));
    const next = take5(h, s);
    expect(types(next)).toEqual([PUBLISH]);
    expect(payloadOf(next[0])).toBe("2");
    h.peerClose(s);
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60 } }));
    expect(take5(h, s2).filter((r) => r.type === PUBLISH).map(payloadOf)).toEqual(["2"]);
  });

  test("[MQTT-4.3.3-6, MQTT-4.4.0-1] after PUBREL the PUBLISH is never sent again: a reconnect resends the PUBREL only", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 2, { props: { sessionExpiryInterval: 60 } });
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 2, id: 1 }) + p5.ack(PUBREL, 1));
    const got = take5(h, s);
    h.send(s, p5.ack(PUBREC, got[0].packetId as number));
    expect(types(take5(h, s))).toEqual([PUBREL]);
    h.peerClose(s);
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60 } }));
    const out = take5(h, s2);
    expect(types(out)).toEqual([CONNACK, PUBREL]);
    expect(out[1].packetId).toBe(got[0].packetId);
  });

  test("[MQTT-4.3.3-7, MQTT-4.3.3-13, SRV5-PUB-7, SRV5-IMPL-21] a QoS 2 delivery already sent is completed after its expiry passed, and resent on reconnect", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 2, { props: { sessionExpiryInterval: 600 } });
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x", { qos: 2, id: 1, props: { messageExpiryInterval: 2 } }) + p5.ack(PUBREL, 1));
    expect(take5(h, p).map((r) => [r.type, r.reasonCode])).toEqual([[PUBREC, 0], [PUBCOMP, 0]]);
    const got = take5(h, s);
    expect(got).toHaveLength(1);
    h.peerClose(s);
    h.advance(5000);
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 600 } }));
    const out = take5(h, s2);
    expect(types(out)).toEqual([CONNACK, PUBLISH]);
    expect(out[1]).toMatchObject({ dup: true, packetId: got[0].packetId });
    h.send(s2, p5.ack(PUBREC, got[0].packetId as number));
    expect(types(take5(h, s2))).toEqual([PUBREL]);
  });

  test("[MQTT-4.9.0-1, MQTT-4.9.0-2, MQTT-4.9.0-3, MQTT-3.3.4-10] with no quota left QoS 0 messages and other answers still go out", () => {
    const h = harness();
    const s = connected(h, "s", { props: { receiveMaximum: 1 } });
    h.send(s, p5.subscribe(1, [["q", 1], ["z", 0]]));
    take5(h, s);
    const p = connected(h, "p");
    h.send(p, p5.publish("q", "1", { qos: 1, id: 1 }) + p5.publish("q", "2", { qos: 1, id: 2 }) + p5.publish("z", "zero"));
    expect(take5(h, s).map(payloadOf)).toEqual(["1", "zero"]);
    h.send(s, "c000" + p5.subscribe(2, [["y", 0]]) + p5.publish("t", "x", { qos: 1, id: 9 }));
    expect(types(take5(h, s))).toEqual([13, SUBACK, PUBACK]);
  });

  test("[SRV5-OPS-8] resends on reconnect obey the new connection's Receive Maximum", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 1, { props: { sessionExpiryInterval: 60 } });
    h.peerClose(s);
    const p = connected(h, "p");
    for (let i = 1; i <= 4; i++) h.send(p, p5.publish("t", "m" + i, { qos: 1, id: i }));
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60, receiveMaximum: 2 } }));
    const out = take5(h, s2);
    expect(out.filter((r) => r.type === PUBLISH).map(payloadOf)).toEqual(["m1", "m2"]);
  });

  test("[SRV5-OPS-8] a queued message too large for the new connection's Maximum Packet Size is dropped, the rest sent", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 1, { props: { sessionExpiryInterval: 60 } });
    h.peerClose(s);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x".repeat(200), { qos: 1, id: 1 }) + p5.publish("t", "small", { qos: 1, id: 2 }));
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60, maximumPacketSize: 100 } }));
    const out = take5(h, s2);
    expect(out.filter((r) => r.type === PUBLISH).map(payloadOf)).toEqual(["small"]);
  });
});

describe("MQTT 5.0 in-flight messages after reconnect", () => {
  test("[MQTT-3.1.2-25] an unacknowledged message too large for the new connection's Maximum Packet Size is discarded as if sent, and its window slot goes to the next", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 1, { props: { sessionExpiryInterval: 60 } });
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "x".repeat(200), { qos: 1, id: 1 }));
    expect(take5(h, s).filter((r) => r.type === PUBLISH).length, "in flight, not acknowledged").toBe(1);
    h.peerClose(s);
    h.send(p, p5.publish("t", "small", { qos: 1, id: 2 }));
    const dropped = h.broker.stats.messagesDropped;
    const s2 = h.open();
    // A window of one: the discarded flight must not keep it full.
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60, maximumPacketSize: 100, receiveMaximum: 1 } }));
    const out = take5(h, s2).filter((r) => r.type === PUBLISH);
    expect(out.map(payloadOf)).toEqual(["small"]);
    expect(h.broker.stats.messagesDropped).toBe(dropped + 1);
    h.send(s2, p5.ack(PUBACK, out[0].packetId as number));
    expect(h.broker.sessions[h.broker.conns[s2].session].flightCount).toBe(0);
  });
});

describe("MQTT 5.0 resend under a lower Receive Maximum", () => {
  /**
   * A 5.0 subscriber "s" with n QoS 1 messages m1..mn in flight (unacknowledged) that goes away;
   * `then` runs while it is away. Returns the harness, the PUBLISHes it first got, and its
   * PUBLISHes on the connection made again with Receive Maximum `receiveMaximum`.
   */
  function backWithLowerReceiveMaximum(n: number, receiveMaximum: number, then: (h: ReturnType<typeof harness>, p: number) => void = () => {}) {
    const h = harness();
    const s = subscriber(h, "s", "t", 1, { props: { sessionExpiryInterval: 60 } });
    const p = connected(h, "p");
    for (let i = 1; i <= n; i++) h.send(p, p5.publish("t", "m" + i, { qos: 1, id: i }));
    const first = take5(h, s).filter((r) => r.type === PUBLISH);
    h.peerClose(s);
    then(h, p);
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60, receiveMaximum } }));
    return { h, s2, first, again: take5(h, s2).filter((r) => r.type === PUBLISH) };
  }

  test("[MQTT-3.3.4-9, MQTT-4.4.0-1, MQTT-4.6.0-1] a client back with a Receive Maximum below its unacknowledged messages gets that many again, the others in order as it acknowledges", () => {
    const { h, s2, first, again } = backWithLowerReceiveMaximum(4, 2, (h, p) => h.send(p, p5.publish("t", "m5", { qos: 1, id: 5 })));
    expect(first.map(payloadOf)).toEqual(["m1", "m2", "m3", "m4"]);
    expect(again.map(payloadOf), "two, the Receive Maximum").toEqual(["m1", "m2"]);
    expect(again.map((r) => r.packetId)).toEqual([first[0].packetId, first[1].packetId]);
    const got: string[] = [];
    const inFlight = [...again];
    while (inFlight.length > 0) {
      const r = inFlight.shift()!;
      got.push(payloadOf(r));
      h.send(s2, p5.ack(PUBACK, r.packetId as number));
      const next = take5(h, s2).filter((x) => x.type === PUBLISH);
      expect(next.length + inFlight.length, "never more than two unacknowledged").toBeLessThanOrEqual(2);
      inFlight.push(...next);
    }
    expect(got).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    expect(h.broker.sessions[h.broker.conns[s2].session].flightCount).toBe(0);
  });

  test("[MQTT-3.3.4-9] a PUBACK for a message still waiting to be sent again (received on the previous connection) ends it without sending another", () => {
    const { h, s2, first, again } = backWithLowerReceiveMaximum(3, 1);
    expect(again.map(payloadOf)).toEqual(["m1"]);
    // m3 was never sent again on this connection; its PUBACK still ends it, and m1 keeps the one slot.
    h.send(s2, p5.ack(PUBACK, first[2].packetId as number));
    expect(take5(h, s2).filter((r) => r.type === PUBLISH)).toEqual([]);
    h.send(s2, p5.ack(PUBACK, first[0].packetId as number));
    expect(take5(h, s2).filter((r) => r.type === PUBLISH).map(payloadOf)).toEqual(["m2"]);
  });
});

describe("MQTT 5.0 message ordering", () => {
  test("[MQTT-4.6.0-5, MQTT-4.6.0-6] a subscriber gets one publisher's messages in the order they arrived, across QoS levels", () => {
    const h = harness();
    const s = subscriber(h, "s", "o/#", 2);
    const p = connected(h, "p");
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      sent.push("m" + i);
      h.send(p, p5.publish(i % 2 ? "o/a" : "o/b", "m" + i, { qos: i % 3, id: i + 1 }));
      if (i % 3 === 2) h.send(p, p5.ack(PUBREL, i + 1));
    }
    expect(take5(h, s).map(payloadOf)).toEqual(sent);
  });

  test("[MQTT-4.6.0-1] resends after reconnect go out in their original order", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 1, { props: { sessionExpiryInterval: 60 } });
    const p = connected(h, "p");
    for (let i = 1; i <= 3; i++) h.send(p, p5.publish("t", "m" + i, { qos: 1, id: i }));
    const first = take5(h, s);
    expect(first.map(payloadOf)).toEqual(["m1", "m2", "m3"]);
    h.peerClose(s);
    h.send(p, p5.publish("t", "m4", { qos: 1, id: 4 }));
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60 } }));
    const out = take5(h, s2).filter((r) => r.type === PUBLISH);
    expect(out.map(payloadOf)).toEqual(["m1", "m2", "m3", "m4"]);
    expect(out.map((r) => r.packetId)).toEqual([...first.map((r) => r.packetId), out[3].packetId]);
  });

  test("[MQTT-4.6.0-2, MQTT-4.6.0-3] PUBACKs and PUBRECs go out in the order the PUBLISHes arrived", () => {
    const h = harness();
    const p = connected(h, "p");
    const ids = [9, 3, 7, 1, 5];
    for (const id of ids) h.send(p, p5.publish("t", "x", { qos: 1, id }));
    for (const id of ids) h.send(p, p5.publish("t", "x", { qos: 2, id: id + 100 }));
    const out = take5(h, p);
    expect(out.map((r) => [r.type, r.packetId])).toEqual([...ids.map((id) => [PUBACK, id]), ...ids.map((id) => [PUBREC, id + 100])]);
  });

  test("[MQTT-4.6.0-4] PUBRELs go out in the order the PUBRECs came in", () => {
    const h = harness();
    const s = subscriber(h, "s", "t", 2);
    const p = connected(h, "p");
    for (let i = 1; i <= 3; i++) h.send(p, p5.publish("t", "m" + i, { qos: 2, id: i }) + p5.ack(PUBREL, i));
    const got = take5(h, s).map((r) => r.packetId as number);
    expect(got).toHaveLength(3);
    const order = [got[2], got[0], got[1]];
    for (const id of order) h.send(s, p5.ack(PUBREC, id));
    expect(take5(h, s).map((r) => [r.type, r.packetId])).toEqual(order.map((id) => [PUBREL, id]));
  });
});

describe("MQTT 5.0 overlapping subscriptions", () => {
  test("[MQTT-3.3.4-2, SRV5-IMPL-24, MQTT-4.5.0-1] overlapping subscriptions of one client give one copy at the highest matching QoS", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["a/#", 0], ["a/+", 2], ["a/b", 1]]));
    take5(h, c);
    const p = connected(h, "p");
    h.send(p, p5.publish("a/b", "x", { qos: 2, id: 1 }) + p5.ack(PUBREL, 1));
    const got = take5(h, c);
    expect(got).toHaveLength(1);
    expect(got[0].qos).toBe(2);
  });

  test("[SRV5-V311-27] a 3.1.1 publisher's message reaches a 5.0 subscriber with no properties but its Subscription Identifier", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["t", 0]], { subscriptionIds: [42] }));
    take5(h, c);
    const old = h.open();
    h.send(old, pkt.connect("old") + pkt.publish("t", "hi"));
    const got = take5(h, c);
    expect(got).toHaveLength(1);
    expect(got[0].props).toEqual({ subscriptionIds: [42] });
  });
});
