import { Bytes } from "../bytes/bytes";
import { PROTOCOL_LEVEL_5, PacketType, ReasonCode } from "../codec/constants";
import { encodeAck } from "../codec/encode";
import { encodeAckV5, encodeConnackV5, encodeSubackV5, encodeMessageProperties, encodeReasonV5 } from "../codec/encode5";
import { Packet } from "../codec/packet";
import { Properties, propertiesReset } from "../codec/properties";
import { sendBytes } from "./delivery";
import { isV5 } from "./message5";
import { Broker, ConnState, Session } from "./state";

/**
 * What MQTT 5.0 adds to a connection (OASIS MQTT Version 5.0): the settings of its CONNECT,
 * CONNACK with the server's limits, refusals and DISCONNECT with reason codes, acknowledgements
 * with a reason code. The message side is message5.ts. Reached behind MIDGE_FEATURES.mqtt5
 * only, so a build without MQTT 5 drops this file; 3.1 and 3.1.1 connections never reach it.
 */

/** The reply properties, emptied, for filling in. */
function replyProps(b: Broker): Properties {
  propertiesReset(b.replyProps);
  return b.replyProps;
}

/**
 * Sends DISCONNECT with a reason code to an MQTT 5.0 client whose CONNECT was accepted (the
 * server's side of §3.14: after CONNACK only, MQTT-3.14.0-1); nothing for other connections.
 * The caller closes the connection.
 */
export function sendDisconnectV5(b: Broker, conn: number, code: number): void {
  const c = b.conns[conn];
  if (c.state !== ConnState.CONNECTED || !isV5(c)) return;
  sendBytes(b, conn, encodeReasonV5(PacketType.DISCONNECT, code, replyProps(b), c.maxPacketOut));
}

/** CONNACK refusing a 5.0 CONNECT with reason code `code` (≥ 0x80, MQTT-3.2.2-7). */
export function sendRefusalV5(b: Broker, conn: number, code: number, maxPacketOut: number): void {
  sendBytes(b, conn, encodeConnackV5(false, code, replyProps(b), maxPacketOut));
}

/**
 * CONNACK accepting a 5.0 CONNECT, with what the client must know of this server's limits
 * (§3.2.2.3): Receive Maximum, Maximum QoS, Retain Available, Maximum Packet Size, Topic Alias
 * Maximum, Shared Subscription Available 1, Server Keep Alive when max_keepalive overrides the
 * client's keepAlive, the Assigned Client Identifier (assigned: "" = none), and the Session
 * Expiry Interval when the server chose another than asked (expiry -1 = as asked).
 */
export function sendConnackV5(b: Broker, conn: number, sessionPresent: boolean, assigned: string, expiry: number, keepAlive: number): void {
  const pr = replyProps(b);
  const limits = b.limits;
  // The client's Receive Maximum quota counts QoS 2 PUBLISHes awaiting PUBREL here: QoS 1 is
  // acknowledged as it is read (§3.2.2.3.3, §4.9).
  if (limits.maxInboundQos2 < 65535) pr.receiveMaximum = limits.maxInboundQos2;
  if (!MIDGE_FEATURES.qos2) pr.maximumQos = 1;
  if (!(MIDGE_FEATURES.retained && limits.retainAvailable)) pr.retainAvailable = 0;
  pr.maximumPacketSize = limits.maxPacketSize;
  if (limits.maxTopicAlias > 0) pr.topicAliasMaximum = limits.maxTopicAlias; // absent = 0 (SRV5-CON-35)
  // max_keepalive: a keep alive above it, or none, is replaced by it (MQTT-3.2.2-21 binds the client).
  if (limits.maxKeepAlive < 65535 && (keepAlive === 0 || keepAlive > limits.maxKeepAlive)) pr.serverKeepAlive = limits.maxKeepAlive;
  pr.sharedSubscriptionAvailable = 1; // shared.ts
  if (assigned !== "") {
    pr.hasAssignedClientId = true;
    pr.assignedClientId = assigned;
  }
  if (expiry >= 0) pr.sessionExpiryInterval = expiry;
  sendBytes(b, conn, encodeConnackV5(sessionPresent, ReasonCode.SUCCESS, pr, b.conns[conn].maxPacketOut));
}

/**
 * Takes the CONNECT's 5.0 settings for the connection and its session: the client's Maximum
 * Packet Size and Receive Maximum, the will's properties, expiry and delay; a fresh alias table.
 */
export function connectV5(b: Broker, conn: number, p: Packet, s: Session): void {
  const c = b.conns[conn];
  c.maxPacketOut = p.props.maximumPacketSize > 0 ? p.props.maximumPacketSize : 0;
  c.aliases = [];
  c.aliasBytes = [];
  c.reader.version = PROTOCOL_LEVEL_5;
  s.receiveMax = p.props.receiveMaximum > 0 ? p.props.receiveMaximum : 65535; // §3.1.2.11.3
  if (p.willFlag) {
    c.willProps = encodeMessageProperties(p.willProps);
    c.willExpiry = p.willProps.messageExpiryInterval;
    c.willDelay = p.willProps.willDelayInterval > 0 ? p.willProps.willDelayInterval : 0;
  }
}

/**
 * PUBACK, PUBREC, PUBREL or PUBCOMP for conn: the 3.1.1 form, which is also 5.0's for Success,
 * or the 5.0 form with a reason code (§3.4.2.1).
 */
export function encodeAckCode(b: Broker, conn: number, type: number, packetId: number, code: number): Bytes {
  if (code === 0 || !isV5(b.conns[conn])) return encodeAck(type, packetId);
  return encodeAckV5(type, packetId, code, replyProps(b), b.conns[conn].maxPacketOut);
}

/** SUBACK or UNSUBACK (type) to an MQTT 5.0 client: one reason code per filter (§3.9.3, §3.11.3). */
export function encodeSubackCodes(b: Broker, conn: number, type: number, packetId: number, codes: number[], count: number): Bytes {
  return encodeSubackV5(type, packetId, codes, count, replyProps(b), b.conns[conn].maxPacketOut);
}
