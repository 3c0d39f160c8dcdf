/**
 * Every line the core logs, by number, with its text. The numbers are stable: a board built
 * without the logText feature logs "{number|argument|...}" instead of the text, and `midge
 * log-text` on a host (which has the texts) turns such lines back into these same words.
 *
 * The texts live in one function, not in a table: on Espruino a function's code stays in
 * flash and its strings are built only when a line is logged, while a table would hold every
 * text in RAM from start-up. Without logText the function is not referenced and the build
 * leaves it out.
 *
 * %1 ... %5 stand for the arguments in order; %S1 is argument 1 read as a codec Status
 * (statusReason), %P1 as a packet type (packetName). A reason (REASON_*, FAULT_*) is rendered
 * first (render in log.ts) and passed as an argument of the line that gives it. The bridge
 * (a host feature) writes its own lines as text.
 */
export const enum Msg {
  // Clients arriving and leaving: the lines connection_messages false hides (LogCategory.CONNECTION).
  CLIENT_CONNECTED = 1,
  CLIENT_DISCONNECTED = 2,
  CONNECTION_CLOSED = 3,
  /** The last number of the connection category. */
  LAST_CONNECTION = 9,

  CONNECTION_REFUSED_MAX = 10,
  CLIENT_REFUSED = 11,
  CLIENT_TAKEN_OVER = 12,
  SESSION_TABLE_FULL = 13,
  WILL_NOT_ALLOWED = 14,
  OVER_MESSAGE_SIZE_LIMIT = 15,
  SYS_RESERVED = 16,
  PUBLISH_DENIED = 17,
  RETAINED_FULL = 18,
  SUBSCRIBE_INVALID_FILTER = 19,
  SUBSCRIBE_DENIED = 20,
  SUBSCRIBE_CLIENT_LIMIT = 21,
  SUBSCRIBE_TABLE_FULL = 22,
  NOT_READING_QOS0 = 23,
  QUEUE_FULL = 24,
  UNKNOWN_ACK = 25,
  RESTORE_REFUSED = 26,
  RESTORE_DROPPED = 27,
  RESTORE_INBOUND_DROPPED = 28,
  PERSISTENT_SESSION_OFF = 29,
  SESSION_EXPIRED = 30,

  // Reasons: why a connection closed or a CONNECT was refused.
  REASON_PEER_CLOSED = 100,
  REASON_DISCONNECT = 101,
  REASON_NOT_READING_REPLIES = 102,
  REASON_NOT_READING = 103,
  REASON_MALFORMED_PACKET = 104,
  REASON_FIRST_NOT_CONNECT = 105,
  REASON_PROTOCOL_LEVEL = 106,
  REASON_MALFORMED_CONNECT = 107,
  REASON_MALFORMED = 108,
  REASON_TOPIC_TOO_LONG = 109,
  REASON_RETAIN_UNAVAILABLE = 110,
  REASON_TOO_MANY_QOS2 = 111,
  REASON_SECOND_CONNECT = 112,
  REASON_SERVER_ONLY_PACKET = 113,
  REASON_NO_CONNECT = 114,
  REASON_KEEP_ALIVE = 115,
  REASON_PACKET_TIMEOUT = 116,
  REASON_SHUTDOWN = 117,
  REASON_TAKEN_OVER = 118,
  REASON_QOS2_OFF = 119,
  REASON_QOS2_PACKET_OFF = 120,
  REASON_WILL_OFF = 121,
  REASON_QOS2_WILL_OFF = 122,
  REASON_EMPTY_ID_31 = 123,
  REASON_EMPTY_ID_PERSISTENT = 124,
  REASON_ID_TOO_LONG = 125,
  REASON_BAD_CREDENTIALS = 126,
  REASON_NOT_AUTHORISED = 127,
  REASON_SESSION_TABLE_FULL = 128,
  REASON_AUTH_METHOD = 129,

  // Why a stored record is refused at restore: FAULT_BASE + Fault (restore.ts).
  FAULT_BASE = 130,
  FAULT_CLIENT_ID = 131,
  FAULT_TOPIC = 132,
  FAULT_FILTER = 133,
  FAULT_QOS = 134,
  FAULT_PACKET_ID = 135,
  FAULT_STATE = 136,
  FAULT_SIZE = 137,
  FAULT_SEQUENCE = 138,
  FAULT_DUPLICATE = 139,

  // MQTT 5.0 reasons (src/broker/mqtt5.ts and the handlers).
  REASON_TOPIC_ALIAS_INVALID = 140,
  REASON_TOPIC_ALIAS_UNKNOWN = 141,
  REASON_DISCONNECT_CODE = 142,
  REASON_EXPIRY_AFTER_ZERO = 143,
  REASON_AUTH_PACKET = 144,
  /** A stored record's MQTT 5.0 fields are not valid (restore.ts; mqtt5 builds only). */
  FAULT_V5 = 145,
  /** Not 5.0 only: max_keepalive refuses a 3.1.1 client's longer keep alive. */
  REASON_KEEP_ALIVE_OVER = 146,
}

