/**
 * The golden fixtures (test/fixtures/packets.json, topics.json) checked against the core, in
 * portable TypeScript: typescript-to-lua compiles this file with src/ into a Lua program
 * (test/lua/fixturesRunner.ts is its entry), and the vitest test also runs it under Node, so
 * both runs execute the same checks.
 *
 * Input: the fixtures flattened by test/lua/fixtureData.ts into tab-separated lines whose
 * fields are ASCII only (bytes and strings as hex), so no JSON reader is needed on Lua:
 *   V  name  maxPacketSize  bytesHex  record              valid packet
 *   M  name  maxPacketSize  bytesHex  errorName           malformed packet
 *   S  name  maxPacketSize  bytesHex  end  pending  records (joined by "|")   stream
 *   V5 / D5 / M5                     as V / V / M, read as MQTT 5.0 (D5: decode only)
 *   T  match|nomatch  filterHex  topicHex
 *   F  valid|invalid  filterHex
 *   N  valid|invalid  topicHex
 * A record is "type=3;dup=false;qos=1;..." in the field order of recordOf below, with
 * strings and binary fields as lower-case hex of their bytes.
 */
import { Bytes, byteAt, bytesFromArray, bytesLength, bytesView, utf8Decode, utf8Encode } from "../../src/bytes/bytes";
import { decodePacket } from "../../src/codec/decode";
import { encodePacket } from "../../src/codec/encode";
import { encodePacketV5 } from "../../src/codec/encode5";
import { Properties } from "../../src/codec/properties";
import { frameFeed, frameNext, framePending, newFrameReader } from "../../src/codec/frameReader";
import { Packet, newPacket } from "../../src/codec/packet";
import { STATUS_NAMES, Status } from "../../src/codec/status";
import { isValidFilter, isValidTopicName, topicMatches } from "../../src/topics/topic";

export interface FixtureReport {
  passed: number;
  failed: number;
}

const HEX = "0123456789abcdef";

export function toHex(b: Bytes): string {
  const n = bytesLength(b);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = byteAt(b, i);
    parts.push(HEX.charAt(Math.floor(v / 16)) + HEX.charAt(v % 16));
  }
  return parts.join("");
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function fromHex(hex: string): Bytes {
  const a: number[] = [];
  const n = Math.floor(hex.length / 2);
  for (let i = 0; i < n; i++) a.push(hexDigit(hex.charCodeAt(2 * i)) * 16 + hexDigit(hex.charCodeAt(2 * i + 1)));
  return bytesFromArray(a, n);
}

function strHex(s: string): string {
  return toHex(utf8Encode(s));
}

function hexStr(hex: string): string {
  const b = fromHex(hex);
  return utf8Decode(b, 0, bytesLength(b));
}

function bool(v: boolean): string {
  return v ? "true" : "false";
}

/** The fields packet type p.type defines, as a canonical string (see the file comment). */
export function recordOf(p: Packet): string {
  const t = p.type;
  let s = "type=" + t;
  if (t === 1) {
    s += ";protocolName=" + strHex(p.protocolName) + ";protocolLevel=" + p.protocolLevel + ";cleanSession=" + bool(p.cleanSession);
    s += ";keepAlive=" + p.keepAlive + ";clientId=" + strHex(p.clientId) + ";willFlag=" + bool(p.willFlag) + ";willQos=" + p.willQos;
    s += ";willRetain=" + bool(p.willRetain) + ";willTopic=" + strHex(p.willTopic) + ";willPayloadHex=" + toHex(p.willPayload);
    s += ";hasUsername=" + bool(p.hasUsername) + ";username=" + strHex(p.username) + ";hasPassword=" + bool(p.hasPassword);
    s += ";passwordHex=" + toHex(p.password);
  } else if (t === 2) {
    s += ";sessionPresent=" + bool(p.sessionPresent) + ";returnCode=" + p.returnCode;
  } else if (t === 3) {
    s += ";dup=" + bool(p.dup) + ";qos=" + p.qos + ";retain=" + bool(p.retain) + ";topic=" + strHex(p.topic);
    if (p.qos > 0) s += ";packetId=" + p.packetId;
    s += ";payloadHex=" + toHex(p.payload);
  } else if (t === 8 || t === 10) {
    const items: string[] = [];
    for (let i = 0; i < p.count; i++) items.push(t === 8 ? strHex(p.filters[i]) + ":" + p.qosList[i] : strHex(p.filters[i]));
    s += ";packetId=" + p.packetId + ";filters=" + items.join(",");
  } else if (t === 9) {
    const codes: string[] = [];
    for (let i = 0; i < p.count; i++) codes.push("" + p.qosList[i]);
    s += ";packetId=" + p.packetId + ";returnCodes=" + codes.join(",");
  } else if (t === 4 || t === 5 || t === 6 || t === 7 || t === 11) {
    s += ";packetId=" + p.packetId;
  }
  return s;
}

