import { Bytes, bytesLength, byteAt, bytesView, utf8Decode } from "../bytes/bytes";
import { PacketType, PROTOCOL_LEVEL_311, PROTOCOL_LEVEL_31, PROTOCOL_LEVEL_5, requiredFlags } from "./constants";
import { decodeConnectV5, decodePacketV5 } from "./decode5";
import { Packet } from "./packet";
import { Status } from "./status";
import { validateUtf8 } from "./utf8";

// Cursor over the body being decoded. Decoding is synchronous, so one module-level cursor
// serves every connection.
let body: Bytes;
let pos = 0;
let bodyEnd = 0;
/** Range of the last string or binary field read. */
let fieldStart = 0;
let fieldEnd = 0;

/** A protocol level no CONNECT carries: the name is known, but no level of it is accepted. */
const NO_LEVEL = -1000;

function readU16(): number {
  const v = byteAt(body, pos) * 256 + byteAt(body, pos + 1);
  pos += 2;
  return v;
}

/** Reads a 2-byte length and that many bytes into [fieldStart, fieldEnd). */
function readField(): Status {
  if (bodyEnd - pos < 2) return Status.TRUNCATED;
  const n = readU16();
  if (bodyEnd - pos < n) return Status.TRUNCATED;
  fieldStart = pos;
  fieldEnd = pos + n;
  pos += n;
  return Status.OK;
}

function readString(): Status {
  const st = readField();
  if (st !== Status.OK) return st;
  return validateUtf8(body, fieldStart, fieldEnd);
}

/** Topic name rules for PUBLISH and will topics (MQTT-4.7.3-1, MQTT-3.3.2-2). */
function checkTopicName(start: number, stop: number): Status {
  if (stop === start) return Status.EMPTY_TOPIC;
  for (let i = start; i < stop; i++) {
    const c = byteAt(body, i);
    if (c === 0x2b || c === 0x23) return Status.WILDCARD_IN_TOPIC;
  }
  return Status.OK;
}

