/**
 * Helpers for the end-to-end suite: a per-test harness that owns a broker process and every
 * client it opens, a raw TCP client that sends hand-written bytes, a small packet builder
 * written from the spec (independent of src/codec, like mosquitto's test/mosq_test.py), MQTT.js
 * wrappers, and mosquitto_pub / mosquitto_sub spawners. Every wait is bounded.
 */
import { spawn } from "node:child_process";
import { createConnection, Socket } from "node:net";
import { connect as mqttjsConnect } from "mqtt";
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from "mqtt";
import { afterAll, describe, expect } from "vitest";
import type { TestContext } from "vitest";
import { BrokerHandle, StartOptions, Target, trackChild } from "./targets";
// The byte builders the reliability tools use: like this file, written from the standard, not src/codec.
import { frame, str, u16, vbi } from "../../tools/lib/wire.mjs";

export { frame, u16, vbi };

export const HOST = "127.0.0.1";
/** Default bound for one wait (a packet, a close, a message). */
export const WAIT_MS = 3000;
/** Per-test timeout for ordinary tests. */
export const TEST_TIMEOUT = 20000;
/**
 * Concurrent tests per file (vi.setConfig({ maxConcurrency }) at the top of each file). Most
 * of a test's time is spent waiting on sockets and timers, so more than vitest's default 5.
 */
export const E2E_CONCURRENCY = 12;

/**
 * The describe for a target's tests: concurrent with a host's limits; one test at a time on a
 * board-limited target (its connection, session and retained tables are the board's).
 */
export function describeOn(target: Target): typeof describe.concurrent {
  return target.limits === undefined ? describe.concurrent : describe.sequential;
}

/**
 * Whether a target's limits hold what a test needs: limit names of src/limits.ts → the least
 * value the test needs (0 in the target's limits means "no limit" for messageSizeLimit).
 * A test that does not fit skips there: `test.skipIf(!fits(target, { maxPacketSize: 1100 }))`.
 */