function propsText(pr: Properties): string {
  const parts: string[] = [];
  const num = (name: string, v: number): void => {
    if (v >= 0) parts.push(name + "=" + v);
  };
  const str = (name: string, has: boolean, v: string): void => {
    if (has) parts.push(name + "=" + strHex(v));
  };
  num("payloadFormatIndicator", pr.payloadFormatIndicator);
  num("messageExpiryInterval", pr.messageExpiryInterval);
  str("contentType", pr.hasContentType, pr.contentType);
  str("responseTopic", pr.hasResponseTopic, pr.responseTopic);
  if (pr.hasCorrelationData) parts.push("correlationDataHex=" + toHex(pr.correlationData));
  if (pr.subscriptionIdCount > 0) {
    const ids: string[] = [];
    for (let i = 0; i < pr.subscriptionIdCount; i++) ids.push("" + pr.subscriptionIds[i]);
    parts.push("subscriptionIds=" + ids.join("."));
  }
  num("sessionExpiryInterval", pr.sessionExpiryInterval);
  str("assignedClientId", pr.hasAssignedClientId, pr.assignedClientId);
  num("serverKeepAlive", pr.serverKeepAlive);
  str("authenticationMethod", pr.hasAuthenticationMethod, pr.authenticationMethod);
  if (pr.hasAuthenticationData) parts.push("authenticationDataHex=" + toHex(pr.authenticationData));
  num("requestProblemInformation", pr.requestProblemInformation);
  num("willDelayInterval", pr.willDelayInterval);
  num("requestResponseInformation", pr.requestResponseInformation);
  str("responseInformation", pr.hasResponseInformation, pr.responseInformation);
  str("serverReference", pr.hasServerReference, pr.serverReference);
  str("reasonString", pr.hasReasonString, pr.reasonString);
  num("receiveMaximum", pr.receiveMaximum);
  num("topicAliasMaximum", pr.topicAliasMaximum);
  num("topicAlias", pr.topicAlias);
  num("maximumQos", pr.maximumQos);
  num("retainAvailable", pr.retainAvailable);
  if (pr.userPropertyCount > 0) {
    const pairs: string[] = [];
    for (let i = 0; i < pr.userPropertyCount; i++) pairs.push(strHex(pr.userKeys[i]) + ":" + strHex(pr.userValues[i]));
    parts.push("userProperties=" + pairs.join("."));
  }
  num("maximumPacketSize", pr.maximumPacketSize);
  num("wildcardSubscriptionAvailable", pr.wildcardSubscriptionAvailable);
  num("subscriptionIdAvailable", pr.subscriptionIdAvailable);
  num("sharedSubscriptionAvailable", pr.sharedSubscriptionAvailable);
  return parts.join(",");
}

/** recordOf for a packet decoded by the MQTT 5.0 rules: reason codes, subscription options, properties. */
export function recordOf5(p: Packet): string {
  const t = p.type;
  let s: string;
  if (t === 8) {
    const items: string[] = [];
    for (let i = 0; i < p.count; i++) {
      items.push(strHex(p.filters[i]) + ":" + p.qosList[i] + ":" + bool(p.noLocal[i]) + ":" + bool(p.retainAsPublished[i]) + ":" + p.retainHandling[i]);
    }
    s = "type=8;packetId=" + p.packetId + ";filters=" + items.join(",");
  } else {
    s = recordOf(p);
  }
  if (t === 4 || t === 5 || t === 6 || t === 7 || t === 14 || t === 15) s += ";reasonCode=" + p.reasonCode;
  if (t !== 12 && t !== 13) s += ";props=" + propsText(p.props);
  if (t === 1 && p.willFlag) s += ";willProps=" + propsText(p.willProps);
  return s;
}