/** The text of a message, "" for a number that is not one. Only called when logText is on. */
export function messageText(id: number): string {
  switch (id) {
    case Msg.CLIENT_CONNECTED:
      return "New client connected from %1 as %2 (%3).";
    case Msg.CLIENT_DISCONNECTED:
      return "Client %1 disconnected: %2.";
    case Msg.CONNECTION_CLOSED:
      return "Connection from %1 closed: %2.";
    case Msg.CONNECTION_REFUSED_MAX:
      return "Connection from %1 refused: max_connections (%2) reached.";
    case Msg.CLIENT_REFUSED:
      return "Client %1 from %2 refused: %3 (CONNACK %4).";
    case Msg.CLIENT_TAKEN_OVER:
      return "Client %1 already connected, closing old connection.";
    case Msg.SESSION_TABLE_FULL:
      return "Session table full (%1): refusing client %2 from %3 (CONNACK 3).";
    case Msg.WILL_NOT_ALLOWED:
      return "Client %1 may not publish its will on %2: will dropped.";
    case Msg.OVER_MESSAGE_SIZE_LIMIT:
      return "Client %1 published %2 bytes to %3, over message_size_limit %4: dropped.";
    case Msg.SYS_RESERVED:
      return "Client %1 tried to publish to %2: $SYS is reserved for the broker, dropped.";
    case Msg.PUBLISH_DENIED:
      return "Denied PUBLISH from %1 to %2 (not authorised): acknowledged and dropped.";
    case Msg.RETAINED_FULL:
      return "Retained store full (%1 messages, %2 bytes): not retaining message on %3.";
    case Msg.SUBSCRIBE_INVALID_FILTER:
      return "Client %1 subscribed to invalid filter '%2': refused (0x80).";
    case Msg.SUBSCRIBE_DENIED:
      return "Denied SUBSCRIBE from %1 to '%2' (not authorised): 0x80.";
    case Msg.SUBSCRIBE_CLIENT_LIMIT:
      return "Client %1 subscription to '%2' refused (0x80): the client has %3 subscriptions.";
    case Msg.SUBSCRIBE_TABLE_FULL:
      return "Client %1 subscription to '%2' refused (0x80): subscription table full (%3).";
    case Msg.NOT_READING_QOS0:
      return "Client %1 is not reading: dropping QoS 0 messages until it catches up.";
    case Msg.QUEUE_FULL:
      return "Outgoing queue of client %1 is full (%2 messages): dropping the oldest, first on %3.";
    case Msg.UNKNOWN_ACK:
      return "Client %1 sent %P2 for unknown packet id %3.";
    case Msg.RESTORE_REFUSED:
      return "Stored %1 refused: %2.";
    case Msg.RESTORE_DROPPED:
      return "Stored %1 does not fit the limits: dropped.";
    case Msg.RESTORE_INBOUND_DROPPED:
      return "Stored %1 dropped: a duplicate or over maxInboundQos2.";
    case Msg.PERSISTENT_SESSION_OFF:
      return "Client %1: a persistent session is not in this build (feature persistentSessions off), served as a clean one.";
    case Msg.SESSION_EXPIRED:
      if (MIDGE_FEATURES.mqtt5) return "Session of client %1 expired (session expiry interval %2 s)."; // MQTT 5.0 only
      break;
    case Msg.REASON_PEER_CLOSED:
      return "connection closed by peer";
    case Msg.REASON_DISCONNECT:
      return "client sent DISCONNECT";
    case Msg.REASON_NOT_READING_REPLIES:
      return "client is not reading its replies (%1 bytes unsent)";
    case Msg.REASON_NOT_READING:
      return "client is not reading (%1 bytes unsent)";
    case Msg.REASON_MALFORMED_PACKET:
      return "malformed packet (%S1)";
    case Msg.REASON_FIRST_NOT_CONNECT:
      return "first packet was %P1, not CONNECT";
    case Msg.REASON_PROTOCOL_LEVEL:
      return "unsupported protocol level %1";
    case Msg.REASON_MALFORMED_CONNECT:
      return "malformed CONNECT (%S1)";
    case Msg.REASON_MALFORMED:
      return "malformed %P1 (%S2)";
    case Msg.REASON_TOPIC_TOO_LONG:
      return "topic longer than %1 bytes";
    case Msg.REASON_RETAIN_UNAVAILABLE:
      return "retained message while retain_available is false";
    case Msg.REASON_TOO_MANY_QOS2:
      return "more than %1 QoS 2 messages awaiting PUBREL";
    case Msg.REASON_SECOND_CONNECT:
      return "second CONNECT";
    case Msg.REASON_SERVER_ONLY_PACKET:
      return "client sent %P1, which only a server sends";
    case Msg.REASON_NO_CONNECT:
      return "no CONNECT within %1 s";
    case Msg.REASON_KEEP_ALIVE:
      return "keep alive of %1 s exceeded";
    case Msg.REASON_PACKET_TIMEOUT:
      return "packet not completed within %1 s";
    case Msg.REASON_SHUTDOWN:
      return "broker shutting down";
    case Msg.REASON_TAKEN_OVER:
      return "session taken over by a new connection";
    case Msg.REASON_QOS2_OFF:
      return "a QoS 2 PUBLISH is not in this build (feature qos2 off)";
    case Msg.REASON_QOS2_PACKET_OFF:
      return "%P1 while this build has no QoS 2 (feature qos2 off)";
    case Msg.REASON_WILL_OFF:
      return "client %1 sent a will, which is not in this build (feature will off)";
    case Msg.REASON_QOS2_WILL_OFF:
      return "client %1 sent a QoS 2 will, which is not in this build (feature qos2 off)";
    case Msg.REASON_EMPTY_ID_31:
      return "empty client id is not allowed in MQTT 3.1";
    case Msg.REASON_EMPTY_ID_PERSISTENT:
      return "empty client id with clean session 0";
    case Msg.REASON_ID_TOO_LONG:
      return "client id longer than %1 bytes";
    case Msg.REASON_BAD_CREDENTIALS:
      return "bad user name or password";
    case Msg.REASON_NOT_AUTHORISED:
      return "not authorised";
    case Msg.REASON_SESSION_TABLE_FULL:
      return "session table full";
    case Msg.REASON_KEEP_ALIVE_OVER:
      return "keep alive %1 s over max_keepalive %2 s";
    case Msg.REASON_AUTH_METHOD:
      if (MIDGE_FEATURES.mqtt5) return "authentication method '%1' is not supported (0x8C)"; // MQTT 5.0 only
      break;
    case Msg.REASON_TOPIC_ALIAS_INVALID:
      if (MIDGE_FEATURES.mqtt5) return "topic alias %1 over the maximum %2 (0x94)"; // MQTT 5.0 only
      break;
    case Msg.REASON_TOPIC_ALIAS_UNKNOWN:
      if (MIDGE_FEATURES.mqtt5) return "topic alias %1 was never set on this connection (0x82)"; // MQTT 5.0 only
      break;
    case Msg.REASON_DISCONNECT_CODE:
      if (MIDGE_FEATURES.mqtt5) return "client sent DISCONNECT with reason code %1"; // MQTT 5.0 only
      break;
    case Msg.REASON_EXPIRY_AFTER_ZERO:
      if (MIDGE_FEATURES.mqtt5) return "DISCONNECT set a session expiry interval after CONNECT set 0 (0x82)"; // MQTT 5.0 only
      break;
    case Msg.REASON_AUTH_PACKET:
      if (MIDGE_FEATURES.mqtt5) return "AUTH without an authentication method (0x82)"; // MQTT 5.0 only
      break;
    case Msg.FAULT_CLIENT_ID:
      return "not a valid client id";
    case Msg.FAULT_TOPIC:
      return "not a valid topic name";
    case Msg.FAULT_FILTER:
      return "not a valid topic filter";
    case Msg.FAULT_QOS:
      return "QoS out of range";
    case Msg.FAULT_PACKET_ID:
      return "packet id not in 1..65535";
    case Msg.FAULT_STATE:
      return "unknown state";
    case Msg.FAULT_SIZE:
      return "over the size limits";
    case Msg.FAULT_SEQUENCE:
      return "bad sequence number";
    case Msg.FAULT_DUPLICATE:
      return "a duplicate";
  }
  // Not a case: a build without MQTT 5 keeps no trace of it.
  if (MIDGE_FEATURES.mqtt5 && id === Msg.FAULT_V5) return "MQTT 5.0 fields (expiry, properties, subscription options) not valid";
  return "";
}
