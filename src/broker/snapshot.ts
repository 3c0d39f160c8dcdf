import { Bytes, bytesCopy, bytesLength, byteAt, newWriter, utf8Decode, utf8Encode, writerByte, writerReset, writerTake } from "../bytes/bytes";
import { Status } from "../codec/status";
import { validateUtf8 } from "../codec/utf8";
import { NO_MESSAGE } from "./delivery";
import { StoredState, restoreInboundId, restoreMessage, restoreRetained, restoreSession, restoreSubscription } from "./restore";
import { Broker, Message, Session } from "./state";

/**
 * Snapshots of the state worth keeping across a restart: retained messages and persistent
 * (CleanSession = 0) sessions with their subscriptions, in-flight and queued outbound
 * messages and inbound QoS 2 packet ids (MQTT-3.1.2-4). A store calls snapshotWrite when
 * b.changes differs from the value it had at the last save (see Broker.changes) and
 * snapshotRestore once at start-up, before any connection; restoring goes through restore.ts,
 * the same checks as every other store.
 *
 * Format: "MS" and a version byte, then records, each a tag byte and fixed fields, ending with
 * tag 0. Numbers are big-endian; strings and topics have a 2-byte length, payloads a 4-byte
 * one. Records of a session follow its SESSION record. The snapshot is handed out in pieces
 * (a record header, then topic and payload as they are stored, not copied), so a store can
 * write it to flash piece by piece without holding it whole in RAM.
 */
export interface SnapshotSink {
  put(data: Bytes): void;
}

export const enum SnapshotResult {
  OK = 0,
  BAD_HEADER = 1,
  TRUNCATED = 2,
  BAD_RECORD = 3,
}

const enum Tag {
  DONE = 0,
  RETAINED = 1,
  SESSION = 2,
  SUBSCRIPTION = 3,
  FLIGHT = 4,
  QUEUED = 5,
  INBOUND = 6,
}

const MAGIC_M = 0x4d;
const MAGIC_S = 0x53;
const VERSION = 1;

// Record headers are built here; they are a few bytes each.
const out = newWriter(16);

function u16(n: number): void {
  writerByte(out, Math.floor(n / 256));
  writerByte(out, n % 256);
}

function emit(sink: SnapshotSink): void {
  sink.put(writerTake(out));
  writerReset(out);
}

/** Topic (2-byte length) and payload (4-byte length), each followed by its bytes as stored. */
function putMessage(sink: SnapshotSink, m: Message): void {
  u16(bytesLength(m.topicBytes));
  emit(sink);
  sink.put(m.topicBytes);
  const n = bytesLength(m.payload);
  u16(Math.floor(n / 65536));
  u16(n % 65536);
  emit(sink);
  sink.put(m.payload);
}

function putSession(b: Broker, sink: SnapshotSink, slot: number, s: Session): void {
  const id = utf8Encode(s.clientId);
  writerByte(out, Tag.SESSION);
  u16(s.nextPacketId);
  u16(bytesLength(id));
  emit(sink);
  sink.put(id);
  for (let i = 0; i < b.subTop; i++) {
    if (b.subSession[i] !== slot) continue;
    // A shared subscription's whole `$share/...` filter (mqtt5 builds: shared.ts).
    const filter = utf8Encode(MIDGE_FEATURES.mqtt5 && b.subShare[i] !== "" ? b.subShare[i] : b.subFilter[i]);
    writerByte(out, Tag.SUBSCRIPTION);
    writerByte(out, b.subQos[i]);
    u16(bytesLength(filter));
    emit(sink);
    sink.put(filter);
  }
  for (let i = 0; i < s.flightCount; i++) {
    const f = s.flights[i];
    writerByte(out, Tag.FLIGHT);
    writerByte(out, f.state);
    writerByte(out, f.qos);
    writerByte(out, f.retain ? 1 : 0);
    u16(f.packetId);
    putMessage(sink, f.message);
  }
  for (let k = 0; k < s.queueCount; k++) {
    const at = (s.queueHead + k) % b.limits.maxQueued;
    writerByte(out, Tag.QUEUED);
    writerByte(out, s.queueQos[at]);
    writerByte(out, s.queueRetain[at] ? 1 : 0);
    putMessage(sink, s.queue[at]);
  }
  for (let i = 0; i < s.inboundCount; i++) {
    writerByte(out, Tag.INBOUND);
    u16(s.inboundIds[i]);
    emit(sink);
  }
}

/** Hands the whole snapshot to sink.put, piece by piece, in order. */
export function snapshotWrite(b: Broker, sink: SnapshotSink): void {
  writerReset(out);
  writerByte(out, MAGIC_M);
  writerByte(out, MAGIC_S);
  writerByte(out, VERSION);
  emit(sink);
  for (let i = 0; i < b.retainedCount; i++) {
    const m = b.retained[i];
    writerByte(out, Tag.RETAINED);
    writerByte(out, m.qos);
    putMessage(sink, m);
  }
  for (let i = 0; i < b.sessions.length; i++) {
    const s = b.sessions[i];
    if (s.used && !s.cleanSession) putSession(b, sink, i, s);
  }
  writerByte(out, Tag.DONE);
  emit(sink);
}

interface Counter {
  total: number;
  put(data: Bytes): void;
}

const counter: Counter = {
  total: 0,
  put(data: Bytes): void {
    counter.total += bytesLength(data);
  },
};

/** Size in bytes of the snapshot snapshotWrite would produce now. */
export function snapshotSize(b: Broker): number {
  counter.total = 0;
  snapshotWrite(b, counter);
  return counter.total;
}

