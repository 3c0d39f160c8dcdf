// MQTT 5.0 CONNECT, CONNACK and the connection's first moments through the in-memory transport:
// statements of docs/spec/mqtt-5.0.md §2.1-2.2 not covered by mqtt5.test.ts. Titles name the
// ids they check.
import { afterEach, describe, expect, test } from "vitest";
import { allFeatures, Features } from "../../src/features";
import { installFeatures } from "../../targets/node/features";
import { harness, pkt, CONNACK_OK } from "../broker/harness";
import { p5, take5, types, CONNACK, DISCONNECT, PUBLISH, SUBACK, connected, payloadOf, rawPacket, rawStr, rawVbi } from "./harness5";

type H = ReturnType<typeof harness>;

afterEach(() => installFeatures(allFeatures()));

function without(name: keyof Features): void {
  const f = allFeatures();
  f[name] = false;
  installFeatures(f);
}

/** CONNECT level 5 with the given flags byte, property bytes and payload bytes. */
function rawConnect(flags: number, props: number[], payload: number[], name = "MQTT", level = 5): string {
  return rawPacket(0x10, [...rawStr(name), level, flags, 0, 60, ...rawVbi(props.length), ...props, ...payload]);
}

function watcher(h: H, filter = "will/#"): number {
  const w = connected(h, "watch");
  h.send(w, p5.subscribe(1, [[filter, 0]]));
  take5(h, w);
  return w;
}

/** The single CONNACK code a CONNECT gets, and whether the connection was closed. */
function refusal(h: H, hex: string): [number | undefined, boolean] {
  const c = h.open();
  h.send(c, hex);
  const out = take5(h, c);
  expect(out.length).toBeLessThanOrEqual(1);
  if (out.length === 1) expect(out[0].type).toBe(CONNACK);
  return [out[0]?.returnCode as number | undefined, h.isClosed(c)];
}

