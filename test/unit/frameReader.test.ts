// Stream framing (SRV-FH-1): the same packets however the bytes are cut, size limits checked
// on the header alone (SRV-ENC-6), bodies as views when they lie inside one chunk.
import { describe, it, expect } from "vitest";
import { newFrameReader, frameFeed, frameNext, framePending, frameReset } from "../../src/codec/frameReader";
import { Status } from "../../src/codec/status";
import {
  PacketFixtures,
  loadFixture,
  label,
  groupsHex,
  fromHex,
  toHex,
  u8,
  asBytes,
  normalizeRecord,
  runStream,
  oneByteChunks,
  randomChunks,
  splitBySizes,
} from "./helpers";

const fx = loadFixture<PacketFixtures>("packets.json");
const MiB = 1024 * 1024;

describe("stream fixtures: same packets however the bytes are split", () => {
  for (const s of fx.stream) {
    const bytes = u8(fromHex(groupsHex(s.bytes)));
    const want = {
      packets: s.packets.map(normalizeRecord),
      end: s.end,
    };
    const check = (chunks: ReturnType<typeof oneByteChunks>, how: string) => {
      const got = runStream(chunks, fx.maxPacketSize);
      expect({ packets: got.packets, end: got.end }, how).toEqual(want);
      if (s.pending !== undefined) expect(got.pending, how + ": pending").toBe(s.pending);
    };
    describe(label(s.spec, s.name), () => {
      it("all in one chunk", () => check([asBytes(bytes)], "one chunk"));
      it("one byte at a time", () => check(oneByteChunks(bytes), "one byte at a time"));
      it("random splits (seeded)", () => {
        for (let seed = 1; seed <= 40; seed++) {
          check(randomChunks(bytes, seed, 1 + (seed % 7) * 5), "seed " + seed);
        }
        for (let seed = 100; seed <= 110; seed++) check(randomChunks(bytes, seed, 4096), "seed " + seed);
      });
      it("every two-chunk split point", () => {
        const step = bytes.length > 2000 ? 97 : 1;
        for (let cut = 0; cut <= bytes.length; cut += step) check(splitBySizes(bytes, [cut]), "cut at " + cut);
      });
    });
  }
});

describe("valid fixtures through the frame reader", () => {
  it("[SRV-FH-1] every valid packet decodes the same when fed one byte at a time", () => {
    for (const f of fx.valid) {
      const got = runStream(oneByteChunks(u8(fromHex(groupsHex(f.bytes)))), fx.maxPacketSize);
      expect(got.end, f.name).toBe("NEED_MORE");
      expect(got.pending, f.name).toBe(false);
      expect(got.packets, f.name).toEqual([normalizeRecord(f.packet)]);
    }
  });

  it("[SRV-FH-1] all valid packets back to back, in random splits, give every packet in order", () => {
    const hex = fx.valid.map((f) => groupsHex(f.bytes)).join("");
    const bytes = u8(fromHex(hex));
    const want = fx.valid.map((f) => normalizeRecord(f.packet));
    for (let seed = 1; seed <= 5; seed++) {
      const got = runStream(randomChunks(bytes, seed, 3000), fx.maxPacketSize);
      expect(got.end).toBe("NEED_MORE");
      expect(got.packets).toEqual(want);
    }
    expect(runStream([asBytes(bytes)], fx.maxPacketSize).packets).toEqual(want);
  });
});