interface ParseOne {
  status: string;
  layer: string;
  consumed: number;
}

function parseOne(bytes: Bytes, maxPacketSize: number, p: Packet, version: number): ParseOne {
  const r = newFrameReader(maxPacketSize);
  r.version = version;
  frameFeed(r, bytes);
  const st = frameNext(r);
  if (st !== Status.PACKET) return { status: STATUS_NAMES[st], layer: "frame", consumed: r.pos };
  const ds = decodePacket(r.type, r.flags, r.body, p, version);
  return { status: STATUS_NAMES[ds], layer: "decode", consumed: r.pos };
}

interface StreamResult {
  records: string[];
  end: string;
  pending: boolean;
}

function runStream(chunks: Bytes[], maxPacketSize: number, version: number): StreamResult {
  const r = newFrameReader(maxPacketSize);
  r.version = version;
  const p = newPacket();
  const records: string[] = [];
  for (let c = 0; c < chunks.length; c++) {
    frameFeed(r, chunks[c]);
    for (;;) {
      const st = frameNext(r);
      if (st === Status.NEED_MORE) break;
      if (st !== Status.PACKET) return { records: records, end: STATUS_NAMES[st], pending: framePending(r) };
      const ds = decodePacket(r.type, r.flags, r.body, p, version);
      if (ds !== Status.OK) return { records: records, end: STATUS_NAMES[ds], pending: framePending(r) };
      records.push(version === 5 ? recordOf5(p) : recordOf(p));
    }
  }
  return { records: records, end: "NEED_MORE", pending: framePending(r) };
}

/** Chunks of the given sizes, cycling through them (views: the core must not mind). */
function chunked(b: Bytes, sizes: number[]): Bytes[] {
  const n = bytesLength(b);
  const out: Bytes[] = [];
  let at = 0;
  let k = 0;
  while (at < n) {
    let end = at + sizes[k % sizes.length];
    if (end > n) end = n;
    out.push(bytesView(b, at, end));
    at = end;
    k++;
  }
  return out;
}

function oneByte(b: Bytes): Bytes[] {
  return chunked(b, [1]);
}

function split(b: Bytes, cut: number): Bytes[] {
  const n = bytesLength(b);
  return [bytesView(b, 0, cut), bytesView(b, cut, n)];
}

/** Deterministic ragged splits (no PRNG: 32-bit integer maths differs across Lua versions). */
const SPLITS: number[][] = [[2, 3, 5, 7, 11, 13], [1, 100, 3, 4096, 17], [4096], [37, 1, 1, 250], [1000, 0, 9]];

