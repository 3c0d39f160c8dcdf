import { Bytes, EMPTY_BYTES, utf8Encode } from "../bytes/bytes";
import { ConnackCode, packetName, PacketType, PROTOCOL_LEVEL_31, PROTOCOL_LEVEL_5, ReasonCode } from "../codec/constants";
import { decodePacket } from "../codec/decode";
import { decodePacketFromServerV5 } from "../codec/decode5";
import { encodeConnect, encodeEmpty, encodePublish, encodeSubscribe, encodeUnsubscribe } from "../codec/encode";
import { frameFeed, frameNext, frameReset } from "../codec/frameReader";
import { Packet } from "../codec/packet";
import { reasonCodeV5, statusReason, Status } from "../codec/status";
import { LogLevel } from "../platform";
import { storeCommit } from "../broker/persist";
import { flowsCanSend, flowsClear, inboundClear } from "../qos/flows";
import { Direction } from "./topicMap";
import { Bridge, Bridges, LinkState, ONE, ZERO, baseWindow, isV5Bridge, log, notifyLocal, send, nextPacketId } from "./state";
import { resendFlights, startFlight, pump, handleInbound, handlePubrel, handleAck, handlePubrec, enqueue } from "./flows";
import { connackV5, encodeBridgeConnectV5, encodeDisconnectUpV5, encodePublishUpV5, encodeSubscribeUpV5, encodeUnsubscribeUpV5, reasonText } from "./v5";

/**
 * The connection to the upstream broker of each bridge: opening it, CONNECT/CONNACK (with
 * try_private), SUBSCRIBE of the in lines, the packets received, keep alive, timeouts, the
 * reconnect backoff and the state notifications. The messages themselves are flows.ts's.
 */

// ---------------------------------------------------------------------------------------------
// Connection life cycle

function startAttempt(set: Bridges, br: Bridge, now: number): void {
  const c = br.config;
  br.state = LinkState.OPENING;
  br.since = now;
  frameReset(br.reader);
  if (MIDGE_FEATURES.mqtt5 && isV5Bridge(br)) br.reader.version = PROTOCOL_LEVEL_5; // AUTH is a packet type
  log(set, LogLevel.NOTICE, br, "connecting to " + c.host + ":" + c.port + ".");
  set.link.open(br.index, c.host, c.port);
}

/** Decorrelated jitter (mosquitto's restart_timeout base cap): random in [base, 3 × previous], capped. */
function stepBackoff(br: Bridge): number {
  const c = br.config;
  const base = c.restartBase * 1000;
  if (c.restartCap <= 0) return base;
  const cap = c.restartCap * 1000;
  const high = br.delayMs * 3;
  let d = high > base ? base + Math.floor(Math.random() * (high - base)) : base;
  if (d > cap) d = cap;
  br.delayMs = d;
  return d;
}

/**
 * The connection is gone (or given up): close it if still open, tell local subscribers, and
 * schedule the next attempt. Flights and the queue are kept for the next connection.
 */
export function lost(set: Bridges, br: Bridge, reason: string, closeLink: boolean, retryAtOnce: boolean): void {
  const wasConnected = br.state === LinkState.CONNECTED;
  if (closeLink) set.link.close(br.index);
  br.pingSentAt = -1;
  br.subscribeId = 0;
  br.unsubscribeId = 0;
  frameReset(br.reader);
  const now = set.broker.clock.now();
  if (wasConnected) notifyLocal(set, br, ZERO);
  const what = wasConnected ? "connection lost" : "connection failed";
  if (!br.config.restart && !retryAtOnce) {
    br.state = LinkState.STOPPED;
    const dropped = br.flightCount + br.queueCount;
    flowsClear(br);
    log(set, LogLevel.NOTICE, br, what + " (" + reason + "); start_type once: not restarting" + (dropped > 0 ? ", " + dropped + " unsent messages dropped." : "."));
    return;
  }
  const delay = retryAtOnce ? 0 : stepBackoff(br);
  br.state = LinkState.WAITING;
  br.since = now + delay;
  log(set, LogLevel.NOTICE, br, what + " (" + reason + "); next attempt in " + Math.floor(delay) + " ms.");
}

