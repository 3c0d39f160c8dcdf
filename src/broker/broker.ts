import { Bytes, EMPTY_BYTES, bytesLength } from "../bytes/bytes";
import { PROTOCOL_LEVEL_31, PROTOCOL_LEVEL_5, PacketType, ReasonCode } from "../codec/constants";
import { decodePacket } from "../codec/decode";
import { frameFeed, frameNext, framePending, frameReset } from "../codec/frameReader";
import { Status, reasonCodeV5 } from "../codec/status";
import { logf, render } from "../log/log";
import { Msg } from "../log/messages";
import { Limits } from "../limits";
import { Clock, Log, LogLevel, Policy, Store, SubscriptionIndex, Transport } from "../platform";
import { handleFirstPacket } from "./handlers/connect";
import { handleDisconnect } from "./handlers/disconnect";
import { handlePingreq } from "./handlers/ping";
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from "./handlers/pubflow";
import { handlePublish } from "./handlers/publish";
import { handleSubscribe, handleUnsubscribe } from "./handlers/subscribe";
import { closeConnection, closeForCode, connectionLost, sessionsTick } from "./lifecycle";
import { sendDisconnectV5 } from "./mqtt5";
import { publishFromBroker } from "./publish";
import { replayPump, replayUnderWay } from "./replay";
import { storeCommit } from "./persist";
import { sysPublish } from "./sys";
import { subscriptionSetIndex } from "./subscriptions";
import { Broker, BrokerStats, ConnState, newBrokerState, newConn } from "./state";
export type { Broker, BrokerStats } from "./state";

/**
 * The broker's entry points. A target calls brokerOpen/brokerData/brokerDrained/brokerClosed
 * from its socket events and brokerTick from a timer; the broker answers through the Transport.
 * Each packet family has its handler in handlers/; connections end in lifecycle.ts.
 */
export function createBroker(limits: Limits, transport: Transport, clock: Clock, log: Log): Broker {
  return newBrokerState(limits, transport, clock, log);
}

/**
 * A new network connection; returns its slot, or -1 when max_connections is reached.
 * `identity`, when given and not "", is a user name the transport has authenticated (the
 * Common Name of a verified TLS client certificate, use_identity_as_username): it replaces the
 * user name of the CONNECT, and the password is not checked.
 */
export function brokerOpen(b: Broker, peer: string, identity?: string): number {
  for (let i = 0; i < b.conns.length; i++) {
    const c = b.conns[i];
    if (c.state !== ConnState.FREE) continue;
    c.state = ConnState.NEW;
    c.peer = peer;
    c.identity = identity === undefined ? "" : identity;
    c.session = -1;
    c.openedAt = b.clock.now();
    c.lastPacketAt = c.openedAt;
    c.partialSince = -1;
    c.keepAliveMs = 0;
    c.protocolLevel = 0;
    c.hasWill = false;
    c.droppedQos0 = 0;
    if (MIDGE_FEATURES.mqtt5) {
      c.maxPacketOut = 0;
      c.willProps = EMPTY_BYTES;
      c.willExpiry = -1;
      c.willDelay = 0;
    }
    frameReset(c.reader);
    b.stats.connections++;
    b.stats.connectionsTotal++;
    return i;
  }
  if (b.conns.length < b.limits.maxConnections) {
    b.conns.push(newConn(b.limits.maxPacketSize));
    return brokerOpen(b, peer, identity);
  }
  logf(b.log, LogLevel.WARNING, Msg.CONNECTION_REFUSED_MAX, peer, b.limits.maxConnections);
  return -1;
}

/** The peer closed the connection or the socket failed: a network close, so the will goes out. */
export function brokerClosed(b: Broker, conn: number): void {
  connectionLost(b, conn);
  storeCommit(b);
}

/**
 * The connection's send buffer emptied (pending() went to 0): what the broker paces by it, a
 * retained replay (replay.ts), goes on. Without such an event brokerTick does it, slower.
 */
export function brokerDrained(b: Broker, conn: number): void {
  if (MIDGE_FEATURES.retained && b.rpCount > 0 && b.conns[conn].state === ConnState.CONNECTED) {
    replayPump(b, b.conns[conn].session);
    storeCommit(b);
  }
}

/**
 * Whether brokerDrained would do anything for conn now (a retained replay of its session is
 * under way): a target that must pay to be told when a write is sent (a callback per write)
 * pays only then.
 */
export function brokerAwaitsDrain(b: Broker, conn: number): boolean {
  if (!MIDGE_FEATURES.retained || b.rpCount === 0) return false;
  const c = b.conns[conn];
  return c.state === ConnState.CONNECTED && replayUnderWay(b, c.session);
}