export function runFixtures(text: string, report: (line: string) => void): FixtureReport {
  const result: FixtureReport = { passed: 0, failed: 0 };
  const check = (ok: boolean, what: string): void => {
    if (ok) {
      result.passed++;
    } else {
      result.failed++;
      report("FAIL " + what);
    }
  };
  const sameStream = (got: StreamResult, records: string[], end: string, pending: string, what: string): void => {
    let same = got.end === end && got.records.length === records.length;
    for (let i = 0; same && i < records.length; i++) same = got.records[i] === records[i];
    if (pending !== "-") same = same && bool(got.pending) === pending;
    check(same, what + ": got end " + got.end + " pending " + bool(got.pending) + " records [" + got.records.join(" | ") + "]");
  };

  const shared = newPacket();
  const validBytes: Bytes[] = [];
  const validRecords: string[] = [];
  const validVersions: number[] = [];
  const lines = text.split("\n");
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li];
    if (line === "") continue;
    const f = line.split("\t");
    const kind = f[0];
    if (kind === "V" || kind === "M" || kind === "S" || kind === "V5" || kind === "D5" || kind === "M5") {
      const version = kind.length === 2 ? 5 : 4;
      const name = f[1];
      const max = Number(f[2]);
      const bytes = fromHex(f[3]);
      const n = bytesLength(bytes);
      if (kind === "V" || kind === "V5" || kind === "D5") {
        const want = f[4];
        const p = newPacket();
        const res = parseOne(bytes, max, p, version);
        check(res.layer === "decode" && res.status === "OK", name + ": decodes (got " + res.layer + ":" + res.status + ")");
        check(res.consumed === n, name + ": uses every byte (" + res.consumed + " of " + n + ")");
        check(p.flags === byteAt(bytes, 0) % 16, name + ": flags");
        const got = version === 5 ? recordOf5(p) : recordOf(p);
        check(got === want, name + ": fields\n  got  " + got + "\n  want " + want);
        if (p.type === 3) {
          check(toHex(p.topicBytes) === toHex(utf8Encode(p.topic)), name + ": topic bytes as received");
          if (p.qos === 0) check(p.packetId === 0, name + ": QoS 0 has packet id 0");
        }
        if (kind !== "D5") {
          const again = toHex(version === 5 ? encodePacketV5(p) : encodePacket(p));
          check(again === f[3], name + ": encode(decode(bytes)) = bytes\n  got  " + again + "\n  want " + f[3]);
        }
        sameStream(runStream(oneByte(bytes), max, version), [want], "NEED_MORE", "false", name + ": one byte at a time");
        validBytes.push(bytes);
        validRecords.push(want);
        validVersions.push(version);
      } else if (kind === "M" || kind === "M5") {
        const want = f[4];
        const res = parseOne(bytes, max, newPacket(), version);
        check(res.status === want, name + ": reports " + want + " (got " + res.status + ")");
        if (res.layer === "decode") check(res.consumed === n, name + ": a decoder-level fixture is one whole frame");
        sameStream(runStream(oneByte(bytes), max, version), [], want, "-", name + ": one byte at a time");
      } else {
        const end = f[4];
        const pending = f[5];
        const records = f[6] === "" ? [] : f[6].split("|");
        sameStream(runStream([bytes], max, version), records, end, pending, name + ": one chunk");
        sameStream(runStream(oneByte(bytes), max, version), records, end, pending, name + ": one byte at a time");
        for (let k = 0; k < SPLITS.length; k++) sameStream(runStream(chunked(bytes, SPLITS[k]), max, version), records, end, pending, name + ": split " + k);
        const step = n > 2000 ? 97 : 1;
        for (let cut = 0; cut <= n; cut += step) sameStream(runStream(split(bytes, cut), max, version), records, end, pending, name + ": cut at " + cut);
      }
    } else if (kind === "T") {
      const filter = hexStr(f[2]);
      const topic = hexStr(f[3]);
      const want = f[1] === "match";
      check(topicMatches(filter, topic) === want, "topicMatches(" + f[2] + ", " + f[3] + ") should be " + bool(want));
    } else if (kind === "F") {
      check(isValidFilter(hexStr(f[2])) === (f[1] === "valid"), "isValidFilter(" + f[2] + ") should be " + bool(f[1] === "valid"));
    } else if (kind === "N") {
      check(isValidTopicName(hexStr(f[2])) === (f[1] === "valid"), "isValidTopicName(" + f[2] + ") should be " + bool(f[1] === "valid"));
    } else {
      check(false, "unknown line kind " + kind);
    }
  }

  // Every valid packet decoded into one shared record, twice: no stale fields (SRV-FH-1).
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < validBytes.length; i++) {
      const res = parseOne(validBytes[i], 268435460, shared, validVersions[i]);
      const got = validVersions[i] === 5 ? recordOf5(shared) : recordOf(shared);
      check(res.status === "OK" && got === validRecords[i], "shared record, packet " + i + ": " + got);
    }
  }
  // All valid packets of one version back to back, in ragged splits.
  for (let version = 4; version <= 5; version++) {
    const parts: string[] = [];
    const records: string[] = [];
    for (let i = 0; i < validBytes.length; i++) {
      if (validVersions[i] !== version) continue;
      parts.push(toHex(validBytes[i]));
      records.push(validRecords[i]);
    }
    if (parts.length === 0) continue;
    const all = fromHex(parts.join(""));
    for (let k = 0; k < SPLITS.length; k++) {
      sameStream(runStream(chunked(all, SPLITS[k]), 268435460, version), records, "NEED_MORE", "false", "all valid packets of version " + version + ", split " + k);
    }
  }
  return result;
}
