import { Bytes, EMPTY_BYTES, bytesCopy, bytesLength, utf8Encode } from "../bytes/bytes";
import { encodePublish } from "../codec/encode";
import { Packet } from "../codec/packet";
import { Access } from "../platform";
import { deliver, sendQos0 } from "./delivery";
import { storeSessionWill } from "./persist";
import { retainedStore } from "./retained";
import { encodeDelivery, encodeShared5, isV5, keepMessageProps, messagePropsDone, withIds } from "./message5";
import { NO_MESSAGE } from "../qos/flows";
import { Broker, Conn, Message, ORIGIN_BROKER, Session } from "./state";
import { shareChoose, shareCopy } from "./shared";
import { subscriptionMatch } from "./subscriptions";

/**
 * Publishing a message the broker accepted: one entry point per publisher (a client's
 * PUBLISH, a will, the broker itself, a bridge), all on one path: retain, route, extension.
 */

/**
 * Routes a message to every session with a matching subscription (MQTT-4.5.0-1), once per
 * session at min(message QoS, highest granted QoS) (MQTT-3.3.5-1, MQTT-3.8.4-6), with
 * RETAIN = 0 (MQTT-3.3.1-9). QoS 0 copies are encoded once and shared; the message is
 * copied out of the receive buffer only when a QoS 1/2 copy has to be kept.
 * Bridge sessions (Session.bridge) never get their own messages back and keep the RETAIN
 * flag as published; then the extension (bridges) sees the message. origin: see
 * BrokerExtension.message.
 */
function route(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retainFlag: boolean, origin: number): void {
  if (MIDGE_FEATURES.mqtt5) b.routeOrigin = origin; // for No Local (subscriptions.ts)
  const count = subscriptionMatch(b, topic);
  let qos0Bytes: Bytes | undefined = undefined;
  // MQTT 5.0 QoS 0 copy without Subscription Identifiers and RETAIN 0: also encoded once.
  let qos0Bytes5: Bytes | undefined = undefined;
  let kept: Message | undefined = undefined;
  for (let i = 0; i < count; i++) {
    const s = b.sessions[b.matched[i]];
    const granted = s.matchQos;
    s.matchQos = -1;
    if (s.bridge && s.conn === origin) continue;
    if (b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, topic, Access.READ)) continue;
    const q = qos < granted ? qos : granted;
    // Bridges, and MQTT 5.0 subscriptions with Retain As Published (MQTT-3.3.1-13), keep the flag.
    const r = (s.bridge || (MIDGE_FEATURES.mqtt5 && s.matchRap)) && retainFlag;
    if (MIDGE_FEATURES.mqtt5 && s.conn >= 0 && isV5(b.conns[s.conn])) {
      // An MQTT 5.0 client gets its own encoding: properties, expiry, its Subscription Identifiers.
      if (q === 0) {
        let data: Bytes | undefined;
        if (s.matchIdCount === 0 && !r) {
          if (qos0Bytes5 === undefined) qos0Bytes5 = encodeShared5(b, topicBytes, payload, b.msgProps, b.msgExpiresAt);
          data = qos0Bytes5;
          // Each client's Maximum Packet Size still applies (MQTT-3.1.2-24).
          const max = b.conns[s.conn].maxPacketOut;
          if (data !== undefined && max > 0 && bytesLength(data) > max) data = undefined;
        } else {
          data = encodeDelivery(b, s.conn, topicBytes, payload, b.msgProps, b.msgExpiresAt, s.matchIds, s.matchIdCount, 0, false, r, 0, false);
        }
        if (data !== undefined) sendQos0(b, s.conn, data);
        continue;
      }
      if (kept === undefined) kept = keep(b, topic, topicBytes, payload, qos);
      deliver(b, b.matched[i], s.matchIdCount > 0 ? withIds(kept, s.matchIds, s.matchIdCount) : kept, q, r);
      continue;
    }
    if (q === 0) {
      if (s.conn < 0) continue; // SRV-IMPL-7
      if (r) {
        sendQos0(b, s.conn, encodePublish(topicBytes, payload, 0, false, true, 0));
        continue;
      }
      if (qos0Bytes === undefined) qos0Bytes = encodePublish(topicBytes, payload, 0, false, false, 0);
      sendQos0(b, s.conn, qos0Bytes);
    } else {
      if (kept === undefined) kept = keep(b, topic, topicBytes, payload, qos);
      deliver(b, b.matched[i], MIDGE_FEATURES.mqtt5 && s.matchIdCount > 0 ? withIds(kept, s.matchIds, s.matchIdCount) : kept, q, r);
    }
  }
  if (MIDGE_FEATURES.mqtt5 && b.shareFoundCount > 0) routeShared(b, topic, topicBytes, payload, qos, retainFlag, origin, kept);
  if (b.extension !== undefined) b.extension.message(topic, topicBytes, payload, qos, retainFlag, origin);
}

