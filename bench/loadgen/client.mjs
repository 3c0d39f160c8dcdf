// One raw MQTT client of the load generator: a node:net socket, pre-encoded packets out, a
// streaming reader in that decodes just enough to count PUBLISHes and acknowledgements.
// MQTT 3.1.1, or 5.0 with `version: 5` (PUBLISH property blocks skipped to find the payload;
// acks and SUBACK codes of 0x80 and above counted as refusals).
import { connect as netConnect } from "node:net";
import {
  CONNACK,
  DISCONNECT_BYTES,
  PacketReader,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  encodeConnect,
  encodeSubscribe,
  skipProperties,
  writeAck,
} from "../lib/mqtt.mjs";

const OPEN_TIMEOUT_MS = 15000;
const READ_BUFFER = 65536;

/**
 * Read buffers for onread. Everything in a worker runs on one thread and each callback
 * consumes its bytes before returning, so all clients can share one buffer.
 */
let shared = null;
function readBuffer() {
  if (shared === null) shared = Buffer.allocUnsafe(READ_BUFFER);
  return shared;
}

export class Client {
  /**
   * @param {object} o host, port, clientId, keepAlive, clean, localAddress, version (4 or 5)
   * Handlers (set by the scenario):
   *   onPublish(qos, packetId, buf, payloadStart, end, flags)
   *   onAck(type, packetId)        PUBACK / PUBCOMP (publisher side, end of a flow)
   */
  constructor(o) {
    this.o = o;
    this.socket = null;
    this.onPublish = null;
    this.onAck = null;
    this.onData = null; // after each chunk: scenarios schedule their pump here
    this.blocked = false;
    this.closed = false;
    this.received = 0;
    this.v5 = o.version === 5;
    /** 5.0: PUBACK/PUBREC/PUBCOMP with a reason code of 0x80 or more (the message was refused). */
    this.rejected = 0;
    /** 5.0: PUBLISHes whose property block could not be read (not counted as received). */
    this.malformed = 0;
    /** performance.now() at the start of the chunk being decoded (latency stamps). */
    this.now = 0;
    /** Acks to send for what the current chunk brought (PUBACK, PUBREC, PUBREL, PUBCOMP). */
    this.acks = null;
    this.ackPos = 0;
    this._pending = null; // { type, id, resolve, reject } waiting for CONNACK/SUBACK
    this.reader = new PacketReader((type, flags, buf, start, end) => this._packet(type, flags, buf, start, end));
  }

