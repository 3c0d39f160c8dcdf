// MQTT 5.0 PINGREQ, DISCONNECT, AUTH, sessions and error handling through the in-memory
// transport: statements of docs/spec/mqtt-5.0.md §1.1, §2.12-2.15, §3.1 and §3.13 not covered
// elsewhere. Titles name the ids they check.
import { describe, expect, test } from "vitest";
import { harness, pkt } from "../broker/harness";
import { p5, take5, types, CONNACK, DISCONNECT, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, connected, payloadOf } from "./harness5";

type H = ReturnType<typeof harness>;
type Rec = Record<string, unknown>;

function watcher(h: H): number {
  const w = connected(h, "watch");
  h.send(w, p5.subscribe(1, [["will/#", 0]]));
  take5(h, w);
  return w;
}

// Every DISCONNECT reason code of the standard's table.
const DISCONNECT_CODES = [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d,
  0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
];

describe("MQTT 5.0 PINGREQ", () => {
  test("[MQTT-3.12.4-1, SRV5-OPS-1] each PINGREQ gets a PINGRESP, which restarts the keep-alive timer", () => {
    const h = harness();
    const c = connected(h, "c", { keepAlive: 10 });
    for (let i = 0; i < 4; i++) {
      h.advance(12000);
      h.send(c, "c000");
      expect(h.take(c)).toEqual(["d000"]);
    }
    expect(h.isClosed(c)).toBe(false);
  });

  test("[SRV5-OPS-1, SRV5-FH-4] a PINGREQ with a non-zero length is malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, "c00100");
    expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x81, props: {} }]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[SRV5-OPS-1, MQTT-4.9.0-3] PINGRESP is not held back by a full send quota", () => {
    const h = harness();
    const s = connected(h, "s", { props: { receiveMaximum: 1 } });
    h.send(s, p5.subscribe(1, [["t", 1]]));
    take5(h, s);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 1, id: 1 }) + p5.publish("t", "2", { qos: 1, id: 2 }));
    expect(take5(h, s)).toHaveLength(1);
    h.send(s, "c000");
    expect(types(take5(h, s))).toEqual([PINGRESP]);
  });
});

describe("MQTT 5.0 DISCONNECT", () => {
  test("[SRV5-DIS-1, SRV5-DIS-4, SRV5-V311-23] a client DISCONNECT may be empty, a reason code alone, or a code with properties; each closes the connection", () => {
    for (const hex of ["e000", "e00100", "e0020000", p5.disconnect(0, { userProperties: [["why", "done"]] })]) {
      const h = harness();
      const c = connected(h, "c");
      h.send(c, hex);
      expect(h.take(c)).toEqual([]);
      expect(h.isClosed(c)).toBe(true);
    }
  });

  test("[SRV5-DIS-1, MQTT-3.14.2-1, MQTT-3.14.2-2, SRV5-DIS-3, SRV5-RC-2, SRV5-RC-3] a server DISCONNECT is a reason code from the DISCONNECT table, without Session Expiry Interval or Server Reference, never 0x8C, never the client-only 0x04", () => {
    const seen: number[] = [];
    const check = (h: H, c: number): void => {
      const raw = h.take(c);
      expect(raw).toHaveLength(1);
      expect(raw[0].slice(0, 4)).toBe("e001"); // code only, no properties
      const code = parseInt(raw[0].slice(4), 16);
      expect(DISCONNECT_CODES).toContain(code);
      expect(code).not.toBe(0x8c);
      expect(code).not.toBe(0x04);
      seen.push(code);
    };
    let h = harness();
    let c = connected(h, "c");
    h.send(c, "3005000174ff01"); // malformed
    check(h, c);
    c = connected(h, "d");
    h.send(c, p5.connect("d")); // second CONNECT
    check(h, c);
    c = connected(h, "e");
    connected(h, "e"); // takeover
    check(h, c);
    c = connected(h, "f");
    h.send(c, "f000"); // AUTH without a method
    check(h, c);
    h = harness({ maxTopicAlias: 2 });
    c = connected(h, "g");
    h.send(c, p5.publish("t", "x", { props: { topicAlias: 3 } }));
    check(h, c);
    c = connected(h, "k", { keepAlive: 1 });
    h.advance(2000);
    check(h, c);
    expect(seen).toEqual([0x81, 0x82, 0x8e, 0x82, 0x94, 0x8d]);
  });

  test("[MQTT-3.14.0-1, MQTT-3.2.0-1] before CONNACK the server never sends DISCONNECT: a bad CONNECT gets a refusing CONNACK or a plain close", () => {
    const h = harness();
    for (const hex of ["101700044d5154540502003c0a1100000001110000000200017a", p5.connect("a") .replace(/^10/, "11"), "3005000174ff01"]) {
      const c = h.open();
      h.send(c, hex);
      const out = h.take(c);
      for (const raw of out) expect(raw.slice(0, 2)).toBe("20");
      expect(h.isClosed(c)).toBe(true);
    }
  });

  test("[MQTT-3.14.4-1, MQTT-3.14.4-2] after sending DISCONNECT the server closes and sends nothing more", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["t", 0]]));
    take5(h, c);
    h.send(c, "3005000174ff01" + p5.publish("t", "after"));
    expect(types(take5(h, c))).toEqual([DISCONNECT]);
    expect(h.isClosed(c)).toBe(true);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "later"));
    expect(h.take(c)).toEqual([]);
  });

  test("[SRV5-DIS-5] a client DISCONNECT with a code only a server may send (0x8B) is treated as non-zero: the will is published", () => {
    const h = harness();
    const w = watcher(h);
    const c = connected(h, "c", { will: { topic: "will/c", payload: "x" } });
    h.send(c, "e0018b");
    expect(h.isClosed(c)).toBe(true);
    expect(take5(h, w).map((r) => r.topic)).toEqual(["will/c"]);
  });

  test("[MQTT-3.14.1-1] a DISCONNECT with non-zero flags gets DISCONNECT 0x81 and the will stays armed", () => {
    const h = harness();
    const w = watcher(h);
    const c = connected(h, "c", { will: { topic: "will/c", payload: "x" } });
    h.send(c, "e100");
    expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x81, props: {} }]);
    expect(take5(h, w).map((r) => r.topic)).toEqual(["will/c"]);
  });
});

