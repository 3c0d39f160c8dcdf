import { bytesCopy, bytesLength, utf8Encode, utf8Length } from "../bytes/bytes";
import { ConnackCode, PROTOCOL_LEVEL_31 } from "../codec/constants";
import { encodeConnack } from "../codec/encode";
import { Packet } from "../codec/packet";
import { Access, LogLevel } from "../platform";
import { pumpQueue, resendFlights, sendBytes } from "./delivery";
import { sessionCreate, sessionDiscard, sessionFind } from "./sessions";
import { Broker, ConnState } from "./state";

/** MQTT 3.1 limits client ids to 23 characters and forbids empty ones (SRV-V31-2). */
const MAX_CLIENT_ID_31 = 23;

/**
 * Refuses a CONNECT with a non-zero return code: CONNACK with Session Present 0
 * (MQTT-3.2.2-4), then close (MQTT-3.2.2-5).
 */
export function refuseConnect(b: Broker, conn: number, code: number, reason: string, close: (b: Broker, conn: number, reason: string, publishWill: boolean) => void): void {
  sendBytes(b, conn, encodeConnack(false, code));
  close(b, conn, reason, false);
}

function generateClientId(b: Broker): string {
  for (;;) {
    b.autoIdCounter++;
    const id = "auto-" + b.autoIdCounter + "-" + Math.floor(Math.random() * 1000000000);
    if (sessionFind(b, id) < 0) return id; // MQTT-3.1.3-6: unique
  }
}

/**
 * A valid CONNECT on a new connection, after the checks of the codec (SRV-CON-8 steps 5-8):
 * client id policy, resources, takeover, session, CONNACK, resend.
 * `close` is the broker's connection closer (passed in to keep the module graph acyclic).
 */
export function handleConnect(b: Broker, conn: number, p: Packet, close: (b: Broker, conn: number, reason: string, publishWill: boolean) => void): void {
  const c = b.conns[conn];
  // Level 0x83/0x84 (bit 7 set) marks a broker bridging to us (SRV-V31-11, our choice, as
  // mosquitto): level 3/4 rules otherwise, plus the bridge treatment of Session.bridge.
  const bridge = p.protocolLevel >= 128;
  if (bridge) p.protocolLevel -= 128;
  let clientId = p.clientId;
  const idLength = utf8Length(clientId);
  if (idLength === 0) {
    if (p.protocolLevel === PROTOCOL_LEVEL_31) {
      return refuseConnect(b, conn, ConnackCode.IDENTIFIER_REJECTED, "empty client id is not allowed in MQTT 3.1", close); // SRV-V31-2
    }
    if (!p.cleanSession) {
      return refuseConnect(b, conn, ConnackCode.IDENTIFIER_REJECTED, "empty client id with clean session 0", close); // MQTT-3.1.3-8
    }
    clientId = generateClientId(b);
  } else if (idLength > b.limits.maxClientIdLength || (p.protocolLevel === PROTOCOL_LEVEL_31 && idLength > MAX_CLIENT_ID_31)) {
    return refuseConnect(b, conn, ConnackCode.IDENTIFIER_REJECTED, "client id longer than " + (p.protocolLevel === PROTOCOL_LEVEL_31 ? MAX_CLIENT_ID_31 : b.limits.maxClientIdLength) + " bytes", close); // MQTT-3.1.3-9
  }

  // use_identity_as_username: the transport vouched for a user name (a verified client
  // certificate). It replaces the CONNECT's, and no password is checked (as in mosquitto).
  const hasIdentity = c.identity !== "";
  const hasUsername = hasIdentity || p.hasUsername;
  const username = hasIdentity ? c.identity : p.username;
  if (b.policy !== undefined) {
    // SRV-CON-7: credentials.
    const code = hasIdentity ? ConnackCode.ACCEPTED : b.policy.authenticate(clientId, p.hasUsername, p.username, p.hasPassword, p.password);
    if (code !== ConnackCode.ACCEPTED) {
      const why = code === ConnackCode.BAD_USERNAME_OR_PASSWORD ? "bad user name or password" : "not authorised";
      b.log.log(LogLevel.NOTICE, "Client " + clientId + " from " + c.peer + " refused: " + why + " (CONNACK " + code + ").");
      return refuseConnect(b, conn, code, why, close);
    }
  }

  let slot = sessionFind(b, clientId);
  if (slot >= 0 && b.sessions[slot].conn >= 0) {
    // MQTT-3.1.4-2: the older connection goes, as a network close (its will is published).
    const old = b.sessions[slot].conn;
    b.log.log(LogLevel.NOTICE, "Client " + clientId + " already connected, closing old connection.");
    close(b, old, "session taken over by a new connection", true);
    slot = sessionFind(b, clientId); // a clean session ended with its connection
  }
  let sessionPresent = false;
  if (slot >= 0 && p.cleanSession) {
    sessionDiscard(b, slot); // MQTT-3.1.2-6
    slot = -1;
  }
  if (slot >= 0) {
    sessionPresent = true; // MQTT-3.2.2-2 (an empty stored session counts, SRV-CON-10)
    b.sessions[slot].cleanSession = false;
  } else {
    slot = sessionCreate(b, clientId, p.cleanSession);
    if (slot < 0) {
      b.log.log(LogLevel.WARNING, "Session table full (" + b.limits.maxSessions + "): refusing client " + clientId + " from " + c.peer + " (CONNACK 3).");
      return refuseConnect(b, conn, ConnackCode.SERVER_UNAVAILABLE, "session table full", close); // SRV-IMPL-19
    }
  }

  const s = b.sessions[slot];
  s.conn = conn;
  s.bridge = bridge;
  s.hasUsername = hasUsername;
  s.username = username;
  c.state = ConnState.CONNECTED;
  c.session = slot;
  c.protocolLevel = p.protocolLevel;
  c.keepAliveMs = p.keepAlive * 1000;
  c.hasWill = p.willFlag; // MQTT-3.1.2-8
  if (p.willFlag && b.policy !== undefined && !b.policy.allow(clientId, hasUsername, username, p.willTopic, Access.WRITE)) {
    // As mosquitto: the connection is accepted, but a will it may not publish is dropped.
    b.log.log(LogLevel.NOTICE, "Client " + clientId + " may not publish its will on " + p.willTopic + ": will dropped.");
    c.hasWill = false;
  }
  if (c.hasWill) {
    c.willTopic = p.willTopic;
    c.willTopicBytes = utf8Encode(p.willTopic);
    c.willPayload = bytesCopy(p.willPayload, 0, bytesLength(p.willPayload));
    c.willQos = p.willQos;
    c.willRetain = p.willRetain;
  }
  b.log.log(
    LogLevel.NOTICE,
    "New client connected from " + c.peer + " as " + clientId + " (p" + (p.protocolLevel === PROTOCOL_LEVEL_31 ? 1 : 2) + ", c" + (p.cleanSession ? 1 : 0) + ", k" + p.keepAlive + (bridge ? ", bridge" : "") + ").",
  );
  // MQTT 3.1 has no Session Present bit (SRV-V31-3).
  sendBytes(b, conn, encodeConnack(sessionPresent && p.protocolLevel !== PROTOCOL_LEVEL_31, ConnackCode.ACCEPTED));
  if (sessionPresent) {
    resendFlights(b, s); // MQTT-4.4.0-1
    pumpQueue(b, s); // SRV-OPS-8
  }
}