/** Bytes received on a connection. The chunk must not be modified afterwards. */
export function brokerData(b: Broker, conn: number, chunk: Bytes): void {
  handleData(b, conn, chunk);
  // One commit per chunk: all packets of a read share it (group commit), and the
  // acknowledgements written while handling them leave only after this returns.
  storeCommit(b);
}

function handleData(b: Broker, conn: number, chunk: Bytes): void {
  const c = b.conns[conn];
  if (c.state === ConnState.FREE) return;
  b.stats.bytesReceived += bytesLength(chunk);
  const p = b.packet;
  frameFeed(c.reader, chunk);
  for (;;) {
    const framed = frameNext(c.reader);
    if (framed === Status.NEED_MORE) {
      // A packet begun and not finished starts the clock of the packet timeout (brokerTick).
      if (!framePending(c.reader)) c.partialSince = -1;
      else if (c.partialSince < 0) c.partialSince = b.clock.now();
      if (b.transport.pending(conn) > notReadingLimit(b)) {
        closeConnection(b, conn, render(Msg.REASON_NOT_READING_REPLIES, b.transport.pending(conn)), true);
      }
      return;
    }
    c.partialSince = -1;
    if (framed !== Status.PACKET) {
      // MQTT-4.8.0-1; an MQTT 5.0 client gets DISCONNECT 0x95 for a packet over our Maximum
      // Packet Size (MQTT-3.2.2-15 is the client's side), 0x81 for the others.
      closeForCode(b, conn, MIDGE_FEATURES.mqtt5 ? reasonCodeV5(framed) : 0, render(Msg.REASON_MALFORMED_PACKET, framed));
      return;
    }
    c.lastPacketAt = b.clock.now(); // MQTT-3.1.2-24: any complete packet
    const type = c.reader.type;
    let flags = c.reader.flags;
    // MQTT 3.1 sent PUBREL/SUBSCRIBE/UNSUBSCRIBE as "QoS 1" packets that may carry DUP (SRV-V31-6).
    if (flags === 10 && c.protocolLevel === PROTOCOL_LEVEL_31 && (type === PacketType.PUBREL || type === PacketType.SUBSCRIBE || type === PacketType.UNSUBSCRIBE)) flags = 2;
    let st: number;
    if (c.state === ConnState.NEW) {
      // PROTOCOL_LEVEL_5 for a first packet: this server takes 5.0 CONNECTs (decode.ts).
      p.protocolLevel = 0;
      st = decodePacket(type, flags, c.reader.body, p, MIDGE_FEATURES.mqtt5 ? PROTOCOL_LEVEL_5 : undefined);
    } else {
      st = decodePacket(type, flags, c.reader.body, p, c.protocolLevel);
    }
    if (c.state === ConnState.NEW) {
      handleFirstPacket(b, conn, type, st, p);
    } else {
      if (st !== Status.OK) {
        closeForCode(b, conn, MIDGE_FEATURES.mqtt5 ? reasonCodeV5(st) : 0, render(Msg.REASON_MALFORMED, type, st));
        return;
      }
      dispatch(b, conn, type);
    }
    if (c.state === ConnState.FREE) return;
  }
}

function dispatch(b: Broker, conn: number, type: number): void {
  const p = b.packet;
  switch (type) {
    case PacketType.PUBLISH:
      return handlePublish(b, conn, p);
    case PacketType.PUBACK:
      return handlePuback(b, conn, p);
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
      if (MIDGE_FEATURES.qos2) {
        if (type === PacketType.PUBREC) return handlePubrec(b, conn, p);
        if (type === PacketType.PUBREL) return handlePubrel(b, conn, p);
        return handlePubcomp(b, conn, p);
      }
      // No QoS 2 flow can exist in this build: the broker sends none and refuses inbound ones.
      closeForCode(b, conn, ReasonCode.PROTOCOL_ERROR, render(Msg.REASON_QOS2_PACKET_OFF, type));
      return;
    case PacketType.SUBSCRIBE:
      return handleSubscribe(b, conn, p);
    case PacketType.UNSUBSCRIBE:
      return handleUnsubscribe(b, conn, p);
    case PacketType.PINGREQ:
      return handlePingreq(b, conn);
    case PacketType.DISCONNECT:
      return handleDisconnect(b, conn, p);
    case PacketType.CONNECT:
      closeForCode(b, conn, ReasonCode.PROTOCOL_ERROR, render(Msg.REASON_SECOND_CONNECT)); // MQTT-3.1.0-2
      return;
    default:
      if (MIDGE_FEATURES.mqtt5 && type === PacketType.AUTH) {
        // Only 5.0 frames it; no CONNECT here named an authentication method (MQTT-4.12.0-6 is the client's side).
        closeForCode(b, conn, ReasonCode.PROTOCOL_ERROR, render(Msg.REASON_AUTH_PACKET));
      } else {
        closeForCode(b, conn, ReasonCode.PROTOCOL_ERROR, render(Msg.REASON_SERVER_ONLY_PACKET, type)); // SRV-FH-3
      }
  }
}

