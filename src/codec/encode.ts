import { Bytes, bytesLength, newWriter, writerReset, writerByte, writerBytes, writerString, writerTake, utf8Length } from "../bytes/bytes";
import { PacketType } from "./constants";
import { Packet } from "./packet";

// One writer for all encoders: encoding is synchronous and writerTake hands out a copy.
const out = newWriter(256);

function writeLength(n: number): void {
  // Variable byte integer, shortest form (SRV-ENC-5).
  let rest = n;
  do {
    let digit = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) digit += 128;
    writerByte(out, digit);
  } while (rest > 0);
}

function writeU16(n: number): void {
  writerByte(out, Math.floor(n / 256));
  writerByte(out, n % 256);
}

function writeStringField(s: string, byteLength: number): void {
  writeU16(byteLength);
  writerString(out, s);
}

function writeBinaryField(b: Bytes): void {
  const n = bytesLength(b);
  writeU16(n);
  writerBytes(out, b, 0, n);
}

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
  writeLength(2 + topicLength + (qos > 0 ? 2 : 0) + payloadLength);
  writeU16(topicLength);
  writerBytes(out, topicBytes, 0, topicLength);
  if (qos > 0) writeU16(packetId);
  writerBytes(out, payload, 0, payloadLength);
  return writerTake(out);
}

/** PUBACK, PUBREC, PUBREL (flags 0010, MQTT-3.6.1-1), PUBCOMP and UNSUBACK. */
export function encodeAck(type: number, packetId: number): Bytes {
  writerReset(out);
  writerByte(out, type * 16 + (type === PacketType.PUBREL ? 2 : 0));
  writerByte(out, 2);
  writeU16(packetId);
  return writerTake(out);
}

export function encodeSuback(packetId: number, codes: number[], count: number): Bytes {
  writerReset(out);
  writerByte(out, 0x90);
  writeLength(2 + count);
  writeU16(packetId);
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
  writeLength(length);
  writeU16(packetId);
  for (let i = 0; i < count; i++) {
    writeStringField(filters[i], utf8Length(filters[i]));
    writerByte(out, qosList[i]);
  }
  return writerTake(out);
}

export function encodeUnsubscribe(packetId: number, filters: string[], count: number): Bytes {
  let length = 2;
  for (let i = 0; i < count; i++) length += 2 + utf8Length(filters[i]);
  writerReset(out);
  writerByte(out, 0xa2);
  writeLength(length);
  writeU16(packetId);
  for (let i = 0; i < count; i++) writeStringField(filters[i], utf8Length(filters[i]));
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
  writeLength(length);
  writeStringField(p.protocolName, nameLength);
  writerByte(out, p.protocolLevel);
  writerByte(out, flags);
  writeU16(p.keepAlive);
  writeStringField(p.clientId, idLength);
  if (p.willFlag) {
    writeStringField(p.willTopic, willTopicLength);
    writeBinaryField(p.willPayload);
  }
  if (p.hasUsername) writeStringField(p.username, usernameLength);
  if (p.hasPassword) writeBinaryField(p.password);
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
