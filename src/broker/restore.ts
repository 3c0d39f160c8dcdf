import { Bytes, bytesLength, utf8Encode, utf8Length } from "../bytes/bytes";
import { messagePropertiesValid } from "../codec/decode5";
import { logf, render } from "../log/log";
import { Msg } from "../log/messages";
import { LogLevel } from "../platform";
import { isValidFilter, isValidTopicName } from "../topics/topic";
import { NO_MESSAGE, restoreInbound, restoreOutbound } from "./delivery";
import { retainedStore } from "./retained";
import { sessionCreate, sessionFind } from "./sessions";
import { Broker, Message, SESSION_NEVER_EXPIRES } from "./state";
import { SubResult, subscriptionAdd } from "./subscriptions";

/**
 * The one way stored state comes back at start-up, whatever kept it (the SQLite store on Node,
 * the whole-state snapshot on Espruino): before any connection and before a store is attached
 * (so nothing is written back). A store reads its records and hands each to the function for
 * its kind, sessions before their subscriptions, messages and inbound ids. Every record is
 * checked here, since a store can be damaged or written under other limits: one that is not
 * valid is refused with a log line and the rest is restored; one that no longer fits the
 * limits is dropped, as it would be at run time.
 */

/** Outbound message states as stored (the same numbers as FlowState, 0 for queued). */
export const enum StoredState {
  QUEUED = 0,
  /** Sent, awaiting PUBACK/PUBREC (FlowState.AWAIT_ACK). */
  SENT = 1,
  /** PUBREL sent, awaiting PUBCOMP (FlowState.AWAIT_PUBCOMP); topic and payload are not kept. */
  RELEASED = 2,
}

/** Why a stored record is refused (its text: message Msg.FAULT_BASE + fault). */
export const enum Fault {
  NONE = 0,
  CLIENT_ID = 1,
  TOPIC = 2,
  FILTER = 3,
  QOS = 4,
  PACKET_ID = 5,
  STATE = 6,
  SIZE = 7,
  SEQUENCE = 8,
  DUPLICATE = 9,
}

function isQos(qos: number): boolean {
  return qos === 0 || qos === 1 || qos === 2;
}

function isPacketId(id: number): boolean {
  return id >= 1 && id <= 65535 && Math.floor(id) === id;
}

/** A topic name whose UTF-8 form is topicBytes, within maxTopicLength. */
function checkTopic(b: Broker, topic: string, topicBytes: Bytes): number {
  const n = bytesLength(topicBytes);
  if (!isValidTopicName(topic) || n > b.limits.maxTopicLength || n > 65535) return Fault.TOPIC;
  return Fault.NONE;
}

/** A payload the broker would have accepted (messageSizeLimit, 0 = none). */
function checkPayload(b: Broker, payload: Bytes): number {
  const limit = b.limits.messageSizeLimit;
  return limit > 0 && bytesLength(payload) > limit ? Fault.SIZE : Fault.NONE;
}

export function checkRetained(b: Broker, m: Message): number {
  if (!isQos(m.qos)) return Fault.QOS;
  const topic = checkTopic(b, m.topic, m.topicBytes);
  if (topic !== Fault.NONE) return topic;
  const n = bytesLength(m.payload);
  // An empty payload deletes a retained message (MQTT-3.3.1-10): it is never stored.
  if (n === 0 || bytesLength(m.topicBytes) + n > b.limits.maxRetainedBytes) return Fault.SIZE;
  return checkPayload(b, m.payload);
}

export function checkClientId(b: Broker, clientId: string): number {
  const n = utf8Length(clientId);
  if (n === 0 || n > b.limits.maxClientIdLength || n > 65535 || clientId.indexOf("\u0000") >= 0) return Fault.CLIENT_ID;
  return Fault.NONE;
}

export function checkSubscription(b: Broker, filter: string, qos: number): number {
  if (!isQos(qos)) return Fault.QOS;
  const n = utf8Length(filter);
  if (!isValidFilter(filter) || n > b.limits.maxTopicLength || n > 65535) return Fault.FILTER;
  return Fault.NONE;
}

/** An outbound message; m.qos is its delivery QoS. Released ones have no topic or payload to check. */
export function checkMessage(b: Broker, seq: number, m: Message, packetId: number, state: number): number {
  if (seq < 1 || Math.floor(seq) !== seq) return Fault.SEQUENCE;
  if (m.qos !== 1 && m.qos !== 2) return Fault.QOS;
  if (state !== StoredState.QUEUED && state !== StoredState.SENT && state !== StoredState.RELEASED) return Fault.STATE;
  if (state === StoredState.RELEASED && m.qos !== 2) return Fault.STATE;
  if (state !== StoredState.QUEUED && !isPacketId(packetId)) return Fault.PACKET_ID;
  if (state === StoredState.RELEASED) return Fault.NONE;
  const topic = checkTopic(b, m.topic, m.topicBytes);
  if (topic !== Fault.NONE) return topic;
  return checkPayload(b, m.payload);
}

