// Property tests of the codec (issue 9): every valid packet round-trips; arbitrary bytes never
// make the frame reader or the decoder throw or loop (they return a Status from STATUS_NAMES);
// splitting a stream at any boundaries gives the same packets and the same end.
//
// Reproducible: every property runs with a fixed seed (SEED below). MIDGE_FC_SEED=<n> picks
// another seed, MIDGE_FC_RUNS=<n> scales the number of runs (for a longer local hunt).
// fast-check prints the seed and the shrunk counterexample of a failure; a failure found that
// way becomes a regression entry in REGRESSIONS below.
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodePacket } from "../../src/codec/decode";
import { encodePacket } from "../../src/codec/encode";
import { frameFeed, frameNext, framePending, newFrameReader } from "../../src/codec/frameReader";
import { newPacket } from "../../src/codec/packet";
import { STATUS_NAMES, Status } from "../../src/codec/status";
import { PacketRecord, asBytes, packetToRecord, parseOne, recordToPacket, runStream, toHex, u8 } from "../unit/helpers";
import { countInputs, reportInputs } from "./inputs";
import { encodePacketV5 } from "../../src/codec/encode5";
import { packetToRecord5, parseOne5, recordToPacket5 } from "../unit/v5/helpers5";

const SEED = process.env.MIDGE_FC_SEED !== undefined ? Number(process.env.MIDGE_FC_SEED) : 20260901;
const SCALE = process.env.MIDGE_FC_RUNS !== undefined ? Number(process.env.MIDGE_FC_RUNS) / 1000 : 1;
const MAX = 1024 * 1024;
/** Per-test timeout, scaled with the number of runs. */
const T = { timeout: Math.max(30000, Math.round(30000 * SCALE)) };

/** Runs a property with the suite's seed and `runs` × scale runs, and counts the inputs tried. */
function check<T>(name: string, runs: number, prop: fc.IProperty<T> | fc.IAsyncProperty<T>): void {
  const numRuns = Math.max(1, Math.round(runs * SCALE));
  fc.assert(prop as fc.IProperty<T>, { seed: SEED, numRuns, endOnFailure: false });
  countInputs("codec: " + name, numRuns);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: valid packets as fixture records (test/unit/helpers.ts shape, hex normalised)

const hexOf = (a: Uint8Array): string => Buffer.from(a).toString("hex");
const u16nz = fc.integer({ min: 1, max: 65535 });
const binary = (maxLength: number) => fc.uint8Array({ maxLength }).map(hexOf);

/** Any well-formed string without U+0000 (MQTT-1.5.3-1, MQTT-1.5.3-2), including astral and U+FEFF. */
const mqttString = (maxLength: number) =>
  fc
    .oneof(
      fc.string({ unit: "binary", maxLength }),
      fc.string({ unit: "grapheme", maxLength }),
      fc.string({ maxLength }),
      fc.constantFrom("", "\uFEFF", "\uFEFFa", "a/b/c", "$SYS/x", "\u{10FFFF}", "\uFFFF", "sport/tennis/#", "+/+"),
    )
    .filter((s) => !/\p{Cs}/u.test(s) && s.indexOf("\u0000") < 0); // no lone surrogates, no U+0000

/** A topic name: non-empty, no wildcards (MQTT-4.7.3-1, MQTT-3.3.2-2). */
const topicName = mqttString(40).filter((s) => s.length > 0 && s.indexOf("+") < 0 && s.indexOf("#") < 0);

const connectRecord: fc.Arbitrary<PacketRecord> = fc
  .record({
    v31: fc.boolean(),
    cleanSession: fc.boolean(),
    keepAlive: fc.integer({ min: 0, max: 65535 }),
    clientId: mqttString(30),
    will: fc.option(fc.record({ topic: topicName, payload: binary(40), qos: fc.integer({ min: 0, max: 2 }), retain: fc.boolean() })),
    username: fc.option(mqttString(20)),
    password: fc.option(binary(20)),
  })
  .map((r) => ({
    type: 1,
    protocolName: r.v31 ? "MQIsdp" : "MQTT",
    protocolLevel: r.v31 ? 3 : 4,
    cleanSession: r.cleanSession,
    keepAlive: r.keepAlive,
    clientId: r.clientId,
    willFlag: r.will !== null,
    willQos: r.will !== null ? r.will.qos : 0,
    willRetain: r.will !== null ? r.will.retain : false,
    willTopic: r.will !== null ? r.will.topic : "",
    willPayloadHex: r.will !== null ? r.will.payload : "",
    hasUsername: r.username !== null,
    username: r.username !== null ? r.username : "",
    // A password needs a user name (MQTT-3.1.2-22).
    hasPassword: r.username !== null && r.password !== null,
    passwordHex: r.username !== null && r.password !== null ? r.password : "",
  }));

const publishRecord: fc.Arbitrary<PacketRecord> = fc
  .record({ qos: fc.integer({ min: 0, max: 2 }), dup: fc.boolean(), retain: fc.boolean(), topic: topicName, id: u16nz, payload: binary(300) })
  .map((r) => {
    const rec: PacketRecord = { type: 3, dup: r.qos > 0 && r.dup, qos: r.qos, retain: r.retain, topic: r.topic };
    if (r.qos > 0) rec.packetId = r.id;
    rec.payloadHex = r.payload;
    return rec;
  });

const packetRecord: fc.Arbitrary<PacketRecord> = fc.oneof(
  connectRecord,
  fc.record({ sessionPresent: fc.boolean(), returnCode: fc.integer({ min: 0, max: 255 }) }).map((r) => ({ type: 2, ...r })),
  publishRecord,
  publishRecord,
  fc.record({ type: fc.constantFrom(4, 5, 6, 7, 11), packetId: u16nz }),
  fc
    .record({ packetId: u16nz, filters: fc.array(fc.tuple(mqttString(30), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 6 }) })
    .map((r) => ({ type: 8, packetId: r.packetId, filters: r.filters })),
  fc
    .record({ packetId: u16nz, returnCodes: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 8 }) })
    .map((r) => ({ type: 9, ...r })),
  fc.record({ packetId: u16nz, filters: fc.array(mqttString(30), { minLength: 1, maxLength: 6 }) }).map((r) => ({ type: 10, ...r })),
  fc.constantFrom(12, 13, 14).map((type) => ({ type })),
);

