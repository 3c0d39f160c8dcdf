// MQTT 5.0 codec tests, driven by the v5 section of test/fixtures/packets.json (hand-typed
// bytes) plus hand-typed encoder outputs. Kept apart from the 3.1.1 codec tests: 5.0 statement
// ids reuse 3.1.1 numbers with other meanings (docs/spec/mqtt-5.0.md).
import { afterEach, describe, expect, it } from "vitest";
import { EMPTY_BYTES, utf8Encode } from "../../../src/bytes/bytes";
import { PacketType } from "../../../src/codec/constants";
import { decodePacket } from "../../../src/codec/decode";
import { encodeAckV5, encodeConnackV5, encodePacketV5, encodePublishV5, encodeReasonV5, encodeSubackV5, publishSizeV5 } from "../../../src/codec/encode5";
import { frameFeed, frameNext, newFrameReader } from "../../../src/codec/frameReader";
import { newPacket } from "../../../src/codec/packet";
import { Properties, addSubscriptionId, addUserProperty, newProperties } from "../../../src/codec/properties";
import { STATUS_NAMES, Status, reasonCodeV5, statusReason } from "../../../src/codec/status";
import { allFeatures } from "../../../src/features";
import { installFeatures } from "../../../targets/node/features";
import { PacketFixtures, fromHex, groupsHex, label, loadFixture, toHex, u8, asBytes } from "../helpers";
import { Fixtures5, normalizeRecord5, packetToRecord5, parseOne5, recordToPacket5 } from "./helpers5";

const all = loadFixture<PacketFixtures & { v5: Fixtures5 }>("packets.json");
const fx = all.v5;
const V5_NAMES = STATUS_NAMES.filter((n) => n.startsWith("V5_"));

function props(fill: (pr: Properties) => void): Properties {
  const pr = newProperties();
  fill(pr);
  return pr;
}