describe("MQTT 5.0 connection start", () => {
  test("[MQTT-3.1.0-1] a first packet other than CONNECT closes the connection without a reply", () => {
    const h = harness();
    for (const first of [p5.publish("t", "x"), p5.subscribe(1, [["t", 0]]), "c000", p5.disconnect()]) {
      const c = h.open();
      h.send(c, first);
      expect(h.take(c)).toEqual([]);
      expect(h.isClosed(c)).toBe(true);
    }
  });

  test("[SRV5-CON-1] a connection that sends no CONNECT within the connect timeout is closed", () => {
    const h = harness({ connectTimeoutMs: 2000 });
    const c = h.open();
    h.advance(1500);
    expect(h.isClosed(c)).toBe(false);
    h.advance(1000);
    expect(h.isClosed(c)).toBe(true);
    expect(h.take(c)).toEqual([]);
  });

  test("[SRV5-CON-2, MQTT-3.1.4-6, SRV5-ERR-2] packets behind a refused CONNECT are not acted on; behind an accepted one they are served after CONNACK, and a limit they break is still an error", () => {
    const h = harness();
    h.broker.policy = { authenticate: (_i, _h, user) => (user === "bad" ? 4 : 0), allow: () => true };
    const w = watcher(h, "t");
    const bad = h.open();
    h.send(bad, p5.connect("bad", { username: "bad", password: "x" }) + p5.publish("t", "from refused") + p5.subscribe(1, [["t", 0]]));
    expect(take5(h, bad)).toEqual([{ type: CONNACK, sessionPresent: false, returnCode: 0x86, props: {} }]);
    expect(h.isClosed(bad)).toBe(true);
    expect(take5(h, w)).toEqual([]);
    const good = h.open();
    h.send(good, p5.connect("good") + p5.subscribe(2, [["t", 0]]) + p5.publish("t", "from accepted"));
    const out = take5(h, good);
    expect(types(out)).toEqual([CONNACK, SUBACK, PUBLISH]);
    expect(take5(h, w).map(payloadOf)).toEqual(["from accepted"]);
    // A Topic Alias above the maximum, sent before the CONNACK announced it.
    const eager = h.open();
    h.send(eager, p5.connect("eager") + p5.publish("t", "x", { props: { topicAlias: 200 } }));
    const got = take5(h, eager);
    expect(types(got)).toEqual([CONNACK, DISCONNECT]);
    expect(got[1].reasonCode).toBe(0x94);
    expect(h.isClosed(eager)).toBe(true);
  });

  test("[SRV5-CON-3, SRV5-V311-1, SRV5-V311-4, SRV5-V311-25] the CONNECT's version picks the codec for the whole connection", () => {
    const h = harness();
    const c5 = h.open();
    h.send(c5, p5.connect("five") + p5.subscribe(1, [["t", 1]]));
    const out5 = take5(h, c5);
    expect(out5[0]).toMatchObject({ type: CONNACK, returnCode: 0 });
    expect((out5[0].props as Record<string, unknown>).maximumPacketSize).toBeGreaterThan(0);
    expect(out5[1]).toEqual({ type: SUBACK, packetId: 1, returnCodes: [1], props: {} });
    const c4 = h.open();
    h.send(c4, pkt.connect("four") + pkt.subscribe(1, [["t", 1]]));
    expect(h.take(c4)).toEqual([CONNACK_OK, "9003000101"]);
    // A 3.1.1 refusal is a 3.1.1 return code, a 5.0 refusal a reason code.
    h.broker.policy = { authenticate: () => 4, allow: () => true };
    const r4 = h.open();
    h.send(r4, pkt.connect("r4", { username: "u", password: "p" }));
    expect(h.take(r4)).toEqual(["20020004"]);
    const r5 = h.open();
    h.send(r5, p5.connect("r5", { username: "u", password: "p" }));
    expect(take5(h, r5)[0].returnCode).toBe(0x86);
  });

  test("[MQTT-3.1.2-1] a protocol name other than MQTT is not accepted: the connection is closed (without CONNACK)", () => {
    const h = harness();
    const [code, closed] = refusal(h, rawConnect(2, [], rawStr("a"), "MQTX"));
    expect(closed).toBe(true);
    expect(code).toBeUndefined();
  });

  test("[MQTT-3.1.2-3] the reserved connect flag set to 1: refused as malformed and closed", () => {
    const h = harness();
    const [code, closed] = refusal(h, rawConnect(3, [], rawStr("a")));
    expect(closed).toBe(true);
    expect(code).toBe(0x81);
  });

  test("[MQTT-3.1.2-9, MQTT-3.1.3-1] Will Flag 1 without the Will Topic and Payload (payload ends after the client id) is malformed", () => {
    const h = harness();
    const [code, closed] = refusal(h, rawConnect(2 + 4, [], [...rawStr("a"), 0]));
    expect(closed).toBe(true);
    expect(code).toBe(0x81);
  });

  test("[MQTT-3.1.2-11, MQTT-3.1.2-13] Will Flag 0 with Will QoS or Will Retain set is refused as malformed", () => {
    const h = harness();
    for (const flags of [2 + 8, 2 + 16, 2 + 32]) {
      const [code, closed] = refusal(h, rawConnect(flags, [], rawStr("a")));
      expect(closed).toBe(true);
      expect(code).toBe(0x81);
    }
  });

  test("[MQTT-3.1.2-12] Will QoS 3 is malformed; Will QoS 0, 1 and 2 are accepted", () => {
    const h = harness();
    const will = [0, ...rawStr("w"), ...rawStr("x")];
    const [code, closed] = refusal(h, rawConnect(2 + 4 + 24, [], [...rawStr("a"), ...will]));
    expect(closed).toBe(true);
    expect(code).toBe(0x81);
    for (const qos of [0, 1, 2]) {
      const c = h.open();
      h.send(c, rawConnect(2 + 4 + qos * 8, [], [...rawStr("q" + qos), ...will]));
      expect(take5(h, c)[0]).toMatchObject({ type: CONNACK, returnCode: 0 });
    }
  });

  test("[MQTT-3.1.2-7, MQTT-3.1.2-14, SRV5-V311-7] the will is kept with the session and published with its QoS; Will Retain 0 publishes it unretained and stores nothing", () => {
    const h = harness();
    const w = connected(h, "watch");
    h.send(w, p5.subscribe(1, [["will/#", 2]]));
    take5(h, w);
    const c = connected(h, "c", { will: { topic: "will/c", payload: "bye", qos: 1, retain: false } });
    h.peerClose(c);
    const got = take5(h, w);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: PUBLISH, topic: "will/c", qos: 1, retain: false });
    expect(payloadOf(got[0])).toBe("bye");
    const late = connected(h, "late");
    h.send(late, p5.subscribe(1, [["will/#", 0]]));
    expect(types(take5(h, late))).toEqual([SUBACK]); // nothing retained
  });

  test("[MQTT-3.1.2-16, MQTT-3.1.2-17, MQTT-3.1.2-18, MQTT-3.1.2-19, SRV5-CON-6, SRV5-V311-6, SRV5-CON-24, SRV5-AUTH-6] user name and password reach authentication as sent: absent, present, a password without a user name, binary password bytes", () => {
    const h = harness();
    const seen: string[] = [];
    h.broker.policy = {
      authenticate: (_id, hasUser, user, hasPass, pass) => {
        seen.push(`${hasUser ? user : "-"}/${hasPass ? Buffer.from(pass as unknown as Uint8Array).toString("hex") : "-"}`);
        return 0;
      },
      allow: () => true,
    };
    connected(h, "a");
    connected(h, "b", { username: "user" });
    connected(h, "c", { username: "user", password: "pw" });
    connected(h, "d", { password: "only" });
    // Binary password: ff 00 fe (not UTF-8).
    const c = h.open();
    h.send(c, rawConnect(2 + 64, [], [...rawStr("e"), ...rawStr([0xff, 0x00, 0xfe])]));
    expect(take5(h, c)[0]).toMatchObject({ type: CONNACK, returnCode: 0 });
    expect(seen).toEqual(["-/-", "user/-", "user/7077", "-/6f6e6c79", "-/ff00fe"]);
  });

  test("[SRV5-CON-6] bytes left over after the last payload field are malformed", () => {
    const h = harness();
    const [code, closed] = refusal(h, rawConnect(2, [], [...rawStr("a"), 1, 2, 3]));
    expect(closed).toBe(true);
    expect(code).toBe(0x81);
  });
});

