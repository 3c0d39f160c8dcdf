import { bytesCopy, bytesLength, utf8Encode, utf8Length } from "../../bytes/bytes";
import { ConnackCode, PROTOCOL_LEVEL_31, PROTOCOL_LEVEL_5, PacketType, ReasonCode } from "../../codec/constants";
import { encodeConnack } from "../../codec/encode";
import { Packet } from "../../codec/packet";
import { Status, reasonCodeV5 } from "../../codec/status";
import { logf, render } from "../../log/log";
import { Msg } from "../../log/messages";
import { Access, LogLevel } from "../../platform";
import { pumpQueue, resendFlights, sendBytes, windowOf } from "../delivery";
import { closeConnection, sessionTimers } from "../lifecycle";
import { publishDelayedWill } from "../publish";
import { connectV5, sendConnackV5, sendDisconnectV5, sendRefusalV5 } from "../mqtt5";
import { NO_MESSAGE } from "../../qos/flows";
import { storeFor, storeSessionExpiry, storeSessionWill } from "../persist";
import { sessionCreate, sessionDiscard, sessionFind } from "../sessions";
import { Broker, ConnState, SESSION_NEVER_EXPIRES, Session } from "../state";

/**
 * CONNECT (§3.1, SRV-CON-8) on a new connection, as named steps: check the first packet,
 * validate the client id, authenticate, take over a connected session, set up the session,
 * keep the will, answer CONNACK and resend what the session holds.
 */

/** MQTT 3.1 limits client ids to 23 characters and forbids empty ones (SRV-V31-2). */
const MAX_CLIENT_ID_31 = 23;

/**
 * The first packet of a connection, decoded with status st. Anything but a valid CONNECT
 * closes the connection; a valid one is handled by handleConnect.
 */
export function handleFirstPacket(b: Broker, conn: number, type: number, st: number, p: Packet): void {
  if (type !== PacketType.CONNECT) {
    closeConnection(b, conn, render(Msg.REASON_FIRST_NOT_CONNECT, type), false); // MQTT-3.1.0-1
    return;
  }
  if (st === Status.UNSUPPORTED_PROTOCOL_LEVEL) {
    sendBytes(b, conn, encodeConnack(false, ConnackCode.BAD_PROTOCOL_VERSION)); // MQTT-3.1.2-2
    closeConnection(b, conn, render(Msg.REASON_PROTOCOL_LEVEL, p.protocolLevel), false);
    return;
  }
  if (st !== Status.OK) {
    // A 5.0 CONNECT is refused with the reason code of what is wrong with it (§3.2.2.2).
    if (MIDGE_FEATURES.mqtt5 && p.protocolLevel === PROTOCOL_LEVEL_5) sendRefusalV5(b, conn, reasonCodeV5(st), 0);
    closeConnection(b, conn, render(Msg.REASON_MALFORMED_CONNECT, st), false); // MQTT-3.1.4-1
    return;
  }
  handleConnect(b, conn, p);
}

/**
 * A valid CONNECT on a new connection, after the checks of the codec (SRV-CON-8 steps 5-8):
 * client id policy, credentials, takeover, session, will, CONNACK, resend.
 */
