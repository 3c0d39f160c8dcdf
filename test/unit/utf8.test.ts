// UTF-8 validation (MQTT-1.5.3-1, MQTT-1.5.3-2, MQTT-1.5.3-3) and the Bytes UTF-8 helpers of the JS target.
import { describe, it, expect } from "vitest";
import { validateUtf8 } from "../../src/codec/utf8";
import { STATUS_NAMES } from "../../src/codec/status";
import {
  utf8Encode,
  utf8Decode,
  utf8Length,
  bytesLength,
  newWriter,
  writerReset,
  writerByte,
  writerString,
  writerBytes,
  writerTake,
} from "../../src/bytes/bytes";
import { fromHex, toHex, asBytes, prng, label } from "./helpers";

function check(hex: string, start?: number, stop?: number): string {
  const b = fromHex(hex);
  return STATUS_NAMES[validateUtf8(b, start === undefined ? 0 : start, stop === undefined ? bytesLength(b) : stop)];
}

// Reference: a strict decoder. ignoreBOM keeps U+FEFF (SRV-ENC-11); U+0000 is our own extra rule.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function reference(bytes: Uint8Array): string {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return "BAD_UTF8";
  }
  // Both errors present: our validator reports whichever comes first; only call it NULL when
  // the input is well-formed.
  return text.indexOf("\u0000") >= 0 ? "NULL_CHARACTER" : "OK";
}

describe("validateUtf8: well-formed strings", () => {
  const ok: [string, string][] = [
    ["", "empty"],
    ["61 2f 62", "ASCII"],
    ["01 1f 7f", "control characters U+0001, U+001F, U+007F (accepted, SRV-IMPL-4)"],
    ["c2 80", "U+0080, smallest 2-byte"],
    ["c2 9f", "U+009F, C1 control (accepted, SRV-IMPL-4)"],
    ["df bf", "U+07FF, largest 2-byte"],
    ["e0 a0 80", "U+0800, smallest 3-byte"],
    ["ed 9f bf", "U+D7FF, just below the surrogates"],
    ["ee 80 80", "U+E000, just above the surrogates"],
    ["ef bb bf", "U+FEFF"],
    ["ef bb bf ef bb bf 61", "U+FEFF twice, then \"a\""],
    ["ef b7 90", "U+FDD0, non-character (accepted, SRV-IMPL-4)"],
    ["ef bf be", "U+FFFE, non-character (accepted)"],
    ["ef bf bf", "U+FFFF, largest 3-byte"],
    ["f0 90 80 80", "U+10000, smallest 4-byte"],
    ["f0 9f 98 80", "U+1F600"],
    ["f4 8f bf bf", "U+10FFFF, largest code point"],
    ["61 c3 bc e2 82 ac f0 9f 98 80 62", "mixed lengths"],
  ];
  for (const [hex, what] of ok) {
    it(label(["MQTT-1.5.3-1"], what), () => expect(check(hex)).toBe("OK"));
  }
});

