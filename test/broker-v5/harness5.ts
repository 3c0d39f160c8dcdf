// MQTT 5.0 on the in-memory harness (test/broker/harness.ts): packets for the broker are built
// from fixture-shaped records with the v5 codec (checked byte for byte by test/unit/v5 against
// packets.json), and what the broker writes is parsed back into records. Test-only code.
import { expect } from "vitest";
import { encodePacketV5 } from "../../src/codec/encode5";
import { Harness, len } from "../broker/harness";
import { PacketRecord, fromHex, toHex } from "../unit/helpers";
import { packetToRecord5, parseOne5, recordToPacket5 } from "../unit/v5/helpers5";

type Props = Record<string, unknown>;

/** Hex of one packet built from a v5 record. */
export function v5(rec: PacketRecord): string {
  return toHex(encodePacketV5(recordToPacket5(rec)));
}

export interface Connect5 {
  clean?: boolean;
  keepAlive?: number;
  props?: Props;
  will?: { topic: string; payload: string; qos?: number; retain?: boolean; props?: Props };
  username?: string;
  password?: string;
}

export const p5 = {
  connect(clientId: string, o: Connect5 = {}): string {
    return v5({
      type: 1,
      protocolName: "MQTT",
      protocolLevel: 5,
      cleanSession: o.clean ?? true,
      keepAlive: o.keepAlive ?? 60,
      clientId,
      willFlag: o.will !== undefined,
      willQos: o.will?.qos ?? 0,
      willRetain: o.will?.retain ?? false,
      willTopic: o.will?.topic ?? "",
      willPayloadHex: o.will ? Buffer.from(o.will.payload).toString("hex") : "",
      hasUsername: o.username !== undefined,
      username: o.username ?? "",
      hasPassword: o.password !== undefined,
      passwordHex: o.password !== undefined ? Buffer.from(o.password).toString("hex") : "",
      props: o.props ?? {},
      ...(o.will ? { willProps: o.will.props ?? {} } : {}),
    });
  },
  publish(topic: string, payload: string, o: { qos?: number; id?: number; retain?: boolean; props?: Props } = {}): string {
    const qos = o.qos ?? 0;
    return v5({ type: 3, dup: false, qos, retain: o.retain ?? false, topic, ...(qos > 0 ? { packetId: o.id ?? 1 } : {}), payloadHex: Buffer.from(payload).toString("hex"), props: o.props ?? {} });
  },
  /** filters: [filter, qos, noLocal, retainAsPublished, retainHandling]. */
  subscribe(id: number, filters: Array<[string, number, boolean?, boolean?, number?]>, props: Props = {}): string {
    return v5({ type: 8, packetId: id, filters: filters.map((f) => [f[0], f[1], f[2] ?? false, f[3] ?? false, f[4] ?? 0]), props });
  },
  unsubscribe(id: number, filters: string[]): string {
    return v5({ type: 10, packetId: id, filters, props: {} });
  },
  ack(type: 4 | 5 | 6 | 7, id: number, reasonCode = 0): string {
    return v5({ type, packetId: id, reasonCode, props: {} });
  },
  disconnect(reasonCode = 0, props: Props = {}): string {
    return v5({ type: 14, reasonCode, props });
  },
};

function vbi(b: number[], at: number): [number, number] {
  let v = 0;
  let m = 1;
  let i = at;
  for (;;) {
    const d = b[i++];
    v += (d & 127) * m;
    if (d < 128) return [v, i];
    m *= 128;
  }
}

/**
 * A PUBLISH the server sent may carry Subscription Identifiers, which the codec's decoder
 * (written for what clients send) refuses: they are taken out here and returned apart.
 */
function splitSubscriptionIds(hex: string): [string, number[]] {
  const b = [...Buffer.from(hex, "hex")];
  if (b[0] >> 4 !== 3) return [hex, []];
  const [, bodyAt] = vbi(b, 1);
  let at = bodyAt;
  const topicLength = b[at] * 256 + b[at + 1];
  at += 2 + topicLength + ((b[0] >> 1) & 3 ? 2 : 0);
  const [propsLength, propsAt] = vbi(b, at);
  const kept: number[] = [];
  const ids: number[] = [];
  let i = propsAt;
  const end = propsAt + propsLength;
  while (i < end) {
    const id = b[i];
    const start = i;
    i++;
    if (id === 0x0b) {
      const [v, next] = vbi(b, i);
      ids.push(v);
      i = next;
      continue;
    }
    // Lengths by type for the PUBLISH properties a server forwards.
    if (id === 0x01) i += 1;
    else if (id === 0x02) i += 4;
    else if (id === 0x23) i += 2;
    else if (id === 0x26) {
      i += 2 + b[i] * 256 + b[i + 1];
      i += 2 + b[i] * 256 + b[i + 1];
    } else i += 2 + b[i] * 256 + b[i + 1];
    kept.push(...b.slice(start, i));
  }
  if (ids.length === 0) return [hex, []];
  const body = [...b.slice(bodyAt, at), ...len(kept.length), ...kept, ...b.slice(end)];
  return [Buffer.from([b[0], ...len(body.length), ...body]).toString("hex"), ids];
}

/** The broker's output to conn since the last take, parsed as MQTT 5.0 records. */
export function take5(h: Harness, conn: number): PacketRecord[] {
  return h.take(conn).map((raw) => {
    const [hex, ids] = splitSubscriptionIds(raw);
    const r = parseOne5(fromHex(hex), 1 << 28);
    if (r.status !== "OK") throw new Error("broker wrote a packet that does not parse as 5.0 (" + r.status + "): " + raw);
    const rec = packetToRecord5(r.packet);
    if (ids.length > 0) (rec.props as Record<string, unknown>).subscriptionIds = ids;
    return rec;
  });
}

/** Types of the records, for short assertions. */
export function types(recs: PacketRecord[]): number[] {
  return recs.map((r) => r.type as number);
}

/** Packet types, for assertions on take5's records. */
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBACK = 9;
export const UNSUBACK = 11;
export const PINGRESP = 13;
export const DISCONNECT = 14;

/** A 5.0 client connected (CONNACK 0 checked and taken) on a new connection of h. */
export function connected(h: Harness, id: string, o: Connect5 = {}): number {
  const c = h.open();
  h.send(c, p5.connect(id, o));
  const out = take5(h, c);
  expect(out[0].type).toBe(CONNACK);
  expect(out[0].returnCode).toBe(0);
  return c;
}

/** The payload of a PUBLISH record, as text. */
export function payloadOf(rec: Record<string, unknown>): string {
  return Buffer.from(rec.payloadHex as string, "hex").toString();
}

// Raw bytes, for what the record encoder cannot express (malformed or unusual packets).

/** A length-prefixed string or binary field. */
export function rawStr(s: string | number[]): number[] {
  const b = typeof s === "string" ? [...Buffer.from(s, "utf8")] : s;
  return [b.length >> 8, b.length & 255, ...b];
}

/** A Variable Byte Integer. */
export function rawVbi(n: number): number[] {
  return [...len(n)];
}

/** A whole packet as hex: first byte, Remaining Length, body. */
export function rawPacket(first: number, body: number[]): string {
  return Buffer.from([first, ...len(body.length), ...body]).toString("hex");
}