export function handleConnect(b: Broker, conn: number, p: Packet): void {
  const c = b.conns[conn];
  // Level 0x83/0x84 (bit 7 set) marks a broker bridging to us (SRV-V31-11, our choice, as
  // mosquitto): level 3/4 rules otherwise, plus the bridge treatment of Session.bridge.
  const bridge = p.protocolLevel >= 128;
  if (bridge) p.protocolLevel -= 128;
  c.protocolLevel = p.protocolLevel; // refusals answer in the client's version
  const v5 = MIDGE_FEATURES.mqtt5 && p.protocolLevel === PROTOCOL_LEVEL_5;
  if (MIDGE_FEATURES.mqtt5 && v5 && p.props.hasAuthenticationMethod) {
    // No enhanced authentication method is supported (MQTT-4.12.0-1).
    refuseConnect(b, conn, ReasonCode.BAD_AUTHENTICATION_METHOD, render(Msg.REASON_AUTH_METHOD, p.props.authenticationMethod));
    return;
  }
  if (!featuresAllow(b, conn, p)) return;
  if (!v5 && p.keepAlive > b.limits.maxKeepAlive) {
    // 3.1.1 cannot tell a client another keep alive: refused as mosquitto's max_keepalive does.
    refuseConnect(b, conn, ConnackCode.IDENTIFIER_REJECTED, render(Msg.REASON_KEEP_ALIVE_OVER, p.keepAlive, b.limits.maxKeepAlive));
    return;
  }
  const clientId = validateClientId(b, conn, p);
  if (clientId === "") return;
  // use_identity_as_username: the transport vouched for a user name (a verified client
  // certificate). It replaces the CONNECT's, and no password is checked (as in mosquitto).
  const hasIdentity = c.identity !== "";
  const hasUsername = hasIdentity || p.hasUsername;
  const username = hasIdentity ? c.identity : p.username;
  if (!authenticate(b, conn, p, clientId, hasIdentity)) return;
  if (MIDGE_FEATURES.mqtt5) {
    const stored = sessionFind(b, clientId);
    if (stored >= 0) sessionTimers(b, stored, b.clock.now());
  }
  let slot = takeOver(b, clientId);
  // MQTT-3.2.2-2 (an empty stored session counts, SRV-CON-10); never without persistent sessions.
  const sessionPresent = MIDGE_FEATURES.persistentSessions && slot >= 0 && !p.cleanSession;
  // 3.1.1: CleanSession both starts afresh and ends the session with the connection. 5.0: Clean
  // Start only starts afresh; the Session Expiry Interval says when the session ends (§3.1.2.11.2).
  let expiry = 0;
  let expiryChanged = -1;
  if (MIDGE_FEATURES.mqtt5 && v5) {
    expiry = p.props.sessionExpiryInterval > 0 ? p.props.sessionExpiryInterval : 0;
    if (expiry > 0 && !MIDGE_FEATURES.persistentSessions) {
      expiry = 0; // the CONNACK tells the client (§3.2.2.3.2)
      expiryChanged = 0;
    }
  }
  slot = setUpSession(b, conn, p, clientId, slot, MIDGE_FEATURES.mqtt5 && v5 ? expiry === 0 : p.cleanSession);
  if (slot < 0) return;
  const s = b.sessions[slot];
  s.conn = conn;
  s.bridge = bridge;
  s.hasUsername = hasUsername;
  s.username = username;
  c.state = ConnState.CONNECTED;
  c.session = slot;
  c.keepAliveMs = p.keepAlive * 1000;
  if (MIDGE_FEATURES.mqtt5 && v5 && b.limits.maxKeepAlive < 65535 && (p.keepAlive === 0 || p.keepAlive > b.limits.maxKeepAlive)) {
    c.keepAliveMs = b.limits.maxKeepAlive * 1000; // the Server Keep Alive of the CONNACK (MQTT-3.2.2-22)
  }
  if (MIDGE_FEATURES.mqtt5) {
    // A new connection to the session: a will still waiting for its delay is not sent
    // (MQTT-3.1.3-9), and the session stops counting down to its expiry.
    const willWaited = s.willAt >= 0;
    s.willAt = -1;
    s.willMessage = NO_MESSAGE;
    s.expiresAt = -1;
    s.receiveMax = 65535;
    s.expiry = v5 ? expiry : p.cleanSession ? 0 : SESSION_NEVER_EXPIRES;
    if (willWaited) storeSessionWill(b, s);
    storeSessionExpiry(b, s);
    if (v5) connectV5(b, conn, p, s);
  }
  if (MIDGE_FEATURES.will) keepWill(b, conn, p, s);
  logf(b.log, LogLevel.NOTICE, Msg.CLIENT_CONNECTED, c.peer, clientId, "p" + (p.protocolLevel === PROTOCOL_LEVEL_31 ? 1 : MIDGE_FEATURES.mqtt5 && v5 ? 5 : 2) + ", c" + (p.cleanSession ? 1 : 0) + ", k" + p.keepAlive + (MIDGE_FEATURES.mqtt5 && v5 ? ", e" + expiry : "") + (bridge ? ", bridge" : ""));
  if (MIDGE_FEATURES.mqtt5 && v5) {
    sendConnackV5(b, conn, sessionPresent, clientId === p.clientId ? "" : clientId, expiryChanged, p.keepAlive);
  } else {
    // MQTT 3.1 has no Session Present bit (SRV-V31-3).
    sendBytes(b, conn, encodeConnack(sessionPresent && p.protocolLevel !== PROTOCOL_LEVEL_31, ConnackCode.ACCEPTED));
  }
  if (MIDGE_FEATURES.persistentSessions && sessionPresent) {
    // MQTT-4.4.0-1. A 5.0 client gets at most its Receive Maximum of them now, the others as it
    // acknowledges (resendNext; MQTT-3.3.4-9).
    if (MIDGE_FEATURES.mqtt5) s.resendLeft = s.flightCount - resendFlights(b, s, 0, windowOf(b, s));
    else resendFlights(b, s, 0, s.flightCount);
    pumpQueue(b, s); // SRV-OPS-8
  }
}

/**
 * A CONNECT that asks for what this build left out (src/features.ts). A will, or a QoS 2 will
 * without QoS 2, is refused by closing without CONNACK: no 3.1.1 return code says why
 * (MQTT-3.2.2-6). A persistent session is served as a clean one (how long a session is kept
 * is the server's choice), with a log line. False when the connection was closed.
 */
