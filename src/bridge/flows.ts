import { Bytes, bytesCopy, bytesLength, utf8Encode, utf8Length } from "../bytes/bytes";
import { PacketType } from "../codec/constants";
import { encodeAck, encodePublish } from "../codec/encode";
import { Packet } from "../codec/packet";
import { LogLevel } from "../platform";
import { publishFromBridge } from "../broker/publish";
import { messagePropsDone, messagePropsFromPublish } from "../broker/message5";
import { FlowState, Message, flightAcked, flightFind, flightFromQueue, flightReleased, flightRemove, flightStart, flightsRewind, flowsCanSend, inboundAdd, inboundHas, inboundRelease, queueAdd, queueDropOldest } from "../qos/flows";
import { inAccepted, mapIn, mapOut, outQos } from "./topicMap";
import { Bridge, Bridges, LinkState, isV5Bridge, log, send, nextPacketId } from "./state";
import { encodePublishUpV5, publishDropReason, reasonText } from "./v5";

/**
 * The messages of the bridges, on the QoS engine (src/qos/flows.ts): local messages going
 * upstream (forwarded, queued, in flight, sent again after a reconnect) and messages from
 * upstream published locally, with their acknowledgements.
 */

/**
 * Sends unacknowledged messages again, in order, with their packet ids (MQTT-4.4.0-1). When
 * the upstream has no session of ours, QoS 2 messages past PUBREC go out as PUBLISH again
 * (the upstream may have lost them; a duplicate is better than a loss). A 5.0 upstream whose
 * Receive Maximum is now below them gets that many, the others as it acknowledges
 * (MQTT-3.3.4-9; flightEnded).
 */
export function resendFlights(set: Bridges, br: Bridge, sessionPresent: boolean): void {
  if (!sessionPresent) flightsRewind(br);
  const count = MIDGE_FEATURES.mqtt5 && isV5Bridge(br) ? br.window : br.flightCount;
  br.resendLeft = br.flightCount - resendSome(set, br, 0, count);
}

/** Sends flights again from index `from` until `count` have gone or none is left; returns the index after the last one sent. */
function resendSome(set: Bridges, br: Bridge, from: number, count: number): number {
  let i = from;
  let sent = 0;
  while (i < br.flightCount && sent < count) {
    const f = br.flights[i];
    if (f.state === FlowState.AWAIT_PUBCOMP) {
      send(set, br, encodeAck(PacketType.PUBREL, f.packetId));
    } else if (!publishFlight(set, br, i, true)) {
      continue; // MQTT-3.3.1-1: DUP set; that flight ended, the next one is at i now
    }
    sent++;
    i++;
  }
  return i;
}

/**
 * Flight i ended: a flight waiting to be sent again takes its place in the window, unless it
 * was one of those (acknowledged from the previous connection); then the queue moves up.
 */
function flightEnded(set: Bridges, br: Bridge, i: number): void {
  const waiting = i >= br.flightCount - br.resendLeft;
  flightRemove(br, i);
  if (waiting) br.resendLeft--;
  else if (br.resendLeft > 0) br.resendLeft = br.flightCount - resendSome(set, br, br.flightCount - br.resendLeft, 1);
  pump(set, br);
}

/**
 * The PUBLISH of a message to the upstream in the link's protocol version, with RETAIN cleared
 * where the upstream keeps no retained messages (MQTT-3.2.2-14). Undefined, with a log line,
 * when a 5.0 upstream must not get it (encodePublishUpV5). props / expiresAt: the message's
 * MQTT 5.0 properties and expiry (Message.props, Message.expiresAt).
 */
function encodeUp(set: Bridges, br: Bridge, topic: string, topicBytes: Bytes, payload: Bytes, props: Bytes | undefined, expiresAt: number | undefined, qos: number, dup: boolean, retain: boolean, packetId: number, started: boolean): Bytes | undefined {
  const r = retain && br.retainAvailable;
  if (MIDGE_FEATURES.mqtt5 && isV5Bridge(br)) {
    const data = encodePublishUpV5(set, br, topicBytes, payload, props, expiresAt, qos, dup, r, packetId, started);
    if (data === undefined) {
      log(set, LogLevel.NOTICE, br, "message on " + topic + " not sent upstream: " + publishDropReason() + ".");
      set.broker.stats.messagesDropped++;
    }
    return data;
  } else {
    return encodePublish(topicBytes, payload, qos, dup, r, packetId);
  }
}

