import { bytesLength } from "../../bytes/bytes";
import { PacketType, ReasonCode } from "../../codec/constants";
import { encodeAck } from "../../codec/encode";
import { Packet } from "../../codec/packet";
import { logf, render } from "../../log/log";
import { Msg } from "../../log/messages";
import { Access, LogLevel } from "../../platform";
import { inboundAdd, inboundHas } from "../../qos/flows";
import { sendBytes } from "../delivery";
import { closeForCode } from "../lifecycle";
import { applyTopicAlias, isV5, messagePropsDone, messagePropsFromPublish } from "../message5";
import { encodeAckCode } from "../mqtt5";
import { storeFor } from "../persist";
import { publishFromClient } from "../publish";
import { Broker, Session } from "../state";

/**
 * PUBLISH from a connected client (§3.3, §4.3 receiver side): checks that close the
 * connection, checks answered by "acknowledge and drop", publication, then PUBACK or PUBREC.
 */
export function handlePublish(b: Broker, conn: number, p: Packet): void {
  const c = b.conns[conn];
  const s = b.sessions[c.session];
  const v5 = MIDGE_FEATURES.mqtt5 && isV5(c);
  if (MIDGE_FEATURES.mqtt5 && v5) {
    const aliasCode = applyTopicAlias(b, conn, p);
    if (aliasCode !== 0) {
      closeForCode(b, conn, aliasCode, aliasCode === ReasonCode.TOPIC_ALIAS_INVALID ? render(Msg.REASON_TOPIC_ALIAS_INVALID, p.props.topicAlias, b.limits.maxTopicAlias) : render(Msg.REASON_TOPIC_ALIAS_UNKNOWN, p.props.topicAlias));
      return;
    }
  }
  if (bytesLength(p.topicBytes) > b.limits.maxTopicLength) {
    closeForCode(b, conn, ReasonCode.TOPIC_NAME_INVALID, render(Msg.REASON_TOPIC_TOO_LONG, b.limits.maxTopicLength));
    return;
  }
  if (p.retain && !(MIDGE_FEATURES.retained && b.limits.retainAvailable)) {
    closeForCode(b, conn, ReasonCode.RETAIN_NOT_SUPPORTED, render(Msg.REASON_RETAIN_UNAVAILABLE)); // MQTT-3.2.2-14 in 5.0
    return;
  }
  if (p.qos === 2 && !MIDGE_FEATURES.qos2) {
    // As mosquitto's max_qos 1 does for 3.1.1 clients, which cannot be told the maximum.
    closeForCode(b, conn, ReasonCode.QOS_NOT_SUPPORTED, render(Msg.REASON_QOS2_OFF)); // MQTT-3.2.2-11 in 5.0
    return;
  }
  if (MIDGE_FEATURES.qos2 && p.qos === 2) {
    // A PUBLISH repeated before PUBREL is acknowledged again but not routed again (MQTT-4.3.3-2).
    if (inboundHas(s, p.packetId)) {
      sendBytes(b, conn, encodeAck(PacketType.PUBREC, p.packetId));
      return;
    }
    if (s.inboundCount >= b.limits.maxInboundQos2) {
      // 5.0: more than our Receive Maximum unacknowledged (MQTT-3.3.4-8 is the client's side).
      closeForCode(b, conn, ReasonCode.RECEIVE_MAXIMUM_EXCEEDED, render(Msg.REASON_TOO_MANY_QOS2, b.limits.maxInboundQos2));
      return;
    }
  }
  b.stats.messagesReceived++;
  const code = accept(b, s, p);
  if (code === 0) {
    if (MIDGE_FEATURES.mqtt5 && v5) messagePropsFromPublish(b, p);
    publishFromClient(b, conn, p);
    if (MIDGE_FEATURES.mqtt5 && v5) messagePropsDone(b);
  }
  // Ownership is taken once routed; only then acknowledge (SRV-OPS-5). A 5.0 client learns why
  // a message was refused from the reason code (§3.4.2.1, §3.5.2.1).
  if (p.qos === 1) {
    sendBytes(b, conn, MIDGE_FEATURES.mqtt5 ? encodeAckCode(b, conn, PacketType.PUBACK, p.packetId, code) : encodeAck(PacketType.PUBACK, p.packetId));
  } else if (MIDGE_FEATURES.qos2 && p.qos === 2) {
    if (MIDGE_FEATURES.mqtt5 && v5 && code !== 0) {
      // A PUBREC of 0x80 or more ends the exchange: no PUBREL follows (§4.3.3).
      sendBytes(b, conn, encodeAckCode(b, conn, PacketType.PUBREC, p.packetId, code));
      return;
    }
    inboundAdd(s, p.packetId, b.limits.maxInboundQos2);
    b.changes++;
    const st = storeFor(b, s);
    if (st !== undefined) st.inboundAdd(s.clientId, p.packetId);
    sendBytes(b, conn, encodeAck(PacketType.PUBREC, p.packetId));
  }
}

/**
 * Policy checks whose failure is answered by "acknowledge and drop" (MQTT-3.3.5-2): 0 when the
 * message is accepted, else the MQTT 5.0 reason code of the refusal.
 */
function accept(b: Broker, s: Session, p: Packet): number {
  if (b.limits.messageSizeLimit > 0 && bytesLength(p.payload) > b.limits.messageSizeLimit) {
    logf(b.log, LogLevel.NOTICE, Msg.OVER_MESSAGE_SIZE_LIMIT, s.clientId, bytesLength(p.payload), p.topic, b.limits.messageSizeLimit);
    b.stats.messagesDropped++;
    return ReasonCode.QUOTA_EXCEEDED;
  }
  // Bridges may report their state under $SYS/broker/connection/ (mosquitto's notifications).
  if (p.topic.charCodeAt(0) === 36 && p.topic.indexOf("$SYS") === 0 && !(s.bridge && p.topic.indexOf("$SYS/broker/connection/") === 0)) {
    logf(b.log, LogLevel.NOTICE, Msg.SYS_RESERVED, s.clientId, p.topic);
    b.stats.messagesDropped++;
    return ReasonCode.NOT_AUTHORIZED;
  }
  if (b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, p.topic, Access.WRITE)) {
    logf(b.log, LogLevel.NOTICE, Msg.PUBLISH_DENIED, s.clientId, p.topic);
    b.stats.messagesDropped++;
    return ReasonCode.NOT_AUTHORIZED;
  }
  return 0;
}
