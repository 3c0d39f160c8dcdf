/**
 * Helpers for the MQTT 5.0 end-to-end suite (test/e2e-v5/), on top of test/e2e/helpers.ts:
 *
 * - which targets serve MQTT 5 and how a test asks for it: v5Options(target) adds
 *   `boardFeatures: { mqtt5: true }` to the StartOptions of a target that reads its features
 *   from the board profile at start-up (node, the Lua VMs); an Espruino bundle has its
 *   features built in (Target.builtFeatures) and runs the MQTT 5 tests only when its board
 *   profile has "mqtt5": true; mosquitto serves MQTT 5 as it is. Midge's targets run them
 *   once midgeMqtt5Ready() (boards/host.json "mqtt5": true, or MIDGE_E2E_V5=1);
 * - an MQTT.js 5.0 client wrapper that keeps each message's properties and the DISCONNECT
 *   packets the broker sent;
 * - MQTT 5.0 packets written from the standard (chapter 2.2.2 properties, chapter 3 layouts),
 *   independent of src/codec, for the tests that need bytes MQTT.js will not send (a Topic
 *   Alias 0, an oversized packet, more QoS 2 PUBLISH than the Receive Maximum), and a decoder
 *   of what the broker answers.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as mqttjsConnect } from "mqtt";
import type { IClientOptions, IConnackPacket, IDisconnectPacket, IPublishPacket, MqttClient } from "mqtt";
import { describe, expect } from "vitest";
import { Harness, HOST, Inbox, Msg, RawClient, RxPacket, WAIT_MS, decodePublish, describeOn, describePacket, frame, mqttString, sleep, u16, vbi } from "../e2e/helpers";
import { REPO_ROOT } from "../e2e/targets";
import type { StartOptions, Target } from "../e2e/targets";

// ---------------------------------------------------------------------------------------------
// Targets

const HOST_PROFILE = JSON.parse(readFileSync(join(REPO_ROOT, "boards", "host.json"), "utf8")) as { features?: Record<string, boolean> };

/**
 * Whether Midge's MQTT 5 is to be tested on the targets that choose their features at start-up
 * (node, the Lua VMs): once the host profile turns it on (boards/host.json "mqtt5": true, the
 * sign that the broker is wired for 5.0), or before that with MIDGE_E2E_V5=1 (while writing
 * it). Until then `npm test` runs these suites only against mosquitto and skips them on Midge.
 */
export function midgeMqtt5Ready(): boolean {
  return process.env.MIDGE_E2E_V5 === "1" || HOST_PROFILE.features?.mqtt5 === true;
}

/** True when the target serves MQTT 5.0 clients (with v5Options) and its MQTT 5 is to be tested. */
export function servesMqtt5(target: Target): boolean {
  if (target.name === "mosquitto") return true;
  if (target.builtFeatures?.mqtt5 !== undefined) return target.builtFeatures.mqtt5 && midgeMqtt5Ready();
  return midgeMqtt5Ready();
}

/** StartOptions for a broker that serves MQTT 5.0 on this target (see the file comment). */
export function v5Options(target: Target, extra: StartOptions = {}): StartOptions {
  if (target.name === "mosquitto" || target.builtFeatures !== undefined) return extra;
  return { ...extra, boardFeatures: { ...(extra.boardFeatures ?? {}), mqtt5: true } };
}

/**
 * The describe for a target's MQTT 5 tests: describeOn(target), skipped on a target whose
 * build leaves MQTT 5 out (its answer to a 5.0 CONNECT is checked by 00-no-mqtt5).
 */
export function describeV5(target: Target): typeof describe.concurrent {
  const d = describeOn(target);
  return (servesMqtt5(target) ? d : d.skip) as typeof describe.concurrent;
}

/** A harness whose broker serves MQTT 5.0 (its own broker; see Harness.start). */
export function startV5(target: Target, ctx: Parameters<typeof Harness.start>[1], extra: StartOptions = {}): Promise<Harness> {
  return Harness.start(target, ctx, v5Options(target, extra));
}

// ---------------------------------------------------------------------------------------------
// MQTT.js at protocol version 5

export type PublishProps = NonNullable<IPublishPacket["properties"]>;

export interface V5Msg extends Msg {
  properties: PublishProps;
  /** When it arrived (Date.now()). */
  at: number;
}

