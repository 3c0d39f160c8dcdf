import { bytesLength } from "../../bytes/bytes";
import { PacketType } from "../../codec/constants";
import { encodeAck } from "../../codec/encode";
import { Packet } from "../../codec/packet";
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
    closeConnection(b, conn, "topic longer than " + b.limits.maxTopicLength + " bytes", true);
    return;
  }
  if (p.retain && !b.limits.retainAvailable) {
    closeConnection(b, conn, "retained message while retain_available is false", true);
    return;
  }
  if (p.qos === 2) {
    // A PUBLISH repeated before PUBREL is acknowledged again but not routed again (MQTT-4.3.3-2).
    if (inboundHas(s, p.packetId)) {
      sendBytes(b, conn, encodeAck(PacketType.PUBREC, p.packetId));
      return;
    }
    if (s.inboundCount >= b.limits.maxInboundQos2) {
      closeConnection(b, conn, "more than " + b.limits.maxInboundQos2 + " QoS 2 messages awaiting PUBREL", true);
      return;
    }
  }
  b.stats.messagesReceived++;
  if (accept(b, s, p)) publishFromClient(b, conn, p);
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
