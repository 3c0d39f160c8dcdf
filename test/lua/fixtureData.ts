/**
 * Flattens test/fixtures/packets.json and topics.json into the line format of
 * test/lua/fixturesCore.ts (ASCII only: bytes and strings as hex), for the Lua fixture runner.
 * The expected records are built here from the fixture fields, independently of the core.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

type ByteGroup = [string, string] | [string, string, number];
type HexField = string | [string, number];
type Rec = { type: number; [key: string]: unknown };

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

function cleanHex(hex: string): string {
  const h = hex.replace(/\s+/g, "").toLowerCase();
  if (!/^([0-9a-f]{2})*$/.test(h)) throw new Error("bad hex in fixture: " + JSON.stringify(hex));
  return h;
}

function groupsHex(groups: ByteGroup[]): string {
  return groups.map((g) => cleanHex(g[0]).repeat(g.length > 2 ? (g[2] as number) : 1)).join("");
}

function hexField(f: unknown): string {
  const v = f as HexField;
  return typeof v === "string" ? cleanHex(v) : cleanHex(v[0]).repeat(v[1]);
}

function strHex(s: unknown): string {
  if (typeof s !== "string") throw new Error("expected a string, got " + JSON.stringify(s));
  return Buffer.from(s, "utf8").toString("hex");
}

/** The canonical record string of fixturesCore.ts recordOf, from a fixture's fields. */
export function canonicalRecord(r: Rec): string {
  const t = r.type;
  const b = (k: string): string => String(r[k] === true);
  let s = "type=" + t;
  if (t === 1) {
    s += ";protocolName=" + strHex(r.protocolName) + ";protocolLevel=" + r.protocolLevel + ";cleanSession=" + b("cleanSession");
    s += ";keepAlive=" + r.keepAlive + ";clientId=" + strHex(r.clientId) + ";willFlag=" + b("willFlag") + ";willQos=" + r.willQos;
    s += ";willRetain=" + b("willRetain") + ";willTopic=" + strHex(r.willTopic) + ";willPayloadHex=" + hexField(r.willPayloadHex);
    s += ";hasUsername=" + b("hasUsername") + ";username=" + strHex(r.username) + ";hasPassword=" + b("hasPassword");
    s += ";passwordHex=" + hexField(r.passwordHex);
  } else if (t === 2) {
    s += ";sessionPresent=" + b("sessionPresent") + ";returnCode=" + r.returnCode;
  } else if (t === 3) {
    s += ";dup=" + b("dup") + ";qos=" + r.qos + ";retain=" + b("retain") + ";topic=" + strHex(r.topic);
    if ((r.qos as number) > 0) s += ";packetId=" + r.packetId;
    s += ";payloadHex=" + hexField(r.payloadHex);
  } else if (t === 8) {
    const filters = r.filters as [string, number][];
    s += ";packetId=" + r.packetId + ";filters=" + filters.map((f) => strHex(f[0]) + ":" + f[1]).join(",");
  } else if (t === 10) {
    const filters = r.filters as string[];
    s += ";packetId=" + r.packetId + ";filters=" + filters.map(strHex).join(",");
  } else if (t === 9) {
    s += ";packetId=" + r.packetId + ";returnCodes=" + (r.returnCodes as number[]).join(",");
  } else if (t === 4 || t === 5 || t === 6 || t === 7 || t === 11) {
    s += ";packetId=" + r.packetId;
  }
  return s;
}

/** Property names of a v5 record's props, in the order recordOf5 writes them, with their kind. */
const PROPS: [string, "num" | "str" | "hex" | "ids" | "pairs"][] = [
  ["payloadFormatIndicator", "num"],
  ["messageExpiryInterval", "num"],
  ["contentType", "str"],
  ["responseTopic", "str"],
  ["correlationDataHex", "hex"],
  ["subscriptionIds", "ids"],
  ["sessionExpiryInterval", "num"],
  ["assignedClientId", "str"],
  ["serverKeepAlive", "num"],
  ["authenticationMethod", "str"],
  ["authenticationDataHex", "hex"],
  ["requestProblemInformation", "num"],
  ["willDelayInterval", "num"],
  ["requestResponseInformation", "num"],
  ["responseInformation", "str"],
  ["serverReference", "str"],
  ["reasonString", "str"],
  ["receiveMaximum", "num"],
  ["topicAliasMaximum", "num"],
  ["topicAlias", "num"],
  ["maximumQos", "num"],
  ["retainAvailable", "num"],
  ["userProperties", "pairs"],
  ["maximumPacketSize", "num"],
  ["wildcardSubscriptionAvailable", "num"],
  ["subscriptionIdAvailable", "num"],
  ["sharedSubscriptionAvailable", "num"],
];