function encodeRecord(rec: PacketRecord): Uint8Array {
  return new Uint8Array(u8(encodePacket(recordToPacket(rec))));
}

// ---------------------------------------------------------------------------------------------
// Drivers with a loop guard: a frame reader that stops consuming would be caught here as a
// failure, not as a test timeout.

interface Outcome {
  statuses: string[];
  calls: number;
}

/**
 * Feeds chunks through one reader and decodes each packet; after an error it starts a fresh
 * reader on the rest of the chunk (the broker would close; the fuzz goes on). Every frameNext
 * call must consume at least one byte or return NEED_MORE with the chunk used up.
 */
function driveAll(chunks: Uint8Array[], maxPacketSize: number, version = 4): Outcome {
  let r = newFrameReader(maxPacketSize);
  r.version = version;
  const p = newPacket();
  const statuses: string[] = [];
  let calls = 0;
  for (const c of chunks) {
    frameFeed(r, asBytes(c));
    for (;;) {
      calls++;
      const before = r.pos;
      const st = frameNext(r);
      statuses.push(STATUS_NAMES[st]);
      if (st === Status.NEED_MORE) {
        if (r.pos !== r.chunkLength) throw new Error(`NEED_MORE with ${r.chunkLength - r.pos} bytes of the chunk unread`);
        break;
      }
      if (r.pos <= before) throw new Error(`frameNext returned ${STATUS_NAMES[st]} without consuming a byte: it would loop`);
      if (st !== Status.PACKET) {
        const rest = u8(r.chunk).subarray(r.pos);
        r = newFrameReader(maxPacketSize);
        r.version = version;
        frameFeed(r, asBytes(rest));
        continue;
      }
      statuses.push(STATUS_NAMES[decodePacket(r.type, r.flags, r.body, p, version)]);
    }
  }
  return { statuses, calls };
}

/** Cuts bytes at the given offsets (any order, duplicates give empty chunks). */
function cutAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.slice(at, p));
    at = p;
  }
  out.push(bytes.slice(at));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Valid streams, and valid streams damaged the way the network fuzzer damages them. */
const validStream = fc.array(packetRecord, { minLength: 1, maxLength: 6 }).map((recs) => concat(recs.map(encodeRecord)));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip"), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set"), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate"), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert"), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete"), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("huge"), at: fc.nat() }),
);