describe("validateUtf8: ill-formed strings", () => {
  const bad: [string, string, string, string][] = [
    ["c0 80", "BAD_UTF8", "MQTT-1.5.3-1", "over-long U+0000 (C0 80 is ill-formed, not NUL)"],
    ["c1 bf", "BAD_UTF8", "MQTT-1.5.3-1", "over-long 2-byte"],
    ["e0 80 80", "BAD_UTF8", "MQTT-1.5.3-1", "over-long 3-byte U+0000"],
    ["e0 9f bf", "BAD_UTF8", "MQTT-1.5.3-1", "over-long 3-byte U+07FF"],
    ["f0 80 80 80", "BAD_UTF8", "MQTT-1.5.3-1", "over-long 4-byte U+0000"],
    ["f0 8f bf bf", "BAD_UTF8", "MQTT-1.5.3-1", "over-long 4-byte U+FFFF"],
    ["ed a0 80", "BAD_UTF8", "MQTT-1.5.3-1", "surrogate U+D800"],
    ["ed af bf", "BAD_UTF8", "MQTT-1.5.3-1", "surrogate U+DBFF"],
    ["ed b0 80", "BAD_UTF8", "MQTT-1.5.3-1", "surrogate U+DC00"],
    ["ed bf bf", "BAD_UTF8", "MQTT-1.5.3-1", "surrogate U+DFFF"],
    ["ed a0 bd ed b8 80", "BAD_UTF8", "MQTT-1.5.3-1", "CESU-8 surrogate pair"],
    ["f4 90 80 80", "BAD_UTF8", "MQTT-1.5.3-1", "U+110000"],
    ["f5 80 80 80", "BAD_UTF8", "MQTT-1.5.3-1", "lead byte F5"],
    ["f7 bf bf bf", "BAD_UTF8", "MQTT-1.5.3-1", "lead byte F7"],
    ["f8 88 80 80 80", "BAD_UTF8", "MQTT-1.5.3-1", "5-byte form"],
    ["fc 84 80 80 80 80", "BAD_UTF8", "MQTT-1.5.3-1", "6-byte form"],
    ["fe", "BAD_UTF8", "MQTT-1.5.3-1", "FE"],
    ["ff", "BAD_UTF8", "MQTT-1.5.3-1", "FF"],
    ["80", "BAD_UTF8", "MQTT-1.5.3-1", "lone continuation 80"],
    ["bf", "BAD_UTF8", "MQTT-1.5.3-1", "lone continuation BF"],
    ["61 80 62", "BAD_UTF8", "MQTT-1.5.3-1", "continuation between ASCII"],
    ["c3", "BAD_UTF8", "MQTT-1.5.3-1", "truncated 2-byte at end"],
    ["e2 82", "BAD_UTF8", "MQTT-1.5.3-1", "truncated 3-byte at end"],
    ["f0 9f 98", "BAD_UTF8", "MQTT-1.5.3-1", "truncated 4-byte at end"],
    ["c3 28", "BAD_UTF8", "MQTT-1.5.3-1", "2-byte lead then ASCII"],
    ["e2 28 a1", "BAD_UTF8", "MQTT-1.5.3-1", "3-byte lead, bad 2nd byte"],
    ["e2 82 28", "BAD_UTF8", "MQTT-1.5.3-1", "3-byte lead, bad 3rd byte"],
    ["f0 9f 98 28", "BAD_UTF8", "MQTT-1.5.3-1", "4-byte lead, bad 4th byte"],
    ["c3 c3 bc", "BAD_UTF8", "MQTT-1.5.3-1", "lead byte where a continuation is due"],
    ["00", "NULL_CHARACTER", "MQTT-1.5.3-2", "U+0000 alone"],
    ["61 00 62", "NULL_CHARACTER", "MQTT-1.5.3-2", "U+0000 inside"],
    ["61 62 00", "NULL_CHARACTER", "MQTT-1.5.3-2", "U+0000 at the end"],
  ];
  for (const [hex, status, id, what] of bad) {
    it(label([id], what + " -> " + status), () => expect(check(hex)).toBe(status));
  }
});

describe("validateUtf8: ranges inside a larger buffer", () => {
  it("[MQTT-1.5.3-1] a sequence cut by the end of the range is truncated, even if the buffer goes on", () => {
    expect(check("e2 82 ac", 0, 2)).toBe("BAD_UTF8");
    expect(check("f0 9f 98 80", 0, 3)).toBe("BAD_UTF8");
    expect(check("f0 9f 98 80 61", 0, 4)).toBe("OK");
  });
  it("[MQTT-1.5.3-1] bytes outside the range are not looked at", () => {
    expect(check("ff 61 62 ff", 1, 3)).toBe("OK");
    expect(check("00 61 00", 1, 2)).toBe("OK");
    expect(check("ff ff", 1, 1)).toBe("OK");
  });
  it("[MQTT-1.5.3-1] a range starting on a continuation byte is ill-formed", () => {
    expect(check("e2 82 ac", 1, 3)).toBe("BAD_UTF8");
  });
});

