// MQTT 3.1.1 bytes for the reliability tools, written from the standard's packet layouts
// (chapter 3) and independent of src/codec, so the tools check the broker against a second
// implementation. Plain Node ESM: the fuzzer and the soak run with `node`, no build step.

/** Remaining Length as a variable byte integer (SRV-ENC-1), shortest form. */
export function vbi(n) {
  const out = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d += 128;
    out.push(d);
  } while (n > 0);
  return Buffer.from(out);
}

export function u16(n) {
  return Buffer.from([(n >> 8) & 255, n & 255]);
}

/** A length-prefixed UTF-8 string or binary field; a Buffer is taken as raw bytes. */
export function str(s) {
  const b = typeof s === "string" ? Buffer.from(s, "utf8") : Buffer.from(s);
  return Buffer.concat([u16(b.length), b]);
}

/** Fixed header byte + Remaining Length + body. */
export function frame(first, ...parts) {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([first]), vbi(body.length), body]);
}

export const pk = {
  /** o: { clientId, clean, keepalive, will: { topic, payload, qos, retain }, username, password, protocolName, protocolLevel } */
  connect(o = {}) {
    let flags = o.clean === false ? 0 : 0x02;
    const payload = [str(o.clientId ?? "")];
    if (o.will) {
      flags |= 0x04 | ((o.will.qos ?? 0) << 3) | (o.will.retain ? 0x20 : 0);
      payload.push(str(o.will.topic), str(o.will.payload ?? Buffer.alloc(0)));
    }
    if (o.username !== undefined) {
      flags |= 0x80;
      payload.push(str(o.username));
    }
    if (o.password !== undefined) {
      flags |= 0x40;
      payload.push(str(o.password));
    }
    return frame(0x10, str(o.protocolName ?? "MQTT"), Buffer.from([o.protocolLevel ?? 4, flags]), u16(o.keepalive ?? 0), ...payload);
  },
  /** o: { topic, payload, qos, retain, dup, id } */
  publish(o) {
    const qos = o.qos ?? 0;
    const first = 0x30 | (o.dup ? 8 : 0) | (qos << 1) | (o.retain ? 1 : 0);
    const parts = [str(o.topic)];
    if (qos > 0) parts.push(u16(o.id));
    if (o.payload !== undefined) parts.push(Buffer.from(o.payload));
    return frame(first, ...parts);
  },
  puback: (id) => frame(0x40, u16(id)),
  pubrec: (id) => frame(0x50, u16(id)),
  pubrel: (id) => frame(0x62, u16(id)),
  pubcomp: (id) => frame(0x70, u16(id)),
  /** entries: [[filter, qos], ...] */
  subscribe(id, entries) {
    const parts = [u16(id)];
    for (const [f, q] of entries) parts.push(str(f), Buffer.from([q]));
    return frame(0x82, ...parts);
  },
  unsubscribe(id, filters) {
    return frame(0xa2, u16(id), ...filters.map((f) => str(f)));
  },
  pingreq: () => Buffer.from([0xc0, 0x00]),
  disconnect: () => Buffer.from([0xe0, 0x00]),
};

export const TYPE_NAMES = ["RESERVED0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "RESERVED15"];

/**
 * Splits what the broker sends into packets. Anything malformed from the broker is a broker
 * bug; push() then returns { error } and the caller reports it.
 */
export class Splitter {
  constructor() {
    this.buf = Buffer.alloc(0);
  }

  /** Appends a chunk; returns the complete packets ({ type, flags, body }) and maybe an error string. */
  push(chunk) {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const packets = [];
    let pos = 0;
    for (;;) {
      if (this.buf.length - pos < 2) break;
      let len = 0;
      let mult = 1;
      let i = pos + 1;
      let complete = false;
      for (;;) {
        if (i >= this.buf.length) break;
        const b = this.buf[i++];
        len += (b & 127) * mult;
        mult *= 128;
        if (b < 128) {
          complete = true;
          break;
        }
        if (i - pos > 4) {
          this.buf = Buffer.alloc(0);
          return { packets, error: "broker sent a Remaining Length longer than 4 bytes" };
        }
      }
      if (!complete || this.buf.length < i + len) break;
      const first = this.buf[pos];
      packets.push({ type: first >> 4, flags: first & 15, body: this.buf.subarray(i, i + len) });
      pos = i + len;
    }
    this.buf = pos === 0 ? this.buf : Buffer.from(this.buf.subarray(pos));
    return { packets, error: null };
  }
}

/** PUBLISH fields from a packet the broker sent. */
export function parsePublish(p) {
  const qos = (p.flags >> 1) & 3;
  const tlen = p.body.readUInt16BE(0);
  const topic = p.body.subarray(2, 2 + tlen).toString("utf8");
  let pos = 2 + tlen;
  let id = 0;
  if (qos > 0) {
    id = p.body.readUInt16BE(pos);
    pos += 2;
  }
  return { dup: (p.flags & 8) !== 0, qos, retain: (p.flags & 1) === 1, topic, id, payload: p.body.subarray(pos) };
}

/** Deterministic PRNG (mulberry32): the same seed gives the same fuzz inputs. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rnd = {
    next,
    /** Integer in [0, n). */
    int: (n) => Math.floor(next() * n),
    /** Integer in [lo, hi]. */
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
  return rnd;
}

/** A seed for sub-stream `k` of seed `s` (so each fuzz connection has its own reproducible stream). */
export function subSeed(s, k) {
  let h = (s ^ Math.imul(k + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