export function fits(target: Target, needs: Record<string, number>): boolean {
  const limits = target.limits;
  if (limits === undefined) return true;
  for (const key of Object.keys(needs)) {
    const have = limits[key];
    if (typeof have !== "number") throw new Error(`fits: no limit named ${key}`);
    if (!(key === "messageSizeLimit" && have === 0) && have < needs[key]) return false;
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every 20 ms until it is true; throws `what` after timeoutMs. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes

/** "20 02 00 00" (spaces, newlines and `|` separators allowed) → bytes. */
export function hex(s: string): Buffer {
  const clean = s.replace(/[\s|]+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex: ${s}`);
  return Buffer.from(clean, "hex");
}

/**
 * Hand-typed packets: hex() plus a check that every packet in the string announces its true
 * Remaining Length, so a typing slip fails loudly instead of looking like a broker bug. Use
 * hex() for bytes that are wrong on purpose.
 */
export function typed(s: string): Buffer {
  const b = hex(s);
  let pos = 0;
  while (pos < b.length) {
    let len = 0;
    let mult = 1;
    let i = pos + 1;
    for (;;) {
      if (i >= b.length) throw new Error(`hand-typed packet [${s}] ends inside a Remaining Length`);
      len += (b[i] % 128) * mult;
      mult *= 128;
      if (b[i++] < 128) break;
    }
    if (i + len > b.length) throw new Error(`hand-typed packet [${s}]: packet at byte ${pos} announces ${len} bytes but only ${b.length - i} follow`);
    pos = i + len;
  }
  return b;
}

/** Bytes → "20 02 00 00". */
export function toHex(b: Buffer | Uint8Array): string {
  return Buffer.from(b).toString("hex").replace(/(..)(?!$)/g, "$1 ");
}

/** toHex of at most the first 48 bytes, for error messages. */
export function preview(b: Buffer): string {
  return b.length > 48 ? `${toHex(b.subarray(0, 48))} … (${b.length} bytes)` : toHex(b);
}

/** A packet id as hex: 1 → "00 01". */
export function idHex(id: number): string {
  return toHex(u16(id));
}

/** A length-prefixed string (SRV-ENC-9); a Buffer is taken as raw bytes (for bad UTF-8). */
export const mqttString = str;

export interface WillSpec {
  topic: string;
  payload: string | Buffer;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface ConnectSpec {
  clientId?: string;
  clean?: boolean;
  keepalive?: number;
  will?: WillSpec;
  username?: string;
  password?: string | Buffer;
  /** Defaults "MQTT" / 4. */
  protocolName?: string;
  protocolLevel?: number;
}

/** Packets built from the spec's layouts (chapter 3), not by src/codec. */
export const pk = {
  connect(o: ConnectSpec = {}): Buffer {
    const clean = o.clean ?? true;
    let flags = clean ? 0x02 : 0;
    const payload: Buffer[] = [mqttString(o.clientId ?? "")];
    if (o.will) {
      flags += 0x04 + (o.will.qos ?? 0) * 8 + (o.will.retain ? 0x20 : 0);
      payload.push(mqttString(o.will.topic), mqttString(typeof o.will.payload === "string" ? Buffer.from(o.will.payload) : o.will.payload));
    }
    if (o.username !== undefined) {
      flags += 0x80;
      payload.push(mqttString(o.username));
    }
    if (o.password !== undefined) {
      flags += 0x40;
      payload.push(mqttString(typeof o.password === "string" ? Buffer.from(o.password) : o.password));
    }
    return frame(
      0x10,
      mqttString(o.protocolName ?? "MQTT"),
      Buffer.from([o.protocolLevel ?? 4, flags]),
      u16(o.keepalive ?? 60),
      ...payload,
    );
  },
  subscribe(id: number, entries: Array<[string | Buffer, number]>): Buffer {
    const parts: Buffer[] = [u16(id)];
    for (const [f, q] of entries) parts.push(mqttString(f), Buffer.from([q]));
    return frame(0x82, ...parts);
  },
  unsubscribe(id: number, filters: Array<string | Buffer>): Buffer {
    return frame(0xa2, u16(id), ...filters.map((f) => mqttString(f)));
  },
  publish(o: { topic: string | Buffer; payload?: string | Buffer; qos?: 0 | 1 | 2; retain?: boolean; dup?: boolean; id?: number }): Buffer {
    const qos = o.qos ?? 0;
    const first = 0x30 + (o.dup ? 8 : 0) + qos * 2 + (o.retain ? 1 : 0);
    const parts: Buffer[] = [mqttString(o.topic)];
    if (qos > 0) parts.push(u16(o.id ?? 1));
    const p = o.payload ?? "";
    parts.push(typeof p === "string" ? Buffer.from(p) : p);
    return frame(first, ...parts);
  },
  puback: (id: number): Buffer => frame(0x40, u16(id)),
  pubrec: (id: number): Buffer => frame(0x50, u16(id)),
  pubrel: (id: number): Buffer => frame(0x62, u16(id)),
  pubcomp: (id: number): Buffer => frame(0x70, u16(id)),
  pingreq: (): Buffer => hex("c0 00"),
  disconnect: (): Buffer => hex("e0 00"),
};

/** Expected bytes of a CONNACK (SRV-CON-9): 20 02 0S RC. */
export function connackHex(sessionPresent: boolean, rc: number): string {
  return toHex(Buffer.from([0x20, 0x02, sessionPresent ? 1 : 0, rc]));
}

// ---------------------------------------------------------------------------------------------
// Received packets

export interface RxPacket {
  first: number;
  type: number;
  flags: number;
  body: Buffer;
  raw: Buffer;
  hex: string;
}

export interface RxPublish {
  dup: boolean;
  qos: number;
  retain: boolean;
  topic: string;
  id: number;
  payload: Buffer;
}

export const TYPE_NAMES = ["RESERVED0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "RESERVED15"];

/** Splits one packet off the front of `buf`: the packet and its length, or null if incomplete. */
function splitPacket(buf: Buffer): { packet: RxPacket; used: number } | null {
  if (buf.length < 2) return null;
  let len = 0;
  let mult = 1;
  let i = 1;
  for (;;) {
    if (i >= buf.length) return null;
    const b = buf[i];
    len += (b % 128) * mult;
    mult *= 128;
    i++;
    if (b < 128) break;
    if (i > 4) throw new Error(`broker sent a Remaining Length longer than 4 bytes: ${toHex(buf.subarray(0, 8))}`);
  }
  if (buf.length < i + len) return null;
  const raw = Buffer.from(buf.subarray(0, i + len));
  const first = buf[0];
  return {
    packet: { first, type: Math.floor(first / 16), flags: first % 16, body: raw.subarray(i), raw, hex: toHex(raw) },
    used: i + len,
  };
}

export function describePacket(p: RxPacket): string {
  return `${TYPE_NAMES[p.type]} [${preview(p.raw)}]`;
}

/** Decodes a PUBLISH the broker sent (MQTT-3.3.1, 3.3.2). */
export function decodePublish(p: RxPacket): RxPublish {
  if (p.type !== 3) throw new Error(`expected PUBLISH, got ${describePacket(p)}`);
  const qos = Math.floor(p.flags / 2) % 4;
  const tlen = p.body.readUInt16BE(0);
  const topic = p.body.subarray(2, 2 + tlen).toString("utf8");
  let pos = 2 + tlen;
  let id = 0;
  if (qos > 0) {
    id = p.body.readUInt16BE(pos);
    pos += 2;
  }
  return { dup: p.flags >= 8, qos, retain: p.flags % 2 === 1, topic, id, payload: Buffer.from(p.body.subarray(pos)) };
}

// ---------------------------------------------------------------------------------------------
// Raw socket client

/** A TCP client that sends hand-written bytes and records what comes back and when it closes. */
export class RawClient {
  readonly socket: Socket;
  /** Bytes received and not yet consumed by nextPacket(). */
  private pending: Buffer = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  /** Every byte received. */
  get received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }
  closed = false;
  closedAt = 0;
  readonly openedAt = Date.now();
  /** Our source port: how the broker's log names a connection before CONNECT. */
  readonly localPort: number;
  private wake: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    this.localPort = socket.localPort ?? 0;
    socket.on("data", (d: Buffer) => {
      this.pending = this.pending.length === 0 ? d : Buffer.concat([this.pending, d]);
      this.chunks.push(d);
      this.notify();
    });
    socket.on("error", () => {
      // ECONNRESET and friends: the close event follows
    });
    socket.on("close", () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  /** Resolves on the next data/close event or after ms. */
  private changed(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      this.wake.push(() => {
        clearTimeout(t);
        res();
      });
    });
  }

  static open(port: number, timeoutMs = WAIT_MS): Promise<RawClient> {
    return new Promise((res, rej) => {
      const s = createConnection({ host: HOST, port });
      s.setNoDelay(true);
      const t = setTimeout(() => {
        s.destroy();
        rej(new Error(`TCP connect to ${HOST}:${port} timed out`));
      }, timeoutMs);
      s.once("connect", () => {
        clearTimeout(t);
        res(new RawClient(s));
      });
      s.once("error", (e) => {
        clearTimeout(t);
        rej(e);
      });
    });
  }

  /** Writes bytes: a Buffer, or hand-typed hex checked by typed(). Ignored once closed. */
  send(data: Buffer | string): void {
    this.sendRaw(typeof data === "string" ? typed(data) : data);
  }

  /** Writes bytes as given (hex not length-checked: for deliberately malformed input). */
  sendRaw(data: Buffer | string): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(typeof data === "string" ? hex(data) : data);
  }

  /**
   * Writes bytes as given and resolves once they are handed to the kernel (so a destroy() that
   * follows cannot drop them); rejects after timeoutMs.
   */
  sendFlushed(data: Buffer | string, timeoutMs = WAIT_MS): Promise<void> {
    return new Promise((res, rej) => {
      if (this.closed || this.socket.destroyed) return res();
      const t = setTimeout(() => rej(new Error(`write of ${data.length} bytes not flushed within ${timeoutMs} ms`)), timeoutMs);
      this.socket.write(typeof data === "string" ? hex(data) : data, () => {
        clearTimeout(t);
        res();
      });
    });
  }

  /** Bytes received and not consumed yet. */
  unread(): Buffer {
    return this.pending;
  }

  /** The next complete packet; throws if none arrives within timeoutMs or the socket closes first. */
  async nextPacket(timeoutMs = WAIT_MS, what = "a packet"): Promise<RxPacket> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = splitPacket(this.pending);
      if (s) {
        this.pending = this.pending.subarray(s.used);
        return s.packet;
      }
      if (this.closed) throw new Error(`socket closed while waiting for ${what}; unread bytes: [${preview(this.pending)}]`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; unread bytes: [${preview(this.pending)}]`);
      await this.changed(left);
    }
  }

  /** The next packet must be exactly `expected` (hex). */
  async expectPacket(expected: string, timeoutMs = WAIT_MS): Promise<RxPacket> {
    const p = await this.nextPacket(timeoutMs, `[${expected}]`);
    const want = hex(expected);
    if (p.raw.length !== want.length && p.raw.length > 64) throw new Error(`expected [${expected}], got ${describePacket(p)}`);
    expect(p.hex, `expected [${expected}], got ${describePacket(p)}`).toBe(toHex(want));
    return p;
  }

  /** The next packet must be a PUBLISH; returns it decoded. */
  async nextPublish(timeoutMs = WAIT_MS): Promise<RxPublish & { packet: RxPacket }> {
    const p = await this.nextPacket(timeoutMs, "a PUBLISH");
    return { ...decodePublish(p), packet: p };
  }

  /** Waits until the socket is closed; true if it closed within timeoutMs. */
  async waitClosed(timeoutMs = WAIT_MS): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await this.changed(left);
    }
    return true;
  }

  /** Asserts the broker closes the socket within timeoutMs. */
  async expectClosed(timeoutMs = WAIT_MS, why = ""): Promise<void> {
    const ok = await this.waitClosed(timeoutMs);
    expect(ok, `broker did not close the connection within ${timeoutMs} ms${why ? " (" + why + ")" : ""}; unread: [${preview(this.pending)}]`).toBe(true);
  }

  /** Asserts the broker closes the socket and sends nothing (beyond what was already consumed). */
  async expectClosedWithoutReply(timeoutMs = WAIT_MS, why = ""): Promise<void> {
    await this.expectClosed(timeoutMs, why);
    expect(preview(this.pending), `broker replied before closing${why ? " (" + why + ")" : ""}`).toBe("");
  }

  /**
   * Asserts nothing arrives and the socket stays open for ms. A fixed wait: prefer a marker
   * (expectMarker, expectNothingBeforePingresp), which fails only when the broker misbehaves.
   */
  async expectSilence(ms: number): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      const s = splitPacket(this.pending);
      if (s) throw new Error(`expected silence, got ${describePacket(s.packet)}`);
      expect(this.closed, "connection closed while expecting silence").toBe(false);
      const left = end - Date.now();
      if (left <= 0) return;
      await this.changed(left);
    }
  }

  /**
   * The sentinel for "nothing else arrived" (instead of waiting a fixed time in silence): the
   * caller has had a marker PUBLISH sent on `topic`, a topic this client subscribes to, along
   * the path any unwanted packet would have taken: from the same publisher connection after
   * the cause (or, for a cause that is not a packet, after the broker logged handling it). The
   * broker handles one connection's packets in order and writes one connection's packets in
   * order (MQTT-4.6.0-6), so whatever the cause produced for this client is queued in front of
   * the marker. Asserts the next packet is the marker, known by its topic and its payload (a
   * payload no unwanted message has: the topic may be theirs), acknowledges it at QoS 1 and 2
   * and returns it.
   */
  async expectMarker(topic: string, payload: string, why = "", timeoutMs = WAIT_MS): Promise<RxPublish> {
    const p = await this.nextPacket(timeoutMs, `the marker '${payload}' on '${topic}'`);
    const fail = `expected nothing before the marker '${payload}' on '${topic}'${why ? " (" + why + ")" : ""}, got ${describePacket(p)}`;
    if (p.type !== 3) throw new Error(fail);
    const m = decodePublish(p);
    if (m.topic !== topic || m.payload.toString() !== payload) throw new Error(fail);
    if (m.qos === 1) this.send(pk.puback(m.id));
    if (m.qos === 2) {
      this.send(pk.pubrec(m.id));
      await this.expectPacket("62 02 " + idHex(m.id));
      this.send(pk.pubcomp(m.id));
    }
    return m;
  }

  /**
   * The sentinel on one connection: sends PINGREQ and asserts the PINGRESP is the next packet.
   * Whatever the broker sends this client because of earlier packets (of this connection, or
   * of others that were acknowledged before) is written before that answer.
   */
  async expectNothingBeforePingresp(why = "", timeoutMs = WAIT_MS): Promise<void> {
    this.send(pk.pingreq());
    const p = await this.nextPacket(timeoutMs, "the PINGRESP");
    if (p.hex !== "d0 00") throw new Error(`expected nothing before the PINGRESP${why ? " (" + why + ")" : ""}, got ${describePacket(p)}`);
  }

  /** Sends CONNECT and expects CONNACK 0 with the given Session Present. */
  async handshake(o: ConnectSpec = {}, sessionPresent = false): Promise<void> {
    this.send(pk.connect(o));
    await this.expectPacket(connackHex(sessionPresent, 0));
  }

  /** Sends SUBSCRIBE and expects the SUBACK with exactly these return codes. */
  async subscribe(id: number, entries: Array<[string | Buffer, number]>, codes?: number[]): Promise<void> {
    this.send(pk.subscribe(id, entries));
    const want = codes ?? entries.map((e) => e[1]);
    await this.expectPacket(toHex(Buffer.concat([Buffer.from([0x90]), vbi(2 + want.length), u16(id), Buffer.from(want)])));
  }

  /** Half-close: sends FIN. */
  end(): void {
    this.socket.end();
  }

  /** Abrupt close (no DISCONNECT). */
  destroy(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// MQTT.js

export interface Msg {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
  messageId?: number;
}

/** Collects the messages an MQTT.js client receives (M: the message record, Msg or a richer one). */
export class Inbox<M extends Msg = Msg> {
  msgs: M[] = [];
  private wake: Array<() => void> = [];

  push(m: M): void {
    this.msgs.push(m);
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  protected changed(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      this.wake.push(() => {
        clearTimeout(t);
        res();
      });
    });
  }

  /** Waits until at least n messages arrived; returns them all. */
  async waitCount(n: number, timeoutMs = WAIT_MS): Promise<M[]> {
    const end = Date.now() + timeoutMs;
    while (this.msgs.length < n) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms: ${this.msgs.length} of ${n} messages arrived: ${this.summary()}`);
      await this.changed(left);
    }
    return this.msgs;
  }

  /** Waits for a message matching pred (already received ones count). */
  async waitFor(pred: (m: M) => boolean, timeoutMs = WAIT_MS, what = "a matching message"): Promise<M> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.msgs.find(pred);
      if (m) return m;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got: ${this.summary()}`);
      await this.changed(left);
    }
  }

  /** Waits for a message on this topic. */
  waitTopic(topic: string, timeoutMs = WAIT_MS): Promise<M> {
    return this.waitFor((m) => m.topic === topic, timeoutMs, `a message on '${topic}'`);
  }

  /**
   * The sentinel for MQTT.js subscribers (see RawClient.expectMarker): waits for the marker on
   * `marker` and asserts the topics received before it are exactly `before`. MQTT.js emits a
   * QoS 2 message only on PUBREL, after later packets: an unwanted delivery must reach this
   * client at QoS 0 or 1 for the check to see it, so subscribe at QoS 1 or less.
   */
  async expectOnlyBefore(marker: string, before: string[], why = "", timeoutMs = WAIT_MS): Promise<void> {
    await this.waitTopic(marker, timeoutMs);
    const got = this.topics();
    expect(got.slice(0, got.indexOf(marker) + 1), `messages before the marker on '${marker}'${why ? " (" + why + ")" : ""}`).toEqual([...before, marker]);
  }

  topics(): string[] {
    return this.msgs.map((m) => m.topic);
  }

  /** The last 20 messages, payloads cut to 40 bytes (for error messages). */
  summary(): string {
    const shown = this.msgs.slice(-20).map((m) => {
      const p = m.payload.length > 40 ? m.payload.subarray(0, 40).toString() + `…(${m.payload.length} bytes)` : m.payload.toString();
      return `${m.topic}:${p}:q${m.qos}${m.retain ? ":r" : ""}${m.dup ? ":d" : ""}`;
    });
    return (this.msgs.length > 20 ? `(${this.msgs.length - 20} earlier not shown) ` : "") + JSON.stringify(shown);
  }
}

