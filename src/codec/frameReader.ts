import { Bytes, EMPTY_BYTES, bytesLength, byteAt, bytesView, bytesJoin } from "../bytes/bytes";
import { PROTOCOL_LEVEL_5 } from "./constants";
import { Status } from "./status";

const enum ReadState {
  HEADER = 0,
  LENGTH = 1,
  BODY = 2,
}

/**
 * Splits a byte stream into control packets (SRV-FH-1). Chunks may hold part of a packet or
 * many packets. The whole state is a few numbers and a list of partial body chunks; a body
 * that lies inside one chunk is returned as a view of it, without copying.
 * The Remaining Length is checked against maxPacketSize before any body byte is kept
 * (SRV-ENC-6).
 */
export interface FrameReader {
  maxPacketSize: number;
  /** Protocol level of the connection; PROTOCOL_LEVEL_5 admits type 15 (AUTH). Set after CONNECT. */
  version: number;
  chunk: Bytes;
  chunkLength: number;
  pos: number;
  state: number;
  header: number;
  remaining: number;
  multiplier: number;
  lengthBytes: number;
  parts: Bytes[];
  partCount: number;
  partBytes: number;
  /** Set when frameNext returns Status.PACKET. */
  type: number;
  flags: number;
  body: Bytes;
}

export function newFrameReader(maxPacketSize: number): FrameReader {
  return {
    maxPacketSize: maxPacketSize,
    version: 0,
    chunk: EMPTY_BYTES,
    chunkLength: 0,
    pos: 0,
    state: ReadState.HEADER,
    header: 0,
    remaining: 0,
    multiplier: 1,
    lengthBytes: 0,
    parts: [],
    partCount: 0,
    partBytes: 0,
    type: 0,
    flags: 0,
    body: EMPTY_BYTES,
  };
}

/** Starts over, dropping any partial packet (used when a connection slot is reused). */
export function frameReset(r: FrameReader): void {
  r.version = 0;
  r.chunk = EMPTY_BYTES;
  r.chunkLength = 0;
  r.pos = 0;
  r.state = ReadState.HEADER;
  r.partCount = 0;
  r.partBytes = 0;
  for (let i = 0; i < r.parts.length; i++) r.parts[i] = EMPTY_BYTES;
  r.body = EMPTY_BYTES;
}

/** Hands the reader the next chunk; call frameNext until it returns NEED_MORE. */
export function frameFeed(r: FrameReader, chunk: Bytes): void {
  r.chunk = chunk;
  r.chunkLength = bytesLength(chunk);
  r.pos = 0;
}

/** True while the reader holds part of a packet (for the partial-packet timeout). */
export function framePending(r: FrameReader): boolean {
  return r.state !== ReadState.HEADER;
}

/**
 * Returns Status.PACKET with type, flags and body set; Status.NEED_MORE when the chunk is
 * used up; or an error status, after which the stream cannot be trusted and must be closed.
 */
export function frameNext(r: FrameReader): Status {
  // The previous packet's body is the caller's until this call: let it go, so that an idle
  // connection does not keep its last packet (and the chunk it came in) alive.
  r.body = EMPTY_BYTES;
  while (r.pos < r.chunkLength) {
    if (r.state === ReadState.HEADER) {
      const h = byteAt(r.chunk, r.pos);
      r.pos++;
      r.header = h;
      r.type = Math.round((h - h % 16) / 16); // an integer, kept per connection (decode.ts decodePublish)
      r.flags = h % 16;
      if (r.type === 0 || (r.type === 15 && !(MIDGE_FEATURES.mqtt5 && r.version === PROTOCOL_LEVEL_5))) return Status.BAD_PACKET_TYPE; // SRV-FH-2, SRV5-FH-2
      r.remaining = 0;
      r.multiplier = 1;
      r.lengthBytes = 0;
      r.state = ReadState.LENGTH;
    } else if (r.state === ReadState.LENGTH) {
      const b = byteAt(r.chunk, r.pos);
      r.pos++;
      r.lengthBytes++;
      r.remaining += (b % 128) * r.multiplier;
      r.multiplier *= 128;
      if (b >= 128) {
        if (r.lengthBytes === 4) return Status.LENGTH_TOO_LONG; // SRV-ENC-3
        continue;
      }
      // A final zero byte after the first means a longer form than needed (SRV-ENC-5).
      if (b === 0 && r.lengthBytes > 1) return Status.LENGTH_NOT_MINIMAL;
      if (1 + r.lengthBytes + r.remaining > r.maxPacketSize) return Status.PACKET_TOO_LARGE;
      if (r.remaining === 0) {
        r.state = ReadState.HEADER;
        r.body = EMPTY_BYTES;
        return Status.PACKET;
      }
      r.state = ReadState.BODY;
      r.partCount = 0;
      r.partBytes = 0;
    } else {
      const want = r.remaining - r.partBytes;
      const have = r.chunkLength - r.pos;
      if (r.partCount === 0 && have >= want) {
        r.body = bytesView(r.chunk, r.pos, r.pos + want);
        r.pos += want;
        r.state = ReadState.HEADER;
        return Status.PACKET;
      }
      const take = have < want ? have : want;
      r.parts[r.partCount] = bytesView(r.chunk, r.pos, r.pos + take);
      r.partCount++;
      r.partBytes += take;
      r.pos += take;
      if (r.partBytes === r.remaining) {
        r.body = bytesJoin(r.parts, r.partCount, r.partBytes);
        for (let i = 0; i < r.partCount; i++) r.parts[i] = EMPTY_BYTES;
        r.partCount = 0;
        r.state = ReadState.HEADER;
        return Status.PACKET;
      }
    }
  }
  // Every byte of the chunk is consumed (a partial body is held in r.parts): drop it.
  r.chunk = EMPTY_BYTES;
  r.chunkLength = 0;
  r.pos = 0;
  return Status.NEED_MORE;
}