describe("validateUtf8 agrees with a strict decoder", () => {
  it("[MQTT-1.5.3-1 MQTT-1.5.3-2] on every 1- and 2-byte input", () => {
    const one = new Uint8Array(1);
    for (let a = 0; a < 256; a++) {
      one[0] = a;
      expect(STATUS_NAMES[validateUtf8(asBytes(one), 0, 1)], a.toString(16)).toBe(reference(one));
    }
    const two = new Uint8Array(2);
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        two[0] = a;
        two[1] = b;
        const got = STATUS_NAMES[validateUtf8(asBytes(two), 0, 2)];
        const want = reference(two);
        // Where both an error and a NUL are present, the first found decides; the reference
        // only knows "ill-formed". Compare error-vs-OK in that case.
        if (got !== want) expect(got + " " + want, a.toString(16) + " " + b.toString(16)).toBe("NULL_CHARACTER BAD_UTF8");
      }
    }
  });

  it("[MQTT-1.5.3-1] on 3- and 4-byte inputs over every lead byte and boundary continuation bytes", () => {
    const edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc2, 0xff];
    const three = new Uint8Array(3);
    const four = new Uint8Array(4);
    for (let a = 0xc0; a < 256; a++) {
      for (const b of edges) {
        for (const c of edges) {
          three[0] = a;
          three[1] = b;
          three[2] = c;
          const got = STATUS_NAMES[validateUtf8(asBytes(three), 0, 3)];
          const want = reference(three);
          if (got !== want) expect(got + " " + want, toHex(asBytes(three))).toBe("NULL_CHARACTER BAD_UTF8");
          for (const d of edges) {
            four[0] = a;
            four[1] = b;
            four[2] = c;
            four[3] = d;
            const got4 = STATUS_NAMES[validateUtf8(asBytes(four), 0, 4)];
            const want4 = reference(four);
            if (got4 !== want4) expect(got4 + " " + want4, toHex(asBytes(four))).toBe("NULL_CHARACTER BAD_UTF8");
          }
        }
      }
    }
  });

  it("[MQTT-1.5.3-1] on seeded random byte strings", () => {
    const rnd = prng(20141029);
    const alphabet = [0x00, 0x2f, 0x61, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    for (let n = 0; n < 20000; n++) {
      const len = 1 + Math.floor(rnd() * 8);
      const a = new Uint8Array(len);
      for (let i = 0; i < len; i++) a[i] = rnd() < 0.3 ? Math.floor(rnd() * 256) : alphabet[Math.floor(rnd() * alphabet.length)];
      const got = STATUS_NAMES[validateUtf8(asBytes(a), 0, len)];
      const want = reference(a);
      if (got !== want) expect(got + " " + want, toHex(asBytes(a))).toBe("NULL_CHARACTER BAD_UTF8");
    }
  });
});

