import { Bytes, EMPTY_BYTES, bytesLength, bytesView, newWriter, writerReset, writerByte, writerBytes, writerString, writerTake, utf8Length } from "../bytes/bytes";
import { PacketType } from "./constants";
import { fieldBinary, fieldString, fieldU16, fieldVariable } from "./fields";
import { Packet } from "./packet";
import { Properties, PropertyPlace, propertyAllowed } from "./properties";

// The MQTT 5.0 encoders (OASIS MQTT Version 5.0, chapter 3). Separate from encode.ts so the
// 3.1.1 hot path (encodePublish for QoS 0 fan-out) stays as it is, and a build without
// MIDGE_FEATURES.mqtt5 drops this file. A property block is measured first (propertiesLength),
// then written, so the size of a packet is known before any byte is written: the broker checks
// it against the client's Maximum Packet Size (MQTT-3.1.2-24) with publishSizeV5, and the
// other encoders leave out Reason String and User Properties when they would not fit
// (MQTT-3.1.2-25).

const out = newWriter(256);
/** Set while a packet is encoded without Reason String and User Properties. */
let lean = false;

/** Bytes of n as a Variable Byte Integer (SRV5-ENC-2). */
export function variableLength(n: number): number {
  if (n < 128) return 1;
  if (n < 16384) return 2;
  if (n < 2097152) return 3;
  return 4;
}

/** Size on the wire of a packet whose Remaining Length is `remaining` (SRV5-FH-5). */
export function packetSize(remaining: number): number {
  return 1 + variableLength(remaining) + remaining;
}

function writeU32(n: number): void {
  writerByte(out, Math.floor(n / 16777216) % 256);
  writerByte(out, Math.floor(n / 65536) % 256);
  writerByte(out, Math.floor(n / 256) % 256);
  writerByte(out, n % 256);
}

function writeText(s: string): void {
  fieldString(out, s, utf8Length(s));
}

/**
 * Bytes the properties of pr that may appear in `place` (a PropertyPlace) take, without the
 * Property Length in front. Properties not allowed in `place` are never counted nor written,
 * so one record can serve several packets.
 */
export function propertiesLength(pr: Properties, place: number): number {
  let n = 0;
  if (pr.payloadFormatIndicator >= 0 && propertyAllowed(0x01, place)) n += 2;
  if (pr.messageExpiryInterval >= 0 && propertyAllowed(0x02, place)) n += 5;
  if (pr.hasContentType && propertyAllowed(0x03, place)) n += 3 + utf8Length(pr.contentType);
  if (pr.hasResponseTopic && propertyAllowed(0x08, place)) n += 3 + utf8Length(pr.responseTopic);
  if (pr.hasCorrelationData && propertyAllowed(0x09, place)) n += 3 + bytesLength(pr.correlationData);
  if (pr.subscriptionIdCount > 0 && propertyAllowed(0x0b, place)) {
    for (let i = 0; i < pr.subscriptionIdCount; i++) n += 1 + variableLength(pr.subscriptionIds[i]);
  }
  if (pr.sessionExpiryInterval >= 0 && propertyAllowed(0x11, place)) n += 5;
  if (pr.hasAssignedClientId && propertyAllowed(0x12, place)) n += 3 + utf8Length(pr.assignedClientId);
  if (pr.serverKeepAlive >= 0 && propertyAllowed(0x13, place)) n += 3;
  if (pr.hasAuthenticationMethod && propertyAllowed(0x15, place)) n += 3 + utf8Length(pr.authenticationMethod);
  if (pr.hasAuthenticationData && propertyAllowed(0x16, place)) n += 3 + bytesLength(pr.authenticationData);
  if (pr.requestProblemInformation >= 0 && propertyAllowed(0x17, place)) n += 2;
  if (pr.willDelayInterval >= 0 && propertyAllowed(0x18, place)) n += 5;
  if (pr.requestResponseInformation >= 0 && propertyAllowed(0x19, place)) n += 2;
  if (pr.hasResponseInformation && propertyAllowed(0x1a, place)) n += 3 + utf8Length(pr.responseInformation);
  if (pr.hasServerReference && propertyAllowed(0x1c, place)) n += 3 + utf8Length(pr.serverReference);
  if (!lean && pr.hasReasonString && propertyAllowed(0x1f, place)) n += 3 + utf8Length(pr.reasonString);
  if (pr.receiveMaximum >= 0 && propertyAllowed(0x21, place)) n += 3;
  if (pr.topicAliasMaximum >= 0 && propertyAllowed(0x22, place)) n += 3;
  if (pr.topicAlias >= 0 && propertyAllowed(0x23, place)) n += 3;
  if (pr.maximumQos >= 0 && propertyAllowed(0x24, place)) n += 2;
  if (pr.retainAvailable >= 0 && propertyAllowed(0x25, place)) n += 2;
  if (!lean && pr.userPropertyCount > 0 && propertyAllowed(0x26, place)) {
    for (let i = 0; i < pr.userPropertyCount; i++) n += 5 + utf8Length(pr.userKeys[i]) + utf8Length(pr.userValues[i]);
  }
  if (pr.maximumPacketSize >= 0 && propertyAllowed(0x27, place)) n += 5;
  if (pr.wildcardSubscriptionAvailable >= 0 && propertyAllowed(0x28, place)) n += 2;
  if (pr.subscriptionIdAvailable >= 0 && propertyAllowed(0x29, place)) n += 2;
  if (pr.sharedSubscriptionAvailable >= 0 && propertyAllowed(0x2a, place)) n += 2;
  return n;
}

