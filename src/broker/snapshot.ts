import { Bytes, EMPTY_BYTES, bytesCopy, bytesLength, byteAt, newWriter, utf8Decode, utf8Encode, writerByte, writerReset, writerTake } from "../bytes/bytes";
import { Status } from "../codec/status";
import { validateUtf8 } from "../codec/utf8";
import { NO_MESSAGE } from "./delivery";
import { queuedQos, queuedRetain } from "../qos/flows";
import { StoredState, restoreInboundId, restoreMessage, restoreRetained, restoreSession, restoreSessionExpiry, restoreSessionWill, restoreSubscription, restoreSubscription5 } from "./restore";
import { Broker, Message, SESSION_NEVER_EXPIRES, Session } from "./state";

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
 *
 * MQTT 5.0 state (builds with mqtt5 only) is in records of its own, written only where there is
 * some: a snapshot of 3.1.1 state is the same in every build, and a build without MQTT 5.0
 * refuses one that holds 5.0 state as damaged (BAD_RECORD) rather than half-read it.
 *  - CLOCK: the clock (ms, 6 bytes) when the snapshot was written, before the first time;
 *  - MESSAGE5 before a RETAINED, FLIGHT, QUEUED or WILL record: that message's expiry (a
 *    time), its properties (4-byte length) and its Subscription Identifiers (a count byte, then
 *    4 bytes each);
 *  - OPTIONS5 before a SUBSCRIPTION: flags (No Local + 2 × Retain As Published) and the
 *    Subscription Identifier (4 bytes);
 *  - SESSION5 after a SESSION: Session Expiry Interval (4 bytes) and when it expires (a time);
 *  - WILL after a SESSION: a will waiting for its delay: when it goes (a time), QoS, retain,
 *    topic and payload.
 * A time is 6 bytes: 0 for none, else 1 + the ms it had left when written. Read back, it counts
 * from the moment of writing when the clock went on from there (a wall clock: the time the
 * board was off counts), or from the restore when the clock began again (a clock from boot:
 * only the time before the write counts).
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
  // MQTT 5.0 only:
  CLOCK = 7,
  MESSAGE5 = 8,
  OPTIONS5 = 9,
  SESSION5 = 10,
  WILL = 11,
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

// ---------------------------------------------------------------------------------------------
// MQTT 5.0 records (reached behind MIDGE_FEATURES.mqtt5 only)

/** Clock when the snapshot being written was begun, and whether its CLOCK record went out. */
let writtenAt = 0;
let clockOut = false;

function u32(n: number): void {
  u16(Math.floor(n / 65536));
  u16(n % 65536);
}

/** A 6-byte number (up to 2^48 - 1). */
function u48(n: number): void {
  u16(Math.floor(n / 4294967296));
  u32(n % 4294967296);
}

/** A time (clock ms, -1 none) as the snapshot keeps it: 0 none, else 1 + what is left. */
function putTime(t: number): void {
  u48(t < 0 ? 0 : 1 + (t > writtenAt ? Math.floor(t - writtenAt) : 0));
}

/** Emits the CLOCK record before the first record that holds a time. */
function clockFirst(sink: SnapshotSink): void {
  if (clockOut) return;
  clockOut = true;
  writerByte(out, Tag.CLOCK);
  u48(Math.floor(writtenAt));
  emit(sink);
}

/** The MESSAGE5 record of m, before m's own record; nothing when m has no 5.0 fields. */
function putMessage5(sink: SnapshotSink, m: Message): void {
  const props = m.props === undefined ? EMPTY_BYTES : m.props;
  const expiresAt = m.expiresAt === undefined ? -1 : m.expiresAt;
  const ids = m.subIds;
  const idCount = ids === undefined ? 0 : ids.length;
  if (bytesLength(props) === 0 && expiresAt < 0 && idCount === 0) return;
  clockFirst(sink);
  writerByte(out, Tag.MESSAGE5);
  putTime(expiresAt);
  u32(bytesLength(props));
  emit(sink);
  sink.put(props);
  writerByte(out, idCount);
  for (let i = 0; i < idCount; i++) u32((ids as number[])[i]);
  emit(sink);
}