// Reader over the snapshot being restored (restoring is synchronous).
let data: Bytes;
let pos = 0;
let dataEnd = 0;
let fieldStart = 0;
let fieldEnd = 0;

function rU8(): number {
  const v = byteAt(data, pos);
  pos++;
  return v;
}

function rU16(): number {
  const v = byteAt(data, pos) * 256 + byteAt(data, pos + 1);
  pos += 2;
  return v;
}

/** A field with a 2-byte (or, for payloads, 4-byte) length into [fieldStart, fieldEnd). */
function rField(long: boolean): boolean {
  if (dataEnd - pos < (long ? 4 : 2)) return false;
  let n = rU16();
  if (long) n = n * 65536 + rU16();
  if (dataEnd - pos < n) return false;
  fieldStart = pos;
  fieldEnd = pos + n;
  pos += n;
  return true;
}

/** Whether the last rString or rMessage ran past the end of the snapshot. */
let truncated = false;

/**
 * A UTF-8 string field, decoded; "" when it is not valid UTF-8 (the record checks of
 * restore.ts refuse that as they refuse any bad id, topic or filter), or when truncated.
 */
function rString(): string {
  truncated = !rField(false);
  if (truncated || validateUtf8(data, fieldStart, fieldEnd) !== Status.OK) return "";
  return utf8Decode(data, fieldStart, fieldEnd);
}

/** Reads topic and payload; the message (copied out of the snapshot), NO_MESSAGE unless keep. */
function rMessage(qos: number, keep: boolean): Message {
  const topic = rString();
  if (truncated) return NO_MESSAGE;
  const topicStart = fieldStart;
  const topicEnd = fieldEnd;
  truncated = !rField(true);
  if (truncated || !keep) return NO_MESSAGE;
  return {
    topic: topic,
    topicBytes: bytesCopy(data, topicStart, topicEnd),
    payload: bytesCopy(data, fieldStart, fieldEnd),
    qos: qos,
  };
}

/**
 * One pass over the snapshot. With apply false it only checks the format (a snapshot cut
 * short or with an unknown record is damaged as a whole); with apply true it hands each record
 * to restore.ts, which checks its values and limits like those of any other store.
 */
function restorePass(b: Broker, snapshot: Bytes, apply: boolean): SnapshotResult {
  data = snapshot;
  dataEnd = bytesLength(snapshot);
  pos = 0;
  if (dataEnd < 3 || rU8() !== MAGIC_M || rU8() !== MAGIC_S || rU8() !== VERSION) return SnapshotResult.BAD_HEADER;
  /** Slot of the session the records belong to; -1 = none, or not restored. */
  let slot = -1;
  /** Sequence number of the session's next message record (as a store numbers them: from 1). */
  let seq = 1;
  for (;;) {
    if (pos >= dataEnd) return SnapshotResult.TRUNCATED;
    const tag = rU8();
    if (tag === Tag.DONE) return pos === dataEnd ? SnapshotResult.OK : SnapshotResult.BAD_RECORD;
    if (tag === Tag.RETAINED) {
      if (dataEnd - pos < 1) return SnapshotResult.TRUNCATED;
      const qos = rU8();
      const m = rMessage(qos, apply);
      if (truncated) return SnapshotResult.TRUNCATED;
      if (apply) restoreRetained(b, m);
    } else if (tag === Tag.SESSION) {
      if (dataEnd - pos < 2) return SnapshotResult.TRUNCATED;
      const nextId = rU16();
      const clientId = rString();
      if (truncated) return SnapshotResult.TRUNCATED;
      slot = apply ? restoreSession(b, clientId, nextId) : -1;
      seq = 1;
    } else if (tag === Tag.SUBSCRIPTION) {
      if (dataEnd - pos < 1) return SnapshotResult.TRUNCATED;
      const qos = rU8();
      const filter = rString();
      if (truncated) return SnapshotResult.TRUNCATED;
      if (slot >= 0) restoreSubscription(b, slot, filter, qos);
    } else if (tag === Tag.FLIGHT || tag === Tag.QUEUED) {
      const flight = tag === Tag.FLIGHT;
      if (dataEnd - pos < (flight ? 5 : 2)) return SnapshotResult.TRUNCATED;
      const state = flight ? rU8() : StoredState.QUEUED;
      const qos = rU8();
      const retain = rU8() === 1;
      const id = flight ? rU16() : 0;
      const m = rMessage(qos, slot >= 0);
      if (truncated) return SnapshotResult.TRUNCATED;
      // A FLIGHT record with state 0 would be a queued message with an id: not one we write.
      if (slot >= 0) restoreMessage(b, slot, seq, m, retain, id, flight && state === StoredState.QUEUED ? -1 : state);
      seq++;
    } else if (tag === Tag.INBOUND) {
      if (dataEnd - pos < 2) return SnapshotResult.TRUNCATED;
      const id = rU16();
      if (slot >= 0) restoreInboundId(b, slot, id);
    } else {
      return SnapshotResult.BAD_RECORD;
    }
  }
}

/**
 * Restores a snapshot into a broker that has no connections yet. The whole snapshot is
 * checked first, so a damaged one (say, power lost while writing it) restores nothing.
 */
export function snapshotRestore(b: Broker, snapshot: Bytes): SnapshotResult {
  const checked = restorePass(b, snapshot, false);
  if (checked !== SnapshotResult.OK) return checked;
  return restorePass(b, snapshot, true);
}