function writeByteProperty(id: number, v: number): void {
  writerByte(out, id);
  writerByte(out, v);
}

/** Property Length, then the properties propertiesLength counted, in identifier order. */
function writeProperties(pr: Properties, place: number, length: number): void {
  fieldVariable(out, length);
  if (length === 0) return;
  if (pr.payloadFormatIndicator >= 0 && propertyAllowed(0x01, place)) writeByteProperty(0x01, pr.payloadFormatIndicator);
  if (pr.messageExpiryInterval >= 0 && propertyAllowed(0x02, place)) {
    writerByte(out, 0x02);
    writeU32(pr.messageExpiryInterval);
  }
  if (pr.hasContentType && propertyAllowed(0x03, place)) {
    writerByte(out, 0x03);
    writeText(pr.contentType);
  }
  if (pr.hasResponseTopic && propertyAllowed(0x08, place)) {
    writerByte(out, 0x08);
    writeText(pr.responseTopic);
  }
  if (pr.hasCorrelationData && propertyAllowed(0x09, place)) {
    writerByte(out, 0x09);
    fieldBinary(out, pr.correlationData);
  }
  if (pr.subscriptionIdCount > 0 && propertyAllowed(0x0b, place)) {
    for (let i = 0; i < pr.subscriptionIdCount; i++) {
      writerByte(out, 0x0b);
      fieldVariable(out, pr.subscriptionIds[i]);
    }
  }
  if (pr.sessionExpiryInterval >= 0 && propertyAllowed(0x11, place)) {
    writerByte(out, 0x11);
    writeU32(pr.sessionExpiryInterval);
  }
  if (pr.hasAssignedClientId && propertyAllowed(0x12, place)) {
    writerByte(out, 0x12);
    writeText(pr.assignedClientId);
  }
  if (pr.serverKeepAlive >= 0 && propertyAllowed(0x13, place)) {
    writerByte(out, 0x13);
    fieldU16(out, pr.serverKeepAlive);
  }
  if (pr.hasAuthenticationMethod && propertyAllowed(0x15, place)) {
    writerByte(out, 0x15);
    writeText(pr.authenticationMethod);
  }
  if (pr.hasAuthenticationData && propertyAllowed(0x16, place)) {
    writerByte(out, 0x16);
    fieldBinary(out, pr.authenticationData);
  }
  if (pr.requestProblemInformation >= 0 && propertyAllowed(0x17, place)) writeByteProperty(0x17, pr.requestProblemInformation);
  if (pr.willDelayInterval >= 0 && propertyAllowed(0x18, place)) {
    writerByte(out, 0x18);
    writeU32(pr.willDelayInterval);
  }
  if (pr.requestResponseInformation >= 0 && propertyAllowed(0x19, place)) writeByteProperty(0x19, pr.requestResponseInformation);
  if (pr.hasResponseInformation && propertyAllowed(0x1a, place)) {
    writerByte(out, 0x1a);
    writeText(pr.responseInformation);
  }
  if (pr.hasServerReference && propertyAllowed(0x1c, place)) {
    writerByte(out, 0x1c);
    writeText(pr.serverReference);
  }
  if (!lean && pr.hasReasonString && propertyAllowed(0x1f, place)) {
    writerByte(out, 0x1f);
    writeText(pr.reasonString);
  }
  if (pr.receiveMaximum >= 0 && propertyAllowed(0x21, place)) {
    writerByte(out, 0x21);
    fieldU16(out, pr.receiveMaximum);
  }
  if (pr.topicAliasMaximum >= 0 && propertyAllowed(0x22, place)) {
    writerByte(out, 0x22);
    fieldU16(out, pr.topicAliasMaximum);
  }
  if (pr.topicAlias >= 0 && propertyAllowed(0x23, place)) {
    writerByte(out, 0x23);
    fieldU16(out, pr.topicAlias);
  }
  if (pr.maximumQos >= 0 && propertyAllowed(0x24, place)) writeByteProperty(0x24, pr.maximumQos);
  if (pr.retainAvailable >= 0 && propertyAllowed(0x25, place)) writeByteProperty(0x25, pr.retainAvailable);
  if (!lean && pr.userPropertyCount > 0 && propertyAllowed(0x26, place)) {
    for (let i = 0; i < pr.userPropertyCount; i++) {
      writerByte(out, 0x26);
      writeText(pr.userKeys[i]);
      writeText(pr.userValues[i]);
    }
  }
  if (pr.maximumPacketSize >= 0 && propertyAllowed(0x27, place)) {
    writerByte(out, 0x27);
    writeU32(pr.maximumPacketSize);
  }
  if (pr.wildcardSubscriptionAvailable >= 0 && propertyAllowed(0x28, place)) writeByteProperty(0x28, pr.wildcardSubscriptionAvailable);
  if (pr.subscriptionIdAvailable >= 0 && propertyAllowed(0x29, place)) writeByteProperty(0x29, pr.subscriptionIdAvailable);
  if (pr.sharedSubscriptionAvailable >= 0 && propertyAllowed(0x2a, place)) writeByteProperty(0x2a, pr.sharedSubscriptionAvailable);
}

