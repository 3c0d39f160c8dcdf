// MQTT 5.0 byte-level statements of docs/spec/mqtt-5.0.md not named elsewhere: data types
// (§1.2-1.4), and the rule that every packet the server sends drops its Reason String and User
// Properties rather than exceed the receiver's Maximum Packet Size. Part of the checks replay
// the packets.json v5 fixtures that name an id (those also run on the Lua VMs).
import { describe, expect, it } from "vitest";
import { PacketType } from "../../../src/codec/constants";
import { encodeAckV5, encodeConnackV5, encodeReasonV5, encodeSubackV5 } from "../../../src/codec/encode5";
import { Properties, addUserProperty, newProperties } from "../../../src/codec/properties";
import { Bytes } from "../../../src/bytes/bytes";
import { PacketFixtures, fromHex, groupsHex, loadFixture, toHex, u8 } from "../helpers";
import { Fixtures5, normalizeRecord5, packetToRecord5, parseOne5 } from "./helpers5";
import { rawStr, rawVbi } from "../../broker-v5/harness5";

const fx = loadFixture<PacketFixtures & { v5: Fixtures5 }>("packets.json").v5;

/** Runs every v5 fixture that names id; returns how many there were. */
function replayFixtures(id: string): number {
  let n = 0;
  for (const f of fx.valid) {
    if (f.spec.indexOf(id) < 0) continue;
    const hex = groupsHex(f.bytes);
    const res = parseOne5(fromHex(hex), 1048576);
    expect(res.layer + ":" + res.status, f.name).toBe("decode:OK");
    expect(packetToRecord5(res.packet), f.name).toEqual(normalizeRecord5(f.packet));
    n++;
  }
  for (const f of fx.malformed) {
    if (f.spec.indexOf(id) < 0) continue;
    const res = parseOne5(fromHex(groupsHex(f.bytes)), f.maxPacketSize !== undefined ? f.maxPacketSize : 1048576);
    expect(res.status, f.name).toBe(f.error);
    n++;
  }
  return n;
}

const str = rawStr;
const vbi = rawVbi;
function packet(first: number, body: number[]): Uint8Array {
  return new Uint8Array([first, ...vbi(body.length), ...body]);
}
/** A QoS 0 PUBLISH to "t" with these property bytes and payload "x". */
function publishWith(props: number[]): Uint8Array {
  return packet(0x30, [...str("t"), ...vbi(props.length), ...props, 0x78]);
}
function parse(bytes: Uint8Array) {
  return parseOne5(bytes as unknown as Bytes, 1 << 28);
}

describe("MQTT 5.0 data types", () => {
  it("[SRV5-ENC-1] two- and four-byte integers are unsigned big-endian", () => {
    expect(replayFixtures("SRV5-ENC-1")).toBeGreaterThan(0);
    const c = packet(0x10, [...str("MQTT"), 5, 2, 0xff, 0xfe, 8, 0x11, 0x81, 0x02, 0x03, 0x04, 0x21, 0xff, 0xff, ...str("a")]);
    const res = parse(c);
    expect(res.status).toBe("OK");
    expect(res.packet.keepAlive).toBe(0xfffe);
    expect(res.packet.props.sessionExpiryInterval).toBe(0x81020304);
    expect(res.packet.props.receiveMaximum).toBe(65535);
  });

  it("[SRV5-ENC-3, SRV5-ENC-2] a continuation bit on the fourth byte of a Variable Byte Integer is malformed; four bytes reach 268,435,455", () => {
    expect(replayFixtures("SRV5-ENC-3")).toBeGreaterThan(0);
    expect(parse(new Uint8Array([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])).status).toBe("LENGTH_TOO_LONG");
    // Property Length with a fifth byte.
    expect(parse(packet(0x30, [...str("t"), 0x80, 0x80, 0x80, 0x80, 0x01])).status).toBe("V5_BAD_VARIABLE_INTEGER");
    // A Subscription Identifier of 268,435,455 in a SUBSCRIBE (ff ff ff 7f) is the largest value.
    const s = parse(packet(0x82, [0, 1, 5, 0x0b, 0xff, 0xff, 0xff, 0x7f, ...str("t"), 0]));
    expect(s.status).toBe("OK");
    expect(s.packet.props.subscriptionIds[0]).toBe(268435455);
  });

  it("[SRV5-ENC-4, MQTT-4.7.3-3] a UTF-8 string is a 16-bit byte count and its bytes: 65,535 bytes decode, a count past the end is malformed", () => {
    const long = "x".repeat(65535);
    const ok = parse(packet(0x30, [...str(long), 0]));
    expect(ok.status).toBe("OK");
    expect(ok.packet.topic.length).toBe(65535);
    const short = parse(packet(0x30, [0, 9, 0x74, 0]));
    expect(short.status).toBe("TRUNCATED");
    // A Content Type whose count runs past the Property Length.
    expect(parse(publishWith([0x03, 0, 5, 0x61])).status).not.toBe("OK");
  });

  it("[SRV5-ENC-7] Binary Data is a 16-bit length and opaque bytes: Correlation Data may hold any bytes, a length past the end is malformed", () => {
    expect(replayFixtures("SRV5-ENC-7")).toBeGreaterThan(0);
    const res = parse(publishWith([0x09, 0, 4, 0xff, 0x00, 0xc0, 0x80]));
    expect(res.status).toBe("OK");
    expect(toHex(res.packet.props.correlationData)).toBe("ff00c080");
    expect(parse(publishWith([0x09, 0, 9, 0xff])).status).not.toBe("OK");
  });

  it("[SRV5-V311-24, SRV5-ENC-8, MQTT-1.5.5-1] 3.1.1's encoding rules hold under 5.0, plus string pairs and the shortest Variable Byte Integer", () => {
    const pair = parse(publishWith([0x26, ...str("name"), ...str("value"), 0x26, ...str("name"), ...str("")]));
    expect(pair.status).toBe("OK");
    expect(packetToRecord5(pair.packet).props).toEqual({ userProperties: [["name", "value"], ["name", ""]] });
    // Remaining length 4 written in two bytes (84 00) instead of one.
    expect(parse(new Uint8Array([0x30, 0x84, 0x00, 0, 1, 0x74, 0])).status).not.toBe("OK");
    // A bad UTF-8 string is malformed under 5.0 as under 3.1.1.
    expect(parse(packet(0x30, [...str([0xc0, 0x80]), 0])).status).toBe("BAD_UTF8");
  });
});

