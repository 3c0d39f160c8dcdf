/**
 * Results of the frame reader and the decoders. OK and NEED_MORE are not errors; every other
 * value is a distinct reason to close the connection (MQTT-4.8.0-1), named for the log line.
 */
export const enum Status {
  OK = 0,
  NEED_MORE = 1,
  PACKET = 2,
  BAD_PACKET_TYPE = 3,
  BAD_FLAGS = 4,
  LENGTH_TOO_LONG = 5,
  LENGTH_NOT_MINIMAL = 6,
  PACKET_TOO_LARGE = 7,
  BAD_LENGTH = 8,
  TRUNCATED = 9,
  TRAILING_BYTES = 10,
  BAD_QOS = 11,
  ZERO_PACKET_ID = 12,
  BAD_UTF8 = 13,
  NULL_CHARACTER = 14,
  EMPTY_TOPIC = 15,
  WILDCARD_IN_TOPIC = 16,
  NO_FILTERS = 17,
  BAD_SUBSCRIBE_OPTIONS = 18,
  BAD_PROTOCOL_NAME = 19,
  CONNECT_RESERVED_FLAG = 20,
  BAD_WILL_FLAGS = 21,
  PASSWORD_WITHOUT_USERNAME = 22,
  QOS0_WITH_DUP = 23,
  BAD_CONNACK_FLAGS = 24,
  /** Not a close-without-answer case: the broker answers CONNACK 1 (MQTT-3.1.2-2). */
  UNSUPPORTED_PROTOCOL_LEVEL = 25,
  // MQTT 5.0 only (src/codec/decode5.ts); reasonCodeV5 gives the DISCONNECT / CONNACK code.
  V5_BAD_VARIABLE_INTEGER = 26,
  V5_BAD_PROPERTY_LENGTH = 27,
  V5_UNKNOWN_PROPERTY = 28,
  V5_PROPERTY_NOT_ALLOWED = 29,
  V5_PROPERTY_TRUNCATED = 30,
  V5_DUPLICATE_PROPERTY = 31,
  V5_BAD_PROPERTY_VALUE = 32,
  V5_TOPIC_ALIAS_ZERO = 33,
  V5_SUBSCRIPTION_ID_IN_PUBLISH = 34,
  V5_AUTH_DATA_WITHOUT_METHOD = 35,
  V5_SUBSCRIBE_RESERVED_BITS = 36,
  V5_BAD_SUBSCRIPTION_QOS = 37,
  V5_BAD_RETAIN_HANDLING = 38,
  V5_NO_LOCAL_ON_SHARED = 39,
  V5_EMPTY_TOPIC_NO_ALIAS = 40,
}

/** Status names, indexed by Status; fixtures and logs use these. */
export const STATUS_NAMES = [
  "OK",
  "NEED_MORE",
  "PACKET",
  "BAD_PACKET_TYPE",
  "BAD_FLAGS",
  "LENGTH_TOO_LONG",
  "LENGTH_NOT_MINIMAL",
  "PACKET_TOO_LARGE",
  "BAD_LENGTH",
  "TRUNCATED",
  "TRAILING_BYTES",
  "BAD_QOS",
  "ZERO_PACKET_ID",
  "BAD_UTF8",
  "NULL_CHARACTER",
  "EMPTY_TOPIC",
  "WILDCARD_IN_TOPIC",
  "NO_FILTERS",
  "BAD_SUBSCRIBE_OPTIONS",
  "BAD_PROTOCOL_NAME",
  "CONNECT_RESERVED_FLAG",
  "BAD_WILL_FLAGS",
  "PASSWORD_WITHOUT_USERNAME",
  "QOS0_WITH_DUP",
  "BAD_CONNACK_FLAGS",
  "UNSUPPORTED_PROTOCOL_LEVEL",
  "V5_BAD_VARIABLE_INTEGER",
  "V5_BAD_PROPERTY_LENGTH",
  "V5_UNKNOWN_PROPERTY",
  "V5_PROPERTY_NOT_ALLOWED",
  "V5_PROPERTY_TRUNCATED",
  "V5_DUPLICATE_PROPERTY",
  "V5_BAD_PROPERTY_VALUE",
  "V5_TOPIC_ALIAS_ZERO",
  "V5_SUBSCRIPTION_ID_IN_PUBLISH",
  "V5_AUTH_DATA_WITHOUT_METHOD",
  "V5_SUBSCRIBE_RESERVED_BITS",
  "V5_BAD_SUBSCRIPTION_QOS",
  "V5_BAD_RETAIN_HANDLING",
  "V5_NO_LOCAL_ON_SHARED",
  "V5_EMPTY_TOPIC_NO_ALIAS",
];

/**
 * The reason a Status gives in log lines. A function rather than a table, so that on Espruino
 * the texts stay in flash until a line needs one (src/log/messages.ts).
 */