/**
 * The Property Length to encode pr with in a packet of `fixed` other Remaining Length bytes.
 * When the packet would exceed maxPacketSize (0 = no limit), Reason String and User Properties
 * are left out (MQTT-3.1.2-25) and `lean` stays set until the encoder finishes.
 */
function fitProperties(pr: Properties, place: number, fixed: number, maxPacketSize: number): number {
  lean = false;
  let length = propertiesLength(pr, place);
  if (maxPacketSize > 0 && packetSize(fixed + variableLength(length) + length) > maxPacketSize) {
    lean = true;
    length = propertiesLength(pr, place);
  }
  return length;
}

function take(): Bytes {
  lean = false;
  return writerTake(out);
}

/**
 * CONNACK (§3.2): acknowledge flags, reason code, properties (CONNACK place: session expiry,
 * receive maximum, maximum QoS, retain available, maximum packet size, assigned client id,
 * topic alias maximum, reason string, user properties, wildcard / subscription id / shared
 * subscription available, server keep alive, response information, server reference,
 * authentication method and data).
 */
export function encodeConnackV5(sessionPresent: boolean, reasonCode: number, pr: Properties, maxPacketSize: number): Bytes {
  const length = fitProperties(pr, PropertyPlace.CONNACK, 2, maxPacketSize);
  writerReset(out);
  writerByte(out, 0x20);
  fieldVariable(out, 2 + variableLength(length) + length);
  writerByte(out, sessionPresent && reasonCode < 0x80 ? 1 : 0); // MQTT-3.2.2-6: never with a refusal
  writerByte(out, reasonCode);
  writeProperties(pr, PropertyPlace.CONNACK, length);
  return take();
}

