import { Bytes, bytesLength } from "../bytes/bytes";
import { PacketType } from "../codec/constants";
import { encodeAck, encodePublish } from "../codec/encode";
import { logf } from "../log/log";
import { Msg } from "../log/messages";
import { LogLevel } from "../platform";
import { storeFor } from "./persist";
import { Flight, Message, flightFromQueue, flightStart, flowsCanSend, flowsRestore, inboundAdd, packetIdNext, queueAdd, queueDropOldest } from "../qos/flows";
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

function startFlight(b: Broker, s: Session, seq: number, m: Message, qos: number, retain: boolean): void {
  sendFlight(b, s, flightStart(s, packetIdNext(s), seq, m, qos, retain));
}

/** A flight just started: reported to the store, then its PUBLISH sent. */
function sendFlight(b: Broker, s: Session, f: Flight): void {
  b.changes++;
  const st = storeFor(b, s);
  if (st !== undefined) st.messageSent(s.clientId, f.seq, f.packetId);
  sendBytes(b, s.conn, encodePublish(f.message.topicBytes, f.message.payload, f.qos, false, f.retain, f.packetId));
  b.stats.messagesSent++;
}

/** Gives a new outbound message its sequence number and reports it to the store. */
function admit(b: Broker, s: Session, m: Message, qos: number, retain: boolean): number {
  const seq = s.nextSeq;
  s.nextSeq++;
  const st = storeFor(b, s);
  if (st !== undefined) st.messageAdd(s.clientId, seq, m.topic, m.payload, qos, retain);
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
    if (st !== undefined) st.messageDelete(s.clientId, s.queueSeq[s.queueHead]);
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
    if (s.conn >= 0) sendQos0(b, s.conn, encodePublish(m.topicBytes, m.payload, 0, false, retain, 0));
    return; // SRV-IMPL-7: QoS 0 is not queued for offline sessions
  }
  if (s.conn >= 0 && flowsCanSend(s, b.limits.maxInflight)) {
    startFlight(b, s, admit(b, s, m, qos, retain), m, qos, retain);
  } else {
    enqueue(b, s, m, qos, retain);
  }
}

/** Moves queued messages into the in-flight window while there is room (SRV-OPS-8). */
export function pumpQueue(b: Broker, s: Session): void {
  while (s.conn >= 0 && s.queueCount > 0 && s.flightCount < b.limits.maxInflight) {
    sendFlight(b, s, flightFromQueue(s, b.limits.maxQueued, packetIdNext(s)));
  }
  if (s.queueCount === 0) s.queueDropped = 0;
}

/** Resends unacknowledged flows in their original order with their original ids (MQTT-4.4.0-1, MQTT-4.6.0-1). */
export function resendFlights(b: Broker, s: Session): void {
  for (let i = 0; i < s.flightCount; i++) {
    const f = s.flights[i];
    if (f.state === FlowState.AWAIT_ACK) {
      sendBytes(b, s.conn, encodePublish(f.message.topicBytes, f.message.payload, f.qos, true, f.retain, f.packetId)); // MQTT-3.3.1-1
    } else {
      sendBytes(b, s.conn, encodeAck(PacketType.PUBREL, f.packetId));
    }
  }
}
