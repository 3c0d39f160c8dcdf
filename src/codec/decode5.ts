import { Bytes, bytesLength, byteAt, bytesView, utf8Decode } from "../bytes/bytes";
import { PacketType, PROTOCOL_LEVEL_5, requiredFlags } from "./constants";
import { Packet } from "./packet";
import { Properties, PropertyPlace, PropertyType, MAX_PROPERTY_ID, PROPERTY_TYPES, propertiesReset, propertyAllowed } from "./properties";
import { Status } from "./status";
import { validateUtf8 } from "./utf8";

// The MQTT 5.0 decoders (OASIS MQTT Version 5.0, chapters 2 and 3). Reached only through
// decodePacket (decode.ts) behind MIDGE_FEATURES.mqtt5, so a build without MQTT 5 drops this
// file. Same shape as decode.ts: one module-level cursor, a caller-owned Packet filled in place.

let body: Bytes;
let pos = 0;
let bodyEnd = 0;
/** Range of the last string or binary field read. */
let fieldStart = 0;
let fieldEnd = 0;
/** readVariable's answers besides a value. */
/**
 * Set while decodePacketFromServerV5 reads a packet a server sent to us as a client (a
 * bridge's upstream): a PUBLISH then may carry Subscription Identifiers, any number of them
 * (MQTT-3.3.4-4), which a client's PUBLISH must not (MQTT-3.3.4-6).
 */
let fromServer = false;
const VBI_TRUNCATED = -1;
const VBI_MALFORMED = -2;

function readU16(): number {
  const v = byteAt(body, pos) * 256 + byteAt(body, pos + 1);
  pos += 2;
  return v;
}

function readU32(): number {
  // Multiplications, not shifts: 0xFFFFFFFF must stay positive (SRV5-ENC-1).
  const v = byteAt(body, pos) * 16777216 + byteAt(body, pos + 1) * 65536 + byteAt(body, pos + 2) * 256 + byteAt(body, pos + 3);
  pos += 4;
  return v;
}

/**
 * Reads a Variable Byte Integer ending at or before stop. Returns the value, VBI_TRUNCATED when
 * the bytes run out, or VBI_MALFORMED for a 5th byte (SRV5-ENC-3) or a longer form than needed
 * (MQTT-1.5.5-1).
 */
function readVariable(stop: number): number {
  let value = 0;
  let multiplier = 1;
  for (let n = 1; n <= 4; n++) {
    if (pos >= stop) return VBI_TRUNCATED;
    const b = byteAt(body, pos);
    pos++;
    value += (b % 128) * multiplier;
    if (b < 128) {
      if (b === 0 && n > 1) return VBI_MALFORMED;
      return value;
    }
    multiplier *= 128;
  }
  return VBI_MALFORMED;
}

/** Reads a 2-byte length and that many bytes, all before stop, into [fieldStart, fieldEnd). */
function readField(stop: number): boolean {
  if (stop - pos < 2) return false;
  const n = readU16();
  if (stop - pos < n) return false;
  fieldStart = pos;
  fieldEnd = pos + n;
  pos += n;
  return true;
}

function readString(): Status {
  if (!readField(bodyEnd)) return Status.TRUNCATED;
  return validateUtf8(body, fieldStart, fieldEnd); // MQTT-1.5.4-1, MQTT-1.5.4-2
}

function fieldText(): string {
  return utf8Decode(body, fieldStart, fieldEnd);
}

/** A one-byte property that may only be 0 or 1 (SRV5-PROP-4). */
function flagValue(had: number, v: number): Status {
  if (had >= 0) return Status.V5_DUPLICATE_PROPERTY;
  if (v > 1) return Status.V5_BAD_PROPERTY_VALUE;
  return Status.OK;
}

/**
 * Reads a Property Length and the properties it covers into pr, as allowed in `place` (a
 * PropertyPlace). Unknown or misplaced identifiers and values of the wrong shape are Malformed
 * (SRV5-PROP-2); repeats and values out of range a Protocol Error (SRV5-PROP-3, SRV5-PROP-4).
 */
