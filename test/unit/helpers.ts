// Shared helpers for the codec unit tests: fixture loading, hex <-> Bytes, fixture packet
// records <-> Packet, and small drivers for the frame reader + decoder. Test-only code:
// the portability rules of src/ do not apply here.
import { readFileSync } from "node:fs";
import { Bytes, utf8Encode } from "../../src/bytes/bytes";
import { Packet, newPacket } from "../../src/codec/packet";
import { newFrameReader, frameFeed, frameNext, framePending } from "../../src/codec/frameReader";
import { decodePacket } from "../../src/codec/decode";
import { Status, STATUS_NAMES } from "../../src/codec/status";

/** [hex, comment] or [hex, comment, repeat]. */
export type ByteGroup = [string, string] | [string, string, number];
/** A hex string, or [hex, repeat]. */
export type HexField = string | [string, number];

export interface PacketRecord {
  type: number;
  [key: string]: unknown;
}

export interface ValidFixture {
  name: string;
  spec: string[];
  bytes: ByteGroup[];
  packet: PacketRecord;
}

export interface MalformedFixture {
  name: string;
  spec: string[];
  bytes: ByteGroup[];
  error: string;
  maxPacketSize?: number;
}

export interface StreamFixture {
  name: string;
  spec: string[];
  bytes: ByteGroup[];
  packets: PacketRecord[];
  end: string;
  pending?: boolean;
}

export interface PacketFixtures {
  maxPacketSize: number;
  valid: ValidFixture[];
  malformed: MalformedFixture[];
  stream: StreamFixture[];
}

/** [string, spec ids...] and [filter, topic, spec ids...]. */
export type TopicRow = string[];
export interface TopicFixtures {
  match: TopicRow[];
  noMatch: TopicRow[];
  validFilters: TopicRow[];
  invalidFilters: TopicRow[];
  validTopics: TopicRow[];
  invalidTopics: TopicRow[];
}

export function loadFixture<T>(file: string): T {
  return JSON.parse(readFileSync(new URL("../fixtures/" + file, import.meta.url), "utf8")) as T;
}

/** "[MQTT-3.8.1-1 SRV-FH-4] text": test names start with the spec ids they cover. */
export function label(spec: string[], text: string): string {
  return "[" + spec.join(" ") + "] " + text;
}

// ---- hex and Bytes ----------------------------------------------------------------------

/** Lower-case hex without spaces; throws on anything that is not whole hex bytes. */
export function cleanHex(hex: string): string {
  const h = hex.replace(/\s+/g, "").toLowerCase();
  if (!/^([0-9a-f]{2})*$/.test(h)) throw new Error("bad hex in fixture: " + JSON.stringify(hex));
  return h;
}

export function groupsHex(groups: ByteGroup[]): string {
  let out = "";
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    const h = cleanHex(g[0]);
    const repeat = g.length > 2 ? (g[2] as number) : 1;
    out += repeat === 1 ? h : h.repeat(repeat);
  }
  return out;
}

export function hexField(f: HexField): string {
  if (typeof f === "string") return cleanHex(f);
  return cleanHex(f[0]).repeat(f[1]);
}

export function u8(b: Bytes): Uint8Array {
  return b as unknown as Uint8Array;
}

export function asBytes(a: Uint8Array): Bytes {
  return a as unknown as Bytes;
}

export function fromHex(hex: string): Bytes {
  return asBytes(new Uint8Array(Buffer.from(cleanHex(hex), "hex")));
}

export function toHex(b: Bytes): string {
  const a = u8(b);
  return Buffer.from(a.buffer, a.byteOffset, a.length).toString("hex");
}

// ---- packet records ----------------------------------------------------------------------

const HEX_FIELDS = ["payloadHex", "willPayloadHex", "passwordHex"];

/** The fixture record with every hex field expanded to one lower-case string. */
export function normalizeRecord(rec: PacketRecord): PacketRecord {
  const out: PacketRecord = { type: rec.type };
  for (const key of Object.keys(rec)) {
    const v = rec[key];
    out[key] = HEX_FIELDS.indexOf(key) >= 0 ? hexField(v as HexField) : v;
  }
  return out;
}

