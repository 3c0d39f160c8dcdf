// MQTT 5.0 helpers for the codec tests: the v5 section of packets.json, fixture records <->
// Packet (with properties), and the frame reader + decoder driven as on a 5.0 connection.
// Test-only code: the portability rules of src/ do not apply here.
import { utf8Encode } from "../../../src/bytes/bytes";
import { decodePacket } from "../../../src/codec/decode";
import { frameFeed, frameNext, newFrameReader } from "../../../src/codec/frameReader";
import { Packet, newPacket } from "../../../src/codec/packet";
import { Properties, addSubscriptionId, addUserProperty } from "../../../src/codec/properties";
import { STATUS_NAMES, Status } from "../../../src/codec/status";
import { ByteGroup, PacketRecord, fromHex, hexField, HexField, normalizeRecord, packetToRecord, recordToPacket, toHex } from "../helpers";
import { Bytes } from "../../../src/bytes/bytes";

export interface ValidFixture5 {
  name: string;
  spec: string[];
  bytes: ByteGroup[];
  packet: PacketRecord;
  decodeOnly?: boolean;
}

export interface MalformedFixture5 {
  name: string;
  spec: string[];
  bytes: ByteGroup[];
  error: string;
  maxPacketSize?: number;
}

export interface Fixtures5 {
  valid: ValidFixture5[];
  malformed: MalformedFixture5[];
}

type PropsRecord = Record<string, unknown>;

const NUMBER_PROPS = [
  "payloadFormatIndicator",
  "messageExpiryInterval",
  "sessionExpiryInterval",
  "serverKeepAlive",
  "requestProblemInformation",
  "willDelayInterval",
  "requestResponseInformation",
  "receiveMaximum",
  "topicAliasMaximum",
  "topicAlias",
  "maximumQos",
  "retainAvailable",
  "maximumPacketSize",
  "wildcardSubscriptionAvailable",
  "subscriptionIdAvailable",
  "sharedSubscriptionAvailable",
];
/** [record name, Properties field, has-flag field]. */
const STRING_PROPS: [string, string, string][] = [
  ["contentType", "contentType", "hasContentType"],
  ["responseTopic", "responseTopic", "hasResponseTopic"],
  ["assignedClientId", "assignedClientId", "hasAssignedClientId"],
  ["authenticationMethod", "authenticationMethod", "hasAuthenticationMethod"],
  ["responseInformation", "responseInformation", "hasResponseInformation"],
  ["serverReference", "serverReference", "hasServerReference"],
  ["reasonString", "reasonString", "hasReasonString"],
];
const BINARY_PROPS: [string, string, string][] = [
  ["correlationDataHex", "correlationData", "hasCorrelationData"],
  ["authenticationDataHex", "authenticationData", "hasAuthenticationData"],
];

/** Properties present in pr, in the fixture shape (binary as lower-case hex). */
export function propsToRecord(pr: Properties): PropsRecord {
  const out: PropsRecord = {};
  const f = pr as unknown as Record<string, unknown>;
  for (const name of NUMBER_PROPS) if ((f[name] as number) >= 0) out[name] = f[name];
  for (const [name, field, has] of STRING_PROPS) if (f[has] === true) out[name] = f[field];
  for (const [name, field, has] of BINARY_PROPS) if (f[has] === true) out[name] = toHex(f[field] as Bytes);
  if (pr.subscriptionIdCount > 0) out.subscriptionIds = pr.subscriptionIds.slice(0, pr.subscriptionIdCount);
  if (pr.userPropertyCount > 0) {
    const pairs: [string, string][] = [];
    for (let i = 0; i < pr.userPropertyCount; i++) pairs.push([pr.userKeys[i], pr.userValues[i]]);
    out.userProperties = pairs;
  }
  return out;
}

/** Fills pr (already reset) from a fixture props object. */
export function recordToProps(rec: PropsRecord, pr: Properties): void {
  const f = pr as unknown as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    const v = rec[key];
    const s = STRING_PROPS.find((e) => e[0] === key);
    const b = BINARY_PROPS.find((e) => e[0] === key);
    if (NUMBER_PROPS.indexOf(key) >= 0) f[key] = v;
    else if (s) {
      f[s[1]] = v;
      f[s[2]] = true;
    } else if (b) {
      f[b[1]] = fromHex(hexField(v as HexField));
      f[b[2]] = true;
    } else if (key === "subscriptionIds") for (const id of v as number[]) addSubscriptionId(pr, id);
    else if (key === "userProperties") for (const kv of v as [string, string][]) addUserProperty(pr, kv[0], kv[1]);
    else throw new Error("unknown property in fixture: " + key);
  }
}