function readProperties(pr: Properties, place: number): Status {
  propertiesReset(pr);
  const length = readVariable(bodyEnd);
  if (length === VBI_TRUNCATED) return Status.V5_BAD_PROPERTY_LENGTH;
  if (length === VBI_MALFORMED) return Status.V5_BAD_VARIABLE_INTEGER;
  if (length > bodyEnd - pos) return Status.V5_BAD_PROPERTY_LENGTH;
  return readPropertyList(pr, place, pos + length);
}

/** The properties from pos up to stop (no Property Length) into pr, as readProperties. */
function readPropertyList(pr: Properties, place: number, stop: number): Status {
  while (pos < stop) {
    const id = readVariable(stop);
    if (id === VBI_TRUNCATED) return Status.V5_PROPERTY_TRUNCATED;
    if (id === VBI_MALFORMED) return Status.V5_BAD_VARIABLE_INTEGER;
    const kind = id <= MAX_PROPERTY_ID ? PROPERTY_TYPES[id] : PropertyType.NONE;
    if (kind === PropertyType.NONE) return Status.V5_UNKNOWN_PROPERTY;
    if (!propertyAllowed(id, place)) return Status.V5_PROPERTY_NOT_ALLOWED; // SRV5-PROP-5
    // Read the value by type; strings and binaries land in [fieldStart, fieldEnd).
    let v = 0;
    let keyStart = 0;
    let keyEnd = 0;
    if (kind === PropertyType.BYTE) {
      if (stop - pos < 1) return Status.V5_PROPERTY_TRUNCATED;
      v = byteAt(body, pos);
      pos++;
    } else if (kind === PropertyType.TWO_BYTE) {
      if (stop - pos < 2) return Status.V5_PROPERTY_TRUNCATED;
      v = readU16();
    } else if (kind === PropertyType.FOUR_BYTE) {
      if (stop - pos < 4) return Status.V5_PROPERTY_TRUNCATED;
      v = readU32();
    } else if (kind === PropertyType.VARIABLE) {
      v = readVariable(stop);
      if (v === VBI_TRUNCATED) return Status.V5_PROPERTY_TRUNCATED;
      if (v === VBI_MALFORMED) return Status.V5_BAD_VARIABLE_INTEGER;
    } else {
      if (!readField(stop)) return Status.V5_PROPERTY_TRUNCATED;
      if (kind === PropertyType.STRING_PAIR) {
        keyStart = fieldStart;
        keyEnd = fieldEnd;
        const keySt = validateUtf8(body, keyStart, keyEnd); // MQTT-1.5.7-1
        if (keySt !== Status.OK) return keySt;
        if (!readField(stop)) return Status.V5_PROPERTY_TRUNCATED;
      }
      if (kind !== PropertyType.BINARY) {
        const st = validateUtf8(body, fieldStart, fieldEnd); // MQTT-1.5.4-1, MQTT-1.5.4-2
        if (st !== Status.OK) return st;
      }
    }
    let st = Status.OK;
    switch (id) {
      case 0x01:
        st = flagValue(pr.payloadFormatIndicator, v);
        pr.payloadFormatIndicator = v;
        break;
      case 0x02:
        if (pr.messageExpiryInterval >= 0) return Status.V5_DUPLICATE_PROPERTY;
        pr.messageExpiryInterval = v;
        break;
      case 0x03:
        if (pr.hasContentType) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasContentType = true;
        pr.contentType = fieldText();
        break;
      case 0x08:
        if (pr.hasResponseTopic) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasResponseTopic = true;
        pr.responseTopic = fieldText();
        st = checkWildcards(fieldStart, fieldEnd); // MQTT-3.3.2-14
        break;
      case 0x09:
        if (pr.hasCorrelationData) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasCorrelationData = true;
        pr.correlationData = bytesView(body, fieldStart, fieldEnd);
        break;
      case 0x0b:
        // Only the server may send it in PUBLISH (MQTT-3.3.4-6), one per matching subscription
        // (MQTT-3.3.4-4); once in SUBSCRIBE; never 0.
        if (place === PropertyPlace.PUBLISH) {
          if (!fromServer) return Status.V5_SUBSCRIPTION_ID_IN_PUBLISH;
          if (v === 0) return Status.V5_BAD_PROPERTY_VALUE;
          pr.subscriptionIds[pr.subscriptionIdCount] = v;
          pr.subscriptionIdCount++;
          break;
        }
        if (pr.subscriptionIdCount > 0) return Status.V5_DUPLICATE_PROPERTY;
        if (v === 0) return Status.V5_BAD_PROPERTY_VALUE;
        pr.subscriptionIds[0] = v;
        pr.subscriptionIdCount = 1;
        break;
      case 0x11:
        if (pr.sessionExpiryInterval >= 0) return Status.V5_DUPLICATE_PROPERTY;
        pr.sessionExpiryInterval = v;
        break;
      case 0x12:
        if (pr.hasAssignedClientId) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasAssignedClientId = true;
        pr.assignedClientId = fieldText();
        break;
      case 0x13:
        if (pr.serverKeepAlive >= 0) return Status.V5_DUPLICATE_PROPERTY;
        pr.serverKeepAlive = v;
        break;
      case 0x15:
        if (pr.hasAuthenticationMethod) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasAuthenticationMethod = true;
        pr.authenticationMethod = fieldText();
        break;
      case 0x16:
        if (pr.hasAuthenticationData) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasAuthenticationData = true;
        pr.authenticationData = bytesView(body, fieldStart, fieldEnd);
        break;
      case 0x17:
        st = flagValue(pr.requestProblemInformation, v);
        pr.requestProblemInformation = v;
        break;
      case 0x18:
        if (pr.willDelayInterval >= 0) return Status.V5_DUPLICATE_PROPERTY;
        pr.willDelayInterval = v;
        break;
      case 0x19:
        st = flagValue(pr.requestResponseInformation, v);
        pr.requestResponseInformation = v;
        break;
      case 0x1a:
        if (pr.hasResponseInformation) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasResponseInformation = true;
        pr.responseInformation = fieldText();
        break;
      case 0x1c:
        if (pr.hasServerReference) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasServerReference = true;
        pr.serverReference = fieldText();
        break;
      case 0x1f:
        if (pr.hasReasonString) return Status.V5_DUPLICATE_PROPERTY;
        pr.hasReasonString = true;
        pr.reasonString = fieldText();
        break;
      case 0x21:
        if (pr.receiveMaximum >= 0) return Status.V5_DUPLICATE_PROPERTY;
        if (v === 0) return Status.V5_BAD_PROPERTY_VALUE; // Receive Maximum 0: Protocol Error
        pr.receiveMaximum = v;
        break;
      case 0x22:
        if (pr.topicAliasMaximum >= 0) return Status.V5_DUPLICATE_PROPERTY;
        pr.topicAliasMaximum = v;
        break;
      case 0x23:
        if (pr.topicAlias >= 0) return Status.V5_DUPLICATE_PROPERTY;
        if (v === 0) return Status.V5_TOPIC_ALIAS_ZERO; // MQTT-3.3.2-8
        pr.topicAlias = v;
        break;
      case 0x24:
        st = flagValue(pr.maximumQos, v);
        pr.maximumQos = v;
        break;
      case 0x25:
        st = flagValue(pr.retainAvailable, v);
        pr.retainAvailable = v;
        break;
      case 0x26:
        // Any number, the same name too, order kept (SRV5-PROP-3, MQTT-3.3.2-18).
        pr.userKeys[pr.userPropertyCount] = utf8Decode(body, keyStart, keyEnd);
        pr.userValues[pr.userPropertyCount] = fieldText();
        pr.userPropertyCount++;
        break;
      case 0x27:
        if (pr.maximumPacketSize >= 0) return Status.V5_DUPLICATE_PROPERTY;
        if (v === 0) return Status.V5_BAD_PROPERTY_VALUE; // Maximum Packet Size 0: Protocol Error
        pr.maximumPacketSize = v;
        break;
      case 0x28:
        st = flagValue(pr.wildcardSubscriptionAvailable, v);
        pr.wildcardSubscriptionAvailable = v;
        break;
      case 0x29:
        st = flagValue(pr.subscriptionIdAvailable, v);
        pr.subscriptionIdAvailable = v;
        break;
      default:
        // 0x2A, the last identifier of the table.
        st = flagValue(pr.sharedSubscriptionAvailable, v);
        pr.sharedSubscriptionAvailable = v;
        break;
    }
    if (st !== Status.OK) return st;
  }
  return Status.OK;
}