type Mutation = { kind: string; at: number; bit?: number; value?: number; bytes?: Uint8Array; n?: number };

function mutate(bytes: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Buffer.from(bytes);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case "flip":
        b[at] ^= 1 << (m.bit as number);
        break;
      case "set":
        b[at] = m.value as number;
        break;
      case "truncate":
        b = b.subarray(0, at);
        break;
      case "insert":
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes as Uint8Array), b.subarray(at)]);
        break;
      case "delete":
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + (m.n as number))]);
        break;
      case "huge":
        // A maximal Remaining Length where a length byte was (SRV-ENC-2).
        b = Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0x7f]), b.subarray(at + 1)]);
        break;
    }
  }
  return new Uint8Array(b);
}

const mutatedStream = fc.tuple(validStream, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([s, m]) => mutate(s, m as Mutation[]));

/** Arbitrary bytes, and arbitrary bytes behind each first byte a client might send. */
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 })).map(([h, t]) => concat([Uint8Array.of(h), t])),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 300 }), fc.uint8Array({ maxLength: 300 }))
    .map(([h, n, t]) => concat([Uint8Array.of(h), vbi(Math.min(n, t.length)), t])),
);

function vbi(n: number): Uint8Array {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d += 128;
    out.push(d);
  } while (n > 0);
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------