describe("MQTT 5.0 AUTH without enhanced authentication", () => {
  test("[SRV5-AUTH-1, MQTT-4.12.0-7, SRV5-AUTH-3] AUTH from a client that gave no Authentication Method is a Protocol Error: DISCONNECT 0x82", () => {
    const h = harness();
    for (const hex of ["f000", "f0021800", "f0021900"]) {
      const c = connected(h, "c");
      h.send(c, hex);
      expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x82, props: {} }]);
      expect(h.isClosed(c)).toBe(true);
    }
  });

  test("[MQTT-3.15.1-1] AUTH with non-zero flags is malformed: DISCONNECT 0x81", () => {
    const h = harness();
    const c = connected(h, "c");
    h.send(c, "f100");
    expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x81, props: {} }]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[SRV5-AUTH-4, MQTT-4.12.0-1, MQTT-4.12.0-6, SRV5-IMPL-12] enhanced authentication is optional and not offered: a method gets CONNACK 0x8C, and no AUTH is ever sent", () => {
    const h = harness();
    const c = h.open();
    h.send(c, p5.connect("a", { props: { authenticationMethod: "PLAIN", authenticationDataHex: "00" } }));
    expect(h.take(c)).toEqual(["2003008c00"]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[SRV5-V311-2] type 15 is AUTH on 5.0 connections and reserved on 3.1.1 ones: a 3.1.1 client sending it is closed without a DISCONNECT", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("old"));
    h.take(c);
    h.send(c, "f000");
    expect(h.take(c)).toEqual([]);
    expect(h.isClosed(c)).toBe(true);
  });
});

