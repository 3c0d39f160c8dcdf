import { topicMatches } from "../topics/topic";
import { storeFor } from "./persist";
import { Broker } from "./state";

/**
 * The subscription table: one flat, bounded table for all sessions, scanned when routing.
 * For the table sizes of small boards a scan is smaller and about as fast as a tree.
 */

export const enum SubResult {
  ADDED = 0,
  REPLACED = 1,
  CLIENT_LIMIT = 2,
  TABLE_FULL = 3,
}

function findSubscription(b: Broker, session: number, filter: string): number {
  for (let i = 0; i < b.subTop; i++) {
    if (b.subSession[i] === session && b.subFilter[i] === filter) return i;
  }
  return -1;
}

/** Adds or replaces (MQTT-3.8.4-3: same filter, new QoS, no gap) a subscription. */
export function subscriptionAdd(b: Broker, session: number, filter: string, qos: number): SubResult {
  const existing = findSubscription(b, session, filter);
  if (existing >= 0) {
    b.subQos[existing] = qos;
    b.changes++;
    const st = storeFor(b, b.sessions[session]);
    if (st !== undefined) st.subscriptionSet(b.sessions[session].clientId, filter, qos);
    return SubResult.REPLACED;
  }
  const s = b.sessions[session];
  if (s.subscriptionCount >= b.limits.maxSubscriptionsPerClient) return SubResult.CLIENT_LIMIT;
  let slot: number;
  if (b.subFreeCount > 0) {
    b.subFreeCount--;
    slot = b.subFree[b.subFreeCount];
  } else if (b.subTop < b.limits.maxSubscriptions) {
    slot = b.subTop;
    b.subTop++;
  } else {
    return SubResult.TABLE_FULL;
  }
  b.subSession[slot] = session;
  b.subFilter[slot] = filter;
  b.subQos[slot] = qos;
  s.subscriptionCount++;
  b.changes++;
  const st = storeFor(b, s);
  if (st !== undefined) st.subscriptionSet(s.clientId, filter, qos);
  b.stats.subscriptions++;
  return SubResult.ADDED;
}

function freeSlot(b: Broker, slot: number): void {
  b.sessions[b.subSession[slot]].subscriptionCount--;
  b.stats.subscriptions--;
  b.subSession[slot] = -1;
  b.subFilter[slot] = "";
  b.subQos[slot] = 0;
  b.subFree[b.subFreeCount] = slot;
  b.subFreeCount++;
  b.changes++;
}

/** Removes the subscription whose filter is literally `filter` (MQTT-3.10.4-1). */
export function subscriptionRemove(b: Broker, session: number, filter: string): boolean {
  const slot = findSubscription(b, session, filter);
  if (slot < 0) return false;
  const st = storeFor(b, b.sessions[session]);
  if (st !== undefined) st.subscriptionDelete(b.sessions[session].clientId, filter);
  freeSlot(b, slot);
  return true;
}

export function subscriptionRemoveAll(b: Broker, session: number): void {
  if (b.sessions[session].subscriptionCount === 0) return;
  for (let i = 0; i < b.subTop; i++) {
    if (b.subSession[i] === session) freeSlot(b, i);
  }
}

/**
 * Collects the sessions with a subscription matching topic into b.matched, with each
 * session's highest granted QoS in its matchQos (MQTT-3.3.5-1: one copy, highest QoS).
 * Returns how many sessions matched; the caller resets matchQos to -1 after use.
 */
export function subscriptionMatch(b: Broker, topic: string): number {
  let count = 0;
  for (let i = 0; i < b.subTop; i++) {
    const session = b.subSession[i];
    if (session < 0) continue;
    if (!topicMatches(b.subFilter[i], topic)) continue;
    const s = b.sessions[session];
    if (s.matchQos < 0) {
      b.matched[count] = session;
      count++;
    }
    if (b.subQos[i] > s.matchQos) s.matchQos = b.subQos[i];
  }
  return count;
}