describe("codec properties (fast-check)", () => {
  afterAll(() => reportInputs("codec properties"));

  it("[SRV-OPS-13] every valid packet round-trips: encode → frame → decode gives the record back, re-encoding gives the same bytes", T, () => {
    check(
      "round trip",
      3000,
      fc.property(packetRecord, (rec) => {
        const bytes = encodeRecord(rec);
        const res = parseOne(asBytes(bytes), MAX);
        expect(res.status, `${JSON.stringify(rec)} → ${toHex(asBytes(bytes))}`).toBe("OK");
        expect(res.consumed).toBe(bytes.length);
        expect(packetToRecord(res.packet)).toEqual(rec);
        expect(toHex(encodePacket(res.packet))).toBe(toHex(asBytes(bytes)));
      }),
    );
  });

  it("[SRV-ENC-1][SRV-ENC-2][SRV-ENC-6] any Remaining Length 0..268,435,455 is read exactly from its header, and checked against maxPacketSize before the body", T, () => {
    check(
      "remaining length",
      2000,
      fc.property(fc.integer({ min: 0, max: 268435455 }), (n) => {
        const header = concat([Uint8Array.of(0x30), vbi(n)]);
        const size = header.length + n;
        // Exactly at the limit: accepted, the reader waits for the body (or has a packet for n = 0).
        const r = newFrameReader(size);
        frameFeed(r, asBytes(header));
        const st = frameNext(r);
        if (n === 0) {
          expect(STATUS_NAMES[st]).toBe("PACKET");
        } else {
          expect(STATUS_NAMES[st]).toBe("NEED_MORE");
          expect(r.remaining).toBe(n);
          expect(framePending(r)).toBe(true);
        }
        // One byte under: refused from the header alone, nothing buffered (SRV-ENC-6).
        const small = newFrameReader(size - 1);
        frameFeed(small, asBytes(header));
        expect(STATUS_NAMES[frameNext(small)]).toBe("PACKET_TOO_LARGE");
        expect(small.partBytes).toBe(0);
      }),
    );
  });

  it("[SRV-ENC-5] a non-minimal Remaining Length is refused (LENGTH_NOT_MINIMAL), a 5th length byte is never read (SRV-ENC-3)", T, () => {
    check(
      "non-minimal length",
      1000,
      fc.property(fc.integer({ min: 0, max: 2097151 }), fc.integer({ min: 1, max: 3 }), (n, extra) => {
        const v = Array.from(vbi(n));
        if (v.length + extra > 4) return;
        v[v.length - 1] += 128;
        for (let i = 0; i < extra - 1; i++) v.push(0x80);
        v.push(0x00);
        const res = parseOne(asBytes(Uint8Array.from([0x30, ...v])), 268435460);
        expect(res.status).toBe("LENGTH_NOT_MINIMAL");
        const five = parseOne(asBytes(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0x01)), 268435460);
        expect(five.status).toBe("LENGTH_TOO_LONG");
        expect(five.consumed).toBe(5);
      }),
    );
  });

  it("[SRV-OPS-12] arbitrary bytes, split anyhow: the reader and decoder never throw, always consume, and answer only with STATUS_NAMES", T, () => {
    check(
      "arbitrary bytes",
      4000,
      fc.property(anyBytes, fc.array(fc.nat(), { maxLength: 6 }), fc.constantFrom(MAX, 64, 5, 2), (bytes, cuts, maxPacketSize) => {
        const out = driveAll(cutAt(bytes, cuts), maxPacketSize);
        for (const s of out.statuses) expect(STATUS_NAMES).toContain(s);
      }),
    );
  });

  it("[SRV-OPS-12] mutated valid streams (bit flips, truncation, insertions, deletions, huge lengths) never make the codec throw", T, () => {
    check(
      "mutated streams",
      4000,
      fc.property(mutatedStream, fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const out = driveAll(cutAt(bytes, cuts), MAX);
        for (const s of out.statuses) expect(STATUS_NAMES).toContain(s);
      }),
    );
  });

  it("[SRV-OPS-12] decodePacket on any (type, flags, body) returns a status, reusing one Packet record", T, () => {
    const p = newPacket();
    check(
      "decodePacket direct",
      4000,
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 200 }), (type, flags, body) => {
        const st = decodePacket(type, flags, asBytes(body), p);
        expect(STATUS_NAMES[st]).toBeDefined();
        expect(st === Status.OK || st >= Status.BAD_PACKET_TYPE).toBe(true);
      }),
    );
  });

  it("[SRV-FH-1][MQTT-6.0.0-2] a valid stream split at any boundaries gives the same packets as one chunk", T, () => {
    check(
      "valid stream splits",
      2000,
      fc.property(validStream, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
        const whole = runStream([asBytes(bytes)], MAX);
        expect(whole.end).toBe("NEED_MORE");
        expect(whole.pending).toBe(false);
        const split = runStream(cutAt(bytes, cuts).map(asBytes), MAX);
        expect(split).toEqual(whole);
      }),
    );
  });

  it("[SRV-FH-1] any byte string split at any boundaries ends exactly as the whole (same packets, same error, same pending state)", T, () => {
    check(
      "any stream splits",
      3000,
      fc.property(fc.oneof(mutatedStream, anyBytes), fc.array(fc.nat(), { maxLength: 12 }), fc.constantFrom(MAX, 40), (bytes, cuts, maxPacketSize) => {
        const whole = runStream([asBytes(bytes)], maxPacketSize);
        const split = runStream(cutAt(bytes, cuts).map(asBytes), maxPacketSize);
        expect(split).toEqual(whole);
      }),
    );
  });

  it("[SRV-FH-1] every prefix of a valid stream gives a prefix of its packets; pending exactly when cut inside a packet", T, () => {
    check(
      "prefixes",
      1500,
      fc.property(fc.array(packetRecord, { minLength: 1, maxLength: 4 }), fc.nat(), (recs, cut) => {
        const parts = recs.map(encodeRecord);
        const bytes = concat(parts);
        const at = cut % (bytes.length + 1);
        const res = runStream([asBytes(bytes.slice(0, at))], MAX);
        let ends = 0;
        let complete = 0;
        for (const p of parts) {
          if (ends + p.length > at) break;
          ends += p.length;
          complete++;
        }
        expect(res.end).toBe("NEED_MORE");
        expect(res.packets).toEqual(recs.slice(0, complete));
        expect(res.pending).toBe(at !== ends);
      }),
    );
  });

  it("[MQTT-1.5.3-1][MQTT-1.5.3-2][MQTT-1.5.3-3] a PUBLISH topic is accepted exactly when a fatal, BOM-keeping TextDecoder accepts it and it has no U+0000, and decodes to the same string", T, () => {
    const oracle = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    // Bytes biased to the interesting UTF-8 ranges.
    const utf8ish = fc.array(
      fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.integer({ min: 0x80, max: 0xbf }),
        fc.integer({ min: 0xc0, max: 0xf7 }),
        fc.constantFrom(0x00, 0xed, 0xef, 0xbb, 0xbf, 0xf4, 0x8f, 0x90, 0xe0, 0xa0, 0xf0, 0xf5, 0xff, 0xc0, 0xc1),
      ),
      { minLength: 1, maxLength: 12 },
    );
    check(
      "utf-8 differential",
      5000,
      fc.property(utf8ish, (arr) => {
        const topic = Buffer.from(arr);
        const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 255]), topic, Buffer.from("pl")]);
        const p = newPacket();
        const st = STATUS_NAMES[decodePacket(3, 0, asBytes(new Uint8Array(body)), p)];
        let text: string | null = null;
        try {
          text = oracle.decode(topic);
        } catch {
          text = null;
        }
        if (text === null) {
          // The first fault found wins: a 0x00 byte before the first ill-formed sequence is reported as such.
          expect(arr.indexOf(0) >= 0 ? ["BAD_UTF8", "NULL_CHARACTER"] : ["BAD_UTF8"]).toContain(st);
        } else if (text.indexOf("\u0000") >= 0) {
          expect(st).toBe("NULL_CHARACTER");
        } else if (text.indexOf("+") >= 0 || text.indexOf("#") >= 0) {
          expect(st).toBe("WILDCARD_IN_TOPIC");
        } else {
          expect(st).toBe("OK");
          expect(p.topic).toBe(text);
        }
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// MQTT 5.0: the same robustness for the decoder a 5.0 connection uses, and round trips of
// packets with random properties.

