import { Bytes, bytesLength } from "../bytes/bytes";
import { PacketType } from "../codec/constants";
import { encodeAck, encodePublish } from "../codec/encode";
import { logf } from "../log/log";
import { Msg } from "../log/messages";
import { LogLevel } from "../platform";
import { storeFor } from "./persist";
import { Flight, Message, flightRemove, flightStart, flightFromQueue, flowsCanSend, flowsRestore, inboundAdd, packetIdNext, queueAdd, queueDropOldest, queuedQos, queuedRetain, queuedSeq } from "../qos/flows";
import { encodeDelivery } from "./message5";
import { Broker, FlowState, Session } from "./state";

/**
 * Outbound message flows to one session (§4.3, §4.4, §4.6): a bounded in-flight window
 * (SRV-OPS-11) in send order, and a bounded FIFO behind it that also holds messages while
 * a CleanSession = 0 client is offline (MQTT-3.1.2-5). The state and its transitions are the
 * QoS engine's (src/qos/flows.ts); this file adds what a broker session needs around them:
 * the store reports, b.changes, the encoding and the writes. The acknowledgements are
 * handled in handlers/pubflow.ts.
 */

export { NO_MESSAGE } from "../qos/flows";

/** Every write to a connection goes through here (so bytes sent are counted once). */
export function sendBytes(b: Broker, conn: number, data: Bytes): void {
  b.stats.bytesSent += bytesLength(data);
  b.transport.write(conn, data);
}

/**
 * Sends a QoS 0 PUBLISH unless the connection is not reading: past maxPendingBytes of
 * unsent data, QoS 0 messages to it are dropped (counted, logged once per episode).
 */
export function sendQos0(b: Broker, conn: number, data: Bytes): void {
  if (b.transport.pending(conn) > b.limits.maxPendingBytes) {
    const c = b.conns[conn];
    if (c.droppedQos0 === 0) {
      logf(b.log, LogLevel.WARNING, Msg.NOT_READING_QOS0, clientIdOf(b, conn));
    }
    c.droppedQos0++;
    b.stats.messagesDropped++;
    return;
  }
  b.conns[conn].droppedQos0 = 0;
  sendBytes(b, conn, data);
  b.stats.messagesSent++;
}

export function clientIdOf(b: Broker, conn: number): string {
  const session = b.conns[conn].session;
  return session >= 0 ? b.sessions[session].clientId : "<unknown>";
}

/**
 * The PUBLISH of m for the session's connection in an mqtt5 build, or undefined when it must not
 * go (expired, or too large for an MQTT 5.0 client: message5.ts). started: a resend of a flight.
 * Callers choose it or encodePublish with MIDGE_FEATURES.mqtt5 inline, so that a build without
 * MQTT 5 has neither this function nor a wrapper.
 */
function encodeOut5(b: Broker, s: Session, m: Message, qos: number, dup: boolean, retain: boolean, packetId: number, started: boolean): Bytes | undefined {
  return encodeDelivery(b, s.conn, m.topicBytes, m.payload, m.props, m.expiresAt, m.subIds, m.subIds === undefined ? 0 : m.subIds.length, qos, dup, retain, packetId, started);
}

/** An mqtt5 build's in-flight window: maxInflight, or less where a 5.0 client's Receive Maximum says so (MQTT-3.3.4-9). */
export function windowOf(b: Broker, s: Session): number {
  return s.receiveMax < b.limits.maxInflight ? s.receiveMax : b.limits.maxInflight;
}

/** A flight just started: reported to the store, then its PUBLISH (data) sent. */
function sendFlight(b: Broker, s: Session, f: Flight, data: Bytes): void {
  b.changes++;
  const st = storeFor(b, s);
  if (st !== undefined) st.messageSent(s.clientId, f.seq, f.packetId);
  sendBytes(b, s.conn, data);
  b.stats.messagesSent++;
}

/** Gives a new outbound message its sequence number and reports it to the store. */
function admit(b: Broker, s: Session, m: Message, qos: number, retain: boolean): number {
  const seq = s.nextSeq;
  s.nextSeq++;
  const st = storeFor(b, s);
  if (st !== undefined) {
    // if/else: a build without MQTT 5 drops the first branch whole.
    if (MIDGE_FEATURES.mqtt5) st.messageAdd(s.clientId, seq, m.topic, m.payload, qos, retain, m.props, m.expiresAt, m.subIds);
    else st.messageAdd(s.clientId, seq, m.topic, m.payload, qos, retain);
  }
  return seq;
}

function enqueue(b: Broker, s: Session, m: Message, qos: number, retain: boolean): void {
  const capacity = b.limits.maxQueued;
  if (capacity <= 0) {
    dropped(b, s, m);
    return;
  }
  if (s.queueCount === capacity) {
    // Full: the oldest message makes room (SRV-IMPL-10).
    dropped(b, s, s.queue[s.queueHead]);
    const st = storeFor(b, s);
    if (st !== undefined) st.messageDelete(s.clientId, queuedSeq(s, s.queueHead));
    queueDropOldest(s, capacity);
  }
  queueAdd(s, capacity, admit(b, s, m, qos, retain), m, qos, retain);
  b.changes++;
}

function dropped(b: Broker, s: Session, m: Message): void {
  if (s.queueDropped === 0) {
    logf(b.log, LogLevel.WARNING, Msg.QUEUE_FULL, s.clientId, b.limits.maxQueued, m.topic);
  }
  s.queueDropped++;
  b.stats.messagesDropped++;
}

