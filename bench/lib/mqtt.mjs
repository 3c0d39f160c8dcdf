// A tiny MQTT 3.1.1 and 5.0 codec for the load generator: independent of src/ on purpose, so
// the benchmark does not share a bug (or a speed-up) with the broker it measures.
// Only what the generator sends (CONNECT, SUBSCRIBE, PUBLISH, acks, PINGREQ, DISCONNECT)
// and a streaming reader that frames incoming packets without copying.
//
// MQTT 5.0 (`version: 5`): CONNECT level 5 with a Property Length of 0, SUBSCRIBE with an
// options byte per filter and a Property Length of 0, PUBLISH with a property block (see
// V5_PUBLISH_PROPERTIES). Acks are the same 4 bytes in both versions: 5.0's short form (reason
// code 0 Success and no properties may be left out, MQTT-3.4.2-1 and the like), as is the
// 2-byte DISCONNECT (reason code 0, normal disconnection).

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

/** Bytes taken by a Remaining Length value. */
export function lengthSize(n) {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/** Writes a Remaining Length at buf[at]; returns the next position. */
export function writeLength(buf, at, n) {
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit += 128;
    buf[at++] = digit;
  } while (n > 0);
  return at;
}

function stringField(s) {
  const b = Buffer.from(s, "utf8");
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function packet(header, parts) {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(1 + lengthSize(len) + len);
  out[0] = header;
  let at = writeLength(out, 1, len);
  for (const p of parts) {
    p.copy(out, at);
    at += p.length;
  }
  return out;
}

/** Bytes taken by a Variable Byte Integer (the same encoding as the Remaining Length). */
export const varIntSize = lengthSize;

/**
 * An MQTT 5.0 property block (Property Length, then the properties) from a list of
 * [id, value]: the ids used here are Content Type (0x03, a string), User Property (0x26, a
 * [name, value] pair of strings), Session Expiry Interval (0x11) and Receive Maximum (0x21).
 */
export function encodeProperties(list = []) {
  const parts = [];
  for (const [id, v] of list) {
    if (id === 0x03) parts.push(Buffer.from([id]), stringField(v));
    else if (id === 0x26) parts.push(Buffer.from([id]), stringField(v[0]), stringField(v[1]));
    else if (id === 0x11) {
      const b = Buffer.alloc(5);
      b[0] = id;
      b.writeUInt32BE(v, 1);
      parts.push(b);
    } else if (id === 0x21) parts.push(Buffer.from([id, v >> 8, v & 255]));
    else throw new Error(`bench codec: property 0x${id.toString(16)} not supported`);
  }
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(varIntSize(body.length) + body.length);
  body.copy(out, writeLength(out, 0, body.length));
  return out;
}

/**
 * The property block of every 5.0 PUBLISH the generator sends: what a real application adds
 * (a content type and one user property), 32 bytes of properties after a 1-byte Property
 * Length. The broker parses it and passes it on unchanged to the subscriber.
 */
export const V5_PUBLISH_PROPERTIES = [
  [0x03, "text/plain"], // Content Type: 1 + 2 + 10 bytes
  [0x26, ["source", "bench-v5"]], // User Property: 1 + 2 + 6 + 2 + 8 bytes
];

/**
 * CONNECT, no will, no credentials. MQTT 3.1.1 (level 4) unless `version: 5` (level 5, with
 * `properties`, a list for encodeProperties, empty by default: Property Length 0).
 */
export function encodeConnect(clientId, opts = {}) {
  const clean = opts.clean !== false;
  const keepAlive = opts.keepAlive ?? 0;
  const v5 = opts.version === 5;
  const vh = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, v5 ? 5 : 4, clean ? 2 : 0, keepAlive >> 8, keepAlive & 255]);
  if (!v5) return packet(0x10, [vh, stringField(clientId)]);
  return packet(0x10, [vh, encodeProperties(opts.properties), stringField(clientId)]);
}

/**
 * SUBSCRIBE with one or more (filter, qos) pairs. With `version: 5`: a Property Length of 0,
 * and per filter the 5.0 options byte: the QoS in bits 0-1, and `options` (No Local 4, Retain
 * As Published 8, Retain Handling << 4), 0 by default.
 */
export function encodeSubscribe(packetId, filters, qos, opts = {}) {
  const parts = [Buffer.from([packetId >> 8, packetId & 255])];
  if (opts.version === 5) parts.push(Buffer.from([0]));
  const options = opts.version === 5 ? (opts.options ?? 0) & 0x3c : 0;
  for (const f of filters) {
    parts.push(stringField(f));
    parts.push(Buffer.from([qos | options]));
  }
  return packet(0x82, parts);
}