describe("maximum packet size, checked on the header alone", () => {
  it("[SRV-ENC-6 SRV-IMPL-1] a remaining length over the maximum is refused after only the 1 + 4 header bytes", () => {
    const r = newFrameReader(MiB);
    const header = [0x30, 0x80, 0x80, 0x80, 0x01]; // PUBLISH, remaining length 2,097,152; no body fed
    for (let i = 0; i < 4; i++) {
      frameFeed(r, fromHex(header[i].toString(16).padStart(2, "0")));
      expect(frameNext(r), "after header byte " + i).toBe(Status.NEED_MORE);
    }
    frameFeed(r, fromHex("01"));
    expect(frameNext(r)).toBe(Status.PACKET_TOO_LARGE);
  });

  it("[SRV-ENC-6 SRV-IMPL-1] a 2 MB remaining length with a 1 MB maximum is refused", () => {
    const r = newFrameReader(MiB);
    frameFeed(r, fromHex("30 80 89 7a")); // remaining length 2,000,000 = 0 + 9*128 + 122*16384
    expect(frameNext(r)).toBe(Status.PACKET_TOO_LARGE);
  });

  it("[SRV-IMPL-1] the maximum counts the whole packet, fixed header included", () => {
    // 1 + 3 + 1,048,572 = 1,048,576: allowed (the reader waits for the body).
    let r = newFrameReader(MiB);
    frameFeed(r, fromHex("30 fc ff 3f"));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    expect(r.remaining).toBe(1048572);
    expect(framePending(r)).toBe(true);
    // One more byte is over.
    r = newFrameReader(MiB);
    frameFeed(r, fromHex("30 fd ff 3f"));
    expect(frameNext(r)).toBe(Status.PACKET_TOO_LARGE);
    // Small limit: an 11-byte packet with a maximum of 11 passes, with 10 it is refused before its body.
    r = newFrameReader(11);
    frameFeed(r, fromHex("30 09 00 01 61 2a 2a 2a 2a 2a 2a"));
    expect(frameNext(r)).toBe(Status.PACKET);
    r = newFrameReader(10);
    frameFeed(r, fromHex("30 09"));
    expect(frameNext(r)).toBe(Status.PACKET_TOO_LARGE);
  });

  it("[SRV-ENC-1 SRV-ENC-2] remaining length values at every size boundary", () => {
    const cases: [string, number][] = [
      ["00", 0],
      ["7f", 127],
      ["80 01", 128],
      ["ff 7f", 16383],
      ["80 80 01", 16384],
      ["ff ff 7f", 2097151],
      ["80 80 80 01", 2097152],
      ["ff ff ff 7f", 268435455],
      ["c1 02", 321],
      ["a0 8d 06", 100000],
    ];
    for (const [lengthHex, value] of cases) {
      const r = newFrameReader(300 * MiB);
      frameFeed(r, fromHex("30 " + lengthHex));
      const st = frameNext(r);
      expect(st, lengthHex).toBe(value === 0 ? Status.PACKET : Status.NEED_MORE);
      expect(r.remaining, lengthHex).toBe(value);
    }
  });

  it("[SRV-ENC-3] a 4th length byte with bit 7 set is refused without reading a 5th byte", () => {
    const r = newFrameReader(300 * MiB);
    frameFeed(r, fromHex("30 80 80 80 80")); // no 5th length byte is fed at all
    expect(frameNext(r)).toBe(Status.LENGTH_TOO_LONG);
  });

  it("[SRV-ENC-5] over-long length forms are refused, however split", () => {
    for (const hex of ["c0 80 00", "30 83 00", "30 80 80 00", "30 ff 80 00", "30 80 80 80 00"]) {
      expect(runStream([fromHex(hex)], MiB).end, hex).toBe("LENGTH_NOT_MINIMAL");
      expect(runStream(oneByteChunks(u8(fromHex(hex))), MiB).end, hex).toBe("LENGTH_NOT_MINIMAL");
    }
  });
});