export function statusReason(st: number): string {
  switch (st) {
    case Status.OK:
      return "ok";
    case Status.NEED_MORE:
      return "need more bytes";
    case Status.PACKET:
      return "packet";
    case Status.BAD_PACKET_TYPE:
      return "reserved packet type or server-only packet";
    case Status.BAD_FLAGS:
      return "invalid fixed header flags";
    case Status.LENGTH_TOO_LONG:
      return "remaining length longer than 4 bytes";
    case Status.LENGTH_NOT_MINIMAL:
      return "remaining length not in its shortest form";
    case Status.PACKET_TOO_LARGE:
      return "packet larger than the maximum packet size";
    case Status.BAD_LENGTH:
      return "wrong remaining length for the packet type";
    case Status.TRUNCATED:
      return "field runs past the end of the packet";
    case Status.TRAILING_BYTES:
      return "bytes left over after the last field";
    case Status.BAD_QOS:
      return "invalid QoS";
    case Status.ZERO_PACKET_ID:
      return "packet identifier 0";
    case Status.BAD_UTF8:
      return "invalid UTF-8 string";
    case Status.NULL_CHARACTER:
      return "U+0000 in a string";
    case Status.EMPTY_TOPIC:
      return "empty topic name";
    case Status.WILDCARD_IN_TOPIC:
      return "wildcard in a topic name";
    case Status.NO_FILTERS:
      return "no topic filters";
    case Status.BAD_SUBSCRIBE_OPTIONS:
      return "reserved bits set in requested QoS";
    case Status.BAD_PROTOCOL_NAME:
      return "unknown protocol name";
    case Status.CONNECT_RESERVED_FLAG:
      return "reserved CONNECT flag set";
    case Status.BAD_WILL_FLAGS:
      return "inconsistent will flags";
    case Status.PASSWORD_WITHOUT_USERNAME:
      return "password without user name";
    case Status.QOS0_WITH_DUP:
      return "DUP set on a QoS 0 PUBLISH";
    case Status.BAD_CONNACK_FLAGS:
      return "reserved CONNACK flags set";
    case Status.UNSUPPORTED_PROTOCOL_LEVEL:
      return "unsupported protocol level";
  }
  // MQTT 5.0 texts only where it is built in, so they stay out of bundles without it.
  if (MIDGE_FEATURES.mqtt5) {
    switch (st) {
      case Status.V5_BAD_VARIABLE_INTEGER:
        return "a variable byte integer longer than 4 bytes or not in its shortest form";
      case Status.V5_BAD_PROPERTY_LENGTH:
        return "property length missing or past the end of the packet";
      case Status.V5_UNKNOWN_PROPERTY:
        return "unknown property identifier";
      case Status.V5_PROPERTY_NOT_ALLOWED:
        return "property not allowed in this packet";
      case Status.V5_PROPERTY_TRUNCATED:
        return "property value runs past the property length";
      case Status.V5_DUPLICATE_PROPERTY:
        return "property given twice";
      case Status.V5_BAD_PROPERTY_VALUE:
        return "property value out of range";
      case Status.V5_TOPIC_ALIAS_ZERO:
        return "topic alias 0";
      case Status.V5_SUBSCRIPTION_ID_IN_PUBLISH:
        return "subscription identifier in a PUBLISH from a client";
      case Status.V5_AUTH_DATA_WITHOUT_METHOD:
        return "authentication data without authentication method";
      case Status.V5_SUBSCRIBE_RESERVED_BITS:
        return "reserved bits set in subscription options";
      case Status.V5_BAD_SUBSCRIPTION_QOS:
        return "maximum QoS 3 in subscription options";
      case Status.V5_BAD_RETAIN_HANDLING:
        return "retain handling 3 in subscription options";
      case Status.V5_NO_LOCAL_ON_SHARED:
        return "no local on a shared subscription";
      case Status.V5_EMPTY_TOPIC_NO_ALIAS:
        return "empty topic name without a topic alias";
    }
  }
  return "status " + st;
}

/**
 * The MQTT 5.0 reason code for closing on a decode failure (§4.13, SRV5-FH tables): sent as
 * DISCONNECT after CONNACK, or CONNACK before it. Malformed Packet (0x81) unless the standard
 * calls the case a Protocol Error (0x82) or names its own code.
 */
export function reasonCodeV5(st: number): number {
  switch (st) {
    case Status.PACKET_TOO_LARGE:
      return 0x95; // MQTT-3.2.2-15
    case Status.UNSUPPORTED_PROTOCOL_LEVEL:
      return 0x84;
    case Status.V5_TOPIC_ALIAS_ZERO:
      return 0x94; // MQTT-3.3.2-8
    case Status.ZERO_PACKET_ID: // SRV5-ENC-11
    case Status.NO_FILTERS: // MQTT-3.8.3-2, MQTT-3.10.3-2
    case Status.WILDCARD_IN_TOPIC: // MQTT-3.3.2-2
    case Status.EMPTY_TOPIC: // a 5.0 will topic (SRV5-CON-23)
    case Status.V5_DUPLICATE_PROPERTY:
    case Status.V5_BAD_PROPERTY_VALUE:
    case Status.V5_SUBSCRIPTION_ID_IN_PUBLISH:
    case Status.V5_AUTH_DATA_WITHOUT_METHOD:
    case Status.V5_BAD_SUBSCRIPTION_QOS:
    case Status.V5_BAD_RETAIN_HANDLING:
    case Status.V5_NO_LOCAL_ON_SHARED:
    case Status.V5_EMPTY_TOPIC_NO_ALIAS:
      return 0x82;
  }
  return 0x81;
}