/**
 * Size on the wire of the PUBLISH encodePublishV5 would write, for the check against the
 * client's Maximum Packet Size before encoding (MQTT-3.1.2-24: a PUBLISH too large for the
 * client is dropped, not cut).
 */
export function publishSizeV5(topicLength: number, payloadLength: number, qos: number, pr: Properties): number {
  const length = propertiesLength(pr, PropertyPlace.PUBLISH);
  return packetSize(2 + topicLength + (qos > 0 ? 2 : 0) + variableLength(length) + length + payloadLength);
}

/**
 * Starts a PUBLISH in `out`: fixed header, topic name and packet id (QoS 1 and 2); `rest` is the
 * length of what follows them (properties and payload).
 */
function publishHead(topicBytes: Bytes, topicLength: number, qos: number, dup: boolean, retain: boolean, packetId: number, rest: number): void {
  writerReset(out);
  writerByte(out, 0x30 + (dup ? 8 : 0) + qos * 2 + (retain ? 1 : 0));
  fieldVariable(out, 2 + topicLength + (qos > 0 ? 2 : 0) + rest);
  fieldU16(out, topicLength);
  writerBytes(out, topicBytes, 0, topicLength);
  if (qos > 0) fieldU16(out, packetId);
}

/**
 * PUBLISH (§3.3) from the topic's UTF-8 bytes (empty when a Topic Alias stands for it) and the
 * PUBLISH properties of pr (payload format, message expiry, topic alias, response topic,
 * correlation data, user properties, subscription identifiers, content type). packetId only
 * for QoS 1 and 2 (MQTT-2.2.1-2).
 */
export function encodePublishV5(topicBytes: Bytes, payload: Bytes, qos: number, dup: boolean, retain: boolean, packetId: number, pr: Properties): Bytes {
  const topicLength = bytesLength(topicBytes);
  const payloadLength = bytesLength(payload);
  lean = false;
  const length = propertiesLength(pr, PropertyPlace.PUBLISH);
  publishHead(topicBytes, topicLength, qos, dup, retain, packetId, variableLength(length) + length + payloadLength);
  writeProperties(pr, PropertyPlace.PUBLISH, length);
  writerBytes(out, payload, 0, payloadLength);
  return take();
}

/**
 * PUBACK, PUBREC, PUBREL (flags 0010) and PUBCOMP (§3.4-§3.7): the short form (Remaining
 * Length 2) for Success without properties, 3 for another code without properties
 * (MQTT-3.4.2-1 and its siblings), else reason code and properties (reason string, user
 * properties).
 */
export function encodeAckV5(type: number, packetId: number, reasonCode: number, pr: Properties, maxPacketSize: number): Bytes {
  const length = fitProperties(pr, PropertyPlace.ACK, 3, maxPacketSize);
  writerReset(out);
  writerByte(out, type * 16 + (type === PacketType.PUBREL ? 2 : 0));
  if (length === 0) {
    writerByte(out, reasonCode === 0 ? 2 : 3);
    fieldU16(out, packetId);
    if (reasonCode !== 0) writerByte(out, reasonCode);
    return take();
  }
  fieldVariable(out, 3 + variableLength(length) + length);
  fieldU16(out, packetId);
  writerByte(out, reasonCode);
  writeProperties(pr, PropertyPlace.ACK, length);
  return take();
}

/** SUBACK or UNSUBACK (§3.9, §3.11; type says which): packet id, properties, one reason code per filter. */
export function encodeSubackV5(type: number, packetId: number, codes: number[], count: number, pr: Properties, maxPacketSize: number): Bytes {
  const length = fitProperties(pr, PropertyPlace.SUBACK, 2 + count, maxPacketSize);
  writerReset(out);
  writerByte(out, type * 16);
  fieldVariable(out, 2 + variableLength(length) + length + count);
  fieldU16(out, packetId);
  writeProperties(pr, PropertyPlace.SUBACK, length);
  for (let i = 0; i < count; i++) writerByte(out, codes[i]);
  return take();
}

