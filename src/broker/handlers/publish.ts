import { bytesLength } from "../../bytes/bytes";
import { PacketType } from "../../codec/constants";
import { encodeAck } from "../../codec/encode";
import { Packet } from "../../codec/packet";
import { logf, render } from "../../log/log";
import { Msg } from "../../log/messages";
import { Access, LogLevel } from "../../platform";
import { inboundAdd, inboundHas } from "../../qos/flows";
import { sendBytes } from "../delivery";
import { closeConnection } from "../lifecycle";
import { storeFor } from "../persist";
import { publishFromClient } from "../publish";
import { Broker, Session } from "../state";

/**
 * PUBLISH from a connected client (§3.3, §4.3 receiver side): checks that close the
 * connection, checks answered by "acknowledge and drop", publication, then PUBACK or PUBREC.
 */
export function handlePublish(b: Broker, conn: number, p: Packet): void {
  const s = b.sessions[b.conns[conn].session];
  if (bytesLength(p.topicBytes) > b.limits.maxTopicLength) {
    closeConnection(b, conn, render(Msg.REASON_TOPIC_TOO_LONG, b.limits.maxTopicLength), true);
    return;
  }
  if (p.retain && !(MIDGE_FEATURES.retained && b.limits.retainAvailable)) {
    closeConnection(b, conn, render(Msg.REASON_RETAIN_UNAVAILABLE), true);
    return;
  }
  if (p.qos === 2 && !MIDGE_FEATURES.qos2) {
    // As mosquitto's max_qos 1 does for 3.1.1 clients, which cannot be told the maximum.
    closeConnection(b, conn, render(Msg.REASON_QOS2_OFF), true);
    return;
  }
  if (MIDGE_FEATURES.qos2 && p.qos === 2) {
    // A PUBLISH repeated before PUBREL is acknowledged again but not routed again (MQTT-4.3.3-2).
    if (inboundHas(s, p.packetId)) {
      sendBytes(b, conn, encodeAck(PacketType.PUBREC, p.packetId));
      return;
    }
    if (s.inboundCount >= b.limits.maxInboundQos2) {
      closeConnection(b, conn, render(Msg.REASON_TOO_MANY_QOS2, b.limits.maxInboundQos2), true);
      return;
    }
  }
  b.stats.messagesReceived++;
  if (accept(b, s, p)) publishFromClient(b, conn, p);
  // Ownership is taken once routed; only then acknowledge (SRV-OPS-5).
  if (p.qos === 1) {
    sendBytes(b, conn, encodeAck(PacketType.PUBACK, p.packetId));
  } else if (MIDGE_FEATURES.qos2 && p.qos === 2) {
    inboundAdd(s, p.packetId, b.limits.maxInboundQos2);
    b.changes++;
    const st = storeFor(b, s);
    if (st !== undefined) st.inboundAdd(s.clientId, p.packetId);
    sendBytes(b, conn, encodeAck(PacketType.PUBREC, p.packetId));
  }
}

/** Policy checks whose failure is answered by "acknowledge and drop" (MQTT-3.3.5-2). */
function accept(b: Broker, s: Session, p: Packet): boolean {
  if (b.limits.messageSizeLimit > 0 && bytesLength(p.payload) > b.limits.messageSizeLimit) {
    logf(b.log, LogLevel.NOTICE, Msg.OVER_MESSAGE_SIZE_LIMIT, s.clientId, bytesLength(p.payload), p.topic, b.limits.messageSizeLimit);
    b.stats.messagesDropped++;
    return false;
  }
  // Bridges may report their state under $SYS/broker/connection/ (mosquitto's notifications).
  if (p.topic.charCodeAt(0) === 36 && p.topic.indexOf("$SYS") === 0 && !(s.bridge && p.topic.indexOf("$SYS/broker/connection/") === 0)) {
    logf(b.log, LogLevel.NOTICE, Msg.SYS_RESERVED, s.clientId, p.topic);
    b.stats.messagesDropped++;
    return false;
  }
  if (b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, p.topic, Access.WRITE)) {
    logf(b.log, LogLevel.NOTICE, Msg.PUBLISH_DENIED, s.clientId, p.topic);
    b.stats.messagesDropped++;
    return false;
  }
  return true;
}