/**
 * True when props are what Message.props holds (encodeMessageProperties): PUBLISH properties
 * without a Property Length, well formed, and none of those that change per hop (Message
 * Expiry Interval, Topic Alias, Subscription Identifier). For messages read back from a store.
 */
export function messagePropertiesValid(props: Bytes, pr: Properties): boolean {
  body = props;
  pos = 0;
  bodyEnd = bytesLength(props);
  propertiesReset(pr);
  return readPropertyList(pr, PropertyPlace.PUBLISH, bodyEnd) === Status.OK && pr.messageExpiryInterval < 0 && pr.topicAlias < 0;
}

/** Topic name rules for PUBLISH and will topics (MQTT-4.7.3-1, MQTT-3.3.2-2); empty is checked by the caller. */
function checkWildcards(start: number, stop: number): Status {
  for (let i = start; i < stop; i++) {
    const c = byteAt(body, i);
    if (c === 0x2b || c === 0x23) return Status.WILDCARD_IN_TOPIC;
  }
  return Status.OK;
}

/** CONNECT with protocol name "MQTT" and level 5 (§3.1); decode.ts has checked name and level. */
function decodeConnect5(p: Packet): Status {
  // Protocol name (6 bytes) and level (1 byte), already checked.
  pos = 7;
  p.protocolName = "MQTT";
  p.protocolLevel = PROTOCOL_LEVEL_5;
  if (bodyEnd - pos < 3) return Status.TRUNCATED;
  const flags = byteAt(body, pos);
  pos++;
  if (flags % 2 === 1) return Status.CONNECT_RESERVED_FLAG; // MQTT-3.1.2-3
  p.cleanSession = Math.floor(flags / 2) % 2 === 1; // Clean Start
  p.willFlag = Math.floor(flags / 4) % 2 === 1;
  p.willQos = Math.round((flags % 32 - flags % 8) / 8); // an integer (decode.ts decodePublish)
  p.willRetain = Math.floor(flags / 32) % 2 === 1;
  p.hasPassword = Math.floor(flags / 64) % 2 === 1; // 5.0 allows a password without a user name
  p.hasUsername = flags >= 128;
  if (!p.willFlag && (p.willQos !== 0 || p.willRetain)) return Status.BAD_WILL_FLAGS; // MQTT-3.1.2-11, MQTT-3.1.2-13
  if (p.willQos === 3) return Status.BAD_WILL_FLAGS; // MQTT-3.1.2-12
  p.keepAlive = readU16();
  let st = readProperties(p.props, PropertyPlace.CONNECT);
  if (st !== Status.OK) return st;
  if (p.props.hasAuthenticationData && !p.props.hasAuthenticationMethod) return Status.V5_AUTH_DATA_WITHOUT_METHOD; // SRV5-PROP-4

  st = readString(); // MQTT-3.1.3-3, MQTT-3.1.3-4
  if (st !== Status.OK) return st;
  p.clientId = fieldText();
  if (p.willFlag) {
    st = readProperties(p.willProps, PropertyPlace.WILL); // MQTT-3.1.3-9 (Will Properties first)
    if (st !== Status.OK) return st;
    st = readString(); // Will Topic
    if (st !== Status.OK) return st;
    if (fieldEnd === fieldStart) return Status.EMPTY_TOPIC;
    st = checkWildcards(fieldStart, fieldEnd);
    if (st !== Status.OK) return st;
    p.willTopic = fieldText();
    if (!readField(bodyEnd)) return Status.TRUNCATED;
    p.willPayload = bytesView(body, fieldStart, fieldEnd);
  } else {
    propertiesReset(p.willProps);
    p.willTopic = "";
    p.willPayload = bytesView(body, 0, 0);
  }
  if (p.hasUsername) {
    st = readString(); // MQTT-3.1.3-12
    if (st !== Status.OK) return st;
    p.username = fieldText();
  } else {
    p.username = "";
  }
  if (p.hasPassword) {
    if (!readField(bodyEnd)) return Status.TRUNCATED;
    p.password = bytesView(body, fieldStart, fieldEnd);
  } else {
    p.password = bytesView(body, 0, 0);
  }
  if (pos !== bodyEnd) return Status.TRAILING_BYTES;
  return Status.OK;
}

