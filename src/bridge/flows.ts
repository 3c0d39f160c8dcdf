import { Bytes, bytesCopy, bytesLength, utf8Encode, utf8Length } from "../bytes/bytes";
import { PacketType } from "../codec/constants";
import { encodeAck, encodePublish } from "../codec/encode";
import { Packet } from "../codec/packet";
import { LogLevel } from "../platform";
import { publishFromBridge } from "../broker/publish";
import { Flight, FlowState, Message, flightAcked, flightFromQueue, flightReleased, flightRemove, flightStart, flightsRewind, flowsCanSend, inboundAdd, inboundHas, inboundRelease, queueAdd, queueDropOldest } from "../qos/flows";
import { inAccepted, mapIn, mapOut, outQos } from "./topicMap";
import { Bridge, Bridges, LinkState, log, send, nextPacketId } from "./state";

/**
 * The messages of the bridges, on the QoS engine (src/qos/flows.ts): local messages going
 * upstream (forwarded, queued, in flight, sent again after a reconnect) and messages from
 * upstream published locally, with their acknowledgements.
 */

/**
 * Sends unacknowledged messages again, in order, with their packet ids (MQTT-4.4.0-1). When
 * the upstream has no session of ours, QoS 2 messages past PUBREC go out as PUBLISH again
 * (the upstream may have lost them; a duplicate is better than a loss).
 */
export function resendFlights(set: Bridges, br: Bridge, sessionPresent: boolean): void {
  if (!sessionPresent) flightsRewind(br);
  for (let i = 0; i < br.flightCount; i++) {
    const f = br.flights[i];
    if (f.state === FlowState.AWAIT_PUBCOMP) {
      send(set, br, encodeAck(PacketType.PUBREL, f.packetId));
    } else {
      send(set, br, encodePublish(f.message.topicBytes, f.message.payload, f.qos, true, f.retain, f.packetId)); // MQTT-3.3.1-1
    }
  }
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
      publishFromBridge(b, local, local === p.topic ? p.topicBytes : utf8Encode(local), p.payload, p.qos, p.retain, br.origin);
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

/** PUBACK (qos 1) or PUBCOMP (qos 2) ends a flow. */
export function handleAck(set: Bridges, br: Bridge, id: number, qos: number): void {
  const i = flightAcked(br, id, qos);
  if (i < 0) return;
  flightRemove(br, i);
  pump(set, br);
}

export function handlePubrec(set: Bridges, br: Bridge, id: number): void {
  if (flightReleased(br, id) < 0) return;
  send(set, br, encodeAck(PacketType.PUBREL, id)); // MQTT-4.3.3-1
}

// ---------------------------------------------------------------------------------------------
// Local messages going upstream

export function startFlight(set: Bridges, br: Bridge, m: Message, qos: number, retain: boolean): void {
  sendFlight(set, br, flightStart(br, nextPacketId(br), 0, m, qos, retain));
}

function sendFlight(set: Bridges, br: Bridge, f: Flight): void {
  br.stats.sent++;
  send(set, br, encodePublish(f.message.topicBytes, f.message.payload, f.qos, false, f.retain, f.packetId));
}

function enqueue(set: Bridges, br: Bridge, m: Message, qos: number, retain: boolean): void {
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
    sendFlight(set, br, flightFromQueue(br, br.config.maxQueued, nextPacketId(br)));
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
    if (q === 0) {
      if (br.state === LinkState.CONNECTED) {
        br.stats.sent++;
        send(set, br, encodePublish(remote === topic ? topicBytes : utf8Encode(remote), payload, 0, false, r, 0));
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
    if (br.state === LinkState.CONNECTED && flowsCanSend(br, br.window)) {
      startFlight(set, br, m, q, r);
    } else {
      enqueue(set, br, m, q, r);
    }
  }
}