/**
 * Deadlines: CONNECT timeout (SRV-IMPL-12) and keep alive × 1.5 (MQTT-3.1.2-24); also moves
 * retained replays on (replay.ts). Call at least once a second.
 */
export function brokerTick(b: Broker): void {
  const now = b.clock.now();
  for (let i = 0; i < b.conns.length; i++) {
    const c = b.conns[i];
    if (c.state === ConnState.NEW) {
      if (now - c.openedAt > b.limits.connectTimeoutMs) {
        closeConnection(b, i, render(Msg.REASON_NO_CONNECT, Math.floor(b.limits.connectTimeoutMs / 1000)), false);
      }
    } else if (c.state === ConnState.CONNECTED) {
      if (c.keepAliveMs > 0 && now - c.lastPacketAt > c.keepAliveMs * 1.5) {
        closeForCode(b, i, ReasonCode.KEEP_ALIVE_TIMEOUT, render(Msg.REASON_KEEP_ALIVE, Math.floor(c.keepAliveMs / 1000)));
      } else if (c.partialSince >= 0 && now - c.partialSince > b.limits.connectTimeoutMs) {
        // Also for keep alive 0: a packet that never completes would hold the slot for ever.
        closeForCode(b, i, ReasonCode.KEEP_ALIVE_TIMEOUT, render(Msg.REASON_PACKET_TIMEOUT, Math.floor(b.limits.connectTimeoutMs / 1000)));
      } else if (b.transport.pending(i) > notReadingLimit(b)) {
        closeConnection(b, i, render(Msg.REASON_NOT_READING, b.transport.pending(i)), true);
      } else if (MIDGE_FEATURES.retained && b.rpCount > 0) {
        replayPump(b, c.session); // for targets that cannot tell when a send buffer empties
      }
    }
  }
  if (MIDGE_FEATURES.mqtt5) sessionsTick(b, now);
  if (b.extension !== undefined) b.extension.tick(now);
  storeCommit(b);
}

/**
 * Unsent bytes past which a connection is closed: QoS 0 messages stop at maxPendingBytes
 * (delivery.ts) and QoS 1/2 at the in-flight window, so only replies a client provokes and
 * does not read (a PINGREQ flood) can get here.
 */
function notReadingLimit(b: Broker): number {
  return b.limits.maxPendingBytes * 2;
}

/** Closes every connection (no wills: the broker, not the clients, is going away). */
export function brokerShutdown(b: Broker): void {
  if (b.extension !== undefined) b.extension.shutdown();
  for (let i = 0; i < b.conns.length; i++) {
    if (b.conns[i].state !== ConnState.FREE) {
      b.conns[i].hasWill = false;
      if (MIDGE_FEATURES.mqtt5) sendDisconnectV5(b, i, ReasonCode.SERVER_SHUTTING_DOWN);
      closeConnection(b, i, render(Msg.REASON_SHUTDOWN), false);
    }
  }
  storeCommit(b);
}

/** Publishes a message from the broker itself, as if a client had. */
export function brokerPublish(b: Broker, topic: string, payload: Bytes, qos: number, retain: boolean): void {
  publishFromBroker(b, topic, payload, qos, retain);
  storeCommit(b);
}

export function brokerStats(b: Broker): BrokerStats {
  return b.stats;
}

/** Installs authentication and authorisation (undefined: allow everything). */
export function brokerSetPolicy(b: Broker, policy: Policy | undefined): void {
  b.policy = policy;
}

/** Attaches durable storage; restore its contents first (restore.ts), with no store attached. */
export function brokerSetStore(b: Broker, store: Store | undefined): void {
  b.store = store;
}

/** Publishes the $SYS topics (sys.ts); the target calls it every sys_interval seconds. */
export function brokerSysPublish(b: Broker, version: string, uptimeSeconds: number): void {
  sysPublish(b, version, uptimeSeconds);
  storeCommit(b);
}

/** Routes through a subscription index (topics/topicTree.ts on hosts) instead of a table scan. */
export function brokerSetSubscriptionIndex(b: Broker, index: SubscriptionIndex | undefined): void {
  subscriptionSetIndex(b, index);
}