describe("MQTT 5.0 sessions", () => {
  test("[MQTT-4.1.0-1] session state is kept while the connection is open, however long: Session Expiry Interval 0 counts from the close", () => {
    const h = harness();
    const c = connected(h, "c", { keepAlive: 0 });
    h.send(c, p5.subscribe(1, [["t", 1]]));
    take5(h, c);
    h.advance(3600 * 1000);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "still here"));
    expect(take5(h, c).map(payloadOf)).toEqual(["still here"]);
  });

  test("[SRV5-OPS-3, SRV5-OPS-2] session state survives a reconnect: subscriptions with their options and identifiers, queued messages, inbound QoS 2 state", () => {
    const h = harness();
    const c = connected(h, "c", { props: { sessionExpiryInterval: 60 } });
    h.send(c, p5.subscribe(1, [["t", 1, true]], { subscriptionIds: [9] }));
    take5(h, c);
    h.send(c, p5.publish("in", "q2", { qos: 2, id: 44 }));
    expect(types(take5(h, c))).toEqual([PUBREC]);
    h.peerClose(c);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "queued", { qos: 1, id: 1 }));
    h.advance(30000);
    const c2 = h.open();
    h.send(c2, p5.connect("c", { clean: false, props: { sessionExpiryInterval: 60 } }));
    const out = take5(h, c2);
    expect(types(out)).toEqual([CONNACK, PUBLISH]);
    expect(out[0].sessionPresent).toBe(true);
    expect((out[1].props as Rec).subscriptionIds).toEqual([9]);
    h.send(c2, p5.ack(PUBACK, out[1].packetId as number));
    // Inbound QoS 2 state: the PUBREL of the earlier connection's PUBLISH is known.
    h.send(c2, p5.ack(PUBREL, 44));
    expect(take5(h, c2)).toEqual([{ type: PUBCOMP, packetId: 44, reasonCode: 0, props: {} }]);
    // No Local kept: its own message does not come back.
    h.send(c2, p5.publish("t", "own"));
    expect(take5(h, c2)).toEqual([]);
  });

  test("[SRV5-CON-11, MQTT-3.1.2-24] a shared-subscription message too large for the chosen member is dropped for the group, never sent to it; the group carries on", () => {
    const h = harness();
    const small = connected(h, "small", { props: { maximumPacketSize: 40 } });
    const big = connected(h, "big");
    h.send(small, p5.subscribe(1, [["$share/g/t", 0]]));
    h.send(big, p5.subscribe(1, [["$share/g/t", 0]]));
    take5(h, small);
    take5(h, big);
    const p = connected(h, "p");
    for (let i = 0; i < 4; i++) h.send(p, p5.publish("t", "x".repeat(60) + i));
    expect(take5(h, small)).toEqual([]);
    const got = take5(h, big);
    // Midge drops a message the chosen member cannot take (for the group; the standard allows
    // this or giving it to another member): some went to big, none to small, none twice.
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(4);
    expect(new Set(got.map(payloadOf)).size).toBe(got.length);
    for (const r of got) expect(payloadOf(r).length).toBe(61);
    // The group carries on: small messages reach a member.
    h.send(p, p5.publish("t", "s1") + p5.publish("t", "s2"));
    expect([...take5(h, small), ...take5(h, big)].map(payloadOf).sort()).toEqual(["s1", "s2"]);
  });
});

describe("MQTT 5.0 error handling", () => {
  test("[SRV5-ERR-1, SRV5-ERR-5, SRV5-ERR-3] malformed packets get 0x81 and protocol errors 0x82 with DISCONNECT; a refused message only a failing acknowledgement", () => {
    const h = harness();
    h.broker.policy = { authenticate: () => 0, allow: (_c, _h, _u, topic) => topic !== "secret" };
    const a = connected(h, "a");
    h.send(a, "c00100");
    expect(take5(h, a)).toEqual([{ type: DISCONNECT, reasonCode: 0x81, props: {} }]);
    const b = connected(h, "b");
    h.send(b, p5.publish("a/+", "x"));
    expect(take5(h, b)).toEqual([{ type: DISCONNECT, reasonCode: 0x82, props: {} }]);
    const c = connected(h, "c");
    h.send(c, p5.publish("secret", "x", { qos: 1, id: 1 }) + p5.publish("fine", "y", { qos: 1, id: 2 }));
    expect(take5(h, c).map((r) => [r.type, r.reasonCode])).toEqual([[PUBACK, 0x87], [PUBACK, 0]]);
    expect(h.isClosed(c)).toBe(false);
  });

  test("[SRV5-ERR-4] a packet with several faults is refused with one of them", () => {
    const h = harness();
    const c = connected(h, "c");
    // PUBLISH QoS 3 (malformed) with a wildcard topic (protocol error).
    h.send(c, "36070003612f2b000100");
    const out = take5(h, c);
    expect(out).toHaveLength(1);
    expect([0x81, 0x82]).toContain(out[0].reasonCode);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[SRV5-ERR-6] one client's errors never affect other clients", () => {
    const h = harness();
    const s = connected(h, "s");
    h.send(s, p5.subscribe(1, [["t", 0]]));
    take5(h, s);
    for (const bad of ["3005000174ff01", "f000", "c00100", "20020000", p5.publish("#", "x"), "ffffffffff"]) {
      const c = connected(h, "bad");
      h.send(c, bad);
      expect(h.isClosed(c)).toBe(true);
    }
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "ok"));
    expect(take5(h, s).map(payloadOf)).toEqual(["ok"]);
    expect(h.isClosed(s)).toBe(false);
  });

  test("[SRV5-FH-3] a server-only packet (CONNACK, SUBACK, UNSUBACK, PINGRESP) from a client is a Protocol Error: DISCONNECT 0x82", () => {
    const h = harness();
    for (const hex of ["2003000000", "9004000100" + "00", "b004000100" + "00", "d000"]) {
      const c = connected(h, "c");
      h.send(c, hex);
      const out = take5(h, c);
      expect(out).toEqual([{ type: DISCONNECT, reasonCode: 0x82, props: {} }]);
      expect(h.isClosed(c)).toBe(true);
    }
  });

  test("[SRV5-FH-1] input is a byte stream: packets split across reads, or several in one read, are served alike", () => {
    const h = harness();
    const s = connected(h, "s");
    const all = p5.subscribe(1, [["t", 1]]) + p5.publish("t", "a", { qos: 1, id: 2 }) + p5.publish("t", "b") + "c000";
    for (let i = 0; i < all.length; i += 2) h.send(s, all.slice(i, i + 2));
    const one = take5(h, s);
    const c = connected(h, "c");
    h.send(c, all);
    const many = take5(h, c);
    const shape = (rs: Rec[]) => rs.map((r) => [r.type, r.type === PUBLISH ? payloadOf(r) : r.packetId]);
    expect(shape(one)).toEqual(shape(many));
    expect(types(one)).toEqual([SUBACK, PUBLISH, PUBACK, PUBLISH, PINGRESP]);
  });

  test("[MQTT-2.1.3-1, SRV5-FH-2] wrong reserved flag bits, and packet type 0, are malformed: DISCONNECT 0x81", () => {
    const h = harness();
    for (const hex of ["c100", "0000", "4302000100", "7102000100", "a90400010174"]) {
      const c = connected(h, "c");
      h.send(c, hex);
      expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x81, props: {} }]);
    }
  });

  test("[MQTT-3.4.2-1, MQTT-3.5.2-1, SRV5-RC-1, SRV5-RC-3] every reason code the server puts in acknowledgements is from that packet's table, and 0x10 (no matching subscribers) only from the server", () => {
    const PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
    const h = harness();
    h.broker.policy = { authenticate: () => 0, allow: (_c, _h, _u, topic) => topic !== "secret" };
    const c = connected(h, "c");
    h.send(c, p5.publish("none", "x", { qos: 1, id: 1 }) + p5.publish("secret", "x", { qos: 1, id: 2 }) + p5.publish("none", "x", { qos: 2, id: 3 }));
    const out = take5(h, c);
    expect(types(out)).toEqual([PUBACK, PUBACK, PUBREC]);
    for (const r of out) expect(PUBACK_CODES).toContain(r.reasonCode);
    h.send(c, p5.ack(PUBREL, 3) + p5.ack(PUBREL, 99));
    for (const r of take5(h, c)) expect([0x00, 0x92]).toContain(r.reasonCode);
  });
});

