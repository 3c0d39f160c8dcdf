import { Bytes, bytesCopy, bytesLength } from "../bytes/bytes";
import { PacketType } from "../codec/constants";
import { encodeAck, encodePublish } from "../codec/encode";
import { Packet } from "../codec/packet";
import { Access, LogLevel } from "../platform";
import { deliver, sendQos0, sendBytes } from "./delivery";
import { storeFor } from "./persist";
import { inboundAdd, inboundHas, inboundRelease } from "../qos/flows";
import { retainedStore } from "./retained";
import { Broker, Conn, Message, ORIGIN_BROKER, Session } from "./state";
import { subscriptionMatch } from "./subscriptions";

/** What became of an inbound PUBLISH; anything but ACCEPTED closes the connection. */
export const enum PublishResult {
  ACCEPTED = 0,
  TOPIC_TOO_LONG = 1,
  RETAIN_UNAVAILABLE = 2,
  TOO_MANY_QOS2 = 3,
}

/**
 * Routes a message to every session with a matching subscription (MQTT-4.5.0-1), once per
 * session at min(message QoS, highest granted QoS) (MQTT-3.3.5-1, MQTT-3.8.4-6), with
 * RETAIN = 0 (MQTT-3.3.1-9). QoS 0 copies are encoded once and shared; the message is
 * copied out of the receive buffer only when a QoS 1/2 copy has to be kept.
 * Bridge sessions (Session.bridge) never get their own messages back and keep the RETAIN
 * flag as published; then the extension (bridges) sees the message. origin: see
 * BrokerExtension.message.
 */
export function route(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retainFlag: boolean, origin: number): void {
  const count = subscriptionMatch(b, topic);
  let qos0Bytes: Bytes | undefined = undefined;
  let kept: Message | undefined = undefined;
  for (let i = 0; i < count; i++) {
    const s = b.sessions[b.matched[i]];
    const granted = s.matchQos;
    s.matchQos = -1;
    if (s.bridge && s.conn === origin) continue;
    if (b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, topic, Access.READ)) continue;
    const q = qos < granted ? qos : granted;
    const r = s.bridge && retainFlag;
    if (q === 0) {
      if (s.conn < 0) continue; // SRV-IMPL-7
      if (r) {
        sendQos0(b, s.conn, encodePublish(topicBytes, payload, 0, false, true, 0));
        continue;
      }
      if (qos0Bytes === undefined) qos0Bytes = encodePublish(topicBytes, payload, 0, false, false, 0);
      sendQos0(b, s.conn, qos0Bytes);
    } else {
      if (kept === undefined) {
        kept = {
          topic: topic,
          topicBytes: bytesCopy(topicBytes, 0, bytesLength(topicBytes)),
          payload: bytesCopy(payload, 0, bytesLength(payload)),
          qos: qos,
        };
      }
      deliver(b, b.matched[i], kept, q, r);
    }
  }
  if (b.extension !== undefined) b.extension.message(topic, topicBytes, payload, qos, retainFlag, origin);
}

/** Applies RETAIN = 1 (MQTT-3.3.1-5, -7, -10, -11) for a message the broker accepted. */
function retain(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number): void {
  retainedStore(b, {
    topic: topic,
    topicBytes: bytesCopy(topicBytes, 0, bytesLength(topicBytes)),
    payload: bytesCopy(payload, 0, bytesLength(payload)),
    qos: qos,
  });
}

/**
 * Publishes a message on behalf of the broker itself or a connection's will: the same
 * path as an accepted PUBLISH (SRV-CON-3).
 */
export function publishMessage(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retainFlag: boolean): void {
  publishFrom(b, topic, topicBytes, payload, qos, retainFlag, ORIGIN_BROKER);
}