function field<T>(rec: PacketRecord, key: string, kind: string): T {
  const v = rec[key];
  const ok = kind === "array" ? Array.isArray(v) : typeof v === kind || (kind === "hex" && (typeof v === "string" || Array.isArray(v)));
  if (!ok) throw new Error("fixture record of type " + rec.type + ": field " + key + " missing or not " + kind);
  return v as T;
}

/** Builds a Packet from a fixture record, as a broker or tool would fill one for encodePacket. */
export function recordToPacket(rec: PacketRecord): Packet {
  const p = newPacket();
  p.type = rec.type;
  switch (rec.type) {
    case 1:
      p.protocolName = field<string>(rec, "protocolName", "string");
      p.protocolLevel = field<number>(rec, "protocolLevel", "number");
      p.cleanSession = field<boolean>(rec, "cleanSession", "boolean");
      p.keepAlive = field<number>(rec, "keepAlive", "number");
      p.clientId = field<string>(rec, "clientId", "string");
      p.willFlag = field<boolean>(rec, "willFlag", "boolean");
      p.willQos = field<number>(rec, "willQos", "number");
      p.willRetain = field<boolean>(rec, "willRetain", "boolean");
      p.willTopic = field<string>(rec, "willTopic", "string");
      p.willPayload = fromHex(hexField(field<HexField>(rec, "willPayloadHex", "hex")));
      p.hasUsername = field<boolean>(rec, "hasUsername", "boolean");
      p.username = field<string>(rec, "username", "string");
      p.hasPassword = field<boolean>(rec, "hasPassword", "boolean");
      p.password = fromHex(hexField(field<HexField>(rec, "passwordHex", "hex")));
      break;
    case 2:
      p.sessionPresent = field<boolean>(rec, "sessionPresent", "boolean");
      p.returnCode = field<number>(rec, "returnCode", "number");
      break;
    case 3:
      p.dup = field<boolean>(rec, "dup", "boolean");
      p.qos = field<number>(rec, "qos", "number");
      p.retain = field<boolean>(rec, "retain", "boolean");
      p.flags = (p.dup ? 8 : 0) + p.qos * 2 + (p.retain ? 1 : 0);
      p.topic = field<string>(rec, "topic", "string");
      p.topicBytes = utf8Encode(p.topic);
      p.packetId = p.qos > 0 ? field<number>(rec, "packetId", "number") : 0;
      p.payload = fromHex(hexField(field<HexField>(rec, "payloadHex", "hex")));
      break;
    case 8: {
      const filters = field<[string, number][]>(rec, "filters", "array");
      p.flags = 2;
      p.packetId = field<number>(rec, "packetId", "number");
      p.filters = filters.map((f) => f[0]);
      p.qosList = filters.map((f) => f[1]);
      p.count = filters.length;
      break;
    }
    case 9: {
      const codes = field<number[]>(rec, "returnCodes", "array");
      p.packetId = field<number>(rec, "packetId", "number");
      p.qosList = codes.slice();
      p.count = codes.length;
      break;
    }
    case 10: {
      const filters = field<string[]>(rec, "filters", "array");
      p.flags = 2;
      p.packetId = field<number>(rec, "packetId", "number");
      p.filters = filters.slice();
      p.count = filters.length;
      break;
    }
    case 4:
    case 5:
    case 6:
    case 7:
    case 11:
      p.flags = rec.type === 6 ? 2 : 0;
      p.packetId = field<number>(rec, "packetId", "number");
      break;
    default:
      break;
  }
  return p;
}

/** The fields of p that its packet type defines, in the fixture record shape. */
export function packetToRecord(p: Packet): PacketRecord {
  switch (p.type) {
    case 1:
      return {
        type: 1,
        protocolName: p.protocolName,
        protocolLevel: p.protocolLevel,
        cleanSession: p.cleanSession,
        keepAlive: p.keepAlive,
        clientId: p.clientId,
        willFlag: p.willFlag,
        willQos: p.willQos,
        willRetain: p.willRetain,
        willTopic: p.willTopic,
        willPayloadHex: toHex(p.willPayload),
        hasUsername: p.hasUsername,
        username: p.username,
        hasPassword: p.hasPassword,
        passwordHex: toHex(p.password),
      };
    case 2:
      return { type: 2, sessionPresent: p.sessionPresent, returnCode: p.returnCode };
    case 3: {
      const rec: PacketRecord = { type: 3, dup: p.dup, qos: p.qos, retain: p.retain, topic: p.topic };
      if (p.qos > 0) rec.packetId = p.packetId;
      rec.payloadHex = toHex(p.payload);
      return rec;
    }
    case 8: {
      const filters: [string, number][] = [];
      for (let i = 0; i < p.count; i++) filters.push([p.filters[i], p.qosList[i]]);
      return { type: 8, packetId: p.packetId, filters: filters };
    }
    case 9:
      return { type: 9, packetId: p.packetId, returnCodes: p.qosList.slice(0, p.count) };
    case 10:
      return { type: 10, packetId: p.packetId, filters: p.filters.slice(0, p.count) };
    case 4:
    case 5:
    case 6:
    case 7:
    case 11:
      return { type: p.type, packetId: p.packetId };
    default:
      return { type: p.type };
  }
}