function decodeConnect(p: Packet, version: number | undefined): Status {
  // Order of checks per SRV-CON-8: name, level, then flags and payload.
  let st = readField();
  if (st !== Status.OK) return st;
  const nameLength = fieldEnd - fieldStart;
  let expectedLevel = 0;
  if (
    nameLength === 4 &&
    byteAt(body, fieldStart) === 0x4d &&
    byteAt(body, fieldStart + 1) === 0x51 &&
    byteAt(body, fieldStart + 2) === 0x54 &&
    byteAt(body, fieldStart + 3) === 0x54
  ) {
    p.protocolName = "MQTT";
    expectedLevel = PROTOCOL_LEVEL_311;
  } else if (
    nameLength === 6 &&
    byteAt(body, fieldStart) === 0x4d &&
    byteAt(body, fieldStart + 1) === 0x51 &&
    byteAt(body, fieldStart + 2) === 0x49 &&
    byteAt(body, fieldStart + 3) === 0x73 &&
    byteAt(body, fieldStart + 4) === 0x64 &&
    byteAt(body, fieldStart + 5) === 0x70
  ) {
    // MQTT 3.1. A build without it answers CONNACK 0x01 (MQTT-3.1.2-2), which a 3.1 client
    // understands, rather than closing on an unknown protocol name.
    p.protocolName = MIDGE_FEATURES.mqtt31 ? "MQIsdp" : "";
    expectedLevel = MIDGE_FEATURES.mqtt31 ? PROTOCOL_LEVEL_31 : NO_LEVEL;
  } else {
    return Status.BAD_PROTOCOL_NAME; // MQTT-3.1.2-1
  }
  if (bodyEnd - pos < 1) return Status.TRUNCATED;
  p.protocolLevel = byteAt(body, pos);
  pos++;
  // MQTT 5.0 only when built in and the caller serves it; otherwise level 5 gets the 3.1.1
  // answer below (CONNACK 0x01).
  if (MIDGE_FEATURES.mqtt5 && version === PROTOCOL_LEVEL_5 && expectedLevel === PROTOCOL_LEVEL_311 && p.protocolLevel === PROTOCOL_LEVEL_5) {
    return decodeConnectV5(body, p);
  }
  // MQTT-3.1.2-2; the level with bit 7 set (0x83, 0x84) marks a bridge (SRV-V31-11): decoded
  // as is, the broker decides.
  if (p.protocolLevel !== expectedLevel && p.protocolLevel !== expectedLevel + 128) return Status.UNSUPPORTED_PROTOCOL_LEVEL;
  if (bodyEnd - pos < 3) return Status.TRUNCATED;
  const flags = byteAt(body, pos);
  pos++;
  if (flags % 2 === 1) return Status.CONNECT_RESERVED_FLAG; // MQTT-3.1.2-3
  p.cleanSession = Math.floor(flags / 2) % 2 === 1;
  p.willFlag = Math.floor(flags / 4) % 2 === 1;
  // An integer where kept (Math.floor gives a float on Espruino: a variable more wherever kept).
  p.willQos = Math.round((flags % 32 - flags % 8) / 8);
  p.willRetain = Math.floor(flags / 32) % 2 === 1;
  p.hasPassword = Math.floor(flags / 64) % 2 === 1;
  p.hasUsername = flags >= 128;
  if (!p.willFlag && (p.willQos !== 0 || p.willRetain)) return Status.BAD_WILL_FLAGS; // MQTT-3.1.2-11, MQTT-3.1.2-13, MQTT-3.1.2-15
  if (p.willQos === 3) return Status.BAD_WILL_FLAGS; // MQTT-3.1.2-14
  if (p.hasPassword && !p.hasUsername) return Status.PASSWORD_WITHOUT_USERNAME; // MQTT-3.1.2-22
  p.keepAlive = readU16();

  st = readString(); // MQTT-3.1.3-3, MQTT-3.1.3-4
  if (st !== Status.OK) return st;
  p.clientId = utf8Decode(body, fieldStart, fieldEnd);
  if (p.willFlag) {
    st = readString(); // MQTT-3.1.3-10
    if (st !== Status.OK) return st;
    st = checkTopicName(fieldStart, fieldEnd); // SRV-CON-3
    if (st !== Status.OK) return st;
    p.willTopic = utf8Decode(body, fieldStart, fieldEnd);
    st = readField();
    if (st !== Status.OK) return st;
    p.willPayload = bytesView(body, fieldStart, fieldEnd);
  } else {
    p.willTopic = "";
    p.willPayload = bytesView(body, 0, 0);
  }
  if (p.hasUsername) {
    st = readString(); // MQTT-3.1.3-11
    if (st !== Status.OK) return st;
    p.username = utf8Decode(body, fieldStart, fieldEnd);
  } else {
    p.username = "";
  }
  if (p.hasPassword) {
    st = readField();
    if (st !== Status.OK) return st;
    p.password = bytesView(body, fieldStart, fieldEnd);
  } else {
    p.password = bytesView(body, 0, 0);
  }
  if (pos !== bodyEnd) return Status.TRAILING_BYTES; // SRV-CON-4
  return Status.OK;
}

function decodeConnack(p: Packet): Status {
  if (bodyEnd !== 2) return Status.BAD_LENGTH;
  const ackFlags = byteAt(body, 0);
  if (ackFlags > 1) return Status.BAD_CONNACK_FLAGS;
  p.sessionPresent = ackFlags === 1;
  p.returnCode = byteAt(body, 1);
  return Status.OK;
}

function decodePublish(p: Packet): Status {
  p.dup = p.flags >= 8;
  // An integer: Espruino keeps one in the variable that names it, and Math.floor gives a float
  // there, which costs a variable more in every message and flight that keeps this QoS.
  p.qos = Math.round((p.flags % 8 - p.flags % 2) / 2);
  p.retain = p.flags % 2 === 1;
  if (p.qos === 3) return Status.BAD_QOS; // MQTT-3.3.1-4
  if (p.qos === 0 && p.dup) return Status.QOS0_WITH_DUP; // MQTT-3.3.1-2, SRV-IMPL-3
  let st = readString(); // MQTT-3.3.2-1
  if (st !== Status.OK) return st;
  st = checkTopicName(fieldStart, fieldEnd); // MQTT-3.3.2-2, SRV-PUB-12
  if (st !== Status.OK) return st;
  p.topicBytes = bytesView(body, fieldStart, fieldEnd);
  p.topic = utf8Decode(body, fieldStart, fieldEnd);
  if (p.qos > 0) {
    if (bodyEnd - pos < 2) return Status.TRUNCATED;
    p.packetId = readU16();
    if (p.packetId === 0) return Status.ZERO_PACKET_ID; // MQTT-2.3.1-1
  } else {
    p.packetId = 0; // MQTT-2.3.1-5
  }
  p.payload = bytesView(body, pos, bodyEnd);
  return Status.OK;
}