function propsText(props: unknown): string {
  if (typeof props !== "object" || props === null) throw new Error("v5 record without props");
  const pr = props as Record<string, unknown>;
  for (const key of Object.keys(pr)) if (!PROPS.some((e) => e[0] === key)) throw new Error("unknown property in fixture: " + key);
  const parts: string[] = [];
  for (const [name, kind] of PROPS) {
    const v = pr[name];
    if (v === undefined) continue;
    if (kind === "num") parts.push(name + "=" + (v as number));
    else if (kind === "str") parts.push(name + "=" + strHex(v));
    else if (kind === "hex") parts.push(name + "=" + hexField(v));
    else if (kind === "ids") parts.push(name + "=" + (v as number[]).join("."));
    else parts.push(name + "=" + (v as [string, string][]).map((kv) => strHex(kv[0]) + ":" + strHex(kv[1])).join("."));
  }
  return parts.join(",");
}

/** The canonical record string of fixturesCore.ts recordOf5, from a v5 fixture's fields. */
export function canonicalRecord5(r: Rec): string {
  const t = r.type;
  let s: string;
  if (t === 8) {
    const filters = r.filters as [string, number, boolean, boolean, number][];
    s = "type=8;packetId=" + r.packetId + ";filters=" + filters.map((f) => strHex(f[0]) + ":" + f[1] + ":" + f[2] + ":" + f[3] + ":" + f[4]).join(",");
  } else {
    s = canonicalRecord(r);
  }
  if ([4, 5, 6, 7, 14, 15].indexOf(t) >= 0) {
    if (typeof r.reasonCode !== "number") throw new Error("v5 record of type " + t + " without reasonCode");
    s += ";reasonCode=" + r.reasonCode;
  }
  if (t !== 12 && t !== 13) s += ";props=" + propsText(r.props);
  if (t === 1 && r.willFlag === true) s += ";willProps=" + propsText(r.willProps);
  return s;
}

function clean(name: string): string {
  return name.replace(/[\t\n\r]/g, " ");
}

export interface FixtureData {
  text: string;
  /** Fixture entries flattened (each gives one or more checks). */
  entries: number;
}

/** The fixture files as the runner's lines. */
export function fixtureData(): FixtureData {
  const packets = JSON.parse(readFileSync(FIXTURES + "packets.json", "utf8"));
  const topics = JSON.parse(readFileSync(FIXTURES + "topics.json", "utf8"));
  const top: number = packets.maxPacketSize;
  const lines: string[] = [];
  for (const f of packets.valid) {
    lines.push(["V", clean(f.name), top, groupsHex(f.bytes), canonicalRecord(f.packet)].join("\t"));
  }
  for (const f of packets.malformed) {
    lines.push(["M", clean(f.name), f.maxPacketSize ?? top, groupsHex(f.bytes), f.error].join("\t"));
  }
  for (const s of packets.stream) {
    const pending = s.pending === undefined ? "-" : String(s.pending);
    lines.push(["S", clean(s.name), top, groupsHex(s.bytes), s.end, pending, s.packets.map(canonicalRecord).join("|")].join("\t"));
  }
  const v5 = packets.v5;
  for (const f of v5.valid) {
    lines.push([f.decodeOnly === true ? "D5" : "V5", clean(f.name), top, groupsHex(f.bytes), canonicalRecord5(f.packet)].join("\t"));
  }
  for (const f of v5.malformed) {
    lines.push(["M5", clean(f.name), f.maxPacketSize ?? top, groupsHex(f.bytes), f.error].join("\t"));
  }
  for (const row of topics.match) lines.push(["T", "match", strHex(row[0]), strHex(row[1])].join("\t"));
  for (const row of topics.noMatch) lines.push(["T", "nomatch", strHex(row[0]), strHex(row[1])].join("\t"));
  for (const row of topics.validFilters) lines.push(["F", "valid", strHex(row[0])].join("\t"));
  for (const row of topics.invalidFilters) lines.push(["F", "invalid", strHex(row[0])].join("\t"));
  for (const row of topics.validTopics) lines.push(["N", "valid", strHex(row[0])].join("\t"));
  for (const row of topics.invalidTopics) lines.push(["N", "invalid", strHex(row[0])].join("\t"));
  return { text: lines.join("\n") + "\n", entries: lines.length };
}
