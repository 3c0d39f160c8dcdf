import { Access } from "../platform";
import { FlowState, flowsCanSend, queuedRetain } from "../qos/flows";
import { deliver, windowOf } from "./delivery";
import { Broker, Message, ORIGIN_BROKER, Session } from "./state";

/**
 * MQTT 5.0 shared subscriptions (OASIS MQTT Version 5.0 §4.8.2): `$share/{ShareName}/{filter}`.
 * A member's subscription is an ordinary slot of the subscription table whose subFilter is the
 * inner filter (what the index and the scan match, SRV5-SHR-3) and whose subShare is the whole
 * `$share/...` string, the group's key: the same ShareName with another filter is another group.
 * Each message goes to one member per group (SRV5-SHR-2): one that is online with room in its
 * in-flight window, else one online, else (QoS 1/2) one offline, queued in its session; among
 * equals the one served longest ago (Broker.subServed), so members take turns. Reached behind
 * MIDGE_FEATURES.mqtt5 only, so builds without MQTT 5 drop this file.
 */

const SHARE_PREFIX = "$share/";

/**
 * Where the inner filter of a `$share/{ShareName}/{filter}` starts: 0 = not a shared filter,
 * -1 = an invalid one: empty ShareName, `+` or `#` in it, no `/` or no filter after it
 * (MQTT-4.8.2-1, MQTT-4.8.2-2). The inner filter itself is checked as any filter is.
 */
export function shareFilterStart(filter: string): number {
  if (filter.indexOf(SHARE_PREFIX) !== 0) return 0;
  const slash = filter.indexOf("/", 7);
  if (slash <= 7 || slash + 1 >= filter.length) return -1;
  for (let i = 7; i < slash; i++) {
    const c = filter.charCodeAt(i);
    if (c === 43 || c === 35) return -1;
  }
  return slash + 1;
}

/**
 * Picks the member that gets the message among the candidates of b.shareFound from index k on
 * that belong to the group of candidate k; marks them all done (-1) so each group is served once
 * per message (SRV5-SHR-7: groups and non-shared subscriptions independently). Returns the
 * chosen subscription slot, or -1 (done already, or no member may have it: a bridge's own
 * message, no read permission).
 */
export function shareChoose(b: Broker, k: number, topic: string, origin: number): number {
  const first = b.shareFound[k];
  if (first < 0) return -1;
  const key = b.subShare[first];
  let best = -1;
  let bestRank = 3;
  for (let j = k; j < b.shareFoundCount; j++) {
    const i = b.shareFound[j];
    if (i < 0 || b.subShare[i] !== key) continue;
    b.shareFound[j] = -1;
    const s = b.sessions[b.subSession[i]];
    if (s.bridge && s.conn === origin) continue;
    if (b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, topic, Access.READ)) continue;
    // 0: online with room in its window, 1: online, 2: offline (its session queues).
    const rank = s.conn < 0 ? 2 : flowsCanSend(s, windowOf(b, s)) ? 0 : 1;
    if (rank < bestRank || (rank === bestRank && b.subServed[i] < b.subServed[best])) {
      best = i;
      bestRank = rank;
    }
  }
  if (best >= 0) {
    b.shareTurn++;
    b.subServed[best] = b.shareTurn;
  }
  return best;
}

/**
 * The message for the member of subscription slot `slot`: its own record, tagged with the group
 * (Message.share, for shareRehome) and with that member's Subscription Identifier only
 * (SRV5-PUB-12, MQTT-3.3.4-3).
 */
export function shareCopy(b: Broker, m: Message, slot: number): Message {
  const id = b.subIds[slot];
  const own: Message = { topic: m.topic, topicBytes: m.topicBytes, payload: m.payload, qos: m.qos, props: m.props, expiresAt: m.expiresAt, share: b.subShare[slot] };
  if (id > 0) own.subIds = [id];
  return own;
}

/**
 * A session is ending (sessions.ts sessionDiscard, after its subscriptions went): what it got
 * through shared subscriptions and that its client has not started to receive for good goes to
 * another member of the same group, where one is left (§4.8.2: SHOULD for an unacknowledged
 * QoS 1 delivery, SRV5-SHR-6). A QoS 2 delivery under way is not (MQTT-4.8.2-5); queued
 * messages were never sent, so they move whatever their QoS. With no member left, they end with
 * the session (SRV5-SHR-4).
 */
export function shareRehome(b: Broker, s: Session): void {
  for (let i = 0; i < s.flightCount; i++) {
    const f = s.flights[i];
    if (f.qos === 1 && f.state === FlowState.AWAIT_ACK) rehome(b, f.message, f.retain);
  }
  const capacity = b.limits.maxQueued;
  for (let j = 0; j < s.queueCount; j++) rehome(b, s.queue[(s.queueHead + j) % capacity], queuedRetain(s, (s.queueHead + j) % capacity));
}

function rehome(b: Broker, m: Message, retain: boolean): void {
  const key = m.share;
  if (key === undefined || key === "") return;
  b.shareFoundCount = 0;
  for (let i = 0; i < b.subTop; i++) {
    if (b.subSession[i] >= 0 && b.subShare[i] === key) {
      b.shareFound[b.shareFoundCount] = i;
      b.shareFoundCount++;
    }
  }
  if (b.shareFoundCount === 0) return;
  const slot = shareChoose(b, 0, m.topic, ORIGIN_BROKER);
  b.shareFoundCount = 0;
  if (slot < 0) return;
  const granted = b.subQos[slot];
  const q = m.qos < granted ? m.qos : granted;
  deliver(b, b.subSession[slot], shareCopy(b, m, slot), q, retain && b.subFlags[slot] >= 2);
}