  /** TCP connect, CONNECT, wait for CONNACK 0. Resolves with the time it took (ms). */
  open() {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      // onread: the socket reads into one buffer per client and calls us with the byte
      // count; no Buffer per read, no stream machinery ('data' events) on the receive path.
      const s = netConnect({
        host: this.o.host,
        port: this.o.port,
        localAddress: this.o.localAddress,
        noDelay: true,
        onread: { buffer: readBuffer(), callback: (n, buf) => this._data(buf, n) },
      });
      this.socket = s;
      const timer = setTimeout(() => fail(new Error(`no CONNACK within ${OPEN_TIMEOUT_MS} ms (${this.o.clientId})`)), OPEN_TIMEOUT_MS);
      const fail = (e) => {
        clearTimeout(timer);
        if (this._pending && this._pending.type === CONNACK) this._pending = null;
        s.destroy();
        reject(e);
      };
      this._pending = {
        type: CONNACK,
        resolve: (code) => {
          clearTimeout(timer);
          if (code !== 0) fail(new Error(`CONNACK ${code} for ${this.o.clientId}`));
          else resolve(performance.now() - t0);
        },
        reject: fail,
      };
      s.setNoDelay(true);
      s.on("drain", () => {
        this.blocked = false;
        if (this.onData) this.onData(this);
      });
      s.on("error", (e) => {
        if (this._pending) this._pending.reject(e);
      });
      s.on("close", () => {
        this.closed = true;
        if (this._pending) this._pending.reject(new Error(`connection closed (${this.o.clientId})`));
      });
      s.write(encodeConnect(this.o.clientId, { clean: this.o.clean !== false, keepAlive: this.o.keepAlive ?? 60, version: this.v5 ? 5 : 4 }));
    });
  }

  /** SUBSCRIBE and wait for the SUBACK; rejects if a filter is refused. */
  subscribe(filters, qos, packetId = 1) {
    return new Promise((resolve, reject) => {
      this._pending = {
        type: SUBACK,
        resolve: (codes) => {
          if (codes.some((c) => c >= 0x80)) reject(new Error(`subscription refused: ${filters.join(" ")}`));
          else resolve();
        },
        reject,
      };
      this.socket.write(encodeSubscribe(packetId, filters, qos, { version: this.v5 ? 5 : 4 }));
    });
  }

  /** Writes bytes; returns false (and sets blocked until 'drain') when the socket buffer is full. */
  write(buf) {
    const ok = this.socket.write(buf);
    if (!ok) this.blocked = true;
    return ok;
  }

  /** DISCONNECT, then wait (bounded) for the broker to close, then destroy. */
  close(timeoutMs = 2000) {
    if (this.socket === null || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const s = this.socket;
      const done = () => {
        clearTimeout(t);
        s.destroy();
        resolve();
      };
      const t = setTimeout(done, timeoutMs);
      s.once("close", done);
      s.end(DISCONNECT_BYTES);
    });
  }

  destroy() {
    if (this.socket !== null) this.socket.destroy();
  }

  _data(buf, n) {
    this.now = performance.now();
    this.reader.push(buf, n);
    if (this.ackPos > 0) {
      this.socket.write(Buffer.from(this.acks.subarray(0, this.ackPos)));
      this.ackPos = 0;
    }
    if (this.onData) this.onData(this);
  }

  _ack(type, id) {
    if (this.acks === null || this.ackPos + 4 > this.acks.length) {
      if (this.acks !== null && this.ackPos > 0) {
        this.socket.write(Buffer.from(this.acks.subarray(0, this.ackPos)));
        this.ackPos = 0;
      }
      if (this.acks === null) this.acks = Buffer.allocUnsafe(16384);
    }
    this.ackPos = writeAck(this.acks, this.ackPos, type, id);
  }

  _packet(type, flags, buf, start, end) {
    switch (type) {
      case PUBLISH: {
        const qos = (flags >> 1) & 3;
        let at = start + 2 + ((buf[start] << 8) | buf[start + 1]);
        let id = 0;
        if (qos > 0) {
          id = (buf[at] << 8) | buf[at + 1];
          at += 2;
          this._ack(qos === 1 ? PUBACK : PUBREC, id);
        }
        if (this.v5) {
          at = skipProperties(buf, at, end);
          if (at < 0) {
            this.malformed++;
            return;
          }
        }
        this.received++;
        if (this.onPublish) this.onPublish(qos, id, buf, at, end, flags);
        return;
      }
      case PUBACK:
      case PUBCOMP:
        // 5.0: a reason code may follow the packet id (then maybe properties).
        if (end - start > 2 && buf[start + 2] >= 0x80) this.rejected++;
        if (this.onAck) this.onAck(type, (buf[start] << 8) | buf[start + 1]);
        return;
      case PUBREC:
        // 5.0: a PUBREC with a reason code of 0x80 or more ends the flow (no PUBREL).
        if (end - start > 2 && buf[start + 2] >= 0x80) this.rejected++;
        else this._ack(PUBREL, (buf[start] << 8) | buf[start + 1]);
        return;
      case PUBREL:
        this._ack(PUBCOMP, (buf[start] << 8) | buf[start + 1]);
        return;
      case CONNACK: {
        const p = this._pending;
        if (p && p.type === CONNACK) {
          this._pending = null;
          p.resolve(buf[start + 1]);
        }
        return;
      }
      case SUBACK: {
        const p = this._pending;
        if (p && p.type === SUBACK) {
          this._pending = null;
          const codes = [];
          const first = this.v5 ? skipProperties(buf, start + 2, end) : start + 2;
          if (first < 0) codes.push(0x80);
          else for (let i = first; i < end; i++) codes.push(buf[i]);
          p.resolve(codes);
        }
        return;
      }
      default:
        return; // PINGRESP, UNSUBACK: nothing to count
    }
  }
}

/**
 * Opens `count` clients, at most `concurrency` handshakes at a time. `make(i)` returns the
 * Client; `after(client, i)` (optional, async) runs once it is connected (e.g. SUBSCRIBE).
 */
export async function openMany(count, concurrency, make, after) {
  const clients = new Array(count);
  let next = 0;
  let failure = null;
  async function lane() {
    while (failure === null && next < count) {
      const i = next++;
      const c = make(i);
      clients[i] = c;
      try {
        await c.open();
        if (after) await after(c, i);
      } catch (e) {
        failure = e;
      }
    }
  }
  const lanes = [];
  for (let k = 0; k < Math.min(concurrency, count); k++) lanes.push(lane());
  await Promise.all(lanes);
  if (failure !== null) {
    for (const c of clients) if (c) c.destroy();
    throw failure;
  }
  return clients;
}
