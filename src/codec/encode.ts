import { Bytes, bytesLength, newWriter, writerReset, writerByte, writerBytes, writerString, writerTake, utf8Length } from "../bytes/bytes";
import { PacketType } from "./constants";
import { fieldBinary, fieldString, fieldU16, fieldVariable } from "./fields";
import { Packet } from "./packet";

// One writer for all encoders: encoding is synchronous and writerTake hands out a copy.
const out = newWriter(256);





export function encodeConnack(sessionPresent: boolean, returnCode: number): Bytes {
  writerReset(out);
  writerByte(out, 0x20);
  writerByte(out, 2);
  writerByte(out, sessionPresent ? 1 : 0);
  writerByte(out, returnCode);
  return writerTake(out);
}

/**
 * PUBLISH from the topic's UTF-8 bytes (as received, so relaying never re-encodes it).
 * packetId is written only for QoS 1 and 2 (MQTT-2.3.1-5).
 */
export function encodePublish(topicBytes: Bytes, payload: Bytes, qos: number, dup: boolean, retain: boolean, packetId: number): Bytes {
  const topicLength = bytesLength(topicBytes);
  const payloadLength = bytesLength(payload);
  writerReset(out);
  writerByte(out, 0x30 + (dup ? 8 : 0) + qos * 2 + (retain ? 1 : 0));
  fieldVariable(out, 2 + topicLength + (qos > 0 ? 2 : 0) + payloadLength);
  fieldU16(out, topicLength);
  writerBytes(out, topicBytes, 0, topicLength);
  if (qos > 0) fieldU16(out, packetId);
  writerBytes(out, payload, 0, payloadLength);
  return writerTake(out);
}

/** PUBACK, PUBREC, PUBREL (flags 0010, MQTT-3.6.1-1), PUBCOMP and UNSUBACK. */
export function encodeAck(type: number, packetId: number): Bytes {
  writerReset(out);
  writerByte(out, type * 16 + (type === PacketType.PUBREL ? 2 : 0));
  writerByte(out, 2);
  fieldU16(out, packetId);
  return writerTake(out);
}

export function encodeSuback(packetId: number, codes: number[], count: number): Bytes {
  writerReset(out);
  writerByte(out, 0x90);
  fieldVariable(out, 2 + count);
  fieldU16(out, packetId);
  for (let i = 0; i < count; i++) writerByte(out, codes[i]);
  return writerTake(out);
}

/** PINGREQ, PINGRESP and DISCONNECT. */
export function encodeEmpty(type: number): Bytes {
  writerReset(out);
  writerByte(out, type * 16);
  writerByte(out, 0);
  return writerTake(out);
}

export function encodeSubscribe(packetId: number, filters: string[], qosList: number[], count: number): Bytes {
  let length = 2;
  for (let i = 0; i < count; i++) length += 3 + utf8Length(filters[i]);
  writerReset(out);
  writerByte(out, 0x82);
  fieldVariable(out, length);
  fieldU16(out, packetId);
  for (let i = 0; i < count; i++) {
    fieldString(out, filters[i], utf8Length(filters[i]));
    writerByte(out, qosList[i]);
  }
  return writerTake(out);
}

export function encodeUnsubscribe(packetId: number, filters: string[], count: number): Bytes {
  let length = 2;
  for (let i = 0; i < count; i++) length += 2 + utf8Length(filters[i]);
  writerReset(out);
  writerByte(out, 0xa2);
  fieldVariable(out, length);
  fieldU16(out, packetId);
  for (let i = 0; i < count; i++) fieldString(out, filters[i], utf8Length(filters[i]));
  return writerTake(out);
}

/** CONNECT from p's CONNECT fields (protocolName, protocolLevel, flags, ids, will, credentials). */
export function encodeConnect(p: Packet): Bytes {
  const nameLength = utf8Length(p.protocolName);
  const idLength = utf8Length(p.clientId);
  let length = 2 + nameLength + 1 + 1 + 2 + 2 + idLength;
  let flags = p.cleanSession ? 2 : 0;
  let willTopicLength = 0;
  let usernameLength = 0;
  if (p.willFlag) {
    willTopicLength = utf8Length(p.willTopic);
    length += 2 + willTopicLength + 2 + bytesLength(p.willPayload);
    flags += 4 + p.willQos * 8 + (p.willRetain ? 32 : 0);
  }
  if (p.hasUsername) {
    usernameLength = utf8Length(p.username);
    length += 2 + usernameLength;
    flags += 128;
  }
  if (p.hasPassword) {
    length += 2 + bytesLength(p.password);
    flags += 64;
  }
  writerReset(out);
  writerByte(out, 0x10);
  fieldVariable(out, length);
  fieldString(out, p.protocolName, nameLength);
  writerByte(out, p.protocolLevel);
  writerByte(out, flags);
  fieldU16(out, p.keepAlive);
  fieldString(out, p.clientId, idLength);
  if (p.willFlag) {
    fieldString(out, p.willTopic, willTopicLength);
    fieldBinary(out, p.willPayload);
  }
  if (p.hasUsername) fieldString(out, p.username, usernameLength);
  if (p.hasPassword) fieldBinary(out, p.password);
  return writerTake(out);
}

/** Encodes any packet from its record: the inverse of decodePacket (used by tests and tools). */
export function encodePacket(p: Packet): Bytes {
  switch (p.type) {
    case PacketType.CONNECT:
      return encodeConnect(p);
    case PacketType.CONNACK:
      return encodeConnack(p.sessionPresent, p.returnCode);
    case PacketType.PUBLISH:
      return encodePublish(p.topicBytes, p.payload, p.qos, p.dup, p.retain, p.packetId);
    case PacketType.SUBSCRIBE:
      return encodeSubscribe(p.packetId, p.filters, p.qosList, p.count);
    case PacketType.SUBACK:
      return encodeSuback(p.packetId, p.qosList, p.count);
    case PacketType.UNSUBSCRIBE:
      return encodeUnsubscribe(p.packetId, p.filters, p.count);
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
    case PacketType.UNSUBACK:
      return encodeAck(p.type, p.packetId);
    default:
      return encodeEmpty(p.type);
  }
}