/** The target connected the link: send CONNECT. */
export function bridgeLinkUp(set: Bridges, index: number): void {
  const br = set.list[index];
  if (br.state !== LinkState.OPENING) return;
  const c = br.config;
  const p = br.packet;
  const v5 = MIDGE_FEATURES.mqtt5 && isV5Bridge(br);
  p.type = PacketType.CONNECT;
  p.protocolName = c.protocolLevel === PROTOCOL_LEVEL_31 ? "MQIsdp" : "MQTT";
  // A 5.0 bridge is an ordinary client: No Local does what the bridge level does in 3.1.1.
  p.protocolLevel = c.protocolLevel + (!v5 && c.tryPrivate && !br.privateRefused ? 128 : 0);
  p.cleanSession = c.cleanSession;
  p.keepAlive = c.keepAlive;
  p.clientId = c.clientId;
  p.willFlag = c.notifications && !c.notificationsLocalOnly;
  p.willTopic = br.notificationTopic;
  p.willPayload = ZERO;
  p.willQos = p.willFlag && !br.willQosRefused ? 1 : 0;
  p.willRetain = p.willFlag && !br.willRetainRefused;
  p.hasUsername = c.hasUsername;
  p.username = c.username;
  p.hasPassword = c.hasUsername && c.hasPassword; // MQTT-3.1.2-22
  p.password = c.hasPassword ? utf8Encode(c.password) : EMPTY_BYTES;
  br.state = LinkState.CONNECTING;
  br.since = set.broker.clock.now();
  br.pingSentAt = -1;
  if (MIDGE_FEATURES.mqtt5 && v5) {
    send(set, br, encodeBridgeConnectV5(set, br, p));
  } else {
    send(set, br, encodeConnect(p));
  }
}

/** The link closed or could not be opened. */
export function bridgeLinkDown(set: Bridges, index: number): void {
  const br = set.list[index];
  if (br.state !== LinkState.OPENING && br.state !== LinkState.CONNECTING && br.state !== LinkState.CONNECTED) return;
  lost(set, br, br.state === LinkState.OPENING ? "cannot connect" : "closed by the upstream broker", false, false);
  storeCommit(set.broker);
}

/** Bytes received on a link. The chunk must not be modified afterwards. */
export function bridgeLinkData(set: Bridges, index: number, chunk: Bytes): void {
  const br = set.list[index];
  if (br.state !== LinkState.CONNECTING && br.state !== LinkState.CONNECTED) return;
  const p = br.packet;
  const v5 = MIDGE_FEATURES.mqtt5 && isV5Bridge(br);
  frameFeed(br.reader, chunk);
  for (;;) {
    const framed = frameNext(br.reader);
    if (framed === Status.NEED_MORE) break;
    if (framed !== Status.PACKET) {
      if (MIDGE_FEATURES.mqtt5 && v5) disconnectV5(set, br, reasonCodeV5(framed));
      lost(set, br, "malformed packet from upstream: " + statusReason(framed), true, false);
      break;
    }
    const type = br.reader.type;
    let st = Status.OK;
    if (MIDGE_FEATURES.mqtt5 && v5) {
      st = decodePacketFromServerV5(type, br.reader.flags, br.reader.body, p);
    } else {
      st = decodePacket(type, br.reader.flags, br.reader.body, p);
    }
    if (st !== Status.OK) {
      if (MIDGE_FEATURES.mqtt5 && v5) disconnectV5(set, br, reasonCodeV5(st));
      lost(set, br, "malformed " + packetName(type) + " from upstream: " + statusReason(st), true, false);
      break;
    }
    if (br.state === LinkState.CONNECTING) {
      if (type !== PacketType.CONNACK) {
        lost(set, br, "upstream sent " + packetName(type) + " before CONNACK", true, false);
        break;
      }
      handleConnack(set, br, p);
    } else {
      handlePacket(set, br, type, p);
    }
    if (br.state !== LinkState.CONNECTED) break;
  }
  storeCommit(set.broker);
}

