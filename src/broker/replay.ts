import { Access } from "../platform";
import { flowsCanSend } from "../qos/flows";
import { topicMatches } from "../topics/topic";
import { deliver, windowOf } from "./delivery";
import { messageExpired, withIds } from "./message5";
import { Broker } from "./state";

/**
 * Retained replay (MQTT-3.3.1-6, MQTT-3.8.4-3) paced by the subscriber: the retained messages
 * of a new subscription go out as the client takes them, never dropped for want of room. A
 * QoS 1/2 copy waits for room in the in-flight window behind any queued message (it never
 * enters the queue, whose order stays the live messages'); a QoS 0 copy waits while more than
 * half of maxPendingBytes is unsent (the other half is left to live QoS 0 messages). It goes
 * on from every PUBACK/PUBCOMP, brokerDrained (the target's send buffer emptied) and
 * brokerTick.
 *
 * A replay (replayStart, from handlers/subscribe.ts) walks the retained slots [at, end) that
 * existed at SUBSCRIBE; later messages are appended past end and were routed to the
 * subscriber live. Removals keep that true (retained.ts). The replays of a session end when it
 * goes offline, a persistent session's too: MQTT asks for retained messages at SUBSCRIBE only,
 * and a client that wants them again subscribes again. One per subscription (a new SUBSCRIBE
 * to the filter restarts it, an UNSUBSCRIBE ends it), so maxSubscriptions bounds the table.
 * Not persisted: a restart ends every replay.
 */

/** Ends the replay of subscription slot sub and every replay of session slot session (-1: none). */
export function replayStop(b: Broker, sub: number, session: number): void {
  const span2 = b.rpSpan * b.rpSpan;
  let i = 0;
  while (i < b.rpCount) {
    const own = Math.floor(b.rp[i] / span2);
    if (own !== sub && b.subSession[own] !== session) {
      i++;
      continue;
    }
    b.rpCount--;
    for (let j = i; j < b.rpCount; j++) b.rp[j] = b.rp[j + 1];
    // The table holds memory only while replays are under way (one variable an entry on Espruino).
    b.rp.pop();
  }
}

/** Whether a replay of session slot session is under way (it goes on at brokerDrained). */
export function replayUnderWay(b: Broker, session: number): boolean {
  const span2 = b.rpSpan * b.rpSpan;
  for (let i = 0; i < b.rpCount; i++) if (b.subSession[Math.floor(b.rp[i] / span2)] === session) return true;
  return false;
}

/** Starts (or starts again from the first slot) the replay of subscription slot sub, over the messages retained now. */
export function replayStart(b: Broker, sub: number): void {
  const span2 = b.rpSpan * b.rpSpan;
  let k = 0;
  while (k < b.rpCount && Math.floor(b.rp[k] / span2) !== sub) k++;
  if (k === b.rpCount) b.rpCount++;
  b.rp[k] = sub * span2 + b.retainedCount; // at 0, end: what is retained now
}

/**
 * Sends what the replays of an online session may send now, in order, and stops at the first
 * message that must wait. ACLs apply per message (READ), at min(stored QoS, granted) (SRV-PUB-4).
 */
export function replayPump(b: Broker, session: number): void {
  const s = b.sessions[session];
  const span = b.rpSpan;
  let i = 0;
  while (i < b.rpCount) {
    const sub = Math.floor(b.rp[i] / (span * span));
    if (b.subSession[sub] !== session) {
      i++;
      continue;
    }
    // at < end; b.rp[i] += span moves at on by one.
    while (Math.floor(b.rp[i] / span) % span < b.rp[i] % span) {
      const m = b.retained[Math.floor(b.rp[i] / span) % span];
      const granted = b.subQos[sub];
      const qos = m.qos < granted ? m.qos : granted;
      // An expired retained message is not sent (MQTT-3.3.2-5).
      if (topicMatches(b.subFilter[sub], m.topic) && !(MIDGE_FEATURES.mqtt5 && messageExpired(b, m)) && (b.policy === undefined || b.policy.allow(s.clientId, s.hasUsername, s.username, m.topic, Access.READ))) {
        if (qos === 0 ? b.transport.pending(s.conn) > Math.floor(b.limits.maxPendingBytes / 2) : !flowsCanSend(s, MIDGE_FEATURES.mqtt5 ? windowOf(b, s) : b.limits.maxInflight)) return;
        b.rp[i] += span;
        if (MIDGE_FEATURES.mqtt5 && b.subIds[sub] > 0) {
          // The subscription's Subscription Identifier goes with each (MQTT-3.3.4-3).
          b.replayId[0] = b.subIds[sub];
          deliver(b, session, withIds(m, b.replayId, 1), qos, true);
        } else {
          deliver(b, session, m, qos, true);
        }
      } else {
        b.rp[i] += span;
      }
    }
    replayStop(b, sub, -1);
  }
}
