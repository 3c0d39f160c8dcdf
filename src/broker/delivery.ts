import { Bytes, EMPTY_BYTES, bytesLength } from "../bytes/bytes";
import { PacketType } from "../codec/constants";
import { encodeAck, encodePublish } from "../codec/encode";
import { LogLevel } from "../platform";
import { storeFor } from "./persist";
import { Broker, FlowState, Message, Session } from "./state";

/**
 * Outbound message flows to one session (§4.3, §4.4, §4.6): a bounded in-flight window
 * (SRV-OPS-11) in send order, and a bounded FIFO behind it that also holds messages while
 * a CleanSession = 0 client is offline (MQTT-3.1.2-5).
 */

/** Placeholder kept in free queue and flight slots so no reference outlives its use. */
export const NO_MESSAGE: Message = { topic: "", topicBytes: EMPTY_BYTES, payload: EMPTY_BYTES, qos: 0 };

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
      b.log.log(LogLevel.WARNING, "Client " + clientIdOf(b, conn) + " is not reading: dropping QoS 0 messages until it catches up.");
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

function packetIdInUse(s: Session, id: number): boolean {
  for (let i = 0; i < s.flightCount; i++) if (s.flights[i].packetId === id) return true;
  return false;
}

/** A packet id not used by any outbound flow of this session (MQTT-2.3.1-4). */
function nextPacketId(s: Session): number {
  for (;;) {
    const id = s.nextPacketId;
    s.nextPacketId = id === 65535 ? 1 : id + 1;
    if (!packetIdInUse(s, id)) return id;
  }
}

function startFlight(b: Broker, s: Session, seq: number, m: Message, qos: number, retain: boolean): void {
  const id = nextPacketId(s);
  let f = s.flights[s.flightCount];
  if (f === undefined) {
    f = { seq: 0, packetId: 0, state: 0, qos: 0, retain: false, message: NO_MESSAGE };
    s.flights[s.flightCount] = f;
  }
  f.seq = seq;
  f.packetId = id;
  f.state = FlowState.AWAIT_ACK;
  f.qos = qos;
  f.retain = retain;
  f.message = m;
  s.flightCount++;
  b.changes++;
  const st = storeFor(b, s);
  if (st !== undefined) st.messageSent(s.clientId, seq, id);
  sendBytes(b, s.conn, encodePublish(m.topicBytes, m.payload, qos, false, retain, id));
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
    s.queue[s.queueHead] = NO_MESSAGE;
    s.queueHead = (s.queueHead + 1) % capacity;
    s.queueCount--;
  }
  const at = (s.queueHead + s.queueCount) % capacity;
  s.queue[at] = m;
  s.queueQos[at] = qos;
  s.queueRetain[at] = retain;
  s.queueSeq[at] = admit(b, s, m, qos, retain);
  s.queueCount++;
  b.changes++;
}