export function encodeAck(type, packetId) {
  return Buffer.from([type * 16 + (type === PUBREL ? 2 : 0), 2, packetId >> 8, packetId & 255]);
}

/** Writes a 4-byte ack packet into buf at `at` (for batching acks without allocating). */
export function writeAck(buf, at, type, packetId) {
  buf[at] = type * 16 + (type === PUBREL ? 2 : 0);
  buf[at + 1] = 2;
  buf[at + 2] = packetId >> 8;
  buf[at + 3] = packetId & 255;
  return at + 4;
}

export const PINGREQ_BYTES = Buffer.from([0xc0, 0]);
export const DISCONNECT_BYTES = Buffer.from([0xe0, 0]);

/**
 * A pre-encoded PUBLISH: `bytes` is a complete packet; a copy of it is stamped per message at
 * `idAt` (packet id, QoS > 0) and `payloadAt` (the payload, whose first 16 bytes the generator
 * uses for a float64 timestamp, a uint32 stream id and a uint32 sequence number).
 * With `opts.version: 5` the packet carries a property block after the packet id:
 * `opts.properties` (a list for encodeProperties), V5_PUBLISH_PROPERTIES by default.
 */
export function publishTemplate(topic, payloadSize, qos, retain = false, opts = {}) {
  const t = Buffer.from(topic, "utf8");
  const size = Math.max(payloadSize, 16);
  const props = opts.version === 5 ? encodeProperties(opts.properties ?? V5_PUBLISH_PROPERTIES) : null;
  const len = 2 + t.length + (qos > 0 ? 2 : 0) + (props === null ? 0 : props.length) + size;
  const bytes = Buffer.alloc(1 + lengthSize(len) + len);
  bytes[0] = 0x30 + qos * 2 + (retain ? 1 : 0);
  let at = writeLength(bytes, 1, len);
  bytes.writeUInt16BE(t.length, at);
  at += 2;
  t.copy(bytes, at);
  at += t.length;
  const idAt = qos > 0 ? at : -1;
  if (qos > 0) at += 2;
  if (props !== null) {
    props.copy(bytes, at);
    at += props.length;
  }
  bytes.fill(0x2e, at); // '.' padding
  return { bytes, idAt, payloadAt: at, payloadSize: size };
}

/**
 * Skips a 5.0 property block (Property Length, then that many bytes) that starts at buf[at];
 * returns the position after it, or -1 when it is malformed or runs past `end`.
 */
export function skipProperties(buf, at, end) {
  let len = 0;
  let mul = 1;
  for (let k = 0; k < 4 && at < end; k++) {
    const b = buf[at++];
    len += (b & 127) * mul;
    mul *= 128;
    if (b < 128) return at + len <= end ? at + len : -1;
  }
  return -1;
}

/**
 * Streaming reader of incoming packets. `onPacket(type, flags, buf, start, end)` is called
 * for each complete packet with its body in buf[start, end); buf is only valid during the
 * call. Leftover bytes of a partial packet are copied and kept until the rest arrives.
 */
export class PacketReader {
  constructor(onPacket) {
    this.onPacket = onPacket;
    this.rest = null;
  }

  /**
   * Frames the bytes chunk[0, length). The chunk may be a reused read buffer: nothing keeps
   * a reference to it after the call (a partial packet at its end is copied).
   */
  push(chunk, length = chunk.length) {
    let buf = chunk;
    let n = length;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk.subarray(0, length)]);
      n = buf.length;
      this.rest = null;
    }
    let pos = 0;
    while (pos < n) {
      if (n - pos < 2) break;
      const h = buf[pos];
      // Remaining Length, up to 4 bytes.
      let len = 0;
      let mul = 1;
      let i = pos + 1;
      let complete = false;
      for (let k = 0; k < 4 && i < n; k++) {
        const b = buf[i++];
        len += (b & 127) * mul;
        mul *= 128;
        if (b < 128) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i - pos > 4) throw new Error("malformed remaining length from broker");
        break;
      }
      if (i + len > n) break;
      this.onPacket(h >> 4, h & 15, buf, i, i + len);
      pos = i + len;
    }
    if (pos < n) this.rest = Buffer.from(buf.subarray(pos, n));
  }
}