function decodeIdOnly(p: Packet): Status {
  if (bodyEnd !== 2) return Status.BAD_LENGTH; // SRV-FH-4
  p.packetId = readU16();
  if (p.packetId === 0) return Status.ZERO_PACKET_ID;
  return Status.OK;
}

function decodeSubscribe(p: Packet, withQos: boolean): Status {
  if (bodyEnd - pos < 2) return Status.TRUNCATED;
  p.packetId = readU16();
  if (p.packetId === 0) return Status.ZERO_PACKET_ID; // MQTT-2.3.1-1
  let n = 0;
  while (pos < bodyEnd) {
    const st = readString(); // MQTT-3.8.3-1, MQTT-3.10.3-1
    if (st !== Status.OK) return st;
    p.filters[n] = utf8Decode(body, fieldStart, fieldEnd);
    if (withQos) {
      if (pos >= bodyEnd) return Status.TRUNCATED;
      const options = byteAt(body, pos);
      pos++;
      if (options > 3) return Status.BAD_SUBSCRIBE_OPTIONS; // MQTT-3.8.3-4
      if (options === 3) return Status.BAD_QOS; // MQTT-3.8.3-4
      p.qosList[n] = options;
    }
    n++;
  }
  p.count = n;
  if (n === 0) return Status.NO_FILTERS; // MQTT-3.8.3-3, MQTT-3.10.3-2
  return Status.OK;
}

function decodeSuback(p: Packet): Status {
  if (bodyEnd < 3) return Status.TRUNCATED;
  p.packetId = readU16();
  if (p.packetId === 0) return Status.ZERO_PACKET_ID;
  let n = 0;
  while (pos < bodyEnd) {
    const code = byteAt(body, pos);
    pos++;
    if (code > 2 && code !== 0x80) return Status.BAD_QOS; // MQTT-3.9.3-2
    p.qosList[n] = code;
    n++;
  }
  p.count = n;
  return Status.OK;
}

/**
 * Decodes the body of one packet (as framed by the frame reader) into p. Checks everything
 * the packet layout fixes; what depends on connection state (CONNECT first, direction of
 * packets) is the broker's job. Returns Status.OK or the reason the packet is malformed.
 *
 * version: the protocol level the connection speaks. Left out (or 3, 4): MQTT 3.1 / 3.1.1.
 * PROTOCOL_LEVEL_5 on a build with MIDGE_FEATURES.mqtt5: the packet is read by the 5.0 rules
 * (decode5.ts), and for CONNECT, which comes before any version is known, it means "this
 * server takes 5.0": a CONNECT with level 5 is decoded (p.protocolLevel 5) instead of
 * reporting UNSUPPORTED_PROTOCOL_LEVEL; 3.1 and 3.1.1 CONNECTs decode as always.
 */
export function decodePacket(type: number, flags: number, packetBody: Bytes, p: Packet, version?: number): Status {
  if (MIDGE_FEATURES.mqtt5 && version === PROTOCOL_LEVEL_5 && type !== PacketType.CONNECT) return decodePacketV5(type, flags, packetBody, p);
  p.type = type;
  p.flags = flags;
  const required = requiredFlags(type, false);
  if (required === -2) return Status.BAD_PACKET_TYPE;
  if (required >= 0 && flags !== required) return Status.BAD_FLAGS; // MQTT-2.2.2-2
  body = packetBody;
  pos = 0;
  bodyEnd = bytesLength(packetBody);
  switch (type) {
    case PacketType.CONNECT:
      return decodeConnect(p, version);
    case PacketType.CONNACK:
      return decodeConnack(p);
    case PacketType.PUBLISH:
      return decodePublish(p);
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
    case PacketType.UNSUBACK:
      return decodeIdOnly(p);
    case PacketType.SUBSCRIBE:
      return decodeSubscribe(p, true);
    case PacketType.UNSUBSCRIBE:
      return decodeSubscribe(p, false);
    case PacketType.SUBACK:
      return decodeSuback(p);
    default:
      // PINGREQ, PINGRESP, DISCONNECT carry nothing (SRV-FH-4).
      return bodyEnd === 0 ? Status.OK : Status.BAD_LENGTH;
  }
}