/**
 * A DISCONNECT with a reason code to a 5.0 upstream before the bridge gives up the connection
 * for an error of the upstream's (§4.13.2); the caller closes the link.
 */
function disconnectV5(set: Bridges, br: Bridge, code: number): void {
  if (br.state === LinkState.CONNECTED) send(set, br, encodeDisconnectUpV5(br, code));
}

function handleConnack(set: Bridges, br: Bridge, p: Packet): void {
  const c = br.config;
  if (MIDGE_FEATURES.mqtt5 && isV5Bridge(br)) {
    if (!connackAcceptedV5(set, br, p)) return;
  } else if (p.returnCode === ConnackCode.BAD_PROTOCOL_VERSION && c.tryPrivate && !br.privateRefused) {
    // try_private: this upstream does not know the bridge level; be an ordinary client.
    br.privateRefused = true;
    lost(set, br, "upstream refused protocol level " + (c.protocolLevel + 128) + " (try_private), retrying as an ordinary client", true, true);
    return;
  } else if (p.returnCode !== ConnackCode.ACCEPTED) {
    lost(set, br, "upstream refused the connection, CONNACK " + p.returnCode + connackReason(p.returnCode), true, false);
    return;
  } else {
    br.window = baseWindow(c);
  }
  br.state = LinkState.CONNECTED;
  br.delayMs = c.restartBase * 1000;
  br.stats.connects++;
  const v5 = MIDGE_FEATURES.mqtt5 && isV5Bridge(br);
  log(set, LogLevel.NOTICE, br, "connected to " + c.host + ":" + c.port + " as " + c.clientId + (v5 ? " (MQTT 5.0)" : br.privateRefused || !c.tryPrivate ? "" : " (bridge protocol level)") + (p.sessionPresent ? ", session present" : "") + ".");
  const present = p.sessionPresent;
  // The upstream kept no state of ours: QoS 2 receipts are void (MQTT-3.1.2-6).
  if (!present) inboundClear(br);
  resendFlights(set, br, present);
  if (c.notifications && !c.notificationsLocalOnly) {
    const m = { topic: br.notificationTopic, topicBytes: utf8Encode(br.notificationTopic), payload: ONE, qos: 1 };
    if (MIDGE_FEATURES.mqtt5 && v5 && !flowsCanSend(br, br.window)) {
      // A 5.0 upstream's Receive Maximum is a hard limit (MQTT-3.3.4-9): after the backlog.
      enqueue(set, br, m, 1, true);
    } else {
      // Past the in-flight window if need be: the state goes out before the backlog.
      startFlight(set, br, m, 1, true);
    }
  }
  subscribe(set, br);
  notifyLocal(set, br, ONE);
  pump(set, br);
}

/**
 * A 5.0 CONNACK (§3.2.2.2): true when accepted, its limits taken (connackV5). A refusal of the
 * will's RETAIN (0x9A) or QoS 1 (0x9B) is retried at once with a will without them; any other
 * refusal is logged with its reason code and retried after the backoff.
 */
function connackAcceptedV5(set: Bridges, br: Bridge, p: Packet): boolean {
  const code = p.returnCode;
  const c = br.config;
  const will = c.notifications && !c.notificationsLocalOnly;
  if (code === ReasonCode.RETAIN_NOT_SUPPORTED && will && !br.willRetainRefused) {
    br.willRetainRefused = true;
    lost(set, br, "upstream refused the connection, CONNACK " + reasonText(code) + ", retrying with a notification will without RETAIN", true, true);
    return false;
  }
  if (code === ReasonCode.QOS_NOT_SUPPORTED && will && !br.willQosRefused) {
    br.willQosRefused = true;
    lost(set, br, "upstream refused the connection, CONNACK " + reasonText(code) + ", retrying with a notification will at QoS 0", true, true);
    return false;
  }
  if (code !== ReasonCode.SUCCESS) {
    const text = p.props.hasReasonString ? ": " + p.props.reasonString : "";
    lost(set, br, "upstream refused the connection, CONNACK " + reasonText(code) + text, true, false);
    return false;
  }
  connackV5(br, p);
  return true;
}