function featuresAllow(b: Broker, conn: number, p: Packet): boolean {
  // A 5.0 client is told why (§3.2.2.2): 0x83 for a will, 0x9B for a QoS it cannot have.
  if (p.willFlag && !MIDGE_FEATURES.will) {
    if (MIDGE_FEATURES.mqtt5 && p.protocolLevel === PROTOCOL_LEVEL_5) sendRefusalV5(b, conn, ReasonCode.IMPLEMENTATION_SPECIFIC_ERROR, 0);
    closeConnection(b, conn, render(Msg.REASON_WILL_OFF, p.clientId), false);
    return false;
  }
  if (p.willFlag && p.willQos === 2 && !MIDGE_FEATURES.qos2) {
    if (MIDGE_FEATURES.mqtt5 && p.protocolLevel === PROTOCOL_LEVEL_5) sendRefusalV5(b, conn, ReasonCode.QOS_NOT_SUPPORTED, 0); // MQTT-3.2.2-12
    closeConnection(b, conn, render(Msg.REASON_QOS2_WILL_OFF, p.clientId), false);
    return false;
  }
  if (MIDGE_FEATURES.mqtt5 && p.protocolLevel === PROTOCOL_LEVEL_5 && p.willFlag && p.willRetain && !(MIDGE_FEATURES.retained && b.limits.retainAvailable)) {
    sendRefusalV5(b, conn, ReasonCode.RETAIN_NOT_SUPPORTED, 0); // MQTT-3.2.2-13
    closeConnection(b, conn, render(Msg.REASON_RETAIN_UNAVAILABLE), false);
    return false;
  }
  if (!p.cleanSession && !MIDGE_FEATURES.persistentSessions) {
    logf(b.log, LogLevel.NOTICE, Msg.PERSISTENT_SESSION_OFF, p.clientId);
    p.cleanSession = true;
  }
  return true;
}

/**
 * Refuses a CONNECT with a non-zero return code: CONNACK with Session Present 0
 * (MQTT-3.2.2-4), then close (MQTT-3.2.2-5).
 */
function refuseConnect(b: Broker, conn: number, code: number, reason: string): void {
  // reason: rendered (render of a REASON_* message). code: a 3.1.1 return code, sent to 5.0
  // clients as its 5.0 reason code (§3.2.2.2); 5.0 codes (≥ 0x80) go to 5.0 clients only.
  if (MIDGE_FEATURES.mqtt5 && b.conns[conn].protocolLevel === PROTOCOL_LEVEL_5) {
    sendRefusalV5(b, conn, code < 0x80 ? reasonCodeFor(code) : code, b.packet.props.maximumPacketSize > 0 ? b.packet.props.maximumPacketSize : 0);
  } else {
    sendBytes(b, conn, encodeConnack(false, code));
  }
  closeConnection(b, conn, reason, false);
}

/** The 5.0 reason code of a 3.1.1 CONNACK return code (Table 3-1 beside §3.2.2.3). */
function reasonCodeFor(code: number): number {
  if (code === ConnackCode.IDENTIFIER_REJECTED) return ReasonCode.CLIENT_IDENTIFIER_NOT_VALID;
  if (code === ConnackCode.BAD_USERNAME_OR_PASSWORD) return ReasonCode.BAD_USER_NAME_OR_PASSWORD;
  if (code === ConnackCode.NOT_AUTHORIZED) return ReasonCode.NOT_AUTHORIZED;
  return ReasonCode.SERVER_UNAVAILABLE;
}

/** The client id to use (one generated for an empty id where allowed), or "" when the CONNECT was refused. */
function validateClientId(b: Broker, conn: number, p: Packet): string {
  const idLength = utf8Length(p.clientId);
  if (idLength === 0) {
    if (p.protocolLevel === PROTOCOL_LEVEL_31) {
      refuseConnect(b, conn, ConnackCode.IDENTIFIER_REJECTED, render(Msg.REASON_EMPTY_ID_31)); // SRV-V31-2
      return "";
    }
    if (!p.cleanSession && p.protocolLevel !== PROTOCOL_LEVEL_5) {
      refuseConnect(b, conn, ConnackCode.IDENTIFIER_REJECTED, render(Msg.REASON_EMPTY_ID_PERSISTENT)); // MQTT-3.1.3-8
      return "";
    }
    return generateClientId(b);
  }
  if (idLength > b.limits.maxClientIdLength || (p.protocolLevel === PROTOCOL_LEVEL_31 && idLength > MAX_CLIENT_ID_31)) {
    refuseConnect(b, conn, ConnackCode.IDENTIFIER_REJECTED, render(Msg.REASON_ID_TOO_LONG, p.protocolLevel === PROTOCOL_LEVEL_31 ? MAX_CLIENT_ID_31 : b.limits.maxClientIdLength)); // MQTT-3.1.3-9
    return "";
  }
  return p.clientId;
}

