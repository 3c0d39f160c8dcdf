import { EMPTY_BYTES } from "../bytes/bytes";
import { frameReset } from "../codec/frameReader";
import { render, logf } from "../log/log";
import { Msg } from "../log/messages";
import { LogLevel } from "../platform";
import { sendDisconnectV5 } from "./mqtt5";
import { publishDelayedWill, publishWill } from "./publish";
import { storeSessionExpiry, storeSessionWill } from "./persist";
import { replayStop } from "./replay";
import { sessionDiscard } from "./sessions";
import { Broker, ConnState, SESSION_NEVER_EXPIRES } from "./state";

/**
 * The end of a connection, whoever ends it: the one place that logs why, frees the slot,
 * detaches the session (discarding a clean one, MQTT-3.1.2-6) and publishes the will.
 */

/**
 * Closes a connection (if still open): logs why, ends a clean session, publishes the will
 * unless the client sent DISCONNECT (MQTT-3.1.2-8, MQTT-3.1.2-10), and tells the transport.
 */
export function closeConnection(b: Broker, conn: number, reason: string, publishWill: boolean): void {
  // reason: a rendered reason (src/log/log.ts render), text or code form.
  closeSlot(b, conn, reason, publishWill, true);
}

/**
 * Closes a connection that broke a rule (the will goes out). An MQTT 5.0 client is first told
 * why with DISCONNECT and a reason code (§4.13.1); code is that reason code.
 */
export function closeForCode(b: Broker, conn: number, code: number, reason: string): void {
  if (MIDGE_FEATURES.mqtt5) sendDisconnectV5(b, conn, code);
  closeConnection(b, conn, reason, true);
}

/** The peer closed the connection or the socket failed: a network close, so the will goes out. */
export function connectionLost(b: Broker, conn: number): void {
  closeSlot(b, conn, render(Msg.REASON_PEER_CLOSED), true, false);
}

function closeSlot(b: Broker, conn: number, reason: string, sendWill: boolean, closeTransport: boolean): void {
  const c = b.conns[conn];
  if (c.state === ConnState.FREE) return;
  const slot = c.session;
  if (slot >= 0) {
    logf(b.log, LogLevel.NOTICE, Msg.CLIENT_DISCONNECTED, b.sessions[slot].clientId, reason);
  } else {
    logf(b.log, LogLevel.NOTICE, Msg.CONNECTION_CLOSED, c.peer, reason);
  }
  c.state = ConnState.FREE;
  c.session = -1;
  frameReset(c.reader);
  b.stats.connections--;
  let delayWill = false;
  if (slot >= 0) {
    const s = b.sessions[slot];
    s.conn = -1;
    // Retained replays end with the connection, a persistent session's too (replay.ts).
    if (MIDGE_FEATURES.retained && b.rpCount > 0) replayStop(b, -1, slot);
    if (s.cleanSession) {
      sessionDiscard(b, slot);
    } else if (MIDGE_FEATURES.mqtt5) {
      // An MQTT 5.0 session counts down its Session Expiry Interval from now (MQTT-3.1.2-23 is
      // the client's side); a will with a delay waits in it (MQTT-3.1.3-9).
      if (s.expiry !== SESSION_NEVER_EXPIRES) s.expiresAt = b.clock.now() + s.expiry * 1000;
      else if (b.limits.persistentClientExpiration > 0) s.expiresAt = b.clock.now() + b.limits.persistentClientExpiration * 1000; // persistent_client_expiration
      if (MIDGE_FEATURES.will && c.hasWill && sendWill && c.willDelay > 0) {
        delayWill = true;
        s.willAt = b.clock.now() + c.willDelay * 1000;
        s.willRetain = c.willRetain;
        s.willMessage = {
          topic: c.willTopic,
          topicBytes: c.willTopicBytes,
          payload: c.willPayload,
          qos: c.willQos,
          props: c.willProps,
          expiresAt: c.willExpiry > 0 ? s.willAt + c.willExpiry * 1000 : -1,
        };
        storeSessionWill(b, s);
      }
      storeSessionExpiry(b, s);
    }
  }
  if (closeTransport) b.transport.close(conn);
  if (MIDGE_FEATURES.will && c.hasWill) {
    c.hasWill = false;
    const willPayload = c.willPayload;
    c.willPayload = EMPTY_BYTES;
    if (sendWill && !delayWill) publishWill(b, c, willPayload);
  }
}

/**
 * MQTT 5.0 time limits of offline sessions, from brokerTick: a will whose delay ran out is
 * published, and a session whose Session Expiry Interval ran out ends, its waiting will
 * published first (MQTT-3.1.3-9: at the delay or at the end of the session, whichever is first).
 */
export function sessionsTick(b: Broker, now: number): void {
  for (let i = 0; i < b.sessions.length; i++) sessionTimers(b, i, now);
}

/**
 * The timers of one session (see sessionsTick); also run for the session a CONNECT names, as an
 * expired session counts as absent even before the tick sweeps it (SRV5-CON-4).
 */
export function sessionTimers(b: Broker, slot: number, now: number): void {
  const s = b.sessions[slot];
  if (s.clientId === "" || s.conn >= 0) return;
  const ends = s.expiresAt >= 0 && now >= s.expiresAt;
  if (s.willAt >= 0 && (ends || now >= s.willAt)) publishDelayedWill(b, s);
  if (ends) {
    logf(b.log, LogLevel.NOTICE, Msg.SESSION_EXPIRED, s.clientId, s.expiry !== SESSION_NEVER_EXPIRES ? s.expiry : b.limits.persistentClientExpiration);
    sessionDiscard(b, slot);
  }
}
