import { Bytes, EMPTY_BYTES } from "../bytes/bytes";

/**
 * The QoS engine: the state of the QoS 1/2 message flows of one MQTT peer (§4.3, §4.4, §4.6)
 * and the transitions on it, shared by the broker's sessions (src/broker) and the bridges'
 * upstream connections (src/bridge). It only keeps state: it encodes and sends nothing and
 * knows no store. Each function does one transition and returns what the caller needs to
 * send or report (a Flight, an index, a yes/no), so the caller encodes, writes and persists.
 *
 * Outbound: a packet-id allocator, an in-flight window in send order (bounded by a `window`
 * the caller passes) and, behind it, a bounded FIFO ring of `capacity` slots whose oldest
 * message the caller drops when it is full. Inbound: the set of QoS 2 packet ids that got
 * PUBREC and wait for PUBREL.
 * Tables grow on demand up to their bounds and are reused; free slots hold NO_MESSAGE.
 */

/** An application message kept for delivery (queued, in flight or retained). */
export interface Message {
  topic: string;
  topicBytes: Bytes;
  payload: Bytes;
  qos: number;
  // MQTT 5.0 only (set where MIDGE_FEATURES.mqtt5, absent otherwise):
  /**
   * The PUBLISH properties passed through unchanged (payload format, content type, response
   * topic, correlation data, user properties), encoded once, without a Property Length.
   */
  props?: Bytes;
  /** When the Message Expiry Interval runs out (clock ms); -1 = never (MQTT-3.3.2-5). */
  expiresAt?: number;
  /** The Subscription Identifiers of one session's matching subscriptions (MQTT-3.3.4-4). */
  subIds?: number[];
  /** The shared subscription group (`$share/...`) it was delivered through, on that member's copy (broker/shared.ts). */
  share?: string;
}

/** Placeholder kept in free queue and flight slots so no reference outlives its use. */
export const NO_MESSAGE: Message = { topic: "", topicBytes: EMPTY_BYTES, payload: EMPTY_BYTES, qos: 0 };

export const enum FlowState {
  /** PUBLISH sent, waiting for PUBACK (QoS 1) or PUBREC (QoS 2). */
  AWAIT_ACK = 1,
  /** PUBREL sent, waiting for PUBCOMP. */
  AWAIT_PUBCOMP = 2,
}

/** An outbound QoS 1/2 message in the in-flight window. */
export interface Flight {
  /** Sequence number of the message (a store's key; 0 where nothing is stored). */
  seq: number;
  packetId: number;
  state: number;
  /** QoS the message is sent with. */
  qos: number;
  retain: boolean;
  message: Message;
}

/** The flows of one peer. A broker session and a bridge extend this record. */
export interface Flows {
  nextPacketId: number;
  /** Next message sequence number (see Flight.seq). */
  nextSeq: number;
  flights: Flight[];
  flightCount: number;
  /** Ring buffer of messages waiting for the in-flight window (or for the peer to return). */
  queue: Message[];
  /**
   * Beside each queued message, one number: seq × 8 + (retain ? 4 : 0) + qos (read it with
   * queuedSeq, queuedRetain, queuedQos). One array where three took three, and one number a
   * message where three took three (a variable each on Espruino).
   */
  queueMeta: number[];
  queueHead: number;
  queueCount: number;
  /** Messages dropped since the queue last became full (for a log line per episode). */
  queueDropped: number;
  /** Inbound QoS 2 packet ids that got PUBREC and wait for PUBREL. */
  inboundIds: number[];
  inboundCount: number;
}

