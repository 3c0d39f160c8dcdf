// In-memory harness: the broker core with a recording Transport and a manual Clock, so a
// broker test is "send bytes, expect bytes" with no sockets (as aedes' duplex-pair setup).
import { createBroker, brokerOpen, brokerData, brokerClosed, brokerDrained, brokerTick, brokerSetSubscriptionIndex, Broker } from "../../src/broker/broker";
import { createTopicTree } from "../../src/topics/topicTree";
import { DEFAULT_LIMITS, Limits, mergeLimits } from "../../src/limits";
import type { Bytes } from "../../src/bytes/bytes";
import type { Store } from "../../src/platform";

export interface Harness {
  broker: Broker;
  logs: string[];
  now: { ms: number };
  open(peer?: string): number;
  send(conn: number, hex: string): void;
  /** Hex strings of everything written to conn since the last take. */
  take(conn: number): string[];
  isClosed(conn: number): boolean;
  peerClose(conn: number): void;
  advance(ms: number): void;
  pending: number[];
  /**
   * A client that reads slowly: when true, every write adds its length to pending[conn] until
   * drain(conn), as a socket's send buffer would.
   */
  slow: boolean;
  /** The client read everything: pending[conn] goes to 0 and the broker is told (brokerDrained). */
  drain(conn: number): void;
}

/** overrides: limits; tree: route through the topic tree index instead of the table scan. */
export function harness(overrides: Partial<Limits> = {}, tree = false): Harness {
  const writes: string[][] = [];
  const closed: boolean[] = [];
  const logs: string[] = [];
  const now = { ms: 1000 };
  const pending: number[] = [];
  const state = { slow: false };
  const transport = {
    write(conn: number, data: Bytes) {
      (writes[conn] ??= []).push(Buffer.from(data as unknown as Uint8Array).toString("hex"));
      if (state.slow) pending[conn] = (pending[conn] ?? 0) + (data as unknown as Uint8Array).length;
    },
    pending(conn: number) {
      return pending[conn] ?? 0;
    },
    close(conn: number) {
      closed[conn] = true;
    },
  };
  const limits = mergeLimits(mergeLimits(DEFAULT_LIMITS, { maxConnections: 16, maxSessions: 16 }), overrides);
  const broker = createBroker(limits, transport, { now: () => now.ms }, { log: (_l: number, m: string) => logs.push(m) });
  if (tree) brokerSetSubscriptionIndex(broker, createTopicTree());
  return {
    broker,
    logs,
    now,
    pending,
    get slow() {
      return state.slow;
    },
    set slow(v: boolean) {
      state.slow = v;
    },
    drain(conn) {
      pending[conn] = 0;
      brokerDrained(broker, conn);
    },
    open(peer = "test:1") {
      const conn = brokerOpen(broker, peer);
      if (conn >= 0) {
        writes[conn] = [];
        closed[conn] = false;
      }
      return conn;
    },
    send(conn, hex) {
      brokerData(broker, conn, new Uint8Array(Buffer.from(hex.replace(/\s+/g, ""), "hex")) as unknown as Bytes);
    },
    take(conn) {
      const out = writes[conn] ?? [];
      writes[conn] = [];
      return out;
    },
    isClosed(conn) {
      return closed[conn] === true;
    },
    peerClose(conn) {
      brokerClosed(broker, conn);
    },
    advance(ms) {
      now.ms += ms;
      brokerTick(broker);
    },
  };
}

/**
 * A Store that records each call as "name arg arg ..." (its string and number arguments) in
 * calls, for tests of what the broker reports to its store.
 */
export function recordingStore(calls: string[]): Store {
  const record =
    (name: string) =>
    (...args: unknown[]): void => {
      calls.push([name].concat(args.filter((a) => typeof a === "string" || typeof a === "number").map(String)).join(" "));
    };
  return {
    retainedSet: record("retainedSet"),
    retainedDelete: record("retainedDelete"),
    sessionSet: record("sessionSet"),
    sessionDelete: record("sessionDelete"),
    subscriptionSet: record("subscriptionSet"),
    subscriptionDelete: record("subscriptionDelete"),
    messageAdd: record("messageAdd"),
    messageSent: record("messageSent"),
    messageReleased: record("messageReleased"),
    messageDelete: record("messageDelete"),
    inboundAdd: record("inboundAdd"),
    inboundDelete: record("inboundDelete"),
    sessionExpiry: record("sessionExpiry"),
    sessionWill: record("sessionWill"),
    commit: record("commit"),
  };
}

// An encoder independent of src/codec, for building test input (hex strings).
function hex(bytes: number[]): string {
  return Buffer.from(bytes).toString("hex");
}
function str(s: string): number[] {
  const b = [...Buffer.from(s, "utf8")];
  return [b.length >> 8, b.length & 255, ...b];
}
/** A Variable Byte Integer (Remaining Length), as bytes. */
export function len(n: number): number[] {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d += 128;
    out.push(d);
  } while (n > 0);
  return out;
}
function packet(first: number, body: number[]): string {
  return hex([first, ...len(body.length), ...body]);
}

export interface ConnectOptions {
  clean?: boolean;
  keepAlive?: number;
  will?: { topic: string; payload: string; qos?: number; retain?: boolean };
  username?: string;
  password?: string;
  level?: number;
  name?: string;
}

export const pkt = {
  connect(clientId: string, o: ConnectOptions = {}): string {
    const clean = o.clean ?? true;
    let flags = clean ? 2 : 0;
    const payload = [...str(clientId)];
    if (o.will) {
      flags += 4 + (o.will.qos ?? 0) * 8 + (o.will.retain ? 32 : 0);
      payload.push(...str(o.will.topic), ...str(o.will.payload));
    }
    if (o.username !== undefined) {
      flags += 128;
      payload.push(...str(o.username));
    }
    if (o.password !== undefined) {
      flags += 64;
      payload.push(...str(o.password));
    }
    const ka = o.keepAlive ?? 60;
    return packet(0x10, [...str(o.name ?? "MQTT"), o.level ?? 4, flags, ka >> 8, ka & 255, ...payload]);
  },
  publish(topic: string, payload: string, o: { qos?: number; id?: number; retain?: boolean; dup?: boolean } = {}): string {
    const qos = o.qos ?? 0;
    const body = [...str(topic)];
    if (qos > 0) body.push((o.id ?? 1) >> 8, (o.id ?? 1) & 255);
    body.push(...Buffer.from(payload, "utf8"));
    return packet(0x30 + (o.dup ? 8 : 0) + qos * 2 + (o.retain ? 1 : 0), body);
  },
  subscribe(id: number, filters: Array<[string, number]>): string {
    const body = [id >> 8, id & 255];
    for (const [f, q] of filters) body.push(...str(f), q);
    return packet(0x82, body);
  },
  unsubscribe(id: number, filters: string[]): string {
    const body = [id >> 8, id & 255];
    for (const f of filters) body.push(...str(f));
    return packet(0xa2, body);
  },
  ack(type: "puback" | "pubrec" | "pubrel" | "pubcomp", id: number): string {
    const first = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 }[type];
    return hex([first, 2, id >> 8, id & 255]);
  },
  pingreq: "c000",
  disconnect: "e000",
};

export const CONNACK_OK = "20020000";
export const CONNACK_PRESENT = "20020100";