/** A session's SESSION5 and WILL records (after its SESSION record), where it has such state. */
function putSession5(sink: SnapshotSink, s: Session): void {
  if (s.expiry !== SESSION_NEVER_EXPIRES || s.expiresAt >= 0) {
    clockFirst(sink);
    writerByte(out, Tag.SESSION5);
    u32(s.expiry);
    putTime(s.expiresAt);
    emit(sink);
  }
  if (s.willAt >= 0) {
    clockFirst(sink);
    putMessage5(sink, s.willMessage);
    writerByte(out, Tag.WILL);
    putTime(s.willAt);
    writerByte(out, s.willMessage.qos);
    writerByte(out, s.willRetain ? 1 : 0);
    putMessage(sink, s.willMessage);
  }
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
  if (MIDGE_FEATURES.mqtt5) putSession5(sink, s);
  for (let i = 0; i < b.subTop; i++) {
    if (b.subSession[i] !== slot) continue;
    // A shared subscription's whole `$share/...` filter (mqtt5 builds: shared.ts).
    const filter = utf8Encode(MIDGE_FEATURES.mqtt5 && b.subShare[i] !== "" ? b.subShare[i] : b.subFilter[i]);
    if (MIDGE_FEATURES.mqtt5 && (b.subFlags[i] !== 0 || b.subIds[i] !== 0)) {
      writerByte(out, Tag.OPTIONS5);
      writerByte(out, b.subFlags[i]);
      u32(b.subIds[i]);
    }
    writerByte(out, Tag.SUBSCRIPTION);
    writerByte(out, b.subQos[i]);
    u16(bytesLength(filter));
    emit(sink);
    sink.put(filter);
  }
  for (let i = 0; i < s.flightCount; i++) {
    const f = s.flights[i];
    if (MIDGE_FEATURES.mqtt5) putMessage5(sink, f.message); // nothing for a released one (NO_MESSAGE)
    writerByte(out, Tag.FLIGHT);
    writerByte(out, f.state);
    writerByte(out, f.qos);
    writerByte(out, f.retain ? 1 : 0);
    u16(f.packetId);
    putMessage(sink, f.message);
  }
  for (let k = 0; k < s.queueCount; k++) {
    const at = (s.queueHead + k) % b.limits.maxQueued;
    if (MIDGE_FEATURES.mqtt5) putMessage5(sink, s.queue[at]);
    writerByte(out, Tag.QUEUED);
    writerByte(out, queuedQos(s, at));
    writerByte(out, queuedRetain(s, at) ? 1 : 0);
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
  if (MIDGE_FEATURES.mqtt5) {
    writtenAt = b.clock.now();
    clockOut = false;
  }
  for (let i = 0; i < b.retainedCount; i++) {
    const m = b.retained[i];
    if (MIDGE_FEATURES.mqtt5) putMessage5(sink, m);
    writerByte(out, Tag.RETAINED);
    writerByte(out, m.qos);
    putMessage(sink, m);
  }
  for (let i = 0; i < b.sessions.length; i++) {
    const s = b.sessions[i];
    if (s.clientId !== "" && !s.cleanSession) putSession(b, sink, i, s);
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

// MQTT 5.0 fields read ahead of the record they belong to (MESSAGE5, OPTIONS5), and the clock.
/** Where times count from: the clock at the write if it went on from there, else now. */
let timeBase = 0;
let pendingProps: Bytes = EMPTY_BYTES;
let pendingExpiry = -1;
let pendingIds: number[] = [];
let pendingFlags = 0;
let pendingSubId = 0;

function rU32(): number {
  return rU16() * 65536 + rU16();
}

function rU48(): number {
  return rU16() * 4294967296 + rU32();
}

/** A time (see putTime) in this process's clock; -1 none. */
function rTime(): number {
  const v = rU48();
  return v === 0 ? -1 : timeBase + v - 1;
}

/** Gives m the MESSAGE5 fields read before its record (none if there was none), and clears them. */
function withPending(m: Message): Message {
  if (m !== NO_MESSAGE) {
    m.props = pendingProps;
    m.expiresAt = pendingExpiry;
    if (pendingIds.length > 0) m.subIds = pendingIds;
  }
  pendingProps = EMPTY_BYTES;
  pendingExpiry = -1;
  pendingIds = [];
  return m;
}

/**
 * An MQTT 5.0 record (tag) of the snapshot: read, and applied to the session in `slot` (-1 =
 * none) where it is one of its own. A SnapshotResult: OK, or what is wrong with the format.
 */
function restore5(b: Broker, tag: number, slot: number, apply: boolean): number {
  if (tag === Tag.CLOCK) {
    if (dataEnd - pos < 6) return SnapshotResult.TRUNCATED;
    const at = rU48();
    const now = b.clock.now();
    timeBase = at < now ? at : now;
  } else if (tag === Tag.MESSAGE5) {
    if (dataEnd - pos < 10) return SnapshotResult.TRUNCATED;
    pendingExpiry = rTime();
    truncated = !rField(true);
    if (truncated || dataEnd - pos < 1) return SnapshotResult.TRUNCATED;
    pendingProps = apply ? bytesCopy(data, fieldStart, fieldEnd) : EMPTY_BYTES;
    const n = rU8();
    if (dataEnd - pos < n * 4) return SnapshotResult.TRUNCATED;
    pendingIds = [];
    for (let i = 0; i < n; i++) pendingIds[i] = rU32();
  } else if (tag === Tag.OPTIONS5) {
    if (dataEnd - pos < 5) return SnapshotResult.TRUNCATED;
    pendingFlags = rU8();
    pendingSubId = rU32();
  } else if (tag === Tag.SESSION5) {
    if (dataEnd - pos < 10) return SnapshotResult.TRUNCATED;
    const expiry = rU32();
    const expiresAt = rTime();
    if (slot >= 0) restoreSessionExpiry(b, slot, expiry, expiresAt);
  } else if (tag === Tag.WILL) {
    if (dataEnd - pos < 8) return SnapshotResult.TRUNCATED;
    const at = rTime();
    const qos = rU8();
    const retain = rU8() === 1;
    const m = withPending(rMessage(qos, slot >= 0));
    if (truncated) return SnapshotResult.TRUNCATED;
    if (slot >= 0) restoreSessionWill(b, slot, at, m, retain);
  } else {
    return SnapshotResult.BAD_RECORD;
  }
  return SnapshotResult.OK;
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
  if (MIDGE_FEATURES.mqtt5) {
    timeBase = b.clock.now();
    withPending(NO_MESSAGE);
    pendingFlags = 0;
    pendingSubId = 0;
  }
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
      let m = rMessage(qos, apply);
      if (truncated) return SnapshotResult.TRUNCATED;
      if (MIDGE_FEATURES.mqtt5) m = withPending(m);
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
      if (MIDGE_FEATURES.mqtt5) {
        if (slot >= 0) restoreSubscription5(b, slot, filter, qos, pendingFlags, pendingSubId);
        pendingFlags = 0;
        pendingSubId = 0;
      } else if (slot >= 0) {
        restoreSubscription(b, slot, filter, qos);
      }
    } else if (tag === Tag.FLIGHT || tag === Tag.QUEUED) {
      const flight = tag === Tag.FLIGHT;
      if (dataEnd - pos < (flight ? 5 : 2)) return SnapshotResult.TRUNCATED;
      const state = flight ? rU8() : StoredState.QUEUED;
      const qos = rU8();
      const retain = rU8() === 1;
      const id = flight ? rU16() : 0;
      let m = rMessage(qos, slot >= 0);
      if (truncated) return SnapshotResult.TRUNCATED;
      if (MIDGE_FEATURES.mqtt5) m = withPending(m);
      // A FLIGHT record with state 0 would be a queued message with an id: not one we write.
      if (slot >= 0) restoreMessage(b, slot, seq, m, retain, id, flight && state === StoredState.QUEUED ? -1 : state);
      seq++;
    } else if (tag === Tag.INBOUND) {
      if (dataEnd - pos < 2) return SnapshotResult.TRUNCATED;
      const id = rU16();
      if (slot >= 0) restoreInboundId(b, slot, id);
    } else if (MIDGE_FEATURES.mqtt5) {
      const r = restore5(b, tag, slot, apply);
      if (r !== SnapshotResult.OK) return r;
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