function normalizeProps(rec: PropsRecord): PropsRecord {
  const out: PropsRecord = {};
  for (const key of Object.keys(rec)) out[key] = key.endsWith("Hex") ? hexField(rec[key] as HexField) : rec[key];
  return out;
}

/** The fixture record with hex fields expanded, as packetToRecord5 builds it. */
export function normalizeRecord5(rec: PacketRecord): PacketRecord {
  const out = normalizeRecord(rec);
  if (rec.props !== undefined) out.props = normalizeProps(rec.props as PropsRecord);
  if (rec.willProps !== undefined) out.willProps = normalizeProps(rec.willProps as PropsRecord);
  return out;
}

const REASON_TYPES = [4, 5, 6, 7, 14, 15];

/** The fields of p that its packet type defines in MQTT 5.0, in the fixture record shape. */
export function packetToRecord5(p: Packet): PacketRecord {
  let rec: PacketRecord;
  if (p.type === 8) {
    const filters: [string, number, boolean, boolean, number][] = [];
    for (let i = 0; i < p.count; i++) filters.push([p.filters[i], p.qosList[i], p.noLocal[i], p.retainAsPublished[i], p.retainHandling[i]]);
    rec = { type: 8, packetId: p.packetId, filters: filters };
  } else if (p.type === 14 || p.type === 15) {
    rec = { type: p.type };
  } else {
    rec = packetToRecord(p);
    if (p.type === 11) rec.returnCodes = p.qosList.slice(0, p.count); // 5.0 UNSUBACK has reason codes
  }
  if (REASON_TYPES.indexOf(p.type) >= 0) rec.reasonCode = p.reasonCode;
  if (p.type !== 12 && p.type !== 13) rec.props = propsToRecord(p.props);
  if (p.type === 1 && p.willFlag) rec.willProps = propsToRecord(p.willProps);
  return rec;
}

/** Builds a Packet from a v5 fixture record, as a broker or tool fills one for encodePacketV5. */
export function recordToPacket5(rec: PacketRecord): Packet {
  let p: Packet;
  if (rec.type === 8) {
    p = newPacket();
    p.type = 8;
    p.flags = 2;
    p.packetId = rec.packetId as number;
    const filters = rec.filters as [string, number, boolean, boolean, number][];
    p.filters = filters.map((f) => f[0]);
    p.qosList = filters.map((f) => f[1]);
    p.noLocal = filters.map((f) => f[2]);
    p.retainAsPublished = filters.map((f) => f[3]);
    p.retainHandling = filters.map((f) => f[4]);
    p.count = filters.length;
  } else if (rec.type === 11) {
    // UNSUBACK in 5.0 carries reason codes like SUBACK.
    p = newPacket();
    p.type = 11;
    p.packetId = rec.packetId as number;
    p.qosList = (rec.returnCodes as number[]).slice();
    p.count = p.qosList.length;
  } else if (rec.type === 14 || rec.type === 15) {
    p = newPacket();
    p.type = rec.type;
  } else {
    p = recordToPacket(rec);
  }
  if (rec.type === 3) p.topicBytes = utf8Encode(p.topic);
  if (REASON_TYPES.indexOf(rec.type) >= 0) p.reasonCode = rec.reasonCode as number;
  if (rec.props !== undefined) recordToProps(rec.props as PropsRecord, p.props);
  if (rec.willProps !== undefined) recordToProps(rec.willProps as PropsRecord, p.willProps);
  return p;
}

export interface ParseResult5 {
  status: string;
  layer: "frame" | "decode";
  packet: Packet;
  consumed: number;
}

/** Frame reader and decoder on one packet, as on a connection that speaks MQTT 5.0. */
export function parseOne5(bytes: Bytes, maxPacketSize: number, into?: Packet): ParseResult5 {
  const r = newFrameReader(maxPacketSize);
  r.version = 5;
  const p = into !== undefined ? into : newPacket();
  frameFeed(r, bytes);
  const st = frameNext(r);
  if (st !== Status.PACKET) return { status: STATUS_NAMES[st], layer: "frame", packet: p, consumed: r.pos };
  const ds = decodePacket(r.type, r.flags, r.body, p, 5);
  return { status: STATUS_NAMES[ds], layer: "decode", packet: p, consumed: r.pos };
}