/**
 * Entry from decode.ts for a CONNECT whose name is "MQTT" and level 5: decodes the whole body
 * (name and level included) by the 5.0 rules.
 */
export function decodeConnectV5(packetBody: Bytes, p: Packet): Status {
  body = packetBody;
  pos = 0;
  bodyEnd = bytesLength(packetBody);
  return decodeConnect5(p);
}

function decodeConnack5(p: Packet): Status {
  if (bodyEnd < 2) return Status.TRUNCATED;
  const ackFlags = byteAt(body, 0);
  if (ackFlags > 1) return Status.BAD_CONNACK_FLAGS; // MQTT-3.2.2-1
  p.sessionPresent = ackFlags === 1;
  p.returnCode = byteAt(body, 1);
  pos = 2;
  if (bodyEnd === 2) {
    propertiesReset(p.props);
    return Status.OK;
  }
  const st = readProperties(p.props, PropertyPlace.CONNACK);
  if (st !== Status.OK) return st;
  return pos === bodyEnd ? Status.OK : Status.TRAILING_BYTES;
}

function decodePublish5(p: Packet): Status {
  p.dup = p.flags >= 8;
  p.qos = Math.round((p.flags % 8 - p.flags % 2) / 2); // an integer (decode.ts decodePublish)
  p.retain = p.flags % 2 === 1;
  if (p.qos === 3) return Status.BAD_QOS; // MQTT-3.3.1-4
  if (p.qos === 0 && p.dup) return Status.QOS0_WITH_DUP; // MQTT-3.3.1-2
  let st = readString(); // MQTT-3.3.2-1
  if (st !== Status.OK) return st;
  const topicStart = fieldStart;
  const topicEnd = fieldEnd;
  st = checkWildcards(topicStart, topicEnd); // MQTT-3.3.2-2
  if (st !== Status.OK) return st;
  p.topicBytes = bytesView(body, topicStart, topicEnd);
  p.topic = utf8Decode(body, topicStart, topicEnd);
  if (p.qos > 0) {
    if (bodyEnd - pos < 2) return Status.TRUNCATED;
    p.packetId = readU16();
    if (p.packetId === 0) return Status.ZERO_PACKET_ID; // SRV5-ENC-11
  } else {
    p.packetId = 0; // MQTT-2.2.1-2
  }
  const propsAt = pos;
  st = readProperties(p.props, PropertyPlace.PUBLISH);
  if (st !== Status.OK) return st;
  // An empty topic name needs a Topic Alias (SRV5-PUB-5); whether the alias is known is the
  // broker's business.
  if (topicEnd === topicStart && p.props.topicAlias < 0) return Status.V5_EMPTY_TOPIC_NO_ALIAS;
  // The properties as received, after their Property Length (1 byte below 128 bytes).
  let first = propsAt;
  while (byteAt(body, first) >= 128) first++;
  p.propsRaw = bytesView(body, first + 1, pos);
  p.payload = bytesView(body, pos, bodyEnd);
  return Status.OK;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: packet id, then reason code and properties unless cut short (§3.4.2). */
function decodeAck5(p: Packet): Status {
  if (bodyEnd < 2) return Status.BAD_LENGTH;
  p.packetId = readU16();
  if (p.packetId === 0) return Status.ZERO_PACKET_ID;
  p.reasonCode = 0; // Remaining Length 2: Success, no properties (MQTT-3.4.2-1)
  if (bodyEnd === 2) {
    propertiesReset(p.props);
    return Status.OK;
  }
  p.reasonCode = byteAt(body, pos);
  pos++;
  if (bodyEnd === 3) {
    propertiesReset(p.props); // Remaining Length 3: no Property Length
    return Status.OK;
  }
  const st = readProperties(p.props, PropertyPlace.ACK);
  if (st !== Status.OK) return st;
  return pos === bodyEnd ? Status.OK : Status.TRAILING_BYTES;
}

/** "$share/": a shared subscription filter (§4.8.2). */
function isShared(start: number, stop: number): boolean {
  return (
    stop - start >= 7 &&
    byteAt(body, start) === 0x24 &&
    byteAt(body, start + 1) === 0x73 &&
    byteAt(body, start + 2) === 0x68 &&
    byteAt(body, start + 3) === 0x61 &&
    byteAt(body, start + 4) === 0x72 &&
    byteAt(body, start + 5) === 0x65 &&
    byteAt(body, start + 6) === 0x2f
  );
}

function decodeSubscribe5(p: Packet, withOptions: boolean): Status {
  if (bodyEnd - pos < 2) return Status.TRUNCATED;
  p.packetId = readU16();
  if (p.packetId === 0) return Status.ZERO_PACKET_ID; // SRV5-ENC-11
  let st = readProperties(p.props, withOptions ? PropertyPlace.SUBSCRIBE : PropertyPlace.UNSUBSCRIBE);
  if (st !== Status.OK) return st;
  let n = 0;
  while (pos < bodyEnd) {
    st = readString(); // MQTT-3.8.3-1, MQTT-3.10.3-1
    if (st !== Status.OK) return st;
    p.filters[n] = fieldText();
    if (withOptions) {
      if (pos >= bodyEnd) return Status.TRUNCATED;
      const options = byteAt(body, pos);
      pos++;
      if (options >= 64) return Status.V5_SUBSCRIBE_RESERVED_BITS; // MQTT-3.8.3-5
      const qos = options % 4;
      if (qos === 3) return Status.V5_BAD_SUBSCRIPTION_QOS;
      const handling = Math.floor(options / 16) % 4;
      if (handling === 3) return Status.V5_BAD_RETAIN_HANDLING;
      const noLocal = Math.floor(options / 4) % 2 === 1;
      if (noLocal && isShared(fieldStart, fieldEnd)) return Status.V5_NO_LOCAL_ON_SHARED; // MQTT-3.8.3-4
      p.qosList[n] = qos;
      p.noLocal[n] = noLocal;
      p.retainAsPublished[n] = Math.floor(options / 8) % 2 === 1;
      p.retainHandling[n] = handling;
    }
    n++;
  }
  p.count = n;
  if (n === 0) return Status.NO_FILTERS; // MQTT-3.8.3-2, MQTT-3.10.3-2
  return Status.OK;
}

/** SUBACK and UNSUBACK: packet id, properties, one reason code per filter (into qosList). */
function decodeSuback5(p: Packet): Status {
  if (bodyEnd < 2) return Status.TRUNCATED;
  p.packetId = readU16();
  if (p.packetId === 0) return Status.ZERO_PACKET_ID;
  const st = readProperties(p.props, PropertyPlace.SUBACK);
  if (st !== Status.OK) return st;
  let n = 0;
  while (pos < bodyEnd) {
    p.qosList[n] = byteAt(body, pos);
    pos++;
    n++;
  }
  p.count = n;
  return Status.OK;
}

/** DISCONNECT (§3.14.2) and AUTH (§3.15.2): reason code and properties, both optional at the end. */
function decodeReasonOnly5(p: Packet, place: number): Status {
  p.reasonCode = 0;
  if (bodyEnd === 0) {
    propertiesReset(p.props);
    return Status.OK;
  }
  p.reasonCode = byteAt(body, 0);
  pos = 1;
  if (bodyEnd === 1) {
    propertiesReset(p.props);
    // AUTH may leave out only both together (SRV5-AUTH-2).
    return place === PropertyPlace.AUTH ? Status.BAD_LENGTH : Status.OK;
  }
  const st = readProperties(p.props, place);
  if (st !== Status.OK) return st;
  if (place === PropertyPlace.AUTH && p.props.hasAuthenticationData && !p.props.hasAuthenticationMethod) return Status.V5_AUTH_DATA_WITHOUT_METHOD;
  return pos === bodyEnd ? Status.OK : Status.TRAILING_BYTES;
}

/**
 * Decodes the body of one packet of an MQTT 5.0 connection into p (everything but CONNECT,
 * which decode.ts hands to decodeConnectV5). Returns Status.OK or why the packet is malformed or
 * breaks the protocol; reasonCodeV5 (status.ts) gives the code to answer with.
 */
export function decodePacketV5(type: number, flags: number, packetBody: Bytes, p: Packet): Status {
  p.type = type;
  p.flags = flags;
  const required = requiredFlags(type, true);
  if (required === -2) return Status.BAD_PACKET_TYPE;
  if (required >= 0 && flags !== required) return Status.BAD_FLAGS; // MQTT-2.1.3-1
  body = packetBody;
  pos = 0;
  bodyEnd = bytesLength(packetBody);
  switch (type) {
    case PacketType.CONNECT:
      // A second CONNECT is the broker's Protocol Error (MQTT-3.1.0-2); decoded here only when
      // its name and level say 5.0 (decodePacket in decode.ts reads every other CONNECT).
      if (bodyEnd < 7 || byteAt(body, 0) !== 0 || byteAt(body, 1) !== 4 || byteAt(body, 2) !== 0x4d || byteAt(body, 3) !== 0x51 || byteAt(body, 4) !== 0x54 || byteAt(body, 5) !== 0x54) {
        return Status.BAD_PROTOCOL_NAME;
      }
      if (byteAt(body, 6) !== PROTOCOL_LEVEL_5) return Status.UNSUPPORTED_PROTOCOL_LEVEL;
      return decodeConnect5(p);
    case PacketType.CONNACK:
      return decodeConnack5(p);
    case PacketType.PUBLISH:
      return decodePublish5(p);
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
      return decodeAck5(p);
    case PacketType.SUBSCRIBE:
      return decodeSubscribe5(p, true);
    case PacketType.UNSUBSCRIBE:
      return decodeSubscribe5(p, false);
    case PacketType.SUBACK:
    case PacketType.UNSUBACK:
      return decodeSuback5(p);
    case PacketType.DISCONNECT:
      return decodeReasonOnly5(p, PropertyPlace.DISCONNECT);
    case PacketType.AUTH:
      return decodeReasonOnly5(p, PropertyPlace.AUTH);
    default:
      // PINGREQ, PINGRESP carry nothing (SRV5-FH-4).
      return bodyEnd === 0 ? Status.OK : Status.BAD_LENGTH;
  }
}

/**
 * decodePacketV5 for the client side of a connection (a bridge reading its upstream): the same
 * rules, except that a PUBLISH may carry Subscription Identifiers, as a server's may
 * (MQTT-3.3.4-4).
 */
export function decodePacketFromServerV5(type: number, flags: number, packetBody: Bytes, p: Packet): Status {
  fromServer = true;
  const st = decodePacketV5(type, flags, packetBody, p);
  fromServer = false;
  return st;
}