describe("utf8Encode / utf8Decode / utf8Length", () => {
  const strings: [string, string, string][] = [
    ["", "", "empty"],
    ["a/b", "612f62", "ASCII"],
    ["\u0080", "c280", "U+0080"],
    ["\u00fc", "c3bc", "U+00FC"],
    ["\u07ff", "dfbf", "U+07FF"],
    ["\u0800", "e0a080", "U+0800"],
    ["\u20ac", "e282ac", "U+20AC"],
    ["\ud7ff", "ed9fbf", "U+D7FF"],
    ["\ue000", "ee8080", "U+E000"],
    ["\ufeff", "efbbbf", "U+FEFF alone"],
    ["\ufeffa", "efbbbf61", "leading U+FEFF kept"],
    ["a\ufeff", "61efbbbf", "trailing U+FEFF kept"],
    ["\uffff", "efbfbf", "U+FFFF"],
    ["\ud800\udc00", "f0908080", "U+10000 (surrogate pair)"],
    ["\ud83d\ude00", "f09f9880", "U+1F600 (surrogate pair)"],
    ["\ud834\udd1e", "f09d849e", "U+1D11E (surrogate pair)"],
    ["\udbff\udfff", "f48fbfbf", "U+10FFFF (surrogate pair)"],
    ["a\ud83d\ude00b\u20ac", "61f09f988062e282ac", "mixed"],
    ["\ud83d\ude00\ud83d\ude01", "f09f9880f09f9881", "two astral characters"],
  ];
  for (const [s, hex, what] of strings) {
    it(label(["MQTT-1.5.3-1", "MQTT-1.5.3-3"], what + ": encode, length, decode"), () => {
      const b = utf8Encode(s);
      expect(toHex(b)).toBe(hex);
      expect(utf8Length(s)).toBe(hex.length / 2);
      expect(utf8Decode(b, 0, bytesLength(b))).toBe(s);
      expect(STATUS_NAMES[validateUtf8(b, 0, bytesLength(b))]).toBe(s.indexOf("\u0000") >= 0 ? "NULL_CHARACTER" : "OK");
    });
  }

  it("[MQTT-1.5.3-3] decoding keeps U+FEFF at the start (no BOM stripping)", () => {
    const s = utf8Decode(fromHex("ef bb bf 61"), 0, 4);
    expect(s.length).toBe(2);
    expect(s.charCodeAt(0)).toBe(0xfeff);
  });

  it("decodes a sub-range of a buffer", () => {
    const b = fromHex("ff 00 03 61 c3 bc f0 9f 98 80 ff");
    expect(utf8Decode(b, 3, 10)).toBe("a\u00fc\ud83d\ude00");
    expect(utf8Decode(b, 4, 6)).toBe("\u00fc");
    expect(utf8Decode(b, 5, 5)).toBe("");
  });

  it("handles long ASCII runs and runs broken by multi-byte characters (agrees with Node's Buffer)", () => {
    const samples = [
      "x".repeat(255),
      "x".repeat(256),
      "x".repeat(257),
      "y".repeat(1000),
      "a".repeat(300) + "\u00fc" + "b".repeat(300) + "\ud83d\ude00" + "c".repeat(10),
      "\u20ac".repeat(500),
    ];
    for (const s of samples) {
      const b = utf8Encode(s);
      expect(toHex(b), s.slice(0, 20)).toBe(Buffer.from(s, "utf8").toString("hex"));
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, "utf8"));
      expect(utf8Decode(b, 0, bytesLength(b))).toBe(s);
    }
  });

  it("round-trips seeded random strings of valid code points (agrees with Node's Buffer)", () => {
    const rnd = prng(4);
    const pick = () => {
      const r = rnd();
      if (r < 0.4) return 0x20 + Math.floor(rnd() * 0x5f);
      if (r < 0.6) return 0x80 + Math.floor(rnd() * (0x800 - 0x80));
      if (r < 0.8) {
        const c = 0x800 + Math.floor(rnd() * (0x10000 - 0x800));
        return c >= 0xd800 && c <= 0xdfff ? 0xfeff : c;
      }
      return 0x10000 + Math.floor(rnd() * (0x110000 - 0x10000));
    };
    for (let n = 0; n < 2000; n++) {
      let s = "";
      const len = Math.floor(rnd() * 20);
      for (let i = 0; i < len; i++) s += String.fromCodePoint(pick());
      const b = utf8Encode(s);
      expect(toHex(b)).toBe(Buffer.from(s, "utf8").toString("hex"));
      expect(utf8Length(s)).toBe(bytesLength(b));
      expect(utf8Decode(b, 0, bytesLength(b))).toBe(s);
      expect(STATUS_NAMES[validateUtf8(b, 0, bytesLength(b))]).toBe("OK");
    }
  });
});

describe("Writer", () => {
  it("writerString writes the same bytes as utf8Encode, astral characters included", () => {
    const w = newWriter(4);
    for (const s of ["a", "\ufeff", "\ud83d\ude00", "\u00fc/\u20ac/\ud83d\ude00", "z".repeat(100)]) {
      writerReset(w);
      writerString(w, s);
      expect(toHex(writerTake(w))).toBe(toHex(utf8Encode(s)));
    }
  });

  it("grows past its capacity and hands out independent copies", () => {
    const w = newWriter(16);
    const src = new Uint8Array(1000);
    for (let i = 0; i < src.length; i++) src[i] = i % 251;
    writerByte(w, 0x30);
    writerBytes(w, asBytes(src), 0, 1000);
    writerBytes(w, asBytes(src), 10, 13);
    const first = writerTake(w);
    expect(bytesLength(first)).toBe(1004);
    expect(toHex(first)).toBe("30" + Buffer.from(src).toString("hex") + "0a0b0c");
    writerReset(w);
    writerByte(w, 0xff);
    expect(toHex(writerTake(w))).toBe("ff");
    expect(toHex(first).slice(0, 4)).toBe("3000");
  });
});

describe("lone surrogates in JS strings", () => {
  // A string from config or a tool may hold an unpaired surrogate; it is written as U+FFFD,
  // and utf8Length must agree with what utf8Encode writes (the length prefix depends on it).
  for (const s of ["\ud800a", "\ud800\u00e9", "a\udc00", "\udbff"]) {
    it(`encodes ${JSON.stringify(s)} like Node does, with a matching length`, () => {
      const encoded = Buffer.from(utf8Encode(s) as unknown as Uint8Array);
      expect(encoded.toString("hex")).toBe(Buffer.from(s, "utf8").toString("hex"));
      expect(utf8Length(s)).toBe(encoded.length);
    });
  }
});
