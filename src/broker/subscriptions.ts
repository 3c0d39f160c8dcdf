import { SubscriptionIndex } from "../platform";
import { topicMatches } from "../topics/topic";
import { storeFor } from "./persist";
import { replayStop } from "./replay";
import { shareFilterStart } from "./shared";
import { Broker } from "./state";

/**
 * The subscription table: one flat, bounded table for all sessions. Routing scans it unless
 * the target installed a SubscriptionIndex (a topic tree on hosts); for the table sizes of
 * small boards a scan is smaller and about as fast.
 */

export const enum SubResult {
  ADDED = 0,
  REPLACED = 1,
  CLIENT_LIMIT = 2,
  TABLE_FULL = 3,
}

/** The slot of session's subscription to filter (for a shared one: inner filter and group key share), or -1. */
export function findSubscription(b: Broker, session: number, filter: string, share: string): number {
  if (b.subIndex !== undefined) {
    const n = b.subIndex.exact(filter, b.subFound);
    for (let k = 0; k < n; k++) {
      if (b.subSession[b.subFound[k]] === session && (!MIDGE_FEATURES.mqtt5 || b.subShare[b.subFound[k]] === share)) return b.subFound[k];
    }
    return -1;
  }
  for (let i = 0; i < b.subTop; i++) {
    if (b.subSession[i] === session && b.subFilter[i] === filter && (!MIDGE_FEATURES.mqtt5 || b.subShare[i] === share)) return i;
  }
  return -1;
}

/**
 * Adds or replaces (MQTT-3.8.4-3: same filter, new QoS, no gap) a subscription. flags and subId
 * are its MQTT 5.0 options (Broker.subFlags, Broker.subIds; 0 for 3.1.1), kept in mqtt5 builds,
 * where a valid `$share/{ShareName}/{filter}` makes the session a member of that shared
 * subscription (shared.ts; the caller has refused invalid ones). The store keeps filter whole.
 */
export function subscriptionAdd(b: Broker, session: number, filter: string, qos: number, flags: number, subId: number): SubResult {
  let inner = filter;
  let share = "";
  if (MIDGE_FEATURES.mqtt5) {
    const at = shareFilterStart(filter);
    if (at > 0) {
      share = filter;
      inner = filter.substring(at);
    }
  }
  const existing = findSubscription(b, session, inner, share);
  if (existing >= 0) {
    b.subQos[existing] = qos;
    if (MIDGE_FEATURES.mqtt5) {
      b.subFlags[existing] = flags;
      b.subIds[existing] = subId;
    }
    b.changes++;
    const st = storeFor(b, b.sessions[session]);
    if (st !== undefined) {
      // With its MQTT 5.0 options in builds that have them (if/else: the others drop the first branch).
      if (MIDGE_FEATURES.mqtt5) st.subscriptionSet(b.sessions[session].clientId, filter, qos, flags, subId);
      else st.subscriptionSet(b.sessions[session].clientId, filter, qos);
    }
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
  b.subFilter[slot] = inner;
  b.subQos[slot] = qos;
  if (MIDGE_FEATURES.mqtt5) {
    b.subFlags[slot] = flags;
    b.subIds[slot] = subId;
    b.subShare[slot] = share;
    b.subServed[slot] = 0;
  }
  if (b.subIndex !== undefined) b.subIndex.add(slot, inner);
  s.subscriptionCount++;
  b.changes++;
  const st = storeFor(b, s);
  if (st !== undefined) {
    if (MIDGE_FEATURES.mqtt5) st.subscriptionSet(s.clientId, filter, qos, flags, subId);
    else st.subscriptionSet(s.clientId, filter, qos);
  }
  b.stats.subscriptions++;
  return SubResult.ADDED;
}

function freeSlot(b: Broker, slot: number): void {
  if (MIDGE_FEATURES.retained && b.rpCount > 0) replayStop(b, slot, -1); // MQTT-3.10.4-2
  if (b.subIndex !== undefined) b.subIndex.remove(slot, b.subFilter[slot]);
  b.sessions[b.subSession[slot]].subscriptionCount--;
  b.stats.subscriptions--;
  b.subSession[slot] = -1;
  b.subFilter[slot] = "";
  b.subQos[slot] = 0;
  if (MIDGE_FEATURES.mqtt5) b.subShare[slot] = "";
  b.subFree[b.subFreeCount] = slot;
  b.subFreeCount++;
  b.changes++;
}

/**
 * Removes the subscription whose filter is literally `filter` (MQTT-3.10.4-1); for a
 * `$share/...` filter in mqtt5 builds the session leaves that shared subscription
 * (SRV5-SUB-17), what it was sent through it staying in its session.
 */
export function subscriptionRemove(b: Broker, session: number, filter: string): boolean {
  let slot: number;
  if (MIDGE_FEATURES.mqtt5) {
    const at = shareFilterStart(filter);
    slot = at > 0 ? findSubscription(b, session, filter.substring(at), filter) : findSubscription(b, session, filter, "");
  } else {
    slot = findSubscription(b, session, filter, "");
  }
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
 * Returns how many sessions matched; the caller resets matchQos to -1 after use. In mqtt5
 * builds a No Local subscription of the publishing connection (b.routeOrigin) does not match
 * (MQTT-3.8.3-3), and matchRap / matchIds gather Retain As Published and the Subscription
 * Identifiers of the session's matching subscriptions.
 */
export function subscriptionMatch(b: Broker, topic: string): number {
  if (MIDGE_FEATURES.mqtt5) b.shareFoundCount = 0;
  if (b.subIndex !== undefined) {
    const found = b.subIndex.match(topic, b.subFound);
    let count = 0;
    for (let k = 0; k < found; k++) count = matched(b, b.subFound[k], count);
    return count;
  }
  let count = 0;
  for (let i = 0; i < b.subTop; i++) {
    if (b.subSession[i] < 0) continue;
    if (!topicMatches(b.subFilter[i], topic)) continue;
    count = matched(b, i, count);
  }
  return count;
}

/**
 * Notes that subscription slot i matched; returns the new count of matched sessions. A shared
 * subscription's slot goes to b.shareFound instead, for publish.ts to pick one member per group.
 */
function matched(b: Broker, i: number, count: number): number {
  if (MIDGE_FEATURES.mqtt5 && b.subShare[i] !== "") {
    b.shareFound[b.shareFoundCount] = i;
    b.shareFoundCount++;
    return count;
  }
  const session = b.subSession[i];
  const s = b.sessions[session];
  if (MIDGE_FEATURES.mqtt5 && b.subFlags[i] % 2 === 1 && b.routeOrigin >= 0 && s.conn === b.routeOrigin) return count;
  let n = count;
  if (s.matchQos < 0) {
    b.matched[n] = session;
    n++;
    if (MIDGE_FEATURES.mqtt5) {
      s.matchRap = false;
      s.matchIdCount = 0;
    }
  }
  if (MIDGE_FEATURES.mqtt5) {
    if (b.subFlags[i] >= 2) s.matchRap = true;
    if (b.subIds[i] > 0) {
      s.matchIds[s.matchIdCount] = b.subIds[i];
      s.matchIdCount++;
    }
  }
  if (b.subQos[i] > s.matchQos) s.matchQos = b.subQos[i];
  return n;
}

/** Installs a routing index (before any subscription exists, or indexing those that do). */
export function subscriptionSetIndex(b: Broker, index: SubscriptionIndex | undefined): void {
  b.subIndex = index;
  if (index === undefined) return;
  for (let i = 0; i < b.subTop; i++) if (b.subSession[i] >= 0) index.add(i, b.subFilter[i]);
}