describe("packet bodies: views and joins", () => {
  it("a packet wholly inside one chunk yields a view of that chunk, not a copy", () => {
    const chunk = u8(fromHex("c0 00 30 0a 00 03 61 2f 62 68 65 6c 6c 6f d0 00"));
    const r = newFrameReader(MiB);
    frameFeed(r, asBytes(chunk));
    expect(frameNext(r)).toBe(Status.PACKET); // PINGREQ
    expect(u8(r.body).length).toBe(0);
    expect(frameNext(r)).toBe(Status.PACKET); // PUBLISH
    const body = u8(r.body);
    expect(body.buffer).toBe(chunk.buffer);
    expect(body.byteOffset).toBe(chunk.byteOffset + 4);
    expect(toHex(r.body)).toBe("0003612f6268656c6c6f");
    expect(frameNext(r)).toBe(Status.PACKET); // PINGRESP
    expect(r.type).toBe(13);
    expect(frameNext(r)).toBe(Status.NEED_MORE);
  });

  it("a header in one chunk and the whole body in the next: the body is a view of the second chunk", () => {
    const r = newFrameReader(MiB);
    frameFeed(r, fromHex("32 09"));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    expect(framePending(r)).toBe(true);
    const second = u8(fromHex("00 03 61 2f 62 00 01 68 69 c0"));
    frameFeed(r, asBytes(second));
    expect(frameNext(r)).toBe(Status.PACKET);
    expect(r.type).toBe(3);
    expect(r.flags).toBe(2);
    expect(u8(r.body).buffer).toBe(second.buffer);
    expect(toHex(r.body)).toBe("0003612f6200016869");
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    expect(framePending(r)).toBe(true); // the lone c0
  });

  it("a body split across several chunks is joined in order", () => {
    const body = "0003612f62" + "0102030405060708090a".repeat(30); // 5 + 300 = 305 bytes
    const all = u8(fromHex("30 b1 02" + body)); // remaining 305 = 49 + 2*128
    const sizes = [1, 2, 7, 1, 100, 3, 50, 1000];
    const chunks = splitBySizes(all, sizes);
    const r = newFrameReader(MiB);
    let got = -1;
    for (let i = 0; i < chunks.length; i++) {
      frameFeed(r, chunks[i]);
      const st = frameNext(r);
      if (st === Status.PACKET) {
        got = i;
        break;
      }
      expect(st).toBe(Status.NEED_MORE);
    }
    expect(got).toBe(chunks.length - 1);
    expect(toHex(r.body)).toBe(body);
    for (let i = 0; i < chunks.length; i++) expect(u8(r.body).buffer).not.toBe(u8(chunks[i]).buffer);
  });

  it("a joined body is not disturbed by the next packet's chunks", () => {
    const r = newFrameReader(MiB);
    frameFeed(r, fromHex("30 05 00 01"));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    frameFeed(r, fromHex("61 68 69 30 05 00"));
    expect(frameNext(r)).toBe(Status.PACKET);
    const first = r.body;
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    frameFeed(r, fromHex("01 62 6a 6b"));
    expect(frameNext(r)).toBe(Status.PACKET);
    expect(toHex(first)).toBe("0001616869");
    expect(toHex(r.body)).toBe("0001626a6b");
  });

  it("empty chunks change nothing", () => {
    const r = newFrameReader(MiB);
    frameFeed(r, fromHex(""));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    expect(framePending(r)).toBe(false);
    frameFeed(r, fromHex("40"));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    frameFeed(r, fromHex(""));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    expect(framePending(r)).toBe(true);
    frameFeed(r, fromHex("02 00 07"));
    expect(frameNext(r)).toBe(Status.PACKET);
    expect(r.type).toBe(4);
    expect(toHex(r.body)).toBe("0007");
  });
});

describe("reader state", () => {
  it("framePending is true only while part of a packet is held", () => {
    const r = newFrameReader(MiB);
    expect(framePending(r)).toBe(false);
    frameFeed(r, fromHex("62"));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    expect(framePending(r)).toBe(true); // header byte only
    frameFeed(r, fromHex("02 00"));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    expect(framePending(r)).toBe(true); // part of the body
    frameFeed(r, fromHex("05"));
    expect(frameNext(r)).toBe(Status.PACKET);
    expect(framePending(r)).toBe(false);
  });

  it("frameReset drops a partial packet", () => {
    const r = newFrameReader(MiB);
    frameFeed(r, fromHex("30 0a 00 03 61"));
    expect(frameNext(r)).toBe(Status.NEED_MORE);
    frameReset(r);
    expect(framePending(r)).toBe(false);
    frameFeed(r, fromHex("b0 02 00 0b"));
    expect(frameNext(r)).toBe(Status.PACKET);
    expect(r.type).toBe(11);
    expect(toHex(r.body)).toBe("000b");
  });

  it("[SRV-FH-2] reserved types are refused on the first byte", () => {
    for (const hex of ["00", "0f", "f0", "ff"]) {
      const r = newFrameReader(MiB);
      frameFeed(r, fromHex(hex));
      expect(frameNext(r), hex).toBe(Status.BAD_PACKET_TYPE);
    }
  });
});