export function newFlows(): Flows {
  return {
    nextPacketId: 1,
    nextSeq: 1,
    flights: [],
    flightCount: 0,
    queue: [],
    queueMeta: [],
    queueHead: 0,
    queueCount: 0,
    queueDropped: 0,
    inboundIds: [],
    inboundCount: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Packet ids

export function packetIdInUse(o: Flows, id: number): boolean {
  for (let i = 0; i < o.flightCount; i++) if (o.flights[i].packetId === id) return true;
  return false;
}

/** The next packet id (1..65535, wrapping) no in-flight message uses (MQTT-2.3.1-2, MQTT-2.3.1-4). */
export function packetIdNext(o: Flows): number {
  for (;;) {
    const id = o.nextPacketId;
    o.nextPacketId = id === 65535 ? 1 : id + 1;
    if (!packetIdInUse(o, id)) return id;
  }
}

// ---------------------------------------------------------------------------------------------
// Outbound: in-flight window and queue

/** True when a new message may go straight into flight: nothing queued ahead of it and room in the window. */
export function flowsCanSend(o: Flows, window: number): boolean {
  return o.queueCount === 0 && o.flightCount < window;
}

/** Appends a flight in state AWAIT_ACK and returns it; the caller sends its PUBLISH. */
export function flightStart(o: Flows, packetId: number, seq: number, m: Message, qos: number, retain: boolean): Flight {
  let f = o.flights[o.flightCount];
  if (f === undefined) {
    f = { seq: 0, packetId: 0, state: 0, qos: 0, retain: false, message: NO_MESSAGE };
    o.flights[o.flightCount] = f;
  }
  f.seq = seq;
  f.packetId = packetId;
  f.state = FlowState.AWAIT_ACK;
  f.qos = qos;
  f.retain = retain;
  f.message = m;
  o.flightCount++;
  return f;
}

/** Adds a message at the tail of the queue; the caller has made room (queueDropOldest). */
export function queueAdd(o: Flows, capacity: number, seq: number, m: Message, qos: number, retain: boolean): void {
  const at = (o.queueHead + o.queueCount) % capacity;
  o.queue[at] = m;
  o.queueMeta[at] = seq * 8 + (retain ? 4 : 0) + qos;
  o.queueCount++;
}

/** The QoS of the message in queue slot at. */
export function queuedQos(o: Flows, at: number): number {
  return o.queueMeta[at] % 4;
}

/** The RETAIN flag of the message in queue slot at. */
export function queuedRetain(o: Flows, at: number): boolean {
  return o.queueMeta[at] % 8 >= 4;
}

/** The sequence number of the message in queue slot at. */
export function queuedSeq(o: Flows, at: number): number {
  return Math.floor(o.queueMeta[at] / 8);
}

/**
 * Removes the oldest queued message to make room (read it first at o.queueHead); the caller
 * counts the drop in o.queueDropped.
 */
export function queueDropOldest(o: Flows, capacity: number): void {
  o.queue[o.queueHead] = NO_MESSAGE;
  o.queueHead = (o.queueHead + 1) % capacity;
  o.queueCount--;
}

/**
 * Moves the oldest queued message into flight with packetId and returns the flight; call only
 * when o.queueCount > 0 and the window has room. The caller sends its PUBLISH.
 */
export function flightFromQueue(o: Flows, capacity: number, packetId: number): Flight {
  const at = o.queueHead;
  const m = o.queue[at];
  o.queue[at] = NO_MESSAGE;
  o.queueHead = (at + 1) % capacity;
  o.queueCount--;
  return flightStart(o, packetId, queuedSeq(o, at), m, queuedQos(o, at), queuedRetain(o, at));
}

/**
 * Puts back a message read from a store, keeping its sequence number and packet id: into the
 * window when it had been sent (state FlowState.*) and it fits, else queued. Returns false
 * when it fits neither (a message past PUBREC cannot be queued again).
 */
export function flowsRestore(o: Flows, window: number, capacity: number, seq: number, m: Message, qos: number, retain: boolean, packetId: number, state: number): boolean {
  if (seq >= o.nextSeq) o.nextSeq = seq + 1;
  if (state !== 0 && o.flightCount < window && !packetIdInUse(o, packetId)) {
    const f = flightStart(o, packetId, seq, m, qos, retain);
    f.state = state;
    if (packetId >= o.nextPacketId) o.nextPacketId = packetId === 65535 ? 1 : packetId + 1;
    return true;
  }
  if (state === FlowState.AWAIT_PUBCOMP || o.queueCount >= capacity) return false;
  queueAdd(o, capacity, seq, m, qos, retain);
  return true;
}

export function flightFind(o: Flows, packetId: number): number {
  for (let i = 0; i < o.flightCount; i++) if (o.flights[i].packetId === packetId) return i;
  return -1;
}

/** Ends the flight at index, keeping the others in send order; its slot is kept for reuse. */
export function flightRemove(o: Flows, index: number): void {
  const f = o.flights[index];
  for (let i = index; i < o.flightCount - 1; i++) o.flights[i] = o.flights[i + 1];
  o.flightCount--;
  f.message = NO_MESSAGE;
  o.flights[o.flightCount] = f;
}

/**
 * The flight a PUBACK (qos 1) or PUBCOMP (qos 2) with this packet id ends, or -1 when none
 * waits for it (unknown ids are ignored, SRV-ENC-13). The caller removes it (flightRemove).
 */
export function flightAcked(o: Flows, packetId: number, qos: number): number {
  const i = flightFind(o, packetId);
  if (i < 0) return -1;
  const f = o.flights[i];
  if (qos === 1) return f.qos === 1 ? i : -1;
  return f.state === FlowState.AWAIT_PUBCOMP ? i : -1;
}

/**
 * PUBREC: moves a QoS 2 flight to AWAIT_PUBCOMP (MQTT-4.3.3-1) and returns its index, or -1
 * when no QoS 2 flight has the id. The caller sends PUBREL.
 */
export function flightReleased(o: Flows, packetId: number): number {
  const i = flightFind(o, packetId);
  if (i < 0 || o.flights[i].qos !== 2) return -1;
  o.flights[i].state = FlowState.AWAIT_PUBCOMP;
  return i;
}

/** Sends every flight from the start again (the peer lost its state of them): all back to AWAIT_ACK. */
export function flightsRewind(o: Flows): void {
  for (let i = 0; i < o.flightCount; i++) o.flights[i].state = FlowState.AWAIT_ACK;
}

/** Forgets every outbound message (flights and queue) and every inbound QoS 2 id. */
export function flowsClear(o: Flows): void {
  for (let i = 0; i < o.flightCount; i++) o.flights[i].message = NO_MESSAGE;
  o.flightCount = 0;
  for (let i = 0; i < o.queue.length; i++) o.queue[i] = NO_MESSAGE;
  o.queueHead = 0;
  o.queueCount = 0;
  o.queueDropped = 0;
  o.inboundCount = 0;
}

// ---------------------------------------------------------------------------------------------
// Inbound QoS 2 packet ids

export function inboundHas(o: Flows, packetId: number): boolean {
  for (let i = 0; i < o.inboundCount; i++) if (o.inboundIds[i] === packetId) return true;
  return false;
}

/** Records an id answered with PUBREC; false when it is 0, already held, or max are held. */
export function inboundAdd(o: Flows, packetId: number, max: number): boolean {
  if (packetId <= 0 || packetId > 65535 || o.inboundCount >= max || inboundHas(o, packetId)) return false;
  o.inboundIds[o.inboundCount] = packetId;
  o.inboundCount++;
  return true;
}

/** PUBREL: forgets the id; false when it was not held. */
export function inboundRelease(o: Flows, packetId: number): boolean {
  for (let i = 0; i < o.inboundCount; i++) {
    if (o.inboundIds[i] === packetId) {
      o.inboundCount--;
      o.inboundIds[i] = o.inboundIds[o.inboundCount];
      return true;
    }
  }
  return false;
}

/** The peer kept no session of ours: every QoS 2 receipt is void (MQTT-3.1.2-6). */
export function inboundClear(o: Flows): void {
  o.inboundCount = 0;
}