// ---- drivers ------------------------------------------------------------------------------

export interface ParseResult {
  /** STATUS_NAMES of the first non-PACKET frame status, or of decodePacket's result. */
  status: string;
  /** Which layer gave `status`. */
  layer: "frame" | "decode";
  /** The decoded packet (valid only when status is OK). */
  packet: Packet;
  /** Bytes the frame reader consumed. */
  consumed: number;
}

/** Frame reader, then decodePacket, on one packet's bytes fed as one chunk. */
export function parseOne(bytes: Bytes, maxPacketSize: number, into?: Packet): ParseResult {
  const r = newFrameReader(maxPacketSize);
  const p = into !== undefined ? into : newPacket();
  frameFeed(r, bytes);
  const st = frameNext(r);
  if (st !== Status.PACKET) return { status: STATUS_NAMES[st], layer: "frame", packet: p, consumed: r.pos };
  const ds = decodePacket(r.type, r.flags, r.body, p);
  return { status: STATUS_NAMES[ds], layer: "decode", packet: p, consumed: r.pos };
}

export interface StreamResult {
  packets: PacketRecord[];
  /** NEED_MORE when every chunk was used, else the error name that stopped the stream. */
  end: string;
  pending: boolean;
}

/** Feeds the chunks in order through one frame reader, decoding each packet into one shared record. */
export function runStream(chunks: Bytes[], maxPacketSize: number): StreamResult {
  const r = newFrameReader(maxPacketSize);
  const p = newPacket();
  const packets: PacketRecord[] = [];
  for (let c = 0; c < chunks.length; c++) {
    frameFeed(r, chunks[c]);
    for (;;) {
      const st = frameNext(r);
      if (st === Status.NEED_MORE) break;
      if (st !== Status.PACKET) return { packets: packets, end: STATUS_NAMES[st], pending: framePending(r) };
      const ds = decodePacket(r.type, r.flags, r.body, p);
      if (ds !== Status.OK) return { packets: packets, end: STATUS_NAMES[ds], pending: framePending(r) };
      packets.push(packetToRecord(p));
    }
  }
  return { packets: packets, end: "NEED_MORE", pending: framePending(r) };
}

/** Deterministic PRNG (mulberry32) for reproducible random splits. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts bytes into chunks of the given sizes (the last chunk takes the rest). Chunks are copies. */
export function splitBySizes(bytes: Uint8Array, sizes: number[]): Bytes[] {
  const out: Bytes[] = [];
  let at = 0;
  for (let i = 0; i < sizes.length && at < bytes.length; i++) {
    const end = Math.min(bytes.length, at + sizes[i]);
    out.push(asBytes(bytes.slice(at, end)));
    at = end;
  }
  if (at < bytes.length) out.push(asBytes(bytes.slice(at)));
  return out;
}

export function oneByteChunks(bytes: Uint8Array): Bytes[] {
  const out: Bytes[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(asBytes(bytes.slice(i, i + 1)));
  return out;
}

/** Random chunk sizes from 1 to maxChunk, drawn from a seeded PRNG; empty chunks mixed in. */
export function randomChunks(bytes: Uint8Array, seed: number, maxChunk: number): Bytes[] {
  const rnd = prng(seed);
  const out: Bytes[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (rnd() < 0.05) out.push(asBytes(new Uint8Array(0)));
    const n = 1 + Math.floor(rnd() * maxChunk);
    const end = Math.min(bytes.length, at + n);
    out.push(asBytes(bytes.slice(at, end)));
    at = end;
  }
  return out;
}
