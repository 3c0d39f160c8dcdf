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

/**
 * The name of a packet type, for log lines. A function rather than a table, so that on
 * Espruino the names stay in flash until a line needs one (src/log/messages.ts).
 */
export function packetName(type: number): string {
  const names = "RESERVED0 CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK PINGREQ PINGRESP DISCONNECT RESERVED15".split(" ");
  return type >= 0 && type < names.length ? names[type] : "RESERVED" + type;
}