function dropped(b: Broker, s: Session, m: Message): void {
  if (s.queueDropped === 0) {
    b.log.log(LogLevel.WARNING, "Outgoing queue of client " + s.clientId + " is full (" + b.limits.maxQueued + " messages): dropping the oldest, first on " + m.topic + ".");
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
  if (seq >= s.nextSeq) s.nextSeq = seq + 1;
  if (state !== 0 && s.flightCount < b.limits.maxInflight && !packetIdInUse(s, packetId)) {
    let f = s.flights[s.flightCount];
    if (f === undefined) {
      f = { seq: 0, packetId: 0, state: 0, qos: 0, retain: false, message: NO_MESSAGE };
      s.flights[s.flightCount] = f;
    }
    f.seq = seq;
    f.packetId = packetId;
    f.state = state;
    f.qos = qos;
    f.retain = retain;
    f.message = m;
    s.flightCount++;
    if (packetId >= s.nextPacketId) s.nextPacketId = packetId === 65535 ? 1 : packetId + 1;
    b.changes++;
    return true;
  }
  if (state === FlowState.AWAIT_PUBCOMP || s.queueCount >= b.limits.maxQueued) return false;
  const at = (s.queueHead + s.queueCount) % b.limits.maxQueued;
  s.queue[at] = m;
  s.queueQos[at] = qos;
  s.queueRetain[at] = retain;
  s.queueSeq[at] = seq;
  s.queueCount++;
  b.changes++;
  return true;
}

/**
 * Puts an inbound QoS 2 packet id that got PUBREC (and awaits PUBREL) back into a session at
 * start-up. False when the id is 0, already known, or the session has maxInboundQos2 of them.
 */
export function restoreInbound(b: Broker, s: Session, packetId: number): boolean {
  if (packetId === 0 || s.inboundCount >= b.limits.maxInboundQos2) return false;
  for (let i = 0; i < s.inboundCount; i++) if (s.inboundIds[i] === packetId) return false;
  s.inboundIds[s.inboundCount] = packetId;
  s.inboundCount++;
  b.changes++;
  return true;
}

/** Delivers a QoS 1/2 message (qos already capped by the subscription) to a session. */
export function deliver(b: Broker, sessionSlot: number, m: Message, qos: number, retain: boolean): void {
  const s = b.sessions[sessionSlot];
  if (qos === 0) {
    if (s.conn >= 0) sendQos0(b, s.conn, encodePublish(m.topicBytes, m.payload, 0, false, retain, 0));
    return; // SRV-IMPL-7: QoS 0 is not queued for offline sessions
  }
  if (s.conn >= 0 && s.queueCount === 0 && s.flightCount < b.limits.maxInflight) {
    startFlight(b, s, admit(b, s, m, qos, retain), m, qos, retain);
  } else {
    enqueue(b, s, m, qos, retain);
  }
}

/** Moves queued messages into the in-flight window while there is room (SRV-OPS-8). */
export function pumpQueue(b: Broker, s: Session): void {
  const capacity = b.limits.maxQueued;
  while (s.conn >= 0 && s.queueCount > 0 && s.flightCount < b.limits.maxInflight) {
    const at = s.queueHead;
    const m = s.queue[at];
    s.queue[at] = NO_MESSAGE;
    s.queueHead = (at + 1) % capacity;
    s.queueCount--;
    startFlight(b, s, s.queueSeq[at], m, s.queueQos[at], s.queueRetain[at]);
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

function findFlight(s: Session, id: number): number {
  for (let i = 0; i < s.flightCount; i++) if (s.flights[i].packetId === id) return i;
  return -1;
}

function removeFlight(b: Broker, s: Session, index: number): void {
  const f = s.flights[index];
  const st = storeFor(b, s);
  if (st !== undefined) st.messageDelete(s.clientId, f.seq);
  for (let i = index; i < s.flightCount - 1; i++) s.flights[i] = s.flights[i + 1];
  s.flightCount--;
  f.message = NO_MESSAGE;
  s.flights[s.flightCount] = f;
}

/** Clears every outbound flow and queued message (a clean session ends or is replaced). */
export function clearFlows(s: Session): void {
  for (let i = 0; i < s.flightCount; i++) s.flights[i].message = NO_MESSAGE;
  s.flightCount = 0;
  for (let i = 0; i < s.queue.length; i++) s.queue[i] = NO_MESSAGE;
  s.queueHead = 0;
  s.queueCount = 0;
  s.queueDropped = 0;
  s.inboundCount = 0;
}

/** PUBACK ends a QoS 1 flow (SRV-PUB-8); unknown ids are ignored (SRV-ENC-13). */
export function handlePuback(b: Broker, s: Session, id: number): void {
  const i = findFlight(s, id);
  if (i < 0 || s.flights[i].qos !== 1) {
    b.log.log(LogLevel.DEBUG, "Client " + s.clientId + " sent PUBACK for unknown packet id " + id + ".");
    return;
  }
  removeFlight(b, s, i);
  b.changes++;
  pumpQueue(b, s);
}

/** PUBREC moves a QoS 2 flow to the PUBREL stage (MQTT-4.3.3-1, SRV-PUB-9). */
export function handlePubrec(b: Broker, s: Session, id: number): void {
  const i = findFlight(s, id);
  if (i < 0 || s.flights[i].qos !== 2) {
    b.log.log(LogLevel.DEBUG, "Client " + s.clientId + " sent PUBREC for unknown packet id " + id + ".");
    return;
  }
  const f = s.flights[i];
  f.state = FlowState.AWAIT_PUBCOMP;
  b.changes++;
  const st = storeFor(b, s);
  if (st !== undefined) st.messageReleased(s.clientId, f.seq);
  f.message = NO_MESSAGE;
  sendBytes(b, s.conn, encodeAck(PacketType.PUBREL, id));
}

/** PUBCOMP ends a QoS 2 flow (SRV-PUB-11). */
export function handlePubcomp(b: Broker, s: Session, id: number): void {
  const i = findFlight(s, id);
  if (i < 0 || s.flights[i].state !== FlowState.AWAIT_PUBCOMP) {
    b.log.log(LogLevel.DEBUG, "Client " + s.clientId + " sent PUBCOMP for unknown packet id " + id + ".");
    return;
  }
  removeFlight(b, s, i);
  b.changes++;
  pumpQueue(b, s);
}
