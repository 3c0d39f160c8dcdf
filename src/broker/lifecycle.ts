import { EMPTY_BYTES } from "../bytes/bytes";
import { frameReset } from "../codec/frameReader";
import { render, logf } from "../log/log";
import { Msg } from "../log/messages";
import { LogLevel } from "../platform";
import { publishWill } from "./publish";
import { replayStop } from "./replay";
import { sessionDiscard } from "./sessions";
import { Broker, ConnState } from "./state";

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
  if (slot >= 0) {
    const s = b.sessions[slot];
    s.conn = -1;
    // Retained replays end with the connection, a persistent session's too (replay.ts).
    if (MIDGE_FEATURES.retained && b.rpCount > 0) replayStop(b, -1, slot);
    if (s.cleanSession) sessionDiscard(b, slot);
  }
  if (closeTransport) b.transport.close(conn);
  if (MIDGE_FEATURES.will && c.hasWill) {
    c.hasWill = false;
    const willPayload = c.willPayload;
    c.willPayload = EMPTY_BYTES;
    if (sendWill) publishWill(b, c, willPayload);
  }
}