/**
 * DISCONNECT (§3.14) or AUTH (§3.15; type says which): Remaining Length 0 for reason 0 without
 * properties; a DISCONNECT with another code and no properties is one byte; otherwise reason
 * code and properties (DISCONNECT: session expiry, reason string, user properties, server
 * reference; AUTH: authentication method and data, reason string, user properties).
 */
export function encodeReasonV5(type: number, reasonCode: number, pr: Properties, maxPacketSize: number): Bytes {
  const place = type === PacketType.AUTH ? PropertyPlace.AUTH : PropertyPlace.DISCONNECT;
  const length = fitProperties(pr, place, 1, maxPacketSize);
  writerReset(out);
  writerByte(out, type * 16);
  if (length === 0 && reasonCode === 0) {
    writerByte(out, 0);
  } else if (length === 0 && type === PacketType.DISCONNECT) {
    writerByte(out, 1);
    writerByte(out, reasonCode);
  } else {
    fieldVariable(out, 1 + variableLength(length) + length);
    writerByte(out, reasonCode);
    writeProperties(pr, place, length);
  }
  return take();
}

/** CONNECT (§3.1) from p's CONNECT fields, props and (with a will) willProps; for bridges and tests. */
export function encodeConnectV5(p: Packet): Bytes {
  lean = false;
  const idLength = utf8Length(p.clientId);
  const propsLength = propertiesLength(p.props, PropertyPlace.CONNECT);
  let length = 10 + variableLength(propsLength) + propsLength + 2 + idLength;
  let flags = p.cleanSession ? 2 : 0;
  let willLength = 0;
  if (p.willFlag) {
    willLength = propertiesLength(p.willProps, PropertyPlace.WILL);
    length += variableLength(willLength) + willLength + 2 + utf8Length(p.willTopic) + 2 + bytesLength(p.willPayload);
    flags += 4 + p.willQos * 8 + (p.willRetain ? 32 : 0);
  }
  if (p.hasUsername) {
    length += 2 + utf8Length(p.username);
    flags += 128;
  }
  if (p.hasPassword) {
    length += 2 + bytesLength(p.password);
    flags += 64;
  }
  writerReset(out);
  writerByte(out, 0x10);
  fieldVariable(out, length);
  writeText("MQTT");
  writerByte(out, 5);
  writerByte(out, flags);
  fieldU16(out, p.keepAlive);
  writeProperties(p.props, PropertyPlace.CONNECT, propsLength);
  writeText(p.clientId);
  if (p.willFlag) {
    writeProperties(p.willProps, PropertyPlace.WILL, willLength);
    writeText(p.willTopic);
    fieldBinary(out, p.willPayload);
  }
  if (p.hasUsername) writeText(p.username);
  if (p.hasPassword) fieldBinary(out, p.password);
  return take();
}

/** SUBSCRIBE (§3.8) with subscription options, or UNSUBSCRIBE (§3.10), from p; for bridges and tests. */
export function encodeSubscribeV5(p: Packet): Bytes {
  lean = false;
  const subscribe = p.type === PacketType.SUBSCRIBE;
  const place = subscribe ? PropertyPlace.SUBSCRIBE : PropertyPlace.UNSUBSCRIBE;
  const propsLength = propertiesLength(p.props, place);
  let length = 2 + variableLength(propsLength) + propsLength;
  for (let i = 0; i < p.count; i++) length += 2 + utf8Length(p.filters[i]) + (subscribe ? 1 : 0);
  writerReset(out);
  writerByte(out, p.type * 16 + 2);
  fieldVariable(out, length);
  fieldU16(out, p.packetId);
  writeProperties(p.props, place, propsLength);
  for (let i = 0; i < p.count; i++) {
    writeText(p.filters[i]);
    if (subscribe) {
      writerByte(out, p.qosList[i] + (p.noLocal[i] ? 4 : 0) + (p.retainAsPublished[i] ? 8 : 0) + p.retainHandling[i] * 16);
    }
  }
  return take();
}