describe("MQTT 5.0 CONNECT properties", () => {
  const refusedProps: Array<[string, number[]]> = [
    ["SRV5-CON-9 Receive Maximum 0", [0x21, 0, 0]],
    ["SRV5-CON-9 Receive Maximum twice", [0x21, 0, 5, 0x21, 0, 5]],
    ["SRV5-CON-10 Maximum Packet Size 0", [0x27, 0, 0, 0, 0]],
    ["SRV5-CON-10 Maximum Packet Size twice", [0x27, 0, 0, 1, 0, 0x27, 0, 0, 1, 0]],
    ["SRV5-CON-12 Topic Alias Maximum twice", [0x22, 0, 5, 0x22, 0, 5]],
    ["SRV5-CON-13 Request Response Information 2", [0x19, 2]],
    ["SRV5-CON-13 Request Response Information twice", [0x19, 1, 0x19, 1]],
    ["SRV5-CON-14 Request Problem Information 2", [0x17, 2]],
    ["SRV5-CON-14 Request Problem Information twice", [0x17, 0, 0x17, 0]],
    ["SRV5-CON-16 Authentication Data without a method", [0x16, 0, 1, 0xaa]],
    ["SRV5-CON-16 Authentication Method twice", [0x15, ...rawStr("m"), 0x15, ...rawStr("m")]],
  ];
  test("[SRV5-CON-9, SRV5-CON-10, SRV5-CON-12, SRV5-CON-13, SRV5-CON-14, SRV5-CON-16, SRV5-PROP-4] forbidden values and repeats of CONNECT properties are refused with 0x82 (or 0x81) and closed", () => {
    const h = harness();
    for (const [name, bytes] of refusedProps) {
      const [code, closed] = refusal(h, rawConnect(2, bytes, rawStr("a")));
      expect(closed, name).toBe(true);
      expect([0x81, 0x82], name).toContain(code);
    }
  });

  test("[SRV5-CON-15, SRV5-CON-12, SRV5-CON-13, SRV5-CON-14] User Properties, Topic Alias Maximum and both request flags with allowed values are accepted", () => {
    const h = harness();
    connected(h, "a", {
      props: {
        userProperties: [["k", "v"], ["k", "w"], ["x", ""]],
        topicAliasMaximum: 5,
        requestResponseInformation: 1,
        requestProblemInformation: 0,
      },
    });
  });

  test("[MQTT-3.1.2-29, SRV5-IMPL-11] with Request Problem Information 0 a refused publish's PUBACK and a SUBACK carry no Reason String or User Properties", () => {
    const h = harness();
    h.broker.policy = { authenticate: () => 0, allow: (_c, _h, _u, topic) => topic !== "secret" };
    const c = connected(h, "a", { props: { requestProblemInformation: 0 } });
    h.send(c, p5.publish("secret", "x", { qos: 1, id: 1 }) + p5.subscribe(2, [["secret", 1]]));
    const out = take5(h, c);
    expect(out).toEqual([
      { type: 4, packetId: 1, reasonCode: 0x87, props: {} },
      { type: SUBACK, packetId: 2, returnCodes: [0x87], props: {} },
    ]);
  });

  test("[MQTT-3.2.2-22] without a Server Keep Alive the client's keep alive is used: closed after one and a half periods of silence", () => {
    const h = harness();
    const c = h.open();
    h.send(c, p5.connect("k", { keepAlive: 10 }));
    expect((take5(h, c)[0].props as Record<string, unknown>).serverKeepAlive).toBeUndefined();
    h.advance(14000);
    expect(h.isClosed(c)).toBe(false);
    h.send(c, "c000");
    expect(h.take(c)).toEqual(["d000"]);
    h.advance(14000);
    expect(h.isClosed(c)).toBe(false);
    h.advance(2000);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[SRV5-CON-41, SRV5-CON-43, SRV5-V311-21] CONNACK carries no Response Information, Server Reference or Authentication Method when not asked for", () => {
    const h = harness();
    const c = h.open();
    h.send(c, p5.connect("a"));
    const props = take5(h, c)[0].props as Record<string, unknown>;
    expect(props.responseInformation).toBeUndefined();
    expect(props.serverReference).toBeUndefined();
    expect(props.authenticationMethod).toBeUndefined();
    expect(props.authenticationDataHex).toBeUndefined();
  });
});