function generateClientId(b: Broker): string {
  for (;;) {
    b.autoIdCounter++;
    const id = "auto-" + b.autoIdCounter + "-" + Math.floor(Math.random() * 1000000000);
    if (sessionFind(b, id) < 0) return id; // MQTT-3.1.3-6: unique
  }
}

/** SRV-CON-7: credentials; false when the CONNECT was refused. */
function authenticate(b: Broker, conn: number, p: Packet, clientId: string, hasIdentity: boolean): boolean {
  if (b.policy === undefined) return true;
  const code = hasIdentity ? ConnackCode.ACCEPTED : b.policy.authenticate(clientId, p.hasUsername, p.username, p.hasPassword, p.password);
  if (code === ConnackCode.ACCEPTED) return true;
  const why = render(code === ConnackCode.BAD_USERNAME_OR_PASSWORD ? Msg.REASON_BAD_CREDENTIALS : Msg.REASON_NOT_AUTHORISED);
  logf(b.log, LogLevel.NOTICE, Msg.CLIENT_REFUSED, clientId, b.conns[conn].peer, why, code);
  refuseConnect(b, conn, code, why);
  return false;
}

/** Closes the connection that has the session now, if any; returns the session's slot or -1. */
function takeOver(b: Broker, clientId: string): number {
  const slot = sessionFind(b, clientId);
  if (slot < 0 || b.sessions[slot].conn < 0) return slot;
  // MQTT-3.1.4-2: the older connection goes, as a network close (its will is published).
  const old = b.sessions[slot].conn;
  logf(b.log, LogLevel.NOTICE, Msg.CLIENT_TAKEN_OVER, clientId);
  if (MIDGE_FEATURES.mqtt5) sendDisconnectV5(b, old, ReasonCode.SESSION_TAKEN_OVER); // MQTT-3.1.4-3
  closeConnection(b, old, render(Msg.REASON_TAKEN_OVER), true);
  return sessionFind(b, clientId); // a clean session ended with its connection
}

/** Resumes the stored session or starts a new one; -1 when the CONNECT was refused (table full). */
function setUpSession(b: Broker, conn: number, p: Packet, clientId: string, slot: number, endsWithConnection: boolean): number {
  if (slot >= 0 && p.cleanSession) {
    // A will waiting for its delay goes out when Clean Start ends its session (SRV5-CON-19).
    if (MIDGE_FEATURES.mqtt5 && b.sessions[slot].willAt >= 0) publishDelayedWill(b, b.sessions[slot]);
    sessionDiscard(b, slot); // MQTT-3.1.2-6
    slot = -1;
  }
  if (slot >= 0) {
    if (MIDGE_FEATURES.mqtt5 && endsWithConnection && !b.sessions[slot].cleanSession) {
      // A stored session resumed with Session Expiry Interval 0 now ends with its connection:
      // it leaves the store (a restart must not bring it back).
      const st = storeFor(b, b.sessions[slot]);
      if (st !== undefined) st.sessionDelete(clientId);
    }
    b.sessions[slot].cleanSession = endsWithConnection;
    return slot;
  }
  slot = sessionCreate(b, clientId, endsWithConnection);
  if (slot < 0) {
    logf(b.log, LogLevel.WARNING, Msg.SESSION_TABLE_FULL, b.limits.maxSessions, clientId, b.conns[conn].peer);
    refuseConnect(b, conn, ConnackCode.SERVER_UNAVAILABLE, render(Msg.REASON_SESSION_TABLE_FULL)); // SRV-IMPL-19
  }
  return slot;
}

/** Keeps the will of the CONNECT for the end of the connection (MQTT-3.1.2-8), if the client may publish it. */
function keepWill(b: Broker, conn: number, p: Packet, s: Session): void {
  const c = b.conns[conn];
  c.hasWill = p.willFlag; // MQTT-3.1.2-8
  if (p.willFlag && b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, p.willTopic, Access.WRITE)) {
    // As mosquitto: the connection is accepted, but a will it may not publish is dropped.
    logf(b.log, LogLevel.NOTICE, Msg.WILL_NOT_ALLOWED, s.clientId, p.willTopic);
    c.hasWill = false;
  }
  if (c.hasWill) {
    c.willTopic = p.willTopic;
    c.willTopicBytes = utf8Encode(p.willTopic);
    c.willPayload = bytesCopy(p.willPayload, 0, bytesLength(p.willPayload));
    c.willQos = p.willQos;
    c.willRetain = p.willRetain;
  }
}