/** Encodes any packet from its record by the 5.0 rules: the inverse of decodePacketV5 (tests and tools). */
export function encodePacketV5(p: Packet): Bytes {
  switch (p.type) {
    case PacketType.CONNECT:
      return encodeConnectV5(p);
    case PacketType.CONNACK:
      return encodeConnackV5(p.sessionPresent, p.returnCode, p.props, 0);
    case PacketType.PUBLISH:
      return encodePublishV5(p.topicBytes, p.payload, p.qos, p.dup, p.retain, p.packetId, p.props);
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
      return encodeAckV5(p.type, p.packetId, p.reasonCode, p.props, 0);
    case PacketType.SUBSCRIBE:
    case PacketType.UNSUBSCRIBE:
      return encodeSubscribeV5(p);
    case PacketType.SUBACK:
    case PacketType.UNSUBACK:
      return encodeSubackV5(p.type, p.packetId, p.qosList, p.count, p.props, 0);
    case PacketType.DISCONNECT:
    case PacketType.AUTH:
      return encodeReasonV5(p.type, p.reasonCode, p.props, 0);
    default:
      // PINGREQ, PINGRESP (§3.12, §3.13).
      writerReset(out);
      writerByte(out, p.type * 16);
      writerByte(out, 0);
      return take();
  }
}

/**
 * The properties of an application message that the broker passes through unchanged
 * (MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.2-20, §3.3.2.3.2 to §3.3.2.3.9): Payload Format
 * Indicator, Content Type, Response Topic, Correlation Data and User Properties of a PUBLISH or
 * of a will (pr), written once without a Property Length, for encodePublishMessageV5. Message
 * Expiry Interval, Topic Alias and Subscription Identifiers are not in it: they change per hop.
 * EMPTY (length 0) when there are none.
 */
export function encodeMessageProperties(pr: Properties): Bytes {
  const expiry = pr.messageExpiryInterval;
  const alias = pr.topicAlias;
  const ids = pr.subscriptionIdCount;
  pr.messageExpiryInterval = -1;
  pr.topicAlias = -1;
  pr.subscriptionIdCount = 0;
  lean = false;
  const length = propertiesLength(pr, PropertyPlace.PUBLISH);
  writerReset(out);
  if (length > 0) writeProperties(pr, PropertyPlace.PUBLISH, length);
  pr.messageExpiryInterval = expiry;
  pr.topicAlias = alias;
  pr.subscriptionIdCount = ids;
  if (length === 0) return EMPTY_BYTES;
  const all = take();
  // Drop the Property Length writeProperties puts first.
  return bytesView(all, variableLength(length), bytesLength(all));
}

/**
 * PUBLISH (§3.3) of a kept message to an MQTT 5.0 client: the message's own properties as
 * received (props, from encodeMessageProperties), the remaining Message Expiry Interval in
 * seconds (-1: none; MQTT-3.3.2-6) and the first idCount Subscription Identifiers of subIds,
 * those of the matching subscriptions (MQTT-3.3.4-3, MQTT-3.3.4-4).
 */
export function encodePublishMessageV5(topicBytes: Bytes, payload: Bytes, qos: number, dup: boolean, retain: boolean, packetId: number, expiry: number, subIds: number[] | undefined, idCount: number, props: Bytes): Bytes {
  const topicLength = bytesLength(topicBytes);
  const payloadLength = bytesLength(payload);
  const propsLength = bytesLength(props);
  let length = propsLength + (expiry >= 0 ? 5 : 0);
  for (let i = 0; i < idCount; i++) length += 1 + variableLength((subIds as number[])[i]);
  publishHead(topicBytes, topicLength, qos, dup, retain, packetId, variableLength(length) + length + payloadLength);
  fieldVariable(out, length);
  if (expiry >= 0) {
    writerByte(out, 0x02);
    writeU32(expiry);
  }
  for (let i = 0; i < idCount; i++) {
    writerByte(out, 0x0b);
    fieldVariable(out, (subIds as number[])[i]);
  }
  writerBytes(out, props, 0, propsLength);
  writerBytes(out, payload, 0, payloadLength);
  return take();
}
