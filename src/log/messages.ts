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
 * (statusReason), %P1 as a packet type (packetName). A reason (the REASON_* numbers) is
 * rendered first (logText) and passed as an argument of the line that gives it.
 */
export const enum Msg {
  // Connections arriving and leaving: the lines connection_messages false hides (LogCategory.CONNECTION).
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
  UNKNOWN_PUBACK = 25,
  UNKNOWN_PUBREC = 26,
  UNKNOWN_PUBCOMP = 27,
  RESTORE_SESSION_TABLE_FULL = 28,
  RESTORE_MESSAGE_DROPPED = 29,
  RESTORE_RECORD_INVALID = 30,
  FEATURE_OFF = 31,

  // Bridges (src/bridge), each prefixed "Bridge <name>: ".
  BRIDGE_CONNECTING = 40,
  BRIDGE_LOST_NO_RESTART = 41,
  BRIDGE_LOST_RETRY = 42,
  BRIDGE_CONNECTED = 43,
  BRIDGE_SUBSCRIPTION_REFUSED = 44,
  BRIDGE_NO_LINE = 45,
  BRIDGE_BAD_LOCAL_TOPIC = 46,
  BRIDGE_OVER_SIZE_LIMIT = 47,
  BRIDGE_QUEUE_FULL = 48,
  BRIDGE_QUEUE_DRAINED = 49,
  BRIDGE_EMPTY_REMOTE_TOPIC = 50,
  BRIDGE_SHUTDOWN = 51,

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
    case Msg.UNKNOWN_PUBACK:
      return "Client %1 sent PUBACK for unknown packet id %2.";
    case Msg.UNKNOWN_PUBREC:
      return "Client %1 sent PUBREC for unknown packet id %2.";
    case Msg.UNKNOWN_PUBCOMP:
      return "Client %1 sent PUBCOMP for unknown packet id %2.";
    case Msg.RESTORE_SESSION_TABLE_FULL:
      return "Session table full: stored session %1 not restored.";
    case Msg.RESTORE_MESSAGE_DROPPED:
      return "Stored message %1 of %2 does not fit the session's limits: dropped.";
    case Msg.RESTORE_RECORD_INVALID:
      return "Stored %1 of %2 is invalid (%3): not restored.";
    case Msg.FEATURE_OFF:
      return "Client %1: %2 is not in this build (feature %3 off).";
    case Msg.BRIDGE_CONNECTING:
      return "Bridge %1: connecting to %2:%3.";
    case Msg.BRIDGE_LOST_NO_RESTART:
      return "Bridge %1: %2 (%3); start_type once: not restarting%4.";
    case Msg.BRIDGE_LOST_RETRY:
      return "Bridge %1: %2 (%3); next attempt in %4 ms.";
    case Msg.BRIDGE_CONNECTED:
      return "Bridge %1: connected to %2:%3 as %4%5.";
    case Msg.BRIDGE_SUBSCRIPTION_REFUSED:
      return "Bridge %1: the upstream refused the subscription to %2.";
    case Msg.BRIDGE_NO_LINE:
      return "Bridge %1: message on %2 matches no in/both topic line: dropped.";
    case Msg.BRIDGE_BAD_LOCAL_TOPIC:
      return "Bridge %1: message on %2 maps to an unusable local topic '%3': dropped.";
    case Msg.BRIDGE_OVER_SIZE_LIMIT:
      return "Bridge %1: message on %2 is over message_size_limit: dropped.";
    case Msg.BRIDGE_QUEUE_FULL:
      return "Bridge %1: queue full (%2 messages): dropping the oldest, first on %3.";
    case Msg.BRIDGE_QUEUE_DRAINED:
      return "Bridge %1: queue drained; %2 messages were dropped while it was full.";
    case Msg.BRIDGE_EMPTY_REMOTE_TOPIC:
      return "Bridge %1: message on %2 maps to an empty remote topic: not forwarded.";
    case Msg.BRIDGE_SHUTDOWN:
      return "Bridge %1: disconnected (broker shutting down).";
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
      return "session taken over";
    case Msg.REASON_QOS2_OFF:
      return "QoS 2 PUBLISH while this build has no QoS 2";
  }
  return "";
}
