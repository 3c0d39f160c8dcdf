import { Bytes, bytesLength, utf8Encode } from "../bytes/bytes";
import { LogLevel } from "../platform";
import { isValidFilter, isValidTopicName } from "../topics/topic";
import { restoreOutbound } from "./delivery";
import { retainedStore } from "./retained";
import { sessionCreate, sessionFind } from "./sessions";
import { Broker } from "./state";
import { subscriptionAdd, SubResult } from "./subscriptions";

/**
 * Rebuilding broker state from durable storage at start-up, before any connection and before
 * the store is attached (so nothing is written back). Each function checks what it is given,
 * since a store file can be damaged, and refuses what does not fit the limits.
 */

/** Outbound message states as stored. */
export const enum StoredState {
  QUEUED = 0,
  /** Sent, awaiting PUBACK/PUBREC (FlowState.AWAIT_ACK). */
  SENT = 1,
  /** PUBREL sent, awaiting PUBCOMP (FlowState.AWAIT_PUBCOMP). */
  RELEASED = 2,
}

export function restoreRetained(b: Broker, topic: string, payload: Bytes, qos: number): boolean {
  if (!isValidTopicName(topic) || qos < 0 || qos > 2 || bytesLength(payload) === 0) return false;
  return retainedStore(b, { topic: topic, topicBytes: utf8Encode(topic), payload: payload, qos: qos });
}

/** A CleanSession = 0 session; returns its slot, or -1 (table full, duplicate or bad id). */
export function restoreSession(b: Broker, clientId: string): number {
  if (clientId.length === 0 || sessionFind(b, clientId) >= 0) return -1;
  const slot = sessionCreate(b, clientId, false);
  if (slot < 0) b.log.log(LogLevel.WARNING, "Session table full: stored session " + clientId + " not restored.");
  return slot;
}

export function restoreSubscription(b: Broker, slot: number, filter: string, qos: number): boolean {
  if (!isValidFilter(filter) || qos < 0 || qos > 2) return false;
  const r = subscriptionAdd(b, slot, filter, qos);
  return r === SubResult.ADDED || r === SubResult.REPLACED;
}

/** An outbound QoS 1/2 message of a session; call in sequence order. */
export function restoreMessage(b: Broker, slot: number, seq: number, topic: string, payload: Bytes, qos: number, retain: boolean, packetId: number, state: number): boolean {
  if (qos < 1 || qos > 2 || state < 0 || state > 2 || (state !== StoredState.QUEUED && (packetId < 1 || packetId > 65535))) return false;
  if (state === StoredState.RELEASED && qos !== 2) return false;
  if (state !== StoredState.RELEASED && !isValidTopicName(topic)) return false;
  const m = { topic: topic, topicBytes: utf8Encode(topic), payload: payload, qos: qos };
  const ok = restoreOutbound(b, b.sessions[slot], seq, m, qos, retain, packetId, state);
  if (!ok) b.log.log(LogLevel.WARNING, "Stored message " + seq + " of " + b.sessions[slot].clientId + " does not fit the session's limits: dropped.");
  return ok;
}

export function restoreInbound(b: Broker, slot: number, packetId: number): boolean {
  const s = b.sessions[slot];
  if (packetId < 1 || packetId > 65535 || s.inboundCount >= b.limits.maxInboundQos2) return false;
  s.inboundIds[s.inboundCount] = packetId;
  s.inboundCount++;
  return true;
}