/** The messages an MQTT.js 5.0 client received, with their properties. */
export class V5Inbox extends Inbox<V5Msg> {
  /** Waits for the message with this payload (a marker) and returns everything received before it. */
  async before(payload: string, timeoutMs = WAIT_MS): Promise<V5Msg[]> {
    await this.waitFor((m) => m.payload.toString() === payload, timeoutMs, `the marker '${payload}'`);
    return this.msgs.slice(0, this.msgs.findIndex((m) => m.payload.toString() === payload));
  }
}

export interface V5Conn {
  client: MqttClient;
  connack: IConnackPacket;
  inbox: V5Inbox;
  /** DISCONNECT packets the broker sent. */
  disconnects: IDisconnectPacket[];
  isClosed(): boolean;
  waitClosed(timeoutMs?: number): Promise<boolean>;
  /** The broker's DISCONNECT (throws if none within timeoutMs). */
  waitDisconnect(timeoutMs?: number): Promise<IDisconnectPacket>;
  /** DISCONNECT (reason code 0 unless given) and close. */
  end(reasonCode?: number): Promise<void>;
  /** Abrupt close of the TCP stream, no DISCONNECT. */
  kill(): void;
}

export type V5Options = Omit<IClientOptions, "host" | "port" | "protocol" | "protocolVersion">;

/** Connects MQTT.js with protocolVersion 5 (no reconnect) and resolves on CONNACK 0. */
export function mqtt5Connect(port: number, o: V5Options = {}, timeoutMs = WAIT_MS): Promise<V5Conn> {
  const opts: IClientOptions = {
    clientId: "v5-" + Math.random().toString(16).slice(2, 10),
    clean: true,
    keepalive: 30,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    ...o,
    host: HOST,
    port,
    protocol: "mqtt",
    protocolVersion: 5,
  };
  const client = mqttjsConnect(opts);
  const inbox = new V5Inbox();
  const disconnects: IDisconnectPacket[] = [];
  let closed = false;
  const waiters: Array<() => void> = [];
  const notify = (): void => {
    for (const f of waiters.splice(0)) f();
  };
  const until = (cond: () => boolean, ms: number): Promise<boolean> =>
    new Promise((res) => {
      const end = Date.now() + ms;
      const check = (): void => {
        if (cond()) return res(true);
        const left = end - Date.now();
        if (left <= 0) return res(false);
        const t = setTimeout(() => res(cond()), left);
        waiters.push(() => {
          clearTimeout(t);
          check();
        });
      };
      check();
    });
  client.on("message", (topic: string, payload: Buffer, packet: IPublishPacket) => {
    inbox.push({ topic, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain, dup: packet.dup, properties: { ...(packet.properties ?? {}) }, at: Date.now() });
  });
  client.on("disconnect", (p: IDisconnectPacket) => {
    disconnects.push(p);
    notify();
  });
  client.on("close", () => {
    closed = true;
    notify();
  });
  client.on("error", () => {
    // reported through the connect promise, the close event or the test's own checks
  });
  const conn = (connack: IConnackPacket): V5Conn => ({
    client,
    connack,
    inbox,
    disconnects,
    isClosed: () => closed,
    waitClosed: (ms = WAIT_MS) => until(() => closed, ms),
    waitDisconnect: async (ms = WAIT_MS) => {
      if (!(await until(() => disconnects.length > 0, ms))) throw new Error(`${opts.clientId}: no DISCONNECT from the broker within ${ms} ms (closed: ${closed})`);
      return disconnects[0];
    },
    end: async (reasonCode = 0) => {
      if (closed) {
        client.end(true);
        return;
      }
      await Promise.race([client.endAsync(false, { reasonCode }), sleep(WAIT_MS)]);
    },
    kill: () => {
      client.stream?.destroy();
      client.end(true);
    },
  });
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      client.end(true);
      rej(new Error(`MQTT.js 5.0 ${opts.clientId}: no CONNACK within ${timeoutMs} ms`));
    }, timeoutMs + 500);
    client.once("connect", (connack: IConnackPacket) => {
      clearTimeout(t);
      res(conn(connack));
    });
    client.once("error", (e) => {
      clearTimeout(t);
      client.end(true);
      rej(new Error(`MQTT.js 5.0 ${opts.clientId}: ${e.message}`));
    });
    client.once("close", () => {
      clearTimeout(t);
      rej(new Error(`MQTT.js 5.0 ${opts.clientId}: connection closed before CONNACK`));
    });
  });
}