describe("MQTT 5.0 packets from the server stay within the receiver's Maximum Packet Size", () => {
  function diag(reason: boolean, user: boolean): Properties {
    const pr = newProperties();
    if (reason) {
      pr.hasReasonString = true;
      pr.reasonString = "a reason string of some length";
    }
    if (user) addUserProperty(pr, "key", "a user property value");
    return pr;
  }
  const cases: Array<[string, string[], (pr: Properties, max: number) => Bytes]> = [
    ["CONNACK", ["MQTT-3.2.2-19", "MQTT-3.2.2-20"], (pr, max) => encodeConnackV5(false, 0, pr, max)],
    ["PUBACK", ["MQTT-3.4.2-2", "MQTT-3.4.2-3"], (pr, max) => encodeAckV5(PacketType.PUBACK, 1, 0x87, pr, max)],
    ["PUBREC", ["MQTT-3.5.2-2", "MQTT-3.5.2-3"], (pr, max) => encodeAckV5(PacketType.PUBREC, 1, 0x87, pr, max)],
    ["PUBREL", ["MQTT-3.6.2-2", "MQTT-3.6.2-3"], (pr, max) => encodeAckV5(PacketType.PUBREL, 1, 0x92, pr, max)],
    ["PUBCOMP", ["MQTT-3.7.2-2", "MQTT-3.7.2-3"], (pr, max) => encodeAckV5(PacketType.PUBCOMP, 1, 0x92, pr, max)],
    ["SUBACK", ["MQTT-3.9.2-1", "MQTT-3.9.2-2"], (pr, max) => encodeSubackV5(PacketType.SUBACK, 1, [0x87, 0], 2, pr, max)],
    ["UNSUBACK", ["MQTT-3.11.2-1", "MQTT-3.11.2-2"], (pr, max) => encodeSubackV5(PacketType.UNSUBACK, 1, [0x11], 1, pr, max)],
    ["DISCONNECT", ["MQTT-3.14.2-3", "MQTT-3.14.2-4"], (pr, max) => encodeReasonV5(PacketType.DISCONNECT, 0x82, pr, max)],
    ["AUTH", ["MQTT-3.15.2-2", "MQTT-3.15.2-3"], (pr, max) => encodeReasonV5(PacketType.AUTH, 0x18, pr, max)],
  ];
  for (const [name, ids, encode] of cases) {
    it(`[${ids.join(", ")}] ${name}: the Reason String, then the User Properties, are left out when the packet would exceed the maximum`, () => {
      const bare = u8(encode(newProperties(), 0)).length;
      for (const [reason, user] of [[true, false], [false, true], [true, true]]) {
        const pr = diag(reason, user);
        const full = toHex(encode(pr, 0));
        expect(full.length / 2).toBeGreaterThan(bare);
        // Room for the bare packet only: neither is written.
        const cut = toHex(encode(pr, bare));
        expect(cut.length / 2).toBeLessThanOrEqual(bare);
        expect(cut).not.toContain(Buffer.from("a reason string").toString("hex"));
        expect(cut).not.toContain(Buffer.from("a user property value").toString("hex"));
        // With room to spare, both stay.
        expect(toHex(encode(pr, full.length / 2))).toBe(full);
      }
    });
  }
  // Ids named above, written out whole for the coverage count: MQTT-3.2.2-19, MQTT-3.2.2-20,
  // MQTT-3.4.2-2, MQTT-3.4.2-3, MQTT-3.5.2-2, MQTT-3.5.2-3, MQTT-3.6.2-2, MQTT-3.6.2-3,
  // MQTT-3.7.2-2, MQTT-3.7.2-3, MQTT-3.9.2-1, MQTT-3.9.2-2, MQTT-3.11.2-1, MQTT-3.11.2-2,
  // MQTT-3.14.2-3, MQTT-3.14.2-4, MQTT-3.15.2-2, MQTT-3.15.2-3.
});