function connackReason(code: number): string {
  if (code === ConnackCode.BAD_PROTOCOL_VERSION) return " (unacceptable protocol version)";
  if (code === ConnackCode.IDENTIFIER_REJECTED) return " (client id rejected)";
  if (code === ConnackCode.SERVER_UNAVAILABLE) return " (server unavailable)";
  if (code === ConnackCode.BAD_USERNAME_OR_PASSWORD) return " (bad user name or password)";
  if (code === ConnackCode.NOT_AUTHORIZED) return " (not authorised)";
  return "";
}

/** SUBSCRIBE to the remote topics of in/both lines (every connection: the upstream may have lost them). */
function subscribe(set: Bridges, br: Bridge): void {
  const c = br.config;
  const filters: string[] = [];
  const qosList: number[] = [];
  const unsub: string[] = [];
  let n = 0;
  let u = 0;
  for (let i = 0; i < c.topicCount; i++) {
    const t = c.topics[i];
    if (t.direction !== Direction.OUT) {
      filters[n] = t.remoteTopic;
      qosList[n] = t.qos;
      n++;
    } else if (c.attemptUnsubscribe && !c.cleanSession) {
      unsub[u] = t.remoteTopic;
      u++;
    }
  }
  const v5 = MIDGE_FEATURES.mqtt5 && isV5Bridge(br);
  if (u > 0) {
    br.unsubscribeId = nextPacketId(br);
    if (MIDGE_FEATURES.mqtt5 && v5) {
      send(set, br, encodeUnsubscribeUpV5(br.unsubscribeId, unsub, u));
    } else {
      send(set, br, encodeUnsubscribe(br.unsubscribeId, unsub, u));
    }
  }
  if (n > 0) {
    br.subscribeId = nextPacketId(br);
    if (MIDGE_FEATURES.mqtt5 && v5) {
      send(set, br, encodeSubscribeUpV5(br.subscribeId, filters, qosList, n));
    } else {
      send(set, br, encodeSubscribe(br.subscribeId, filters, qosList, n));
    }
  }
}

function handlePacket(set: Bridges, br: Bridge, type: number, p: Packet): void {
  const v5 = MIDGE_FEATURES.mqtt5 && isV5Bridge(br);
  // The 5.0 reason code of PUBACK, PUBREC, PUBCOMP; the 3.1.1 decoder leaves p.reasonCode alone.
  const code = MIDGE_FEATURES.mqtt5 && v5 ? p.reasonCode : 0;
  switch (type) {
    case PacketType.PUBLISH:
      if (MIDGE_FEATURES.mqtt5 && v5 && p.props.topicAlias >= 0) {
        // The bridge's CONNECT has no Topic Alias Maximum: 0, so no alias may come (MQTT-3.1.2-26).
        disconnectV5(set, br, ReasonCode.TOPIC_ALIAS_INVALID);
        lost(set, br, "upstream sent a Topic Alias, which the bridge does not take", true, false);
        return;
      }
      if (!handleInbound(set, br, p)) {
        if (MIDGE_FEATURES.mqtt5 && v5) disconnectV5(set, br, ReasonCode.RECEIVE_MAXIMUM_EXCEEDED); // MQTT-3.3.4-9
        lost(set, br, "more than " + set.broker.limits.maxInboundQos2 + " QoS 2 messages from upstream awaiting PUBREL", true, false);
      }
      return;
    case PacketType.PUBACK:
      return handleAck(set, br, p.packetId, 1, code);
    case PacketType.PUBREC:
      return handlePubrec(set, br, p.packetId, code);
    case PacketType.PUBCOMP:
      return handleAck(set, br, p.packetId, 2, 0);
    case PacketType.PUBREL:
      return handlePubrel(set, br, p.packetId);
    case PacketType.SUBACK:
      return handleSuback(set, br, p);
    case PacketType.UNSUBACK:
      if (p.packetId === br.unsubscribeId) br.unsubscribeId = 0;
      return;
    case PacketType.PINGRESP:
      br.pingSentAt = -1;
      return;
    case PacketType.DISCONNECT:
      if (MIDGE_FEATURES.mqtt5 && v5) {
        // A 5.0 server may end the connection with a reason (§3.14): reconnect as after any loss.
        lost(set, br, "upstream sent DISCONNECT " + reasonText(p.reasonCode) + (p.props.hasReasonString ? ": " + p.props.reasonString : ""), true, false);
      } else {
        lost(set, br, "upstream sent DISCONNECT, which only a client sends", true, false);
      }
      return;
    default:
      lost(set, br, "upstream sent " + packetName(type) + ", which only a client sends", true, false);
  }
}

