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
 * A replay (started in handlers/subscribe.ts) walks the retained slots [rpAt, rpEnd) that
 * existed at SUBSCRIBE; later messages are appended past rpEnd and were routed to the
 * subscriber live. Removals keep that true (retained.ts). The replays of a session end when it
 * goes offline, a persistent session's too: MQTT asks for retained messages at SUBSCRIBE only,
 * and a client that wants them again subscribes again. One per subscription (a new SUBSCRIBE
 * to the filter restarts it, an UNSUBSCRIBE ends it), so maxSubscriptions bounds the table.
 * Not persisted: a restart ends every replay.
 */

/** Ends the replay of subscription slot sub and every replay of session slot session (-1: none). */
export function replayStop(b: Broker, sub: number, session: number): void {
  let i = 0;
  while (i < b.rpCount) {
    if (b.rpSub[i] !== sub && b.subSession[b.rpSub[i]] !== session) {
      i++;
      continue;
    }
    b.rpCount--;
    for (let j = i; j < b.rpCount; j++) {
      b.rpSub[j] = b.rpSub[j + 1];
      b.rpAt[j] = b.rpAt[j + 1];
      b.rpEnd[j] = b.rpEnd[j + 1];
    }
    // The table holds memory only while replays are under way (about 3 variables an entry on Espruino).
    b.rpSub.pop();
    b.rpAt.pop();
    b.rpEnd.pop();
  }
}

/**
 * Sends what the replays of an online session may send now, in order, and stops at the first
 * message that must wait. ACLs apply per message (READ), at min(stored QoS, granted) (SRV-PUB-4).
 */
export function replayPump(b: Broker, session: number): void {
  const s = b.sessions[session];
  let i = 0;
  while (i < b.rpCount) {
    const sub = b.rpSub[i];
    if (b.subSession[sub] !== session) {
      i++;
      continue;
    }
    while (b.rpAt[i] < b.rpEnd[i]) {
      const m = b.retained[b.rpAt[i]];
      const granted = b.subQos[sub];
      const qos = m.qos < granted ? m.qos : granted;
      // An expired retained message is not sent (MQTT-3.3.2-5).
      if (topicMatches(b.subFilter[sub], m.topic) && !(MIDGE_FEATURES.mqtt5 && messageExpired(b, m)) && (b.policy === undefined || b.policy.allow(s.clientId, s.hasUsername, s.username, m.topic, Access.READ))) {
        if (qos === 0 ? b.transport.pending(s.conn) > Math.floor(b.limits.maxPendingBytes / 2) : !flowsCanSend(s, MIDGE_FEATURES.mqtt5 ? windowOf(b, s) : b.limits.maxInflight)) return;
        b.rpAt[i]++;
        if (MIDGE_FEATURES.mqtt5 && b.subIds[sub] > 0) {
          // The subscription's Subscription Identifier goes with each (MQTT-3.3.4-3).
          b.replayId[0] = b.subIds[sub];
          deliver(b, session, withIds(m, b.replayId, 1), qos, true);
        } else {
          deliver(b, session, m, qos, true);
        }
      } else {
        b.rpAt[i]++;
      }
    }
    replayStop(b, sub, -1);
  }
}
