// Codec golden tests, driven by test/fixtures/packets.json (hand-typed bytes).
import { describe, it, expect } from "vitest";
import { EMPTY_BYTES, utf8Encode } from "../../src/bytes/bytes";
import { newPacket } from "../../src/codec/packet";
import { STATUS_NAMES } from "../../src/codec/status";
import { PacketType } from "../../src/codec/constants";
import { encodePacket, encodeConnack, encodeAck, encodeEmpty, encodeSuback, encodePublish } from "../../src/codec/encode";
import {
  PacketFixtures,
  ByteGroup,
  loadFixture,
  label,
  groupsHex,
  fromHex,
  toHex,
  u8,
  asBytes,
  normalizeRecord,
  recordToPacket,
  packetToRecord,
  parseOne,
  runStream,
  oneByteChunks,
} from "./helpers";

const fx = loadFixture<PacketFixtures>("packets.json");

/** Statuses that mean "close": everything after OK, NEED_MORE and PACKET. */
const ERROR_NAMES = STATUS_NAMES.slice(3);

describe("packets.json itself", () => {
  it("has valid fixtures for all 14 packet types", () => {
    const seen: number[] = [];
    for (const f of fx.valid) if (seen.indexOf(f.packet.type) < 0) seen.push(f.packet.type);
    seen.sort((a, b) => a - b);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it("has a malformed fixture for every error Status of the frame reader and decoder", () => {
    // MQTT 5.0 statuses have theirs in the v5 section (test/unit/v5/codec5.test.ts).
    const v5 = (fx as unknown as { v5: { malformed: { error: string }[] } }).v5;
    const seen = fx.malformed.map((f) => f.error).concat(v5.malformed.map((f) => f.error));
    const missing = ERROR_NAMES.filter((n) => seen.indexOf(n) < 0);
    expect(missing).toEqual([]);
  });

  it("uses only Status names from STATUS_NAMES", () => {
    for (const f of fx.malformed) expect(ERROR_NAMES, f.name).toContain(f.error);
    for (const s of fx.stream) expect(["NEED_MORE"].concat(ERROR_NAMES), s.name).toContain(s.end);
  });

  it("has unique names, spec ids on every entry, and well-formed hex", () => {
    const names: string[] = [];
    const all = (fx.valid as { name: string; spec: string[]; bytes: ByteGroup[] }[])
      .concat(fx.malformed)
      .concat(fx.stream);
    for (const f of all) {
      expect(names, "duplicate name " + f.name).not.toContain(f.name);
      names.push(f.name);
      expect(f.spec.length, f.name).toBeGreaterThan(0);
      for (const id of f.spec) expect(id, f.name).toMatch(/^(MQTT-\d+\.\d+\.\d+-\d+|SRV-[A-Z0-9]+-\d+)$/);
      for (const g of f.bytes) expect(typeof g[1], f.name + ": every byte group has a comment").toBe("string");
      expect(() => groupsHex(f.bytes), f.name).not.toThrow();
    }
  });
});

describe("valid packets: decode, encode, round trip", () => {
  for (const f of fx.valid) {
    const hex = groupsHex(f.bytes);
    const expected = normalizeRecord(f.packet);
    describe(label(f.spec, f.name), () => {
      it("decodes to the fixture fields, using every byte", () => {
        const res = parseOne(fromHex(hex), fx.maxPacketSize);
        expect(res.layer + ":" + res.status).toBe("decode:OK");
        expect(res.consumed).toBe(hex.length / 2);
        expect(res.packet.type).toBe(f.packet.type);
        expect(res.packet.flags).toBe(parseInt(hex.slice(0, 2), 16) % 16);
        expect(packetToRecord(res.packet)).toEqual(expected);
        if (f.packet.type === PacketType.PUBLISH) {
          // The topic bytes are the received bytes, unchanged (relay without re-encoding).
          expect(toHex(res.packet.topicBytes)).toBe(toHex(utf8Encode(f.packet.topic as string)));
          if (f.packet.qos === 0) expect(res.packet.packetId).toBe(0); // MQTT-2.3.1-5
        }
      });

      it("encodes from the fixture fields to exactly the fixture bytes", () => {
        expect(toHex(encodePacket(recordToPacket(f.packet)))).toBe(hex);
      });

      it("round-trips: encode(decode(bytes)) = bytes", () => {
        const res = parseOne(fromHex(hex), fx.maxPacketSize);
        expect(res.status).toBe("OK");
        expect(toHex(encodePacket(res.packet))).toBe(hex);
      });
    });
  }

  it("[SRV-FH-1] decoding every valid fixture into one shared record leaves no stale fields", () => {
    const shared = newPacket();
    for (let pass = 0; pass < 2; pass++) {
      for (const f of fx.valid) {
        const res = parseOne(fromHex(groupsHex(f.bytes)), fx.maxPacketSize, shared);
        expect(res.status, f.name).toBe("OK");
        expect(packetToRecord(shared), f.name).toEqual(normalizeRecord(f.packet));
      }
    }
  });
});

describe("malformed packets: the first Status reported", () => {
  for (const f of fx.malformed) {
    const hex = groupsHex(f.bytes);
    const max = f.maxPacketSize !== undefined ? f.maxPacketSize : fx.maxPacketSize;
    it(label(f.spec, f.name + " -> " + f.error), () => {
      const res = parseOne(fromHex(hex), max);
      expect(res.status).toBe(f.error);
      // A decoder-level fixture must be one whole frame, so it tests the decoder, not the framing.
      if (res.layer === "decode") expect(res.consumed).toBe(hex.length / 2);
    });
  }

  it("[SRV-FH-1] gives the same Status when the bytes arrive one at a time", () => {
    for (const f of fx.malformed) {
      const max = f.maxPacketSize !== undefined ? f.maxPacketSize : fx.maxPacketSize;
      const res = runStream(oneByteChunks(u8(fromHex(groupsHex(f.bytes)))), max);
      expect(res.end, f.name).toBe(f.error);
      expect(res.packets, f.name).toEqual([]);
    }
  });
});

describe("encoders for the packets the server sends", () => {
  it("[SRV-CON-9 MQTT-3.2.2-1 MQTT-3.2.2-2] CONNACK is 20 02 0S RC", () => {
    expect(toHex(encodeConnack(false, 0))).toBe("20020000");
    expect(toHex(encodeConnack(true, 0))).toBe("20020100");
    expect(toHex(encodeConnack(false, 1))).toBe("20020001");
    expect(toHex(encodeConnack(false, 5))).toBe("20020005");
  });

  it("[MQTT-3.6.1-1 SRV-PUB-7 MQTT-3.10.4-4] acks carry the right flags and the packet id", () => {
    expect(toHex(encodeAck(PacketType.PUBACK, 1))).toBe("40020001");
    expect(toHex(encodeAck(PacketType.PUBREC, 0x1234))).toBe("50021234");
    expect(toHex(encodeAck(PacketType.PUBREL, 65535))).toBe("6202ffff");
    expect(toHex(encodeAck(PacketType.PUBCOMP, 256))).toBe("70020100");
    expect(toHex(encodeAck(PacketType.UNSUBACK, 11))).toBe("b002000b");
  });

  it("[MQTT-3.12.4-1] PINGRESP is d0 00", () => {
    expect(toHex(encodeEmpty(PacketType.PINGRESP))).toBe("d000");
  });

  it("[SRV-SUB-5 MQTT-3.9.3-1] SUBACK: 90, 2 + N, packet id, codes in order", () => {
    expect(toHex(encodeSuback(258, [0, 2, 1, 0x80], 4))).toBe("9006010200020180");
    // Only the first `count` codes are written.
    expect(toHex(encodeSuback(10, [1, 2, 2], 1))).toBe("9003000a01");
  });

  it("[MQTT-2.3.1-5] a QoS 0 PUBLISH never carries a packet id", () => {
    expect(toHex(encodePublish(utf8Encode("a"), EMPTY_BYTES, 0, false, false, 7))).toBe("3003000161");
  });

  it("[MQTT-3.3.1-1 MQTT-3.3.1-9] PUBLISH fixed header bits: DUP 8, QoS 2/4, RETAIN 1", () => {
    const t = utf8Encode("t");
    expect(toHex(encodePublish(t, EMPTY_BYTES, 1, true, false, 1)).slice(0, 2)).toBe("3a");
    expect(toHex(encodePublish(t, EMPTY_BYTES, 2, false, true, 1)).slice(0, 2)).toBe("35");
    expect(toHex(encodePublish(t, EMPTY_BYTES, 0, false, false, 0)).slice(0, 2)).toBe("30");
  });

  it("[SRV-ENC-1 SRV-ENC-2 SRV-ENC-5] remaining length in its shortest form at every boundary", () => {
    // remaining = 3 (topic "a" with its prefix) + payload length
    const cases: [number, string][] = [
      [3, "03"],
      [127, "7f"],
      [128, "8001"],
      [16383, "ff7f"],
      [16384, "808001"],
      [2097151, "ffff7f"],
      [2097152, "80808001"],
    ];
    for (const [remaining, lengthHex] of cases) {
      const payload = new Uint8Array(remaining - 3);
      const out = u8(encodePublish(utf8Encode("a"), asBytes(payload), 0, false, false, 0));
      const headerHex = Buffer.from(out.subarray(0, 1 + lengthHex.length / 2)).toString("hex");
      expect(headerHex, "remaining " + remaining).toBe("30" + lengthHex);
      expect(out.length, "remaining " + remaining).toBe(1 + lengthHex.length / 2 + remaining);
    }
  });

  it("returns a fresh copy each time: a later encode does not change an earlier result", () => {
    const a = encodeAck(PacketType.PUBACK, 1);
    const b = encodeAck(PacketType.PUBREC, 2);
    const c = encodeConnack(true, 0);
    expect(toHex(a)).toBe("40020001");
    expect(toHex(b)).toBe("50020002");
    expect(toHex(c)).toBe("20020100");
  });
});