/** Logs a refused record; returns false. */
function refuse(b: Broker, what: string, fault: number): boolean {
  logf(b.log, LogLevel.WARNING, Msg.RESTORE_REFUSED, what, render(Msg.FAULT_BASE + fault));
  return false;
}

/** Logs a record that is valid but no longer fits the limits; returns false. */
function drop(b: Broker, what: string): boolean {
  logf(b.log, LogLevel.WARNING, Msg.RESTORE_DROPPED, what);
  return false;
}

/** Topics and ids as they go into log lines: long ones are cut. */
function shown(s: string): string {
  return s.length > 64 ? s.substring(0, 64) + "..." : s;
}

/** A message as a store read it back (topic encoded here). */
export function storedMessage(topic: string, payload: Bytes, qos: number): Message {
  return { topic: topic, topicBytes: utf8Encode(topic), payload: payload, qos: qos };
}

// ---------------------------------------------------------------------------------------------
// MQTT 5.0 fields (mqtt5 builds only; reached behind MIDGE_FEATURES.mqtt5, dropped otherwise).
// Times are already in this process's clock: the store converted them.

/** Largest Subscription Identifier (a Variable Byte Integer, §3.8.2.1.2). */
const MAX_SUBSCRIPTION_ID = 268435455;

function isWhole(n: number, min: number, max: number): boolean {
  return n >= min && n <= max && Math.floor(n) === n;
}

/** A deadline as stored: clock ms, or -1 for none. */
function isTime(t: number): boolean {
  return t === -1 || t >= 0;
}

/**
 * A stored message with its MQTT 5.0 fields: props as Message.props keeps them (EMPTY_BYTES for
 * none), expiresAt (clock ms, -1 none), subIds (the session's Subscription Identifiers; [] for
 * none, and none for retained messages). Checked by the restore function it is handed to.
 */
export function storedMessage5(topic: string, payload: Bytes, qos: number, props: Bytes, expiresAt: number, subIds: number[]): Message {
  const m = storedMessage(topic, payload, qos);
  m.props = props;
  m.expiresAt = expiresAt;
  if (subIds.length > 0) m.subIds = subIds;
  return m;
}

/** Fault.NONE, or -1 when the message's MQTT 5.0 fields are not valid. */
function checkMessage5(b: Broker, m: Message): number {
  if (!MIDGE_FEATURES.mqtt5) return Fault.NONE;
  if (m.expiresAt !== undefined && !isTime(m.expiresAt)) return -1;
  if (m.props !== undefined && bytesLength(m.props) > 0 && !messagePropertiesValid(m.props, b.replyProps)) return -1;
  const ids = m.subIds;
  if (ids !== undefined) for (let i = 0; i < ids.length; i++) if (!isWhole(ids[i], 1, MAX_SUBSCRIPTION_ID)) return -1;
  return Fault.NONE;
}

/** Logs a record refused for its MQTT 5.0 fields; returns false. */
function refuse5(b: Broker, what: string): boolean {
  logf(b.log, LogLevel.WARNING, Msg.RESTORE_REFUSED, what, render(Msg.FAULT_V5));
  return false;
}

/**
 * The Session Expiry Interval (s) of a restored session and when it expires (clock ms, -1 = it
 * was not counting down). A session whose client was connected when the broker stopped starts
 * its countdown now, as if the connection had closed at the restart; one whose time ran out
 * while the broker was down is ended by the first brokerTick (or a CONNECT naming it), its
 * waiting will published first, as if the broker had been running. Without this call a
 * restored session never expires (a 3.1.1 session, or one stored by a build without MQTT 5.0).
 */
export function restoreSessionExpiry(b: Broker, slot: number, expiry: number, expiresAt: number): boolean {
  const s = b.sessions[slot];
  if (!isWhole(expiry, 0, SESSION_NEVER_EXPIRES) || !isTime(expiresAt)) return refuse5(b, "session expiry of " + shown(s.clientId));
  s.expiry = expiry;
  if (expiresAt >= 0) s.expiresAt = expiresAt;
  else s.expiresAt = expiry === SESSION_NEVER_EXPIRES ? -1 : b.clock.now() + expiry * 1000;
  b.changes++;
  return true;
}

/**
 * restoreSubscription with the subscription's MQTT 5.0 options: flags (Broker.subFlags: No
 * Local + 2 × Retain As Published) and subId (Broker.subIds, 0 = none). mqtt5 builds only.
 */
export function restoreSubscription5(b: Broker, slot: number, filter: string, qos: number, flags: number, subId: number): boolean {
  const s = b.sessions[slot];
  const what = "subscription " + shown(filter) + " of " + s.clientId;
  const fault = checkSubscription(b, filter, qos);
  if (fault !== Fault.NONE) return refuse(b, what, fault);
  if (!isWhole(flags, 0, 3) || !isWhole(subId, 0, MAX_SUBSCRIPTION_ID)) return refuse5(b, what);
  const r = subscriptionAdd(b, slot, filter, qos, flags, subId);
  return r === SubResult.ADDED || r === SubResult.REPLACED || drop(b, what);
}