/** publishMessage for a message that came from elsewhere (a bridge): origin as in BrokerExtension.message. */
export function publishFrom(b: Broker, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retainFlag: boolean, origin: number): void {
  if (retainFlag && b.limits.retainAvailable) retain(b, topic, topicBytes, payload, qos);
  route(b, topic, topicBytes, payload, qos, retainFlag, origin);
}

/** Handles an inbound PUBLISH from a connected client (§3.3, §4.3 receiver side). */
export function handlePublish(b: Broker, c: Conn, conn: number, p: Packet): PublishResult {
  const s = b.sessions[c.session];
  if (bytesLength(p.topicBytes) > b.limits.maxTopicLength) return PublishResult.TOPIC_TOO_LONG;
  if (p.retain && !b.limits.retainAvailable) return PublishResult.RETAIN_UNAVAILABLE;
  if (p.qos === 2) {
    // A PUBLISH repeated before PUBREL is acknowledged again but not routed again (MQTT-4.3.3-2).
    if (inboundHas(s, p.packetId)) {
      sendBytes(b, conn, encodeAck(PacketType.PUBREC, p.packetId));
      return PublishResult.ACCEPTED;
    }
    if (s.inboundCount >= b.limits.maxInboundQos2) return PublishResult.TOO_MANY_QOS2;
  }
  b.stats.messagesReceived++;
  if (accept(b, s, p)) {
    if (p.retain) retain(b, p.topic, p.topicBytes, p.payload, p.qos);
    route(b, p.topic, p.topicBytes, p.payload, p.qos, p.retain, conn);
  }
  // Ownership is taken once routed; only then acknowledge (SRV-OPS-5).
  if (p.qos === 1) {
    sendBytes(b, conn, encodeAck(PacketType.PUBACK, p.packetId));
  } else if (p.qos === 2) {
    inboundAdd(s, p.packetId, b.limits.maxInboundQos2);
    b.changes++;
    const st = storeFor(b, s);
    if (st !== undefined) st.inboundAdd(s.clientId, p.packetId);
    sendBytes(b, conn, encodeAck(PacketType.PUBREC, p.packetId));
  }
  return PublishResult.ACCEPTED;
}

/** Policy checks whose failure is answered by "acknowledge and drop" (MQTT-3.3.5-2). */
function accept(b: Broker, s: Session, p: Packet): boolean {
  if (b.limits.messageSizeLimit > 0 && bytesLength(p.payload) > b.limits.messageSizeLimit) {
    b.log.log(LogLevel.NOTICE, "Client " + s.clientId + " published " + bytesLength(p.payload) + " bytes to " + p.topic + ", over message_size_limit " + b.limits.messageSizeLimit + ": dropped.");
    b.stats.messagesDropped++;
    return false;
  }
  // Bridges may report their state under $SYS/broker/connection/ (mosquitto's notifications).
  if (p.topic.charCodeAt(0) === 36 && p.topic.indexOf("$SYS") === 0 && !(s.bridge && p.topic.indexOf("$SYS/broker/connection/") === 0)) {
    b.log.log(LogLevel.NOTICE, "Client " + s.clientId + " tried to publish to " + p.topic + ": $SYS is reserved for the broker, dropped.");
    b.stats.messagesDropped++;
    return false;
  }
  if (b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, p.topic, Access.WRITE)) {
    b.log.log(LogLevel.NOTICE, "Denied PUBLISH from " + s.clientId + " to " + p.topic + " (not authorised): acknowledged and dropped.");
    b.stats.messagesDropped++;
    return false;
  }
  return true;
}

/** PUBREL ends an inbound QoS 2 flow; PUBCOMP is sent even for unknown ids (SRV-PUB-10). */
export function handlePubrel(b: Broker, s: Session, conn: number, id: number): void {
  if (inboundRelease(s, id)) {
    b.changes++;
    const st = storeFor(b, s);
    if (st !== undefined) st.inboundDelete(s.clientId, id);
  }
  sendBytes(b, conn, encodeAck(PacketType.PUBCOMP, id));
}
