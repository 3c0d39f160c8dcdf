/** Wire constants of MQTT 3.1.1 (ISO/IEC 20922:2016, chapter 2 and 3). */

export const enum PacketType {
  CONNECT = 1,
  CONNACK = 2,
  PUBLISH = 3,
  PUBACK = 4,
  PUBREC = 5,
  PUBREL = 6,
  PUBCOMP = 7,
  SUBSCRIBE = 8,
  SUBACK = 9,
  UNSUBSCRIBE = 10,
  UNSUBACK = 11,
  PINGREQ = 12,
  PINGRESP = 13,
  DISCONNECT = 14,
  /** MQTT 5.0 only. */
  AUTH = 15,
}

/** CONNACK return codes (§3.2.2.3). */
export const enum ConnackCode {
  ACCEPTED = 0,
  BAD_PROTOCOL_VERSION = 1,
  IDENTIFIER_REJECTED = 2,
  SERVER_UNAVAILABLE = 3,
  BAD_USERNAME_OR_PASSWORD = 4,
  NOT_AUTHORIZED = 5,
}

export const SUBACK_FAILURE = 0x80;
/** Largest Remaining Length a 4-byte variable byte integer can carry (SRV-ENC-2). */
export const MAX_REMAINING_LENGTH = 268435455;
export const PROTOCOL_LEVEL_311 = 4;
export const PROTOCOL_LEVEL_31 = 3;
export const PROTOCOL_LEVEL_5 = 5;

/** MQTT 5.0 reason codes the server sends (§2.4, Table 2-6). */
export const enum ReasonCode {
  SUCCESS = 0x00,
  GRANTED_QOS_1 = 0x01,
  GRANTED_QOS_2 = 0x02,
  NO_MATCHING_SUBSCRIBERS = 0x10,
  NO_SUBSCRIPTION_EXISTED = 0x11,
  CONTINUE_AUTHENTICATION = 0x18,
  UNSPECIFIED_ERROR = 0x80,
  MALFORMED_PACKET = 0x81,
  PROTOCOL_ERROR = 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR = 0x83,
  UNSUPPORTED_PROTOCOL_VERSION = 0x84,
  CLIENT_IDENTIFIER_NOT_VALID = 0x85,
  BAD_USER_NAME_OR_PASSWORD = 0x86,
  NOT_AUTHORIZED = 0x87,
  SERVER_UNAVAILABLE = 0x88,
  SERVER_BUSY = 0x89,
  SERVER_SHUTTING_DOWN = 0x8b,
  BAD_AUTHENTICATION_METHOD = 0x8c,
  KEEP_ALIVE_TIMEOUT = 0x8d,
  SESSION_TAKEN_OVER = 0x8e,
  TOPIC_FILTER_INVALID = 0x8f,
  TOPIC_NAME_INVALID = 0x90,
  PACKET_IDENTIFIER_IN_USE = 0x91,
  PACKET_IDENTIFIER_NOT_FOUND = 0x92,
  RECEIVE_MAXIMUM_EXCEEDED = 0x93,
  TOPIC_ALIAS_INVALID = 0x94,
  PACKET_TOO_LARGE = 0x95,
  QUOTA_EXCEEDED = 0x97,
  PAYLOAD_FORMAT_INVALID = 0x99,
  RETAIN_NOT_SUPPORTED = 0x9a,
  QOS_NOT_SUPPORTED = 0x9b,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9e,
  SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xa1,
  WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xa2,
}

/**
 * The name of a packet type, for log lines. A function rather than a table, so that on
 * Espruino the names stay in flash until a line needs one (src/log/messages.ts).
 */
export function packetName(type: number): string {
  const names = "RESERVED0 CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK PINGREQ PINGRESP DISCONNECT AUTH".split(" ");
  return type >= 0 && type < names.length ? names[type] : "RESERVED" + type;
}

/**
 * The fixed-header flags a packet of this type must carry: 2 for PUBREL, SUBSCRIBE and
 * UNSUBSCRIBE, 0 for the others (MQTT-2.2.2-1, MQTT-2.1.3-1); -1 for PUBLISH, whose flags are
 * its DUP, QoS and RETAIN; -2 for a reserved type (0, and 15 before 5.0 made it AUTH).
 * A function, not a table: its numbers stay in the code (in flash on Espruino), where a
 * 16-entry array held 17 variables for good.
 */
export function requiredFlags(type: number, v5: boolean): number {
  if (type === PacketType.PUBLISH) return -1;
  if (type === PacketType.PUBREL || type === PacketType.SUBSCRIBE || type === PacketType.UNSUBSCRIBE) return 2;
  return type === 0 || (type === PacketType.AUTH && !v5) ? -2 : 0;
}