/** mqtt5Connect on the harness's broker; the client is closed when the test ends. */
export async function mqtt5(h: Harness, o: V5Options = {}): Promise<V5Conn> {
  const c = await mqtt5Connect(h.port, o);
  h.defer(() => c.client.end(true));
  return c;
}

/** Publishes with MQTT.js and waits for the acknowledgement (QoS 0: the write); returns the ack. */
export async function publish5(c: V5Conn, topic: string, payload: string | Buffer, opts: { qos?: 0 | 1 | 2; retain?: boolean; properties?: PublishProps } = {}): Promise<unknown> {
  return Promise.race([
    c.client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false, properties: opts.properties }),
    sleep(WAIT_MS).then(() => {
      throw new Error(`publish to ${topic} not acknowledged within ${WAIT_MS} ms`);
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// MQTT 5.0 bytes (written from the standard, not from src/codec)

type PropType = "byte" | "u16" | "u32" | "vbi" | "str" | "bin" | "pair";

/** Property identifiers and types (MQTT 5.0 §2.2.2.2). */
export const PROPS: Record<string, [number, PropType]> = {
  payloadFormatIndicator: [0x01, "byte"],
  messageExpiryInterval: [0x02, "u32"],
  contentType: [0x03, "str"],
  responseTopic: [0x08, "str"],
  correlationData: [0x09, "bin"],
  subscriptionIdentifier: [0x0b, "vbi"],
  sessionExpiryInterval: [0x11, "u32"],
  assignedClientIdentifier: [0x12, "str"],
  serverKeepAlive: [0x13, "u16"],
  authenticationMethod: [0x15, "str"],
  authenticationData: [0x16, "bin"],
  requestProblemInformation: [0x17, "byte"],
  willDelayInterval: [0x18, "u32"],
  requestResponseInformation: [0x19, "byte"],
  responseInformation: [0x1a, "str"],
  serverReference: [0x1c, "str"],
  reasonString: [0x1f, "str"],
  receiveMaximum: [0x21, "u16"],
  topicAliasMaximum: [0x22, "u16"],
  topicAlias: [0x23, "u16"],
  maximumQoS: [0x24, "byte"],
  retainAvailable: [0x25, "byte"],
  userProperty: [0x26, "pair"],
  maximumPacketSize: [0x27, "u32"],
  wildcardSubscriptionAvailable: [0x28, "byte"],
  subscriptionIdentifiersAvailable: [0x29, "byte"],
  sharedSubscriptionAvailable: [0x2a, "byte"],
};

const PROP_BY_ID = new Map<number, [string, PropType]>(Object.entries(PROPS).map(([name, [id, type]]) => [id, [name, type]]));

export type PropValue = number | string | Buffer | [string, string];
/** Properties in wire order: [name, value] pairs (a name may repeat: user properties). */
export type PropList = Array<[string, PropValue]>;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Property Length (VBI) followed by the properties. */
export function props(list: PropList = []): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of list) {
    const spec = PROPS[name];
    if (!spec) throw new Error(`unknown property ${name}`);
    const [id, type] = spec;
    parts.push(Buffer.from([id]));
    if (type === "byte") parts.push(Buffer.from([value as number]));
    else if (type === "u16") parts.push(u16(value as number));
    else if (type === "u32") parts.push(u32(value as number));
    else if (type === "vbi") parts.push(vbi(value as number));
    else if (type === "str") parts.push(mqttString(value as string));
    else if (type === "bin") parts.push(mqttString(value as Buffer));
    else parts.push(mqttString((value as [string, string])[0]), mqttString((value as [string, string])[1]));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([vbi(body.length), body]);
}

export interface Will5 {
  topic: string;
  payload: string | Buffer;
  qos?: 0 | 1 | 2;
  retain?: boolean;
  props?: PropList;
}

/** MQTT 5.0 packets (§3.1 to §3.15). */
export const pk5 = {
  connect(o: { clientId?: string; clean?: boolean; keepalive?: number; props?: PropList; will?: Will5; username?: string; password?: string } = {}): Buffer {
    let flags = (o.clean ?? true) ? 0x02 : 0;
    const payload: Buffer[] = [mqttString(o.clientId ?? "")];
    if (o.will) {
      flags += 0x04 + (o.will.qos ?? 0) * 8 + (o.will.retain ? 0x20 : 0);
      payload.push(props(o.will.props), mqttString(o.will.topic), mqttString(typeof o.will.payload === "string" ? Buffer.from(o.will.payload) : o.will.payload));
    }
    if (o.username !== undefined) {
      flags += 0x80;
      payload.push(mqttString(o.username));
    }
    if (o.password !== undefined) {
      flags += 0x40;
      payload.push(mqttString(o.password));
    }
    return frame(0x10, mqttString("MQTT"), Buffer.from([5, flags]), u16(o.keepalive ?? 60), props(o.props), ...payload);
  },
  publish(o: { topic: string; payload?: string | Buffer; qos?: 0 | 1 | 2; retain?: boolean; id?: number; props?: PropList }): Buffer {
    const qos = o.qos ?? 0;
    const parts: Buffer[] = [mqttString(o.topic)];
    if (qos > 0) parts.push(u16(o.id ?? 1));
    parts.push(props(o.props));
    const p = o.payload ?? "";
    parts.push(typeof p === "string" ? Buffer.from(p) : p);
    return frame(0x30 + qos * 2 + (o.retain ? 1 : 0), ...parts);
  },
  /** entries: [filter, subscription options byte (QoS | NL 0x04 | RAP 0x08 | RH << 4)]. */
  subscribe(id: number, entries: Array<[string, number]>, list: PropList = []): Buffer {
    const parts: Buffer[] = [u16(id), props(list)];
    for (const [f, o] of entries) parts.push(mqttString(f), Buffer.from([o]));
    return frame(0x82, ...parts);
  },
  puback: (id: number): Buffer => frame(0x40, u16(id)),
  pubrec: (id: number): Buffer => frame(0x50, u16(id)),
  pubrel: (id: number): Buffer => frame(0x62, u16(id)),
  pubcomp: (id: number): Buffer => frame(0x70, u16(id)),
  disconnect: (rc = 0, list?: PropList): Buffer => (list ? frame(0xe0, Buffer.from([rc]), props(list)) : frame(0xe0, Buffer.from([rc]))),
};

export type Props = Record<string, unknown> & { userProperty?: Array<[string, string]> };

/** Reads a property list at pos (Property Length first); names of PROPS; user properties as pairs in order. */
export function readProps(b: Buffer, pos: number): { props: Props; end: number; ids: number[] } {
  const vb = readVbi(b, pos);
  let p = vb.end;
  const end = p + vb.value;
  const out: Props = {};
  const ids: number[] = [];
  const str = (): string => {
    const n = b.readUInt16BE(p);
    const s = b.subarray(p + 2, p + 2 + n).toString("utf8");
    p += 2 + n;
    return s;
  };
  while (p < end) {
    const id = b[p++];
    ids.push(id);
    const spec = PROP_BY_ID.get(id);
    if (!spec) throw new Error(`unknown property id 0x${id.toString(16)} in [${b.toString("hex")}]`);
    const [name, type] = spec;
    let v: unknown;
    if (type === "byte") v = b[p++];
    else if (type === "u16") {
      v = b.readUInt16BE(p);
      p += 2;
    } else if (type === "u32") {
      v = b.readUInt32BE(p);
      p += 4;
    } else if (type === "vbi") {
      const r = readVbi(b, p);
      v = r.value;
      p = r.end;
    } else if (type === "str") v = str();
    else if (type === "bin") {
      const n = b.readUInt16BE(p);
      v = Buffer.from(b.subarray(p + 2, p + 2 + n));
      p += 2 + n;
    } else {
      const k = str();
      v = [k, str()];
    }
    if (name === "userProperty") (out.userProperty ??= []).push(v as [string, string]);
    else if (name === "subscriptionIdentifier") {
      const ids = (out.subscriptionIdentifier as number[] | undefined) ?? [];
      ids.push(v as number);
      out.subscriptionIdentifier = ids;
    }
    else out[name] = v;
  }
  if (p !== end) throw new Error(`properties overrun their length in [${b.toString("hex")}]`);
  return { props: out, end, ids };
}

function readVbi(b: Buffer, pos: number): { value: number; end: number } {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < 4; i++) {
    const x = b[pos + i];
    value += (x & 0x7f) * mult;
    mult *= 128;
    if (x < 128) return { value, end: pos + i + 1 };
  }
  throw new Error("VBI longer than 4 bytes");
}

export interface Connack5 {
  sessionPresent: boolean;
  reasonCode: number;
  props: Props;
  /** Property ids in the order they came (to check that none repeats). */
  ids: number[];
}

export function decodeConnack5(p: RxPacket): Connack5 {
  if (p.type !== 2) throw new Error(`expected CONNACK, got ${describePacket(p)}`);
  const flags = p.body[0];
  const rc = p.body[1];
  if (p.body.length === 2) return { sessionPresent: (flags & 1) === 1, reasonCode: rc, props: {}, ids: [] };
  const r = readProps(p.body, 2);
  if (r.end !== p.body.length) throw new Error(`CONNACK has bytes after its properties: ${describePacket(p)}`);
  return { sessionPresent: (flags & 1) === 1, reasonCode: rc, props: r.props, ids: r.ids };
}

/** DISCONNECT: reason code (0 when the packet is empty) and properties. */
export function decodeDisconnect5(p: RxPacket): { reasonCode: number; props: Props } {
  if (p.type !== 14) throw new Error(`expected DISCONNECT, got ${describePacket(p)}`);
  if (p.body.length === 0) return { reasonCode: 0, props: {} };
  if (p.body.length === 1) return { reasonCode: p.body[0], props: {} };
  return { reasonCode: p.body[0], props: readProps(p.body, 1).props };
}

export interface Publish5 {
  topic: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  id: number;
  props: Props;
  payload: Buffer;
}

export function decodePublish5(p: RxPacket): Publish5 {
  // Fixed header, topic and packet id are laid out as in 3.1.1; what 3.1.1 reads as the payload
  // starts with the properties.
  const f = decodePublish(p);
  const r = readProps(f.payload, 0);
  return { topic: f.topic, qos: f.qos, retain: f.retain, dup: f.dup, id: f.id, props: r.props, payload: Buffer.from(f.payload.subarray(r.end)) };
}

/** The reason codes of a SUBACK or UNSUBACK (after the packet id and the properties). */
export function subackCodes(p: RxPacket): number[] {
  if (p.type !== 9 && p.type !== 11) throw new Error(`expected SUBACK or UNSUBACK, got ${describePacket(p)}`);
  return [...p.body.subarray(readProps(p.body, 2).end)];
}

/** Ack packets with a reason code (PUBACK, PUBREC, SUBACK's codes, UNSUBACK's codes ...): the code byte(s). */
export function ackReason(p: RxPacket): number {
  return p.body.length <= 2 ? 0 : p.body[2];
}

/** A raw connection that sent a 5.0 CONNECT and got CONNACK 0; returns the decoded CONNACK. */
export async function rawConnect5(h: Harness, o: Parameters<typeof pk5.connect>[0] = {}): Promise<{ c: RawClient; connack: Connack5 }> {
  const c = await h.raw();
  c.send(pk5.connect({ clientId: "raw5-" + Math.random().toString(16).slice(2, 10), ...o }));
  const connack = decodeConnack5(await c.nextPacket(WAIT_MS, "the CONNACK"));
  expect(connack.reasonCode, "CONNACK reason code").toBe(0);
  return { c, connack };
}

/**
 * Expects the broker's DISCONNECT with this reason code as the next packet, then the close
 * (MQTT-3.14.4-1: nothing after it; MQTT-3.14.4-2: the server closes).
 */
export async function expectServerDisconnect(c: RawClient, reasonCode: number, timeoutMs = WAIT_MS): Promise<void> {
  const p = await c.nextPacket(timeoutMs, `DISCONNECT 0x${reasonCode.toString(16)}`);
  const d = decodeDisconnect5(p);
  expect(`0x${d.reasonCode.toString(16)}`, `DISCONNECT reason code (${describePacket(p)})`).toBe(`0x${reasonCode.toString(16)}`);
  expect(d.props.sessionExpiryInterval, "MQTT-3.14.2-2: a server DISCONNECT carries no Session Expiry Interval").toBeUndefined();
  await c.expectClosedWithoutReply(timeoutMs, "after DISCONNECT");
}