/**
 * Puts a message read back from a store into a session at start-up, keeping its sequence
 * number: into the in-flight window when it had been sent (state FlowState.*), else queued.
 * Call in sequence order per session. Returns false when it no longer fits the limits.
 */
export function restoreOutbound(b: Broker, s: Session, seq: number, m: Message, qos: number, retain: boolean, packetId: number, state: number): boolean {
  if (!flowsRestore(s, b.limits.maxInflight, b.limits.maxQueued, seq, m, qos, retain, packetId, state)) return false;
  b.changes++;
  return true;
}

/**
 * Puts an inbound QoS 2 packet id read back from a store into a session at start-up (it got
 * PUBREC, PUBREL has not come). Returns false when it is 0, a duplicate, or past maxInboundQos2.
 */
export function restoreInbound(b: Broker, s: Session, packetId: number): boolean {
  // A build without QoS 2 has no inbound QoS 2 flows to resume.
  if (MIDGE_FEATURES.qos2 && inboundAdd(s, packetId, b.limits.maxInboundQos2)) {
    b.changes++;
    return true;
  }
  return false;
}

/** Delivers a QoS 1/2 message (qos already capped by the subscription) to a session. */
export function deliver(b: Broker, sessionSlot: number, m: Message, qos: number, retain: boolean): void {
  const s = b.sessions[sessionSlot];
  if (qos === 0) {
    if (s.conn < 0) return; // SRV-IMPL-7: QoS 0 is not queued for offline sessions
    const data = MIDGE_FEATURES.mqtt5 ? encodeOut5(b, s, m, 0, false, retain, 0, false) : encodePublish(m.topicBytes, m.payload, 0, false, retain, 0);
    if (data !== undefined) sendQos0(b, s.conn, data);
    return;
  }
  if (s.conn >= 0 && flowsCanSend(s, MIDGE_FEATURES.mqtt5 ? windowOf(b, s) : b.limits.maxInflight)) {
    const id = packetIdNext(s);
    const data = MIDGE_FEATURES.mqtt5 ? encodeOut5(b, s, m, qos, false, retain, id, false) : encodePublish(m.topicBytes, m.payload, qos, false, retain, id);
    if (data === undefined) {
      b.stats.messagesDropped++; // expired or too large for the client: never sent
      return;
    }
    sendFlight(b, s, flightStart(s, id, admit(b, s, m, qos, retain), m, qos, retain), data);
  } else {
    enqueue(b, s, m, qos, retain);
  }
}

/**
 * Moves queued messages into the in-flight window while there is room (SRV-OPS-8). A queued
 * message whose expiry passed, or that is too large for the client, is dropped on the way
 * (MQTT-3.3.2-5, MQTT-3.1.2-25).
 */
export function pumpQueue(b: Broker, s: Session): void {
  const window = MIDGE_FEATURES.mqtt5 ? windowOf(b, s) : b.limits.maxInflight;
  while (s.conn >= 0 && s.queueCount > 0 && s.flightCount < window) {
    const at = s.queueHead;
    const id = packetIdNext(s);
    const m = s.queue[at];
    const qos = queuedQos(s, at);
    const retain = queuedRetain(s, at);
    const data = MIDGE_FEATURES.mqtt5 ? encodeOut5(b, s, m, qos, false, retain, id, false) : encodePublish(m.topicBytes, m.payload, qos, false, retain, id);
    if (data === undefined) {
      const st = storeFor(b, s);
      if (st !== undefined) st.messageDelete(s.clientId, queuedSeq(s, at));
      queueDropOldest(s, b.limits.maxQueued);
      b.changes++;
      b.stats.messagesDropped++;
      continue;
    }
    sendFlight(b, s, flightFromQueue(s, b.limits.maxQueued, id), data);
  }
  if (s.queueCount === 0) s.queueDropped = 0;
}

/**
 * Sends unacknowledged flows again, in their original order with their original ids
 * (MQTT-4.4.0-1, MQTT-4.6.0-1): from flight `from` until `count` have gone or none is left, each
 * PUBLISH with DUP set, each PUBREL as it was. One now too large for the client is discarded as
 * if sent and acknowledged (MQTT-3.1.2-25), so its slot of the window goes to the next. Returns
 * the index after the last flight sent.
 */
export function resendFlights(b: Broker, s: Session, from: number, count: number): number {
  let i = from;
  let sent = 0;
  while (i < s.flightCount && sent < count) {
    const f = s.flights[i];
    if (f.state === FlowState.AWAIT_ACK) {
      const m = f.message;
      const data = MIDGE_FEATURES.mqtt5 ? encodeOut5(b, s, m, f.qos, true, f.retain, f.packetId, true) : encodePublish(m.topicBytes, m.payload, f.qos, true, f.retain, f.packetId); // MQTT-3.3.1-1
      if (data === undefined) {
        const st = storeFor(b, s);
        if (st !== undefined) st.messageDelete(s.clientId, f.seq);
        flightRemove(s, i);
        b.changes++;
        b.stats.messagesDropped++;
        continue;
      }
      sendBytes(b, s.conn, data);
    } else {
      sendBytes(b, s.conn, encodeAck(PacketType.PUBREL, f.packetId));
    }
    sent++;
    i++;
  }
  return i;
}

/**
 * A flight ended while others wait to be sent again (a 5.0 client came back with a Receive
 * Maximum below its flights, MQTT-3.3.4-9): the first of them takes its slot.
 */
export function resendNext(b: Broker, s: Session): void {
  if (s.resendLeft > 0) s.resendLeft = s.flightCount - resendFlights(b, s, s.flightCount - s.resendLeft, 1);
}