const u32 = fc.integer({ min: 0, max: 4294967295 });
const userProperties = fc.array(fc.tuple(mqttString(12), mqttString(12)), { maxLength: 4 });

/** PUBLISH properties a client may send (SRV5-PROP-5), each present or not. */
const publishProps = fc
  .record(
    {
      payloadFormatIndicator: fc.integer({ min: 0, max: 1 }),
      messageExpiryInterval: u32,
      contentType: mqttString(20),
      responseTopic: topicName,
      correlationDataHex: binary(20),
      topicAlias: u16nz,
      userProperties: userProperties.filter((a) => a.length > 0),
    },
    { requiredKeys: [] },
  )
  .map((r) => r as Record<string, unknown>);

const publish5Record: fc.Arbitrary<PacketRecord> = fc
  .record({ qos: fc.integer({ min: 0, max: 2 }), dup: fc.boolean(), retain: fc.boolean(), topic: topicName, packetId: u16nz, payload: binary(60), props: publishProps })
  .map((r) => {
    const rec: PacketRecord = { type: 3, dup: r.qos > 0 && r.dup, qos: r.qos, retain: r.retain, topic: r.topic, payloadHex: r.payload, props: r.props };
    if (r.qos > 0) rec.packetId = r.packetId;
    return rec;
  });

/** CONNECT properties and will properties. */
const connect5Record: fc.Arbitrary<PacketRecord> = fc
  .record({
    clean: fc.boolean(),
    keepAlive: fc.integer({ min: 0, max: 65535 }),
    clientId: mqttString(20),
    props: fc
      .record(
        {
          sessionExpiryInterval: u32,
          receiveMaximum: u16nz,
          maximumPacketSize: fc.integer({ min: 1, max: 4294967295 }),
          topicAliasMaximum: fc.integer({ min: 0, max: 65535 }),
          requestResponseInformation: fc.integer({ min: 0, max: 1 }),
          requestProblemInformation: fc.integer({ min: 0, max: 1 }),
          authenticationMethod: mqttString(10),
          userProperties: userProperties.filter((a) => a.length > 0),
        },
        { requiredKeys: [] },
      )
      .map((r) => r as Record<string, unknown>),
    will: fc.option(fc.record({ topic: topicName, payload: binary(20), qos: fc.integer({ min: 0, max: 2 }), retain: fc.boolean(), delay: fc.option(u32), props: publishProps })),
    password: fc.option(binary(10)),
  })
  .map((r) => {
    const willProps = r.will ? { ...r.will.props } : {};
    delete (willProps as Record<string, unknown>).topicAlias; // a PUBLISH property only
    if (r.will && r.will.delay !== null) (willProps as Record<string, unknown>).willDelayInterval = r.will.delay;
    const rec: PacketRecord = {
      type: 1,
      protocolName: "MQTT",
      protocolLevel: 5,
      cleanSession: r.clean,
      keepAlive: r.keepAlive,
      clientId: r.clientId,
      willFlag: r.will !== null,
      willQos: r.will ? r.will.qos : 0,
      willRetain: r.will ? r.will.retain : false,
      willTopic: r.will ? r.will.topic : "",
      willPayloadHex: r.will ? r.will.payload : "",
      hasUsername: false,
      username: "",
      hasPassword: r.password !== null,
      passwordHex: r.password ?? "",
      props: r.props,
    };
    if (r.will) rec.willProps = willProps;
    return rec;
  });

