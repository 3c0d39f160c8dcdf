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

  if (b.policy !== undefined) {
    // SRV-CON-7: credentials, then the will topic must be writable (as mosquitto does).
    let code = b.policy.authenticate(clientId, p.hasUsername, p.username, p.hasPassword, p.password);
    if (code === ConnackCode.ACCEPTED && p.willFlag && !b.policy.allow(clientId, p.hasUsername, p.username, p.willTopic, Access.WRITE)) {
      code = ConnackCode.NOT_AUTHORIZED;
    }
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
  s.hasUsername = p.hasUsername;
  s.username = p.username;
  c.state = ConnState.CONNECTED;
  c.session = slot;
  c.protocolLevel = p.protocolLevel;
  c.keepAliveMs = p.keepAlive * 1000;
  c.hasWill = p.willFlag; // MQTT-3.1.2-8
  if (p.willFlag) {
    c.willTopic = p.willTopic;
    c.willTopicBytes = utf8Encode(p.willTopic);
    c.willPayload = bytesCopy(p.willPayload, 0, bytesLength(p.willPayload));
    c.willQos = p.willQos;
    c.willRetain = p.willRetain;
  }
  b.log.log(
    LogLevel.NOTICE,
    "New client connected from " + c.peer + " as " + clientId + " (p" + (p.protocolLevel === PROTOCOL_LEVEL_31 ? 1 : 2) + ", c" + (p.cleanSession ? 1 : 0) + ", k" + p.keepAlive + ").",
  );
  // MQTT 3.1 has no Session Present bit (SRV-V31-3).
  sendBytes(b, conn, encodeConnack(sessionPresent && p.protocolLevel !== PROTOCOL_LEVEL_31, ConnackCode.ACCEPTED));
  if (sessionPresent) {
    resendFlights(b, s); // MQTT-4.4.0-1
    pumpQueue(b, s); // SRV-OPS-8
  }
}