export interface MqttConn {
  client: MqttClient;
  connack: IConnackPacket;
  inbox: Inbox;
  isClosed(): boolean;
  /** Waits until the connection is closed (by either side); true if within timeoutMs. */
  waitClosed(timeoutMs?: number): Promise<boolean>;
  /** Clean DISCONNECT and close. */
  end(): Promise<void>;
  /** Abrupt close of the TCP stream (no DISCONNECT), as a network failure. */
  kill(): void;
}

export interface MqttOptions {
  clientId?: string;
  clean?: boolean;
  keepalive?: number;
  will?: WillSpec;
  protocolVersion?: 3 | 4;
}

/** Connects MQTT.js (no automatic reconnect) and resolves once CONNACK 0 arrived. */
export function mqttConnect(port: number, o: MqttOptions = {}, timeoutMs = WAIT_MS): Promise<MqttConn> {
  const opts: IClientOptions = {
    host: HOST,
    port,
    protocol: "mqtt",
    protocolVersion: o.protocolVersion ?? 4,
    clientId: o.clientId ?? "e2e-" + Math.random().toString(16).slice(2, 10),
    clean: o.clean ?? true,
    keepalive: o.keepalive ?? 30,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
  };
  if (o.protocolVersion === 3) {
    opts.protocolId = "MQIsdp";
  }
  if (o.will) {
    opts.will = {
      topic: o.will.topic,
      payload: typeof o.will.payload === "string" ? Buffer.from(o.will.payload) : o.will.payload,
      qos: o.will.qos ?? 0,
      retain: o.will.retain ?? false,
    };
  }
  const client = mqttjsConnect(opts);
  const inbox = new Inbox();
  let closed = false;
  const closeWaiters: Array<() => void> = [];
  client.on("message", (topic: string, payload: Buffer, packet: IPublishPacket) => {
    inbox.push({ topic, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain, dup: packet.dup, messageId: packet.messageId });
  });
  client.on("close", () => {
    closed = true;
    for (const f of closeWaiters.splice(0)) f();
  });
  client.on("error", () => {
    // reported through the connect promise or the close event
  });
  const conn = (connack: IConnackPacket): MqttConn => ({
    client,
    connack,
    inbox,
    isClosed: () => closed,
    waitClosed: (ms = WAIT_MS) =>
      closed
        ? Promise.resolve(true)
        : new Promise<boolean>((res) => {
            const t = setTimeout(() => res(false), ms);
            closeWaiters.push(() => {
              clearTimeout(t);
              res(true);
            });
          }),
    end: async () => {
      if (closed) {
        client.end(true);
        return;
      }
      await Promise.race([client.endAsync(), sleep(WAIT_MS)]);
    },
    kill: () => {
      client.stream?.destroy();
      client.end(true);
    },
  });
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      client.end(true);
      rej(new Error(`MQTT.js ${opts.clientId}: no CONNACK within ${timeoutMs} ms`));
    }, timeoutMs + 500);
    client.once("connect", (connack: IConnackPacket) => {
      clearTimeout(t);
      res(conn(connack));
    });
    client.once("error", (e) => {
      clearTimeout(t);
      client.end(true);
      rej(new Error(`MQTT.js ${opts.clientId}: ${e.message}`));
    });
    client.once("close", () => {
      clearTimeout(t);
      rej(new Error(`MQTT.js ${opts.clientId}: connection closed before CONNACK`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Processes: mosquitto_pub / mosquitto_sub

export interface ProcResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A child process with a hard deadline (SIGKILL at timeoutMs). */
export class Proc {
  stdout = "";
  stderr = "";
  readonly done: Promise<ProcResult>;
  private exited = false;
  private kill9: () => void;
  private wake: Array<() => void> = [];

  constructor(cmd: string, args: string[], timeoutMs: number) {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    this.kill9 = () => {
      if (!this.exited) child.kill("SIGKILL");
    };
    child.stdout!.on("data", (d: Buffer) => {
      this.stdout += d.toString();
      this.notify();
    });
    child.stderr!.on("data", (d: Buffer) => {
      this.stderr += d.toString();
      this.notify();
    });
    this.done = new Promise((res) => {
      child.once("error", (e) => {
        this.stderr += `spawn ${cmd} failed: ${e.message}\n`;
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        this.exited = true;
        this.notify();
        res({ code, signal, stdout: this.stdout, stderr: this.stderr, timedOut });
      });
    });
  }

  private notify(): void {
    for (const f of this.wake.splice(0)) f();
  }

  /** Waits until stdout matches re; throws on timeout or exit. */
  async waitStdout(re: RegExp, timeoutMs = WAIT_MS): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!re.test(this.stdout)) {
      if (this.exited) throw new Error(`process exited before printing ${re}; stdout: ${this.stdout} stderr: ${this.stderr}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; stdout: ${this.stdout} stderr: ${this.stderr}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.wake.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  kill(): void {
    this.kill9();
  }
}

export function mosquittoArgs(port: number, args: string[]): string[] {
  return ["-h", HOST, "-p", String(port), ...args];
}

/** Runs mosquitto_pub to completion (bounded). */
export function mosquittoPub(port: number, args: string[], timeoutMs = 5000): Promise<ProcResult> {
  return new Proc("mosquitto_pub", mosquittoArgs(port, args), timeoutMs).done;
}

/**
 * Message lines of mosquitto_sub output. With -d the debug lines ("Client ... sending",
 * "Subscribed (mid: ...)") are mixed in; they are dropped here.
 */
export function subMessageLines(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l !== "" && !/^Client \S+ (sending|received) /.test(l) && !/^Subscribed \(mid/.test(l));
}

// ---------------------------------------------------------------------------------------------
// Per-test harness

/**
 * Owns one broker and every client a test opens; all are closed when the test finishes
 * (pass or fail). On failure the tail of the broker log is printed.
 */
export class Harness {
  readonly target: Target;
  broker!: BrokerHandle;
  private cleanups: Array<() => unknown> = [];

  private constructor(target: Target) {
    this.target = target;
  }

  /** Starts a broker for this test; register cleanup on ctx. */
  static async start(target: Target, ctx: TestContext, opts?: StartOptions): Promise<Harness> {
    const h = new Harness(target);
    ctx.onTestFinished(() => h.close());
    ctx.onTestFailed(() => {
      if (!h.broker) return;
      const lines = h.broker.logs().split("\n");
      console.error(`--- ${target.name} broker log (last 60 lines) for "${ctx.task.name}" ---\n${lines.slice(-60).join("\n")}`);
    });
    h.broker = await target.start(opts);
    h.defer(() => h.broker.stop());
    return h;
  }

  /** A harness around a broker owned by someone else (a shared broker in beforeAll). */
  static attach(target: Target, broker: BrokerHandle, ctx: TestContext): Harness {
    const h = new Harness(target);
    h.broker = broker;
    ctx.onTestFinished(() => h.close());
    ctx.onTestFailed(() => {
      const lines = broker.logs().split("\n");
      console.error(`--- ${target.name} shared broker log (last 40 lines) at the failure of "${ctx.task.name}" ---\n${lines.slice(-40).join("\n")}`);
    });
    return h;
  }

  get port(): number {
    return this.broker.port;
  }

  logs(): string {
    return this.broker.logs();
  }

  /** Position in the log, for logsSince(). */
  mark(): number {
    return this.broker.logs().length;
  }

  logsSince(mark: number): string {
    return this.broker.logs().slice(mark);
  }

  /** Waits until the log (from `since`) matches re; returns the matching line. */
  async waitLog(re: RegExp, timeoutMs = WAIT_MS, since = 0): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.logsSince(since).split("\n");
      const hit = lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (Date.now() > end) throw new Error(`broker log has no line matching ${re} within ${timeoutMs} ms; log since mark:\n${this.logsSince(since).slice(-3000)}`);
      await sleep(25);
    }
  }

  /**
   * Waits for a log line about one client (its client id, or ":<source port>" of a raw
   * connection) that matches `why`; arrival lines ("New client connected ...") do not count.
   * Where the broker cannot know addresses (features.peerAddress false) a raw connection is
   * "socket N" in the log: any such line counts, which is exact when one test runs at a time
   * (at a board's limits) and looser in the concurrent ":host" runs.
   */
  async waitLogAbout(who: { clientId?: string; raw?: RawClient }, why: RegExp, since: number, timeoutMs = 2000): Promise<string> {
    const port = who.raw ? `:${who.raw.localPort}` : "\0";
    const anonymous = who.raw !== undefined && this.target.features.peerAddress === false ? /\bsocket \d+\b/ : /\0/;
    const id = who.clientId ?? "";
    const end = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.logsSince(since).split("\n");
      const mine = lines.filter((l) => !/New (client connected|connection) from/.test(l) && ((id !== "" && l.includes(id)) || l.includes(port) || anonymous.test(l)));
      const hit = mine.find((l) => why.test(l));
      if (hit !== undefined) return hit;
      if (Date.now() > end) throw new Error(`no log line about ${id || port} matching ${why} within ${timeoutMs} ms; lines about it: ${JSON.stringify(mine)}`);
      await sleep(25);
    }
  }

  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    const fns = this.cleanups.splice(0).reverse();
    for (const f of fns) {
      try {
        await f();
      } catch {
        // keep closing the rest
      }
    }
  }

  /** A raw TCP connection (no CONNECT sent). */
  async raw(): Promise<RawClient> {
    const c = await RawClient.open(this.port);
    this.defer(() => c.destroy());
    return c;
  }

  /** A raw connection that has completed CONNECT (CONNACK 0 checked). */
  async rawConnected(o: ConnectSpec = {}, sessionPresent = false): Promise<RawClient> {
    const c = await this.raw();
    await c.handshake({ clientId: o.clientId ?? "raw-" + Math.random().toString(16).slice(2, 10), ...o }, sessionPresent);
    return c;
  }

  async mqtt(o: MqttOptions = {}): Promise<MqttConn> {
    const c = await mqttConnect(this.port, o);
    this.defer(() => c.client.end(true));
    return c;
  }

  /** An MQTT.js client subscribed to the given filters (SUBACK checked as granted). */
  async subscriber(filters: Record<string, 0 | 1 | 2>, o: MqttOptions = {}): Promise<MqttConn> {
    const c = await this.mqtt(o);
    const granted = await c.client.subscribeAsync(Object.fromEntries(Object.entries(filters).map(([f, q]) => [f, { qos: q }])));
    for (const g of granted) expect(g.qos, `SUBACK for ${g.topic}`).toBe(filters[g.topic]);
    return c;
  }

  /** Runs a shell command line to completion (bounded). */
  shell(cmd: string, timeoutMs = 8000): Promise<ProcResult> {
    const p = new Proc("sh", ["-c", cmd], timeoutMs);
    this.defer(() => p.kill());
    return p.done;
  }

  mosquittoPub(args: string[], timeoutMs = 5000): Promise<ProcResult> {
    const p = new Proc("mosquitto_pub", mosquittoArgs(this.port, args), timeoutMs);
    this.defer(() => p.kill());
    return p.done;
  }

  /**
   * Starts mosquitto_sub with -d (debug lines tell when the SUBACK arrived) and, unless
   * waitSubscribed is false, waits for the SUBACK; pass -W to bound its own runtime,
   * timeoutMs is the hard kill.
   */
  async mosquittoSub(args: string[], opts: { timeoutMs?: number; waitSubscribed?: boolean } = {}): Promise<Proc> {
    // stdbuf -oL: mosquitto_sub's stdio buffers a pipe fully, so the debug lines would only
    // show at exit.
    const p = new Proc("stdbuf", ["-oL", "mosquitto_sub", ...mosquittoArgs(this.port, ["-d", ...args])], opts.timeoutMs ?? 8000);
    this.defer(() => p.kill());
    if (opts.waitSubscribed !== false) await p.waitStdout(/received SUBACK/);
    return p;
  }
}

/** Publishes with MQTT.js and waits for the PUBACK/PUBCOMP (QoS 0: the write). */
export async function publish(c: MqttConn, topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 0, retain = false): Promise<void> {
  await Promise.race([
    c.client.publishAsync(topic, payload, { qos, retain }),
    sleep(WAIT_MS).then(() => {
      throw new Error(`publish to ${topic} not acknowledged within ${WAIT_MS} ms`);
    }),
  ]);
}

/** Checks that mosquitto clients are installed; the interop tests fail with this message if not. */
export function haveMosquittoClients(): Promise<boolean> {
  return new Promise((res) => {
    const c = spawn("mosquitto_pub", ["--help"], { stdio: "ignore" });
    c.once("error", () => res(false));
    c.once("close", () => res(true));
  });
}

/**
 * One broker per target (and options) shared by the tests of a file that do not need a broker of their own
 * (starting a broker costs a few hundred ms of CPU). Such tests use client ids and topics no
 * other test of the file uses, and no catch-all subscriptions ("#", "+", ...).
 * Call at the top level of a test file: it registers the afterAll that stops the brokers.
 */
export function sharedBrokers(): { harness(target: Target, ctx: TestContext, opts?: StartOptions): Promise<Harness> } {
  const brokers = new Map<string, Promise<BrokerHandle>>();
  afterAll(async () => {
    for (const b of brokers.values()) {
      try {
        await (await b).stop();
      } catch {
        // failed to start: nothing to stop
      }
    }
  });
  return {
    async harness(target: Target, ctx: TestContext, opts: StartOptions = {}): Promise<Harness> {
      // A board's tables are too small to share: each test gets a broker of its own there.
      if (target.limits !== undefined) return Harness.start(target, ctx, opts);
      const key = target.name + " " + JSON.stringify(opts);
      let b = brokers.get(key);
      if (!b) {
        b = target.start(opts);
        brokers.set(key, b);
      }
      return Harness.attach(target, await b, ctx);
    },
  };
}