/** A v5 PUBLISH header and topic, then arbitrary bytes where the properties go. */
const randomPropertiesPublish = fc
  .tuple(fc.uint8Array({ maxLength: 60 }), fc.constantFrom(0x30, 0x32, 0x35))
  .map(([tail, h]) => {
    const head = h === 0x30 ? [0x00, 0x01, 0x74] : [0x00, 0x01, 0x74, 0x00, 0x01];
    const body = concat([Uint8Array.from(head), tail]);
    return concat([Uint8Array.of(h), vbi(body.length), body]);
  });

describe("MQTT 5.0 codec properties (fast-check)", () => {
  afterAll(() => reportInputs("codec properties v5"));

  it("[SRV5-PROP-1] PUBLISH and CONNECT with random properties round-trip: encode, decode gives the record back", T, () => {
    check(
      "v5 round trip",
      1500,
      fc.property(fc.oneof(publish5Record, connect5Record), (rec) => {
        const bytes = encodePacketV5(recordToPacket5(rec));
        const res = parseOne5(bytes, MAX);
        expect(res.layer + ":" + res.status).toBe("decode:OK");
        expect(res.consumed).toBe(u8(bytes).length);
        const back = packetToRecord5(res.packet);
        const want = JSON.parse(JSON.stringify(rec));
        if (want.willFlag === false) delete want.willProps;
        expect(back).toEqual(want);
        expect(toHex(encodePacketV5(res.packet))).toBe(toHex(bytes));
      }),
    );
  });

  it("[SRV5-PROP-2] random bytes where PUBLISH properties go: a status from STATUS_NAMES, and what decodes re-encodes to the same record", T, () => {
    check(
      "v5 random properties",
      4000,
      fc.property(randomPropertiesPublish, (bytes) => {
        const res = parseOne5(asBytes(bytes), MAX);
        expect(STATUS_NAMES).toContain(res.status);
        if (res.status !== "OK") return;
        const rec = packetToRecord5(res.packet);
        const again = parseOne5(encodePacketV5(res.packet), MAX);
        expect(again.status).toBe("OK");
        expect(packetToRecord5(again.packet)).toEqual(rec);
      }),
    );
  });

  it("[SRV5-FH-2] arbitrary bytes through a 5.0 reader and decoder, split anyhow: never a throw, always consumed, only STATUS_NAMES", T, () => {
    check(
      "v5 arbitrary bytes",
      4000,
      fc.property(fc.oneof(anyBytes, mutatedStream), fc.array(fc.nat(), { maxLength: 6 }), fc.constantFrom(MAX, 64, 5), (bytes, cuts, maxPacketSize) => {
        const out = driveAll(cutAt(bytes, cuts), maxPacketSize, 5);
        for (const s of out.statuses) expect(STATUS_NAMES).toContain(s);
      }),
    );
  });

  it("[SRV5-FH-2] decodePacket(…, 5) on any (type, flags, body) returns a status, reusing one Packet record", T, () => {
    const p = newPacket();
    check(
      "v5 decodePacket direct",
      4000,
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 200 }), (type, flags, body) => {
        const st = decodePacket(type, flags, asBytes(body), p, 5);
        expect(STATUS_NAMES[st]).toBeDefined();
        expect(st === Status.OK || st >= Status.BAD_PACKET_TYPE).toBe(true);
      }),
    );
  });
});

/** Regression inputs found by the properties or the network fuzzer: [what, hex]. None so far. */
const REGRESSIONS: Array<[string, string]> = [];

describe("codec regressions", () => {
  it("has no open regression (list kept for seeds and inputs that once failed)", T, () => {
    for (const [what, hex] of REGRESSIONS) {
      const out = driveAll([new Uint8Array(Buffer.from(hex, "hex"))], MAX);
      for (const s of out.statuses) expect(STATUS_NAMES, what).toContain(s);
    }
  });
});