describe("packets.json v5 section itself", () => {
  it("has valid fixtures for all 15 packet types", () => {
    const seen: number[] = [];
    for (const f of fx.valid) if (seen.indexOf(f.packet.type) < 0) seen.push(f.packet.type);
    seen.sort((a, b) => a - b);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it("has a malformed fixture for every MQTT 5.0 Status", () => {
    const seen = fx.malformed.map((f) => f.error);
    expect(V5_NAMES.filter((n) => seen.indexOf(n) < 0)).toEqual([]);
  });

  it("has unique names, 5.0 spec ids written out whole, comments on every byte group", () => {
    const names = all.valid.map((f) => f.name).concat(all.malformed.map((f) => f.name));
    const entries: { name: string; spec: string[]; bytes: unknown[][] }[] = [];
    for (const f of fx.valid) entries.push(f);
    for (const f of fx.malformed) entries.push(f);
    for (const f of entries) {
      expect(names, "duplicate name " + f.name).not.toContain(f.name);
      names.push(f.name);
      expect(f.spec.length, f.name).toBeGreaterThan(0);
      for (const id of f.spec) expect(id, f.name).toMatch(/^(MQTT-\d+\.\d+\.\d+-\d+|SRV5-[A-Z0-9]+-\d+)$/);
      for (const g of f.bytes) expect(typeof g[1], f.name).toBe("string");
    }
  });
});

describe("MQTT 5.0 valid packets: decode, encode, round trip", () => {
  for (const f of fx.valid) {
    const hex = groupsHex(f.bytes);
    const expected = normalizeRecord5(f.packet);
    describe(label(f.spec, f.name), () => {
      it("decodes to the fixture fields, using every byte", () => {
        const res = parseOne5(fromHex(hex), 1048576);
        expect(res.layer + ":" + res.status).toBe("decode:OK");
        expect(res.consumed).toBe(hex.length / 2);
        expect(res.packet.flags).toBe(parseInt(hex.slice(0, 2), 16) % 16);
        expect(packetToRecord5(res.packet)).toEqual(expected);
      });
      if (f.decodeOnly === true) return;
      it("encodes from the fixture fields to exactly the fixture bytes", () => {
        expect(toHex(encodePacketV5(recordToPacket5(f.packet)))).toBe(hex);
      });
      it("round-trips: encode(decode(bytes)) = bytes", () => {
        const res = parseOne5(fromHex(hex), 1048576);
        expect(toHex(encodePacketV5(res.packet))).toBe(hex);
      });
    });
  }

  it("[SRV5-PROP-1] decoding every valid fixture into one shared record leaves no stale fields", () => {
    const shared = newPacket();
    for (let pass = 0; pass < 2; pass++) {
      for (const f of fx.valid) {
        const res = parseOne5(fromHex(groupsHex(f.bytes)), 1048576, shared);
        expect(res.status, f.name).toBe("OK");
        expect(packetToRecord5(shared), f.name).toEqual(normalizeRecord5(f.packet));
      }
    }
  });
});

describe("MQTT 5.0 malformed packets: the first Status reported, and the reason code", () => {
  for (const f of fx.malformed) {
    const hex = groupsHex(f.bytes);
    it(label(f.spec, f.name + " -> " + f.error), () => {
      const res = parseOne5(fromHex(hex), f.maxPacketSize !== undefined ? f.maxPacketSize : 1048576);
      expect(res.status).toBe(f.error);
      if (res.layer === "decode") expect(res.consumed).toBe(hex.length / 2);
    });
  }

  it("[SRV5-PROP-2 SRV5-PROP-3 SRV5-PROP-4 MQTT-3.2.2-15] reasonCodeV5: Malformed 0x81, Protocol Error 0x82, or the named code", () => {
    const code = (name: string): number => reasonCodeV5(STATUS_NAMES.indexOf(name));
    for (const n of ["V5_BAD_VARIABLE_INTEGER", "V5_BAD_PROPERTY_LENGTH", "V5_UNKNOWN_PROPERTY", "V5_PROPERTY_NOT_ALLOWED", "V5_PROPERTY_TRUNCATED", "V5_SUBSCRIBE_RESERVED_BITS", "BAD_UTF8", "NULL_CHARACTER", "BAD_FLAGS", "BAD_QOS", "TRAILING_BYTES", "BAD_LENGTH", "BAD_PACKET_TYPE"]) {
      expect(code(n), n).toBe(0x81);
    }
    for (const n of ["V5_DUPLICATE_PROPERTY", "V5_BAD_PROPERTY_VALUE", "V5_SUBSCRIPTION_ID_IN_PUBLISH", "V5_AUTH_DATA_WITHOUT_METHOD", "V5_BAD_SUBSCRIPTION_QOS", "V5_BAD_RETAIN_HANDLING", "V5_NO_LOCAL_ON_SHARED", "V5_EMPTY_TOPIC_NO_ALIAS", "ZERO_PACKET_ID", "NO_FILTERS", "WILDCARD_IN_TOPIC"]) {
      expect(code(n), n).toBe(0x82);
    }
    expect(code("V5_TOPIC_ALIAS_ZERO")).toBe(0x94);
    expect(code("PACKET_TOO_LARGE")).toBe(0x95);
    expect(code("UNSUPPORTED_PROTOCOL_LEVEL")).toBe(0x84);
  });

  it("every MQTT 5.0 Status has its own log text", () => {
    const texts = V5_NAMES.map((n) => statusReason(STATUS_NAMES.indexOf(n)));
    for (let i = 0; i < texts.length; i++) expect(texts[i], V5_NAMES[i]).not.toMatch(/^status /);
    expect(new Set(texts).size).toBe(texts.length);
  });
});

describe("which version decodes", () => {
  const connect5 = "100e00044d5154540502003c0000016" + "1";
  afterEach(() => installFeatures(allFeatures()));

  it("[MQTT-3.1.2-2] without the version argument a level 5 CONNECT stays UNSUPPORTED_PROTOCOL_LEVEL (3.1.1 callers unchanged)", () => {
    const r = newFrameReader(1024);
    frameFeed(r, fromHex(connect5));
    expect(frameNext(r)).toBe(Status.PACKET);
    expect(STATUS_NAMES[decodePacket(r.type, r.flags, r.body, newPacket())]).toBe("UNSUPPORTED_PROTOCOL_LEVEL");
    const p = newPacket();
    expect(STATUS_NAMES[decodePacket(r.type, r.flags, r.body, p, 5)]).toBe("OK");
    expect(p.protocolLevel).toBe(5);
  });

  it("a 3.1.1 CONNECT decodes the same when the caller serves 5.0", () => {
    const hex = "100d00044d515454040200" + "3c00016" + "1";
    const r = newFrameReader(1024);
    frameFeed(r, fromHex(hex));
    expect(frameNext(r)).toBe(Status.PACKET);
    const p = newPacket();
    expect(STATUS_NAMES[decodePacket(r.type, r.flags, r.body, p, 5)]).toBe("OK");
    expect(p.protocolLevel).toBe(4);
    expect(p.clientId).toBe("a");
  });

  it("with mqtt5 off, level 5 is UNSUPPORTED_PROTOCOL_LEVEL and AUTH a reserved type, whatever the caller says", () => {
    installFeatures({ ...allFeatures(), mqtt5: false });
    const r = newFrameReader(1024);
    r.version = 5;
    frameFeed(r, fromHex(connect5));
    expect(frameNext(r)).toBe(Status.PACKET);
    expect(STATUS_NAMES[decodePacket(r.type, r.flags, r.body, newPacket(), 5)]).toBe("UNSUPPORTED_PROTOCOL_LEVEL");
    frameFeed(r, fromHex("f000"));
    expect(STATUS_NAMES[frameNext(r)]).toBe("BAD_PACKET_TYPE");
  });

  it("[SRV5-FH-2] AUTH is a packet only on a 5.0 connection", () => {
    const r = newFrameReader(1024);
    frameFeed(r, fromHex("f000"));
    expect(STATUS_NAMES[frameNext(r)]).toBe("BAD_PACKET_TYPE");
    const r5 = newFrameReader(1024);
    r5.version = 5;
    frameFeed(r5, fromHex("f000"));
    expect(STATUS_NAMES[frameNext(r5)]).toBe("PACKET");
  });
});

describe("MQTT 5.0 encoders for the packets the server sends", () => {
  const connackProps = props((pr) => {
    pr.hasAssignedClientId = true;
    pr.assignedClientId = "x";
    pr.hasReasonString = true;
    pr.reasonString = "hi";
    pr.receiveMaximum = 20;
    pr.topicAliasMaximum = 10;
    addUserProperty(pr, "k", "v");
  });

  it("[SRV5-CON-28] CONNACK: flags, reason code, properties in identifier order", () => {
    expect(toHex(encodeConnackV5(false, 0, connackProps, 0))).toBe(
      "2019" + "00" + "00" + "16" + "12000178" + "1f00026869" + "210014" + "22000a" + "2600016b000176",
    );
    expect(toHex(encodeConnackV5(false, 0x84, newProperties(), 0))).toBe("2003008400");
  });

  it("[MQTT-3.2.2-6] a refusing CONNACK never says session present", () => {
    expect(toHex(encodeConnackV5(true, 0x87, newProperties(), 0))).toBe("2003008700");
  });

  it("[MQTT-3.1.2-25] CONNACK leaves out reason string and user properties when the client's maximum packet size is too small", () => {
    expect(toHex(encodeConnackV5(true, 0, connackProps, 20))).toBe("200d" + "01" + "00" + "0a" + "12000178" + "210014" + "22000a");
  });

  it("[MQTT-3.3.4-6 SRV5-PROP-3] PUBLISH to a client carries every subscription identifier; publishSizeV5 is its size", () => {
    const pr = props((p) => {
      addSubscriptionId(p, 1);
      addSubscriptionId(p, 200);
    });
    const bytes = encodePublishV5(utf8Encode("a"), utf8Encode("x"), 1, false, false, 9, pr);
    expect(toHex(bytes)).toBe("320c" + "000161" + "0009" + "05" + "0b01" + "0bc801" + "78");
    expect(publishSizeV5(1, 1, 1, pr)).toBe(u8(bytes).length);
  });

  it("[MQTT-1.5.5-1] PUBLISH properties: only those a PUBLISH may carry are written, four byte integers in full", () => {
    const pr = props((p) => {
      p.messageExpiryInterval = 4294967295;
      p.hasReasonString = true;
      p.reasonString = "no";
      p.sessionExpiryInterval = 5;
    });
    expect(toHex(encodePublishV5(utf8Encode("t"), EMPTY_BYTES, 0, false, false, 0, pr))).toBe("3009" + "000174" + "05" + "02ffffffff");
  });

  it("[MQTT-2.2.1-2] a QoS 0 PUBLISH has no packet id; no properties still writes property length 0 [MQTT-2.2.2-1]", () => {
    expect(toHex(encodePublishV5(utf8Encode("a"), EMPTY_BYTES, 0, false, true, 7, newProperties()))).toBe("310400016100");
  });

  it("[SRV5-ENC-2] remaining length and property length take the shortest form at the boundaries", () => {
    const pr = props((p) => addUserProperty(p, "k", "v".repeat(121)));
    // One user property of 1 + 3 + 123 = 127 bytes: property length 7f, remaining length 3 + 1 + 127 = 131.
    const one = u8(encodePublishV5(utf8Encode("a"), EMPTY_BYTES, 0, false, false, 0, pr));
    expect(Buffer.from(one.subarray(0, 3)).toString("hex")).toBe("308301");
    expect(one[6]).toBe(0x7f);
    // A second one (7 bytes): property length 134 takes two bytes, remaining length 3 + 2 + 134 + 5 = 144.
    addUserProperty(pr, "k", "v");
    const two = u8(encodePublishV5(utf8Encode("a"), asBytes(new Uint8Array(5)), 0, false, false, 0, pr));
    expect(Buffer.from(two.subarray(0, 3)).toString("hex")).toBe("309001");
    expect(Buffer.from(two.subarray(6, 8)).toString("hex")).toBe("8601");
    expect(two.length).toBe(publishSizeV5(1, 5, 0, pr));
  });

  it("[MQTT-3.4.2-1] acks: short forms without properties, PUBREL flags 0010", () => {
    const none = newProperties();
    expect(toHex(encodeAckV5(PacketType.PUBACK, 1, 0, none, 0))).toBe("40020001");
    expect(toHex(encodeAckV5(PacketType.PUBREC, 2, 0x10, none, 0))).toBe("5003000210");
    expect(toHex(encodeAckV5(PacketType.PUBREL, 3, 0x92, none, 0))).toBe("6203000392");
    const why = props((p) => {
      p.hasReasonString = true;
      p.reasonString = "x";
    });
    expect(toHex(encodeAckV5(PacketType.PUBCOMP, 4, 0x92, why, 0))).toBe("7008000492041f000178");
  });

  it("[MQTT-3.1.2-25] an ack too large for the client loses its reason string", () => {
    const why = props((p) => {
      p.hasReasonString = true;
      p.reasonString = "x";
    });
    expect(toHex(encodeAckV5(PacketType.PUBCOMP, 4, 0x92, why, 6))).toBe("7003000492");
    // The record is unchanged: the next encode without a limit writes the reason string again.
    expect(toHex(encodeAckV5(PacketType.PUBCOMP, 4, 0x92, why, 0))).toBe("7008000492041f000178");
  });

  it("[SRV5-PROP-5] SUBACK and UNSUBACK: packet id, property length, one reason code per filter", () => {
    const none = newProperties();
    expect(toHex(encodeSubackV5(PacketType.SUBACK, 10, [0, 1, 0x8f], 3, none, 0))).toBe("9006000a0000018f");
    expect(toHex(encodeSubackV5(PacketType.UNSUBACK, 11, [0x11, 0], 1, none, 0))).toBe("b004000b0011");
  });

  it("[MQTT-3.14.1-1] DISCONNECT from the server: empty, reason code only, or with properties", () => {
    expect(toHex(encodeReasonV5(PacketType.DISCONNECT, 0, newProperties(), 0))).toBe("e000");
    expect(toHex(encodeReasonV5(PacketType.DISCONNECT, 0x8e, newProperties(), 0))).toBe("e0018e");
    const moved = props((p) => {
      p.hasReasonString = true;
      p.reasonString = "x";
      p.hasServerReference = true;
      p.serverReference = "s";
    });
    expect(toHex(encodeReasonV5(PacketType.DISCONNECT, 0x9c, moved, 0))).toBe("e00a9c081c0001731f000178");
  });

  it("[SRV5-AUTH-2] AUTH: empty for success without properties, never a lone reason code", () => {
    expect(toHex(encodeReasonV5(PacketType.AUTH, 0, newProperties(), 0))).toBe("f000");
    expect(toHex(encodeReasonV5(PacketType.AUTH, 0x18, newProperties(), 0))).toBe("f0021800");
    const method = props((p) => {
      p.hasAuthenticationMethod = true;
      p.authenticationMethod = "m";
      p.hasAuthenticationData = true;
      p.authenticationData = fromHex("01");
    });
    expect(toHex(encodeReasonV5(PacketType.AUTH, 0x18, method, 0))).toBe("f00a1808150001" + "6d16000101");
  });

  it("[SRV5-FH-4] PINGRESP is d0 00", () => {
    const p = newPacket();
    p.type = PacketType.PINGRESP;
    expect(toHex(encodePacketV5(p))).toBe("d000");
  });
});

describe("the client side of a 5.0 connection (a bridge reading its upstream)", () => {
  it("[MQTT-3.3.4-4, MQTT-3.3.4-6] a server's PUBLISH may carry Subscription Identifiers, several too; a client's may not", async () => {
    const { decodePacketFromServerV5 } = await import("../../../src/codec/decode5");
    // PUBLISH QoS 1 "t", id 7, properties: 0x0B 1, 0x0B 300 (ac 02), user property a=b; payload "x".
    const body = fromHex("0001 74 0007 0c 0b01 0bac02 26 0001 61 0001 62 78".replace(/\s+/g, ""));
    const p = newPacket();
    expect(statusReason(decodePacket(PacketType.PUBLISH, 2, body, p, 5))).toBe(statusReason(Status.V5_SUBSCRIPTION_ID_IN_PUBLISH));
    const q = newPacket();
    expect(decodePacketFromServerV5(PacketType.PUBLISH, 2, body, q)).toBe(Status.OK);
    expect(q.props.subscriptionIdCount).toBe(2);
    expect(q.props.subscriptionIds.slice(0, 2)).toEqual([1, 300]);
    expect(q.props.userKeys[0]).toBe("a");
    expect(Buffer.from(q.payload as unknown as Uint8Array).toString()).toBe("x");
    // Still 0 is refused, and the flag does not outlive the call.
    expect(decodePacketFromServerV5(PacketType.PUBLISH, 2, fromHex("0001740007020b0078"), newPacket())).toBe(Status.V5_BAD_PROPERTY_VALUE);
    expect(decodePacket(PacketType.PUBLISH, 2, body, newPacket(), 5)).toBe(Status.V5_SUBSCRIPTION_ID_IN_PUBLISH);
  });
});