/**
 * Sends the PUBLISH of flight i (dup: a resend), at most at the upstream's Maximum QoS
 * (MQTT-3.2.2-11). Returns false when the flight ended instead: sent at QoS 0 because the
 * upstream takes no more, or not sendable (encodeUp).
 */
function publishFlight(set: Bridges, br: Bridge, i: number, dup: boolean): boolean {
  const f = br.flights[i];
  if (f.qos > br.maxQos) f.qos = br.maxQos; // only before PUBREC: a flight past it is released, not published
  const m = f.message;
  const data = encodeUp(set, br, m.topic, m.topicBytes, m.payload, m.props, m.expiresAt, f.qos, dup && f.qos > 0, f.retain, f.qos > 0 ? f.packetId : 0, dup);
  if (data !== undefined) send(set, br, data);
  if (data !== undefined && f.qos > 0) return true;
  flightRemove(br, i);
  return false;
}

/**
 * A PUBLISH from upstream (receiver side of §4.3): publish locally, then acknowledge. Returns
 * false when the upstream has more QoS 2 messages awaiting PUBREL than maxInboundQos2 (the
 * link gives up the connection).
 */
export function handleInbound(set: Bridges, br: Bridge, p: Packet): boolean {
  const b = set.broker;
  if (p.qos === 2) {
    // A PUBLISH repeated before PUBREL is acknowledged again but not published again (MQTT-4.3.3-2).
    if (inboundHas(br, p.packetId)) {
      send(set, br, encodeAck(PacketType.PUBREC, p.packetId));
      return true;
    }
    if (br.inboundCount >= b.limits.maxInboundQos2) return false;
  }
  const c = br.config;
  if (!inAccepted(c.topics, c.topicCount, p.topic)) {
    log(set, LogLevel.DEBUG, br, "message on " + p.topic + " matches no in/both topic line: dropped.");
  } else {
    const local = mapIn(c.topics, c.topicCount, p.topic);
    if (local === "" || utf8Length(local) > b.limits.maxTopicLength) {
      log(set, LogLevel.WARNING, br, "message on " + p.topic + " maps to an unusable local topic '" + local + "': dropped.");
    } else if (b.limits.messageSizeLimit > 0 && bytesLength(p.payload) > b.limits.messageSizeLimit) {
      log(set, LogLevel.NOTICE, br, "message on " + p.topic + " is over message_size_limit: dropped.");
      b.stats.messagesDropped++;
    } else {
      br.stats.received++;
      b.stats.messagesReceived++;
      const localBytes = local === p.topic ? p.topicBytes : utf8Encode(local);
      if (MIDGE_FEATURES.mqtt5 && isV5Bridge(br)) {
        // The message keeps its properties and expiry locally (MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.2-6).
        messagePropsFromPublish(b, p);
        publishFromBridge(b, local, localBytes, p.payload, p.qos, p.retain, br.origin);
        messagePropsDone(b);
      } else {
        publishFromBridge(b, local, localBytes, p.payload, p.qos, p.retain, br.origin);
      }
    }
  }
  if (p.qos === 1) {
    send(set, br, encodeAck(PacketType.PUBACK, p.packetId));
  } else if (p.qos === 2) {
    inboundAdd(br, p.packetId, b.limits.maxInboundQos2);
    send(set, br, encodeAck(PacketType.PUBREC, p.packetId));
  }
  return true;
}

export function handlePubrel(set: Bridges, br: Bridge, id: number): void {
  inboundRelease(br, id);
  send(set, br, encodeAck(PacketType.PUBCOMP, id));
}

/**
 * PUBACK (qos 1) or PUBCOMP (qos 2) ends a flow. code: the 5.0 reason code (0 for 3.1.1); a
 * PUBACK of 0x80 or more means the upstream refused the message, which is logged.
 */
export function handleAck(set: Bridges, br: Bridge, id: number, qos: number, code: number): void {
  const i = flightAcked(br, id, qos);
  if (i < 0) return;
  if (code >= 0x80) refused(set, br, br.flights[i].message.topic, code);
  flightEnded(set, br, i);
}

/** PUBREC: PUBREL follows (MQTT-4.3.3-1), unless its 5.0 reason code is 0x80 or more: then the flow ends there (§4.3.3). */
export function handlePubrec(set: Bridges, br: Bridge, id: number, code: number): void {
  if (code >= 0x80) {
    const i = flightFind(br, id);
    if (i < 0 || br.flights[i].qos !== 2 || br.flights[i].state !== FlowState.AWAIT_ACK) return;
    refused(set, br, br.flights[i].message.topic, code);
    flightEnded(set, br, i);
    return;
  }
  if (flightReleased(br, id) < 0) return;
  send(set, br, encodeAck(PacketType.PUBREL, id)); // MQTT-4.3.3-1
}

