import { Bytes, EMPTY_BYTES, bytesCopy, bytesLength } from "../bytes/bytes";
import { PROTOCOL_LEVEL_5, ReasonCode } from "../codec/constants";
import { encodeMessageProperties, encodePublishMessageV5 } from "../codec/encode5";
import { encodePublish } from "../codec/encode";
import { Packet } from "../codec/packet";
import { Broker, Conn, Message } from "./state";

/**
 * The MQTT 5.0 side of application messages (OASIS MQTT Version 5.0 §3.3): the properties a
 * message carries through the broker, its expiry, client topic aliases, and the encoding of a
 * delivery for each client's version. Reached behind MIDGE_FEATURES.mqtt5 only (delivery.ts
 * encodes 3.1.1 itself otherwise), so a build without MQTT 5 drops this file.
 */

/** True when conn speaks MQTT 5.0. */
export function isV5(c: Conn): boolean {
  return MIDGE_FEATURES.mqtt5 && c.protocolLevel === PROTOCOL_LEVEL_5;
}

/**
 * Notes the pass-through properties and the expiry of a PUBLISH for the message being
 * published (b.msgProps, b.msgExpiresAt: valid while it is routed; keepMessageProps copies
 * them into a message that is kept), read by publish.ts when it keeps a copy. A Message
 * Expiry Interval of 0 is taken as none, as mosquitto does.
 */
export function messagePropsFromPublish(b: Broker, p: Packet): void {
  // Without a Topic Alias, an expiry and (from a bridge's upstream) Subscription Identifiers,
  // what came is what goes on: the block as received (a view of the receive buffer, copied
  // only where a message is kept).
  b.msgProps = p.props.topicAlias < 0 && p.props.messageExpiryInterval < 0 && p.props.subscriptionIdCount === 0 ? p.propsRaw : encodeMessageProperties(p.props);
  b.msgExpiresAt = p.props.messageExpiryInterval > 0 ? b.clock.now() + p.props.messageExpiryInterval * 1000 : -1;
}

/** Back to "no properties" once a message is published. */
export function messagePropsDone(b: Broker): void {
  b.msgProps = EMPTY_BYTES;
  b.msgExpiresAt = -1;
}

/** The v5 fields of a message the broker keeps (queued, in flight, retained), from b.msgProps. */
export function keepMessageProps(b: Broker, m: Message): void {
  // Copied: b.msgProps may be a view of the receive buffer.
  m.props = bytesLength(b.msgProps) > 0 ? bytesCopy(b.msgProps, 0, bytesLength(b.msgProps)) : EMPTY_BYTES;
  m.expiresAt = b.msgExpiresAt;
}

/** True when the message's Message Expiry Interval has passed (MQTT-3.3.2-5: not delivered). */
export function messageExpired(b: Broker, m: Message): boolean {
  return MIDGE_FEATURES.mqtt5 && m.expiresAt !== undefined && m.expiresAt >= 0 && b.clock.now() >= m.expiresAt;
}

/**
 * The PUBLISH of a message for connection conn in its protocol version, or undefined when it
 * must not be sent: its expiry passed before onward delivery started (MQTT-3.3.2-5; a resend,
 * `started`, still goes) or it is larger than the client's Maximum Packet Size (MQTT-3.1.2-24,
 * MQTT-3.1.2-25: discarded as if sent). props/expiresAt: the message's (Message.props,
 * Message.expiresAt; undefined = none); ids/idCount: Subscription Identifiers to send.
 */
export function encodeDelivery(b: Broker, conn: number, topicBytes: Bytes, payload: Bytes, props: Bytes | undefined, expiresAt: number | undefined, ids: number[] | undefined, idCount: number, qos: number, dup: boolean, retain: boolean, packetId: number, started: boolean): Bytes | undefined {
  const c = b.conns[conn];
  if (!isV5(c)) {
    if (!started && expiresAt !== undefined && expiresAt >= 0 && b.clock.now() >= expiresAt) return undefined;
    return encodePublish(topicBytes, payload, qos, dup, retain, packetId);
  }
  let expiry = -1;
  if (expiresAt !== undefined && expiresAt >= 0) {
    const left = expiresAt - b.clock.now();
    if (left <= 0 && !started) return undefined;
    if (left > 0) expiry = Math.ceil(left / 1000); // MQTT-3.3.2-6: what is left of it
  }
  const data = encodePublishMessageV5(topicBytes, payload, qos, dup, retain, packetId, expiry, ids, idCount, props === undefined ? EMPTY_BYTES : props);
  if (c.maxPacketOut > 0 && bytesLength(data) > c.maxPacketOut) return undefined;
  return data;
}

/**
 * The QoS 0 PUBLISH with RETAIN 0 and no Subscription Identifier that every 5.0 subscriber
 * without one gets, encoded once per message (each client's Maximum Packet Size is the
 * caller's to check); undefined when the message expired.
 */
export function encodeShared5(b: Broker, topicBytes: Bytes, payload: Bytes, props: Bytes, expiresAt: number): Bytes | undefined {
  let expiry = -1;
  if (expiresAt >= 0) {
    const left = expiresAt - b.clock.now();
    if (left <= 0) return undefined;
    expiry = Math.ceil(left / 1000);
  }
  return encodePublishMessageV5(topicBytes, payload, 0, false, false, 0, expiry, undefined, 0, props);
}

/**
 * Applies the Topic Alias of a PUBLISH from a 5.0 client (§3.3.2.3.4): sets it for the topic, or
 * replaces an empty topic with the one it stands for. Returns a reason code: 0 = fine,
 * TOPIC_ALIAS_INVALID over the maximum (MQTT-3.3.2-9; any alias when the maximum is 0, MQTT-3.2.2-18), PROTOCOL_ERROR for an alias never set.
 */
export function applyTopicAlias(b: Broker, conn: number, p: Packet): number {
  const alias = p.props.topicAlias;
  if (alias < 0) return 0;
  if (alias > b.limits.maxTopicAlias) return ReasonCode.TOPIC_ALIAS_INVALID; // Limits.maxTopicAlias: max_topic_alias
  const c = b.conns[conn];
  if (bytesLength(p.topicBytes) > 0) {
    c.aliases[alias] = p.topic;
    c.aliasBytes[alias] = bytesCopy(p.topicBytes, 0, bytesLength(p.topicBytes));
    return 0;
  }
  const topic = c.aliases[alias];
  if (topic === undefined) return ReasonCode.PROTOCOL_ERROR;
  p.topic = topic;
  p.topicBytes = c.aliasBytes[alias];
  return 0;
}

/**
 * The message for one session with that session's Subscription Identifiers (MQTT-3.3.4-3,
 * MQTT-3.3.4-4): the same bytes, a record of its own.
 */
export function withIds(m: Message, ids: number[], count: number): Message {
  const own: number[] = [];
  for (let i = 0; i < count; i++) own[i] = ids[i];
  return { topic: m.topic, topicBytes: m.topicBytes, payload: m.payload, qos: m.qos, props: m.props, expiresAt: m.expiresAt, subIds: own };
}