/**
 * Then one copy per shared subscription group to the member shared.ts picks (SRV5-SHR-2), at
 * min(message QoS, that member's granted QoS) (MQTT-4.8.2-3), with its own options and
 * Subscription Identifier only (SRV5-PUB-12); a session that also has a matching non-shared
 * subscription has had its own copy already (SRV5-SHR-7).
 */
function routeShared(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retainFlag: boolean, origin: number, kept: Message | undefined): void {
  let m = kept;
  for (let k = 0; k < b.shareFoundCount; k++) {
    const slot = shareChoose(b, k, topic, origin);
    if (slot < 0) continue;
    const session = b.subSession[slot];
    const s = b.sessions[session];
    const granted = b.subQos[slot];
    const q = qos < granted ? qos : granted;
    const r = (s.bridge || b.subFlags[slot] >= 2) && retainFlag;
    if (q === 0) {
      if (s.conn < 0) continue; // SRV-IMPL-7
      b.matched[0] = b.subIds[slot];
      const data = encodeDelivery(b, s.conn, topicBytes, payload, b.msgProps, b.msgExpiresAt, b.matched, b.subIds[slot] > 0 ? 1 : 0, 0, false, r, 0, false);
      if (data !== undefined) sendQos0(b, s.conn, data);
      continue;
    }
    if (m === undefined) m = keep(b, topic, topicBytes, payload, qos);
    deliver(b, session, shareCopy(b, m, slot), q, r);
  }
  b.shareFoundCount = 0;
}

/** A copy of the message to keep (queued, in flight or retained), out of the receive buffer. */
function keep(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number): Message {
  const m: Message = {
    topic: topic,
    topicBytes: bytesCopy(topicBytes, 0, bytesLength(topicBytes)),
    payload: bytesCopy(payload, 0, bytesLength(payload)),
    qos: qos,
  };
  if (MIDGE_FEATURES.mqtt5) keepMessageProps(b, m);
  return m;
}

/** Applies RETAIN = 1 (MQTT-3.3.1-5, MQTT-3.3.1-7, MQTT-3.3.1-10, MQTT-3.3.1-11) for a message the broker accepted. */
function retain(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number): void {
  retainedStore(b, keep(b, topic, topicBytes, payload, qos));
}

/**
 * The one path of a message the broker accepted, whoever published it (SRV-CON-3): the
 * retained store when RETAIN = 1, then routing. origin: see BrokerExtension.message.
 */
function publishAccepted(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retainFlag: boolean, origin: number): void {
  if (MIDGE_FEATURES.retained && retainFlag && b.limits.retainAvailable) retain(b, topic, topicBytes, payload, qos);
  route(b, topic, topicBytes, payload, qos, retainFlag, origin);
}

/** A client's PUBLISH that passed the checks of handlers/publish.ts; conn is its origin. */
export function publishFromClient(b: Broker, conn: number, p: Packet): void {
  publishAccepted(b, p.topic, p.topicBytes, p.payload, p.qos, p.retain, conn);
}

/** The will of a connection that ended without DISCONNECT (MQTT-3.1.2-8), published by the broker. */
export function publishWill(b: Broker, c: Conn, payload: Bytes): void {
  if (MIDGE_FEATURES.mqtt5) {
    b.msgProps = c.willProps;
    b.msgExpiresAt = c.willExpiry > 0 ? b.clock.now() + c.willExpiry * 1000 : -1;
  }
  publishAccepted(b, c.willTopic, c.willTopicBytes, payload, c.willQos, c.willRetain, ORIGIN_BROKER);
  if (MIDGE_FEATURES.mqtt5) messagePropsDone(b);
}

/** A will kept for its Will Delay Interval (MQTT 5.0, MQTT-3.1.3-9), published now. */
export function publishDelayedWill(b: Broker, s: Session): void {
  const m = s.willMessage;
  s.willAt = -1;
  s.willMessage = NO_MESSAGE;
  storeSessionWill(b, s);
  b.msgProps = m.props === undefined ? EMPTY_BYTES : m.props;
  b.msgExpiresAt = m.expiresAt === undefined ? -1 : m.expiresAt;
  publishAccepted(b, m.topic, m.topicBytes, m.payload, m.qos, s.willRetain, ORIGIN_BROKER);
  messagePropsDone(b);
}

/** A message of the broker itself ($SYS topics, brokerPublish). */
export function publishFromBroker(b: Broker, topic: string, payload: Bytes, qos: number, retainFlag: boolean): void {
  publishAccepted(b, topic, utf8Encode(topic), payload, qos, retainFlag, ORIGIN_BROKER);
}

/** A message a bridge received from upstream or reports (its state); origin: the bridge's (bridgeOrigin). */
export function publishFromBridge(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retainFlag: boolean, origin: number): void {
  publishAccepted(b, topic, topicBytes, payload, qos, retainFlag, origin);
}