function refused(set: Bridges, br: Bridge, topic: string, code: number): void {
  log(set, LogLevel.NOTICE, br, "the upstream refused the message on " + topic + " (" + (MIDGE_FEATURES.mqtt5 ? reasonText(code) : "" + code) + ").");
  set.broker.stats.messagesDropped++;
}

// ---------------------------------------------------------------------------------------------
// Local messages going upstream

export function startFlight(set: Bridges, br: Bridge, m: Message, qos: number, retain: boolean): void {
  flightStart(br, nextPacketId(br), 0, m, qos, retain);
  sendFlight(set, br);
}

/** Sends the flight just started (the last one) for the first time. */
function sendFlight(set: Bridges, br: Bridge): void {
  br.stats.sent++;
  publishFlight(set, br, br.flightCount - 1, false);
}

export function enqueue(set: Bridges, br: Bridge, m: Message, qos: number, retain: boolean): void {
  const capacity = br.config.maxQueued;
  if (capacity <= 0) {
    br.stats.droppedQueueFull++;
    set.broker.stats.messagesDropped++;
    return;
  }
  if (br.queueCount === capacity) {
    // Full: the oldest message makes room, with a log line per episode.
    if (br.queueDropped === 0) {
      log(set, LogLevel.WARNING, br, "queue full (" + capacity + " messages): dropping the oldest, first on " + br.queue[br.queueHead].topic + ".");
    }
    br.queueDropped++;
    br.stats.droppedQueueFull++;
    set.broker.stats.messagesDropped++;
    queueDropOldest(br, capacity);
  }
  queueAdd(br, capacity, 0, m, qos, retain);
}

/** Moves queued messages into the in-flight window while connected and there is room. */
export function pump(set: Bridges, br: Bridge): void {
  while (br.state === LinkState.CONNECTED && br.queueCount > 0 && br.flightCount < br.window) {
    flightFromQueue(br, br.config.maxQueued, nextPacketId(br));
    sendFlight(set, br);
  }
  if (br.queueCount === 0 && br.queueDropped > 0) {
    log(set, LogLevel.WARNING, br, "queue drained; " + br.queueDropped + " messages were dropped while it was full.");
    br.queueDropped = 0;
  }
}

export function onLocalMessage(set: Bridges, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retain: boolean, origin: number): void {
  for (let i = 0; i < set.count; i++) {
    const br = set.list[i];
    if (origin === br.origin || br.state === LinkState.STOPPED) continue; // never back where it came from
    const c = br.config;
    const lineQos = outQos(c.topics, c.topicCount, topic);
    if (lineQos < 0) continue;
    const q = qos < lineQos ? qos : lineQos;
    const remote = mapOut(c.topics, c.topicCount, topic);
    if (remote === "") {
      log(set, LogLevel.WARNING, br, "message on " + topic + " maps to an empty remote topic: not forwarded.");
      continue;
    }
    const r = retain && c.outgoingRetain;
    const b = set.broker;
    if (q === 0) {
      if (br.state === LinkState.CONNECTED) {
        // While the broker routes a message, b.msgProps and b.msgExpiresAt are its 5.0 fields.
        const data = encodeUp(set, br, remote, remote === topic ? topicBytes : utf8Encode(remote), payload, MIDGE_FEATURES.mqtt5 ? b.msgProps : undefined, MIDGE_FEATURES.mqtt5 ? b.msgExpiresAt : undefined, 0, false, r, 0, false);
        if (data !== undefined) {
          br.stats.sent++;
          send(set, br, data);
        }
      } else {
        br.stats.droppedQos0++;
      }
      continue;
    }
    const m: Message = {
      topic: remote,
      topicBytes: remote === topic ? bytesCopy(topicBytes, 0, bytesLength(topicBytes)) : utf8Encode(remote),
      payload: bytesCopy(payload, 0, bytesLength(payload)),
      qos: q,
    };
    if (MIDGE_FEATURES.mqtt5 && isV5Bridge(br)) {
      m.props = bytesLength(b.msgProps) > 0 ? bytesCopy(b.msgProps, 0, bytesLength(b.msgProps)) : b.msgProps; // may be a view of the receive buffer
      m.expiresAt = b.msgExpiresAt;
    }
    if (br.state === LinkState.CONNECTED && flowsCanSend(br, br.window)) {
      startFlight(set, br, m, q, r);
    } else {
      enqueue(set, br, m, q, r);
    }
  }
}