describe("MQTT 5.0 beside 3.1.1", () => {
  test("[SRV5-V311-9] a keep-alive timeout is announced with DISCONNECT 0x8D to a 5.0 client, a plain close to a 3.1.1 one", () => {
    const h = harness();
    const c5 = connected(h, "five", { keepAlive: 2 });
    const c4 = h.open();
    h.send(c4, pkt.connect("four", { keepAlive: 2 }));
    h.take(c4);
    h.advance(3500);
    expect(take5(h, c5)).toEqual([{ type: DISCONNECT, reasonCode: 0x8d, props: {} }]);
    expect(h.take(c4)).toEqual([]);
    expect(h.isClosed(c4)).toBe(true);
  });

  test("[SRV5-V311-12, SRV5-V311-13] no retransmission on a live connection; Receive Maximum limits both directions", () => {
    const h = harness({ maxInboundQos2: 1 });
    const s = connected(h, "s", { props: { receiveMaximum: 1 } });
    h.send(s, p5.subscribe(1, [["t", 1]]));
    take5(h, s);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "1", { qos: 1, id: 1 }) + p5.publish("t", "2", { qos: 1, id: 2 }));
    expect(types(take5(h, p))).toEqual([PUBACK, PUBACK]);
    expect(take5(h, s)).toHaveLength(1);
    h.advance(80000); // within the keep alive of 60 s x 1.5
    expect(take5(h, s)).toEqual([]);
    h.send(p, p5.publish("u", "a", { qos: 2, id: 3 }) + p5.publish("u", "b", { qos: 2, id: 4 }));
    const out = take5(h, p);
    expect(types(out)).toEqual([PUBREC, DISCONNECT]);
    expect(out[1].reasonCode).toBe(0x93);
  });

  test("[SRV5-V311-18] the SUBSCRIBE options byte carries No Local, Retain As Published and Retain Handling together", () => {
    const h = harness();
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "kept", { retain: true }));
    const c = connected(h, "c");
    h.send(c, p5.subscribe(1, [["t", 1, true, true, 2]]));
    expect(types(take5(h, c))).toEqual([SUBACK]); // Retain Handling 2
    h.send(c, p5.publish("t", "own", { retain: true }));
    expect(take5(h, c)).toEqual([]); // No Local
    h.send(p, p5.publish("t", "other", { retain: true }));
    expect(take5(h, c)[0].retain).toBe(true); // Retain As Published
  });
});