describe("MQTT 5.0 client identifiers", () => {
  test("[MQTT-3.1.3-5, MQTT-3.1.3-2] client ids of 1 to 23 letters and digits are accepted, and the id is the session's key", () => {
    const h = harness();
    const id = "Az09Az09Az09Az09Az09Az0";
    expect(id).toHaveLength(23);
    const c = connected(h, id, { props: { sessionExpiryInterval: 60 } });
    h.send(c, p5.subscribe(1, [["t", 1]]));
    take5(h, c);
    h.peerClose(c);
    connected(h, "1");
    const other = h.open();
    h.send(other, p5.connect(id.toLowerCase(), { clean: false, props: { sessionExpiryInterval: 60 } }));
    expect(take5(h, other)[0]).toMatchObject({ sessionPresent: false });
    const same = h.open();
    h.send(same, p5.connect(id, { clean: false, props: { sessionExpiryInterval: 60 } }));
    expect(take5(h, same)[0]).toMatchObject({ sessionPresent: true });
  });

  test("[SRV5-CON-17] longer client ids with other characters are accepted by the default policy", () => {
    const h = harness();
    connected(h, "client-id/with spaces+symbols#ünïcödé-" + "x".repeat(80));
  });

  test("[MQTT-3.1.3-8] a client id the server refuses (over max_client_id_length) gets CONNACK 0x85 and a close", () => {
    const h = harness({ maxClientIdLength: 8 });
    const [code, closed] = refusal(h, p5.connect("x".repeat(9)));
    expect(code).toBe(0x85);
    expect(closed).toBe(true);
  });

  test("[MQTT-3.1.3-3, MQTT-3.1.3-4] a payload without a client id, or a client id that is not UTF-8, is malformed", () => {
    const h = harness();
    for (const hex of [rawConnect(2, [], []), rawConnect(2, [], rawStr([0x61, 0xc0, 0x80])), rawConnect(2, [], rawStr([0x61, 0x00]))]) {
      const [code, closed] = refusal(h, hex);
      expect(closed).toBe(true);
      expect(code).toBe(0x81);
    }
  });

  test("[MQTT-3.1.3-12] a user name that is not UTF-8 is malformed", () => {
    const h = harness();
    const [code, closed] = refusal(h, rawConnect(2 + 128, [], [...rawStr("a"), ...rawStr([0xed, 0xa0, 0x80])]));
    expect(closed).toBe(true);
    expect(code).toBe(0x81);
  });
});