function handleSuback(set: Bridges, br: Bridge, p: Packet): void {
  if (p.packetId !== br.subscribeId) return;
  br.subscribeId = 0;
  const c = br.config;
  let n = 0;
  for (let i = 0; i < c.topicCount; i++) {
    const t = c.topics[i];
    if (t.direction === Direction.OUT) continue;
    // 0x80 in 3.1.1; in 5.0 any code from 0x80 (§3.9.3), logged with its name.
    if (n < p.count && p.qosList[n] >= 0x80) log(set, LogLevel.WARNING, br, "the upstream refused the subscription to " + t.remoteTopic + (MIDGE_FEATURES.mqtt5 && isV5Bridge(br) ? " (" + reasonText(p.qosList[n]) + ")" : "") + ".");
    n++;
  }
}

// ---------------------------------------------------------------------------------------------
// Timers and shutdown

/** Reconnects, connect timeouts, keep alive (MQTT-3.1.2-23). Called from brokerTick. */
export function bridgesTick(set: Bridges, now: number): void {
  const timeout = set.broker.limits.connectTimeoutMs;
  for (let i = 0; i < set.count; i++) {
    const br = set.list[i];
    if (br.state === LinkState.WAITING) {
      if (now >= br.since) startAttempt(set, br, now);
    } else if (br.state === LinkState.OPENING || br.state === LinkState.CONNECTING) {
      if (now - br.since > timeout) {
        lost(set, br, br.state === LinkState.OPENING ? "connect timed out" : "no CONNACK within " + Math.floor(timeout / 1000) + " s", true, false);
      }
    } else if (br.state === LinkState.CONNECTED && br.keepAlive > 0) {
      const keepAliveMs = br.keepAlive * 1000;
      if (br.pingSentAt >= 0) {
        if (now - br.pingSentAt > keepAliveMs) lost(set, br, "no PINGRESP within " + br.keepAlive + " s", true, false);
      } else if (now - br.lastSentAt >= keepAliveMs - 1000) {
        // One tick early: brokerTick runs at least once a second.
        br.pingSentAt = now;
        send(set, br, encodeEmpty(PacketType.PINGREQ));
      }
    }
  }
  storeCommit(set.broker);
}

/** Disconnects every bridge (the broker is shutting down); the upstream sees state "0". */
export function bridgesShutdown(set: Bridges): void {
  for (let i = 0; i < set.count; i++) {
    const br = set.list[i];
    const c = br.config;
    if (br.state === LinkState.CONNECTED) {
      // DISCONNECT discards the will, so say "0" first.
      if (c.notifications && !c.notificationsLocalOnly) {
        const topicBytes = utf8Encode(br.notificationTopic);
        if (MIDGE_FEATURES.mqtt5 && isV5Bridge(br)) {
          const data = encodePublishUpV5(set, br, topicBytes, ZERO, undefined, -1, 0, false, br.retainAvailable, 0, false);
          if (data !== undefined) send(set, br, data);
        } else {
          send(set, br, encodePublish(topicBytes, ZERO, 0, false, true, 0));
        }
      }
      send(set, br, encodeEmpty(PacketType.DISCONNECT));
      set.link.close(br.index);
      log(set, LogLevel.NOTICE, br, "disconnected (broker shutting down).");
    } else if (br.state === LinkState.OPENING || br.state === LinkState.CONNECTING) {
      set.link.close(br.index);
    }
    br.state = LinkState.STOPPED;
  }
}