/**
 * A will waiting in a restored session for its Will Delay Interval (MQTT-3.1.3-9): published
 * at willAt (clock ms; at once if that passed while the broker was down: the spec lets a
 * server defer a will over its own failure, §3.1.3.2.2) unless the client comes back first.
 */
export function restoreSessionWill(b: Broker, slot: number, willAt: number, m: Message, retain: boolean): boolean {
  const s = b.sessions[slot];
  const what = "will of " + shown(s.clientId);
  if (!MIDGE_FEATURES.will) return refuse(b, what, Fault.SIZE);
  if (!isQos(m.qos) || (m.qos === 2 && !MIDGE_FEATURES.qos2)) return refuse(b, what, Fault.QOS);
  const fault = checkTopic(b, m.topic, m.topicBytes);
  if (fault !== Fault.NONE) return refuse(b, what, fault);
  if (!isTime(willAt) || willAt < 0 || checkMessage5(b, m) !== Fault.NONE) return refuse5(b, what);
  s.willAt = willAt;
  s.willMessage = m;
  s.willRetain = retain;
  b.changes++;
  return true;
}

export function restoreRetained(b: Broker, m: Message): boolean {
  if (MIDGE_FEATURES.retained) {
    const fault = checkRetained(b, m);
    if (fault !== Fault.NONE) return refuse(b, "retained message on " + shown(m.topic), fault);
    if (MIDGE_FEATURES.mqtt5 && checkMessage5(b, m) !== Fault.NONE) return refuse5(b, "retained message on " + shown(m.topic));
    return retainedStore(b, m);
  }
  // A build without retained messages keeps none (the fault's text says why).
  return refuse(b, "retained message on " + shown(m.topic), Fault.SIZE);
}

/**
 * A CleanSession = 0 session; returns its slot, or -1 (refused, duplicate or table full).
 * nextPacketId: where its packet ids continue (outside 1..65535: from 1; restored in-flight
 * ids move it on in any case).
 */
export function restoreSession(b: Broker, clientId: string, nextPacketId: number): number {
  let fault = checkClientId(b, clientId);
  if (fault === Fault.NONE && sessionFind(b, clientId) >= 0) fault = Fault.DUPLICATE;
  if (fault !== Fault.NONE) {
    refuse(b, "session " + shown(clientId) + " (with its subscriptions and messages)", fault);
    return -1;
  }
  const slot = sessionCreate(b, clientId, false);
  if (slot < 0) {
    drop(b, "session " + shown(clientId));
    return -1;
  }
  if (isPacketId(nextPacketId)) b.sessions[slot].nextPacketId = nextPacketId;
  return slot;
}

export function restoreSubscription(b: Broker, slot: number, filter: string, qos: number): boolean {
  const s = b.sessions[slot];
  const fault = checkSubscription(b, filter, qos);
  if (fault !== Fault.NONE) return refuse(b, "subscription " + shown(filter) + " of " + s.clientId, fault);
  const r = subscriptionAdd(b, slot, filter, qos, 0, 0);
  return r === SubResult.ADDED || r === SubResult.REPLACED || drop(b, "subscription " + shown(filter) + " of " + s.clientId);
}

/**
 * An outbound QoS 1/2 message of a session (m.qos its delivery QoS) in state StoredState.*;
 * call in sequence order per session.
 */
export function restoreMessage(b: Broker, slot: number, seq: number, m: Message, retain: boolean, packetId: number, state: number): boolean {
  const s = b.sessions[slot];
  const fault = checkMessage(b, seq, m, packetId, state);
  if (fault !== Fault.NONE) return refuse(b, "message " + seq + " of " + s.clientId, fault);
  if (MIDGE_FEATURES.mqtt5 && state !== StoredState.RELEASED && checkMessage5(b, m) !== Fault.NONE) return refuse5(b, "message " + seq + " of " + s.clientId);
  const kept = state === StoredState.RELEASED ? NO_MESSAGE : m;
  if (restoreOutbound(b, s, seq, kept, m.qos, retain, state === StoredState.QUEUED ? 0 : packetId, state)) return true;
  b.stats.messagesDropped++;
  return drop(b, "message " + seq + " of " + s.clientId);
}

/** An inbound QoS 2 packet id of a session that got PUBREC and awaits PUBREL. */
export function restoreInboundId(b: Broker, slot: number, packetId: number): boolean {
  const s = b.sessions[slot];
  const what = "inbound QoS 2 id " + packetId + " of " + s.clientId;
  if (!isPacketId(packetId)) return refuse(b, what, Fault.PACKET_ID);
  if (restoreInbound(b, s, packetId)) return true;
  logf(b.log, LogLevel.WARNING, Msg.RESTORE_INBOUND_DROPPED, what);
  return false;
}