describe("MQTT 5.0 wills on CONNECT", () => {
  test("[MQTT-3.1.3-11, SRV5-CON-23, MQTT-4.7.0-1] a Will Topic with a wildcard, empty, or not UTF-8 is refused and closed", () => {
    const h = harness();
    // Wildcards and an empty name: Protocol Error (SRV5-CON-23); bad UTF-8: malformed.
    for (const [topic, want] of [[rawStr("a/+"), [0x82]], [rawStr("a/#"), [0x82]], [rawStr(""), [0x82]], [rawStr([0x61, 0xff]), [0x81]]] as const) {
      const [code, closed] = refusal(h, rawConnect(2 + 4, [], [...rawStr("a"), 0, ...topic, ...rawStr("x")]));
      expect(closed).toBe(true);
      expect(want).toContain(code);
    }
  });

  test("[MQTT-3.3.2-14] a Will Response Topic with a wildcard is refused with 0x82", () => {
    const h = harness();
    const [code, closed] = refusal(h, rawConnect(2 + 4, [], [...rawStr("a"), 6, 0x08, ...rawStr("r/+"), ...rawStr("w"), ...rawStr("x")]));
    expect(code).toBe(0x82);
    expect(closed).toBe(true);
  });

  test("[SRV5-CON-19] on takeover the old will is sent when its Will Delay is 0", () => {
    const h = harness();
    const w = watcher(h);
    connected(h, "c", { props: { sessionExpiryInterval: 60 }, will: { topic: "will/c", payload: "old" } });
    connected(h, "c", { clean: false, props: { sessionExpiryInterval: 60 } });
    expect(take5(h, w).map(payloadOf)).toEqual(["old"]);
  });

  test("[SRV5-CON-19] on takeover with Clean Start 1 the old will is sent even with a Will Delay; with Clean Start 0 it is not", () => {
    const h = harness();
    const w = watcher(h);
    connected(h, "c", { props: { sessionExpiryInterval: 60 }, will: { topic: "will/c", payload: "delayed", props: { willDelayInterval: 30 } } });
    connected(h, "c", { clean: false, props: { sessionExpiryInterval: 60 } });
    h.advance(100);
    expect(take5(h, w)).toEqual([]);
    connected(h, "d", { props: { sessionExpiryInterval: 60 }, will: { topic: "will/d", payload: "delayed", props: { willDelayInterval: 30 } } });
    connected(h, "d", { clean: true, props: { sessionExpiryInterval: 60 } });
    h.advance(100);
    expect(take5(h, w).map((r) => r.topic)).toEqual(["will/d"]);
  });

  test("[SRV5-CON-21, SRV5-IMPL-22] the Will Message Expiry Interval becomes the published will's expiry, counted from publication", () => {
    const h = harness();
    const s = connected(h, "s", { props: { sessionExpiryInterval: 600 } });
    h.send(s, p5.subscribe(1, [["will/#", 1]]));
    take5(h, s);
    h.peerClose(s);
    const c = connected(h, "c", { props: { sessionExpiryInterval: 60 }, will: { topic: "will/c", payload: "x", qos: 1, props: { willDelayInterval: 5, messageExpiryInterval: 20 } } });
    h.peerClose(c);
    h.advance(6000); // will published at ~5 s
    h.advance(4000); // waited 4 s in s's queue
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 600 } }));
    const out = take5(h, s2);
    expect(types(out)).toEqual([CONNACK, PUBLISH]);
    const left = (out[1].props as Record<string, unknown>).messageExpiryInterval as number;
    expect(left).toBeGreaterThanOrEqual(15);
    expect(left).toBeLessThanOrEqual(16);
  });
});

describe("MQTT 5.0 CONNACK", () => {
  test("[SRV5-CON-27, SRV5-ERR-4] CONNECT checks run in a fixed order and the first failure decides: format, authentication method, will support, client id, credentials", () => {
    const h = harness({ maxClientIdLength: 4, retainAvailable: false });
    let authenticated = 0;
    h.broker.policy = {
      authenticate: () => {
        authenticated++;
        return 4;
      },
      allow: () => true,
    };
    const longId = "toolong";
    const will = { topic: "w", payload: "x", retain: true };
    const cases: Array<[string, number]> = [
      // Receive Maximum 0 (format) beats everything after it.
      [rawConnect(2, [0x21, 0, 0, 0x15, ...rawStr("X")], rawStr(longId)), 0x82],
      [p5.connect(longId, { props: { authenticationMethod: "X" }, will, username: "u" }), 0x8c],
      [p5.connect(longId, { will, username: "u" }), 0x9a],
      [p5.connect(longId, { username: "u" }), 0x85],
    ];
    for (const [hex, want] of cases) {
      const [code, closed] = refusal(h, hex);
      expect(code).toBe(want);
      expect(closed).toBe(true);
    }
    expect(authenticated).toBe(0);
    expect(refusal(h, p5.connect("ok", { username: "u" }))[0]).toBe(0x86);
    expect(authenticated).toBe(1);
  });

  test("[MQTT-3.2.0-1, MQTT-3.2.0-2, MQTT-3.1.0-2] CONNACK is the first packet the server sends, and a second CONNECT gets DISCONNECT 0x82, never a second CONNACK", () => {
    const h = harness();
    const c = h.open();
    h.send(c, p5.connect("a") + p5.connect("a"));
    const out = take5(h, c);
    expect(types(out)).toEqual([CONNACK, DISCONNECT]);
    expect(out[1].reasonCode).toBe(0x82);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[MQTT-3.2.2-7, MQTT-3.2.2-8, MQTT-3.1.4-2, MQTT-4.13.2-1] a refusing CONNACK uses a connect reason code of 0x80 or above and the connection is closed after it", () => {
    const CONNECT_CODES = [0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f];
    const h = harness({ maxClientIdLength: 4 });
    h.broker.policy = { authenticate: (_i, _h, user) => (user === "bad" ? 4 : user === "no" ? 5 : 0), allow: () => true };
    const cases = [
      p5.connect("a", { username: "bad", password: "p" }),
      p5.connect("a", { username: "no", password: "p" }),
      p5.connect("toolong"),
      p5.connect("a", { props: { authenticationMethod: "X" } }),
      "101700044d5154540502003c0a1100000001110000000200017a",
    ];
    for (const hex of cases) {
      const [code, closed] = refusal(h, hex);
      expect(closed).toBe(true);
      expect(CONNECT_CODES).toContain(code);
    }
  });

  test("[MQTT-3.2.2-13, SRV5-CON-33] retain_available false: CONNACK says Retain Available 0 and a will with Will Retain 1 is refused with 0x9A", () => {
    const h = harness({ retainAvailable: false });
    const c = h.open();
    h.send(c, p5.connect("a"));
    expect((take5(h, c)[0].props as Record<string, unknown>).retainAvailable).toBe(0);
    const [code, closed] = refusal(h, p5.connect("b", { will: { topic: "w", payload: "x", retain: true } }));
    expect(code).toBe(0x9a);
    expect(closed).toBe(true);
  });

  test("[MQTT-3.2.2-14] retain_available false: a PUBLISH with RETAIN 1 gets DISCONNECT 0x9A", () => {
    const h = harness({ retainAvailable: false });
    const c = connected(h, "a");
    h.send(c, p5.publish("t", "x", { retain: true }));
    expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x9a, props: {} }]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[MQTT-3.2.2-9, MQTT-3.2.2-10, SRV5-CON-32] qos2 off: CONNACK says Maximum QoS 1 and a SUBSCRIBE asking for QoS 2 is granted QoS 1", () => {
    without("qos2");
    const h = harness();
    const c = h.open();
    h.send(c, p5.connect("a"));
    expect((take5(h, c)[0].props as Record<string, unknown>).maximumQos).toBe(1);
    h.send(c, p5.subscribe(1, [["t", 2], ["u", 0]]));
    expect(take5(h, c)).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [1, 0], props: {} }]);
  });

  test("[MQTT-3.2.2-11] qos2 off: a QoS 2 PUBLISH gets DISCONNECT 0x9B", () => {
    without("qos2");
    const h = harness();
    const c = connected(h, "a");
    h.send(c, p5.publish("t", "x", { qos: 2, id: 1 }));
    expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x9b, props: {} }]);
    expect(h.isClosed(c)).toBe(true);
  });

  test("[MQTT-3.2.2-12] qos2 off: a will of QoS 2 is refused with 0x9B", () => {
    without("qos2");
    const h = harness();
    const [code, closed] = refusal(h, p5.connect("a", { will: { topic: "w", payload: "x", qos: 2 } }));
    expect(code).toBe(0x9b);
    expect(closed).toBe(true);
  });

  test("[SRV5-CON-37, SRV5-CON-38, SRV5-V311-20] wildcards and Subscription Identifiers are supported: CONNACK does not announce them unavailable, and both work", () => {
    const h = harness();
    const c = h.open();
    h.send(c, p5.connect("a"));
    const props = take5(h, c)[0].props as Record<string, unknown>;
    expect(props.wildcardSubscriptionAvailable).toBeUndefined();
    expect(props.subscriptionIdAvailable).toBeUndefined();
    h.send(c, p5.subscribe(1, [["a/#", 0], ["+/b", 0]], { subscriptionIds: [5] }));
    expect(take5(h, c)).toEqual([{ type: SUBACK, packetId: 1, returnCodes: [0, 0], props: {} }]);
  });

  test("[SRV5-CON-26, MQTT-4.4.0-1, MQTT-3.3.1-1] a resumed session's unacknowledged messages are resent after CONNACK with DUP 1 and their ids, not before and not on the live connection", () => {
    const h = harness();
    const s = connected(h, "s", { props: { sessionExpiryInterval: 60 } });
    h.send(s, p5.subscribe(1, [["t", 1]]));
    take5(h, s);
    const p = connected(h, "p");
    h.send(p, p5.publish("t", "m", { qos: 1, id: 1 }));
    const first = take5(h, s);
    expect(first).toHaveLength(1);
    expect(first[0].dup).toBe(false);
    h.advance(60000); // no resend on a live connection
    expect(take5(h, s)).toEqual([]);
    h.peerClose(s);
    const s2 = h.open();
    h.send(s2, p5.connect("s", { clean: false, props: { sessionExpiryInterval: 60 } }));
    const out = take5(h, s2);
    expect(types(out)).toEqual([CONNACK, PUBLISH]);
    expect(out[1]).toMatchObject({ dup: true, packetId: first[0].packetId, topic: "t" });
  });
});
