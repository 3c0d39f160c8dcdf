import { Bytes, EMPTY_BYTES, bytesCopy, bytesLength, utf8Encode, utf8Length } from "../bytes/bytes";
import { ConnackCode, PACKET_NAMES, PacketType, PROTOCOL_LEVEL_31 } from "../codec/constants";
import { decodePacket } from "../codec/decode";
import { encodeAck, encodeConnect, encodeEmpty, encodePublish, encodeSubscribe, encodeUnsubscribe } from "../codec/encode";
import { FrameReader, frameFeed, frameNext, frameReset, newFrameReader } from "../codec/frameReader";
import { Packet, newPacket } from "../codec/packet";
import { STATUS_REASONS, Status } from "../codec/status";
import { LogLevel } from "../platform";
import { storeCommit } from "../broker/persist";
import { publishFrom } from "../broker/publish";
import { Broker, ORIGIN_BROKER } from "../broker/state";
import { Flight, FlowState, Flows, Message, flightAcked, flightFromQueue, flightReleased, flightRemove, flightStart, flightsRewind, flowsCanSend, flowsClear, inboundAdd, inboundClear, inboundHas, inboundRelease, packetIdNext, queueAdd, queueDropOldest } from "../qos/flows";
import { BridgeTopic, Direction, inAccepted, mapIn, mapOut, outQos } from "./topicMap";

/**
 * Bridges: Midge as an MQTT client of upstream brokers (mosquitto's `connection` sections).
 * Each bridge is a client connection built on the project's codec and following the client
 * rules on its outbound connection (MQTT-7.0.0-1). The broker reaches the bridges through its
 * BrokerExtension slot only, so this module is in a bundle only when the target imports it.
 *
 * Local side: every message the broker accepts is offered here with its origin; a message is
 * forwarded over each bridge whose out/both lines match, except the bridge it came from (no
 * loops), at min(message QoS, line QoS), retain flag as published (bridge_outgoing_retain).
 * Upstream side: messages from upstream are published locally through the broker's own path
 * (retained store, routing) with the bridge as origin.
 * While the upstream is unreachable, QoS 1/2 messages wait in a bounded queue (the oldest is
 * dropped, with a log line, when it is full); QoS 0 messages are dropped. Unacknowledged
 * messages are sent again after a reconnect. Queues live in memory only.
 * Timing: brokerTick drives keep alive (PINGREQ), the CONNACK and PINGRESP timeouts and the
 * reconnect backoff (restart_timeout).
 */

/** The outbound connections, implemented by a target (a TCP socket per bridge on Node). */
export interface BridgeLink {
  /**
   * Opens the connection of bridge `bridge`. The target then calls bridgeLinkUp once connected,
   * bridgeLinkData for every chunk received and bridgeLinkDown when it closes or fails (a
   * failure to connect included). Calls may come later, never from inside open().
   */
  open(bridge: number, host: string, port: number): void;
  /** Queues bytes for sending; the Bytes value is never modified afterwards. */
  write(bridge: number, data: Bytes): void;
  /**
   * Flushes what was written and closes. After this call the target reports nothing more for
   * that connection (a later open() starts a new one).
   */
  close(bridge: number): void;
}

/** One `connection` section. Times are in seconds. */
export interface BridgeConfig {
  name: string;
  host: string;
  port: number;
  /** remote_clientid: the client id upstream (the target picks the default). */
  clientId: string;
  hasUsername: boolean;
  username: string;
  hasPassword: boolean;
  password: string;
  cleanSession: boolean;
  keepAlive: number;
  /** restart_timeout: first delay, and the cap of the jittered backoff (0 = always restartBase). */
  restartBase: number;
  restartCap: number;
  /** false = start_type once: no reconnect after the connection is lost. */
  restart: boolean;
  notifications: boolean;
  notificationsLocalOnly: boolean;
  /** "" = $SYS/broker/connection/<clientId>/state. */
  notificationTopic: string;
  /** Connect with protocol level 0x84 (0x83) first, so the upstream treats us as a bridge. */
  tryPrivate: boolean;
  /** 4 (MQTT 3.1.1) or 3 (MQTT 3.1). */
  protocolLevel: number;
  /** QoS 1/2 messages waiting while the upstream is away or the in-flight window is full. */
  maxQueued: number;
  /** Unacknowledged QoS 1/2 messages upstream at once. */
  maxInflight: number;
  /** bridge_outgoing_retain: false clears RETAIN on everything sent upstream. */
  outgoingRetain: boolean;
  /** bridge_attempt_unsubscribe: UNSUBSCRIBE the remote topics of out lines on connect. */
  attemptUnsubscribe: boolean;
  topics: BridgeTopic[];
  topicCount: number;
}

/** mosquitto's defaults; the caller sets host, topics and the client id. */
export function newBridgeConfig(name: string): BridgeConfig {
  return {
    name: name,
    host: "",
    port: 1883,
    clientId: name,
    hasUsername: false,
    username: "",
    hasPassword: false,
    password: "",
    cleanSession: false,
    keepAlive: 60,
    restartBase: 5,
    restartCap: 30,
    restart: true,
    notifications: true,
    notificationsLocalOnly: false,
    notificationTopic: "",
    tryPrivate: true,
    protocolLevel: 4,
    maxQueued: 1000,
    maxInflight: 20,
    outgoingRetain: true,
    attemptUnsubscribe: true,
    topics: [],
    topicCount: 0,
  };
}

export const enum LinkState {
  /** Not running (start_type once after a failure, or shut down). */
  STOPPED = 0,
  /** Waiting for the next attempt (Bridge.since is its time). */
  WAITING = 1,
  /** The target is opening the connection. */
  OPENING = 2,
  /** CONNECT sent, waiting for CONNACK. */
  CONNECTING = 3,
  CONNECTED = 4,
}

export const LINK_STATE_NAMES = ["stopped", "waiting", "opening", "connecting", "connected"];

export interface BridgeStats {
  /** Messages published upstream (first sends only). */
  sent: number;
  /** Messages from upstream published locally. */
  received: number;
  /** QoS 0 messages dropped while not connected. */
  droppedQos0: number;
  /** QoS 1/2 messages dropped because the queue was full. */
  droppedQueueFull: number;
  /** Successful connections (CONNACK 0). */
  connects: number;
}

/** One bridge; its QoS flows with the upstream (src/qos/flows.ts) are in the record itself. */
export interface Bridge extends Flows {
  config: BridgeConfig;
  index: number;
  /** In-flight window: config.maxInflight, kept below the 65,535 packet ids. */
  window: number;
  /** Origin of the messages this bridge publishes locally (see BrokerExtension.message). */
  origin: number;
  notificationTopic: string;
  state: number;
  /** WAITING: time of the next attempt; OPENING, CONNECTING: when the attempt began. */
  since: number;
  delayMs: number;
  /** The upstream answered CONNACK 1 to level 0x84: plain client from now on. */
  privateRefused: boolean;
  reader: FrameReader;
  packet: Packet;
  lastSentAt: number;
  /** When the outstanding PINGREQ was sent, -1 when none is. */
  pingSentAt: number;
  /** Packet ids of the SUBSCRIBE / UNSUBSCRIBE awaiting an answer, 0 = none. */
  subscribeId: number;
  unsubscribeId: number;
  stats: BridgeStats;
}

export interface Bridges {
  broker: Broker;
  link: BridgeLink;
  list: Bridge[];
  count: number;
}

const ONE = utf8Encode("1");
const ZERO = utf8Encode("0");

/** Origin value of bridge i's messages: below ORIGIN_BROKER, one per bridge. */
export function bridgeOrigin(index: number): number {
  return ORIGIN_BROKER - 1 - index;
}

function newBridge(config: BridgeConfig, index: number, maxPacketSize: number): Bridge {
  return {
    config: config,
    index: index,
    window: config.maxInflight < 1 ? 1 : config.maxInflight > 65000 ? 65000 : config.maxInflight,
    origin: bridgeOrigin(index),
    notificationTopic: config.notificationTopic !== "" ? config.notificationTopic : "$SYS/broker/connection/" + config.clientId + "/state",
    state: LinkState.WAITING,
    since: 0,
    delayMs: config.restartBase * 1000,
    privateRefused: false,
    reader: newFrameReader(maxPacketSize),
    packet: newPacket(),
    lastSentAt: 0,
    pingSentAt: -1,
    subscribeId: 0,
    unsubscribeId: 0,
    nextPacketId: 1,
    nextSeq: 1,
    flights: [],
    flightCount: 0,
    queue: [],
    queueQos: [],
    queueRetain: [],
    queueSeq: [],
    queueHead: 0,
    queueCount: 0,
    queueDropped: 0,
    inboundIds: [],
    inboundCount: 0,
    stats: { sent: 0, received: 0, droppedQos0: 0, droppedQueueFull: 0, connects: 0 },
  };
}

/**
 * Installs the bridges on a broker (as its extension) and publishes each notification topic's
 * initial "0". The first connection attempts start at the next brokerTick.
 */
export function bridgesCreate(b: Broker, link: BridgeLink, configs: BridgeConfig[], count: number): Bridges {
  const set: Bridges = { broker: b, link: link, list: [], count: count };
  for (let i = 0; i < count; i++) set.list.push(newBridge(configs[i], i, b.limits.maxPacketSize));
  b.extension = {
    message: (topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retain: boolean, origin: number) => onLocalMessage(set, topic, topicBytes, payload, qos, retain, origin),
    tick: (now: number) => bridgesTick(set, now),
    shutdown: () => bridgesShutdown(set),
  };
  for (let i = 0; i < count; i++) notifyLocal(set, set.list[i], ZERO);
  storeCommit(b);
  return set;
}

function log(set: Bridges, level: number, br: Bridge, message: string): void {
  set.broker.log.log(level, "Bridge " + br.config.name + ": " + message);
}

function notifyLocal(set: Bridges, br: Bridge, value: Bytes): void {
  if (!br.config.notifications) return;
  publishFrom(set.broker, br.notificationTopic, utf8Encode(br.notificationTopic), value, 1, true, br.origin);
}

function send(set: Bridges, br: Bridge, data: Bytes): void {
  br.lastSentAt = set.broker.clock.now();
  set.link.write(br.index, data);
}

/** An id no outstanding flow of this bridge uses (MQTT-2.3.1-2), SUBSCRIBE and UNSUBSCRIBE included. */
function nextPacketId(br: Bridge): number {
  for (;;) {
    const id = packetIdNext(br);
    if (id !== br.subscribeId && id !== br.unsubscribeId) return id;
  }
}

// ---------------------------------------------------------------------------------------------
// Connection life cycle

function startAttempt(set: Bridges, br: Bridge, now: number): void {
  const c = br.config;
  br.state = LinkState.OPENING;
  br.since = now;
  frameReset(br.reader);
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
function lost(set: Bridges, br: Bridge, reason: string, closeLink: boolean, retryAtOnce: boolean): void {
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
  p.type = PacketType.CONNECT;
  p.protocolName = c.protocolLevel === PROTOCOL_LEVEL_31 ? "MQIsdp" : "MQTT";
  p.protocolLevel = c.protocolLevel + (c.tryPrivate && !br.privateRefused ? 128 : 0);
  p.cleanSession = c.cleanSession;
  p.keepAlive = c.keepAlive;
  p.clientId = c.clientId;
  p.willFlag = c.notifications && !c.notificationsLocalOnly;
  p.willTopic = br.notificationTopic;
  p.willPayload = ZERO;
  p.willQos = p.willFlag ? 1 : 0;
  p.willRetain = p.willFlag;
  p.hasUsername = c.hasUsername;
  p.username = c.username;
  p.hasPassword = c.hasUsername && c.hasPassword; // MQTT-3.1.2-22
  p.password = c.hasPassword ? utf8Encode(c.password) : EMPTY_BYTES;
  br.state = LinkState.CONNECTING;
  br.since = set.broker.clock.now();
  br.pingSentAt = -1;
  send(set, br, encodeConnect(p));
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
  frameFeed(br.reader, chunk);
  for (;;) {
    const framed = frameNext(br.reader);
    if (framed === Status.NEED_MORE) break;
    if (framed !== Status.PACKET) {
      lost(set, br, "malformed packet from upstream: " + STATUS_REASONS[framed], true, false);
      break;
    }
    const type = br.reader.type;
    const st = decodePacket(type, br.reader.flags, br.reader.body, p);
    if (st !== Status.OK) {
      lost(set, br, "malformed " + PACKET_NAMES[type] + " from upstream: " + STATUS_REASONS[st], true, false);
      break;
    }
    if (br.state === LinkState.CONNECTING) {
      if (type !== PacketType.CONNACK) {
        lost(set, br, "upstream sent " + PACKET_NAMES[type] + " before CONNACK", true, false);
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

function handleConnack(set: Bridges, br: Bridge, p: Packet): void {
  const c = br.config;
  if (p.returnCode === ConnackCode.BAD_PROTOCOL_VERSION && c.tryPrivate && !br.privateRefused) {
    // try_private: this upstream does not know the bridge level; be an ordinary client.
    br.privateRefused = true;
    lost(set, br, "upstream refused protocol level " + (c.protocolLevel + 128) + " (try_private), retrying as an ordinary client", true, true);
    return;
  }
  if (p.returnCode !== ConnackCode.ACCEPTED) {
    lost(set, br, "upstream refused the connection, CONNACK " + p.returnCode + connackReason(p.returnCode), true, false);
    return;
  }
  br.state = LinkState.CONNECTED;
  br.delayMs = c.restartBase * 1000;
  br.stats.connects++;
  log(set, LogLevel.NOTICE, br, "connected to " + c.host + ":" + c.port + " as " + c.clientId + (br.privateRefused || !c.tryPrivate ? "" : " (bridge protocol level)") + (p.sessionPresent ? ", session present" : "") + ".");
  const present = p.sessionPresent;
  // The upstream kept no state of ours: QoS 2 receipts are void (MQTT-3.1.2-6).
  if (!present) inboundClear(br);
  resendFlights(set, br, present);
  if (c.notifications && !c.notificationsLocalOnly) {
    // Past the in-flight window if need be: the state goes out before the backlog.
    startFlight(set, br, { topic: br.notificationTopic, topicBytes: utf8Encode(br.notificationTopic), payload: ONE, qos: 1 }, 1, true);
  }
  subscribe(set, br);
  notifyLocal(set, br, ONE);
  pump(set, br);
}

function connackReason(code: number): string {
  if (code === ConnackCode.BAD_PROTOCOL_VERSION) return " (unacceptable protocol version)";
  if (code === ConnackCode.IDENTIFIER_REJECTED) return " (client id rejected)";
  if (code === ConnackCode.SERVER_UNAVAILABLE) return " (server unavailable)";
  if (code === ConnackCode.BAD_USERNAME_OR_PASSWORD) return " (bad user name or password)";
  if (code === ConnackCode.NOT_AUTHORIZED) return " (not authorised)";
  return "";
}

/**
 * Sends unacknowledged messages again, in order, with their packet ids (MQTT-4.4.0-1). When
 * the upstream has no session of ours, QoS 2 messages past PUBREC go out as PUBLISH again
 * (the upstream may have lost them; a duplicate is better than a loss).
 */
function resendFlights(set: Bridges, br: Bridge, sessionPresent: boolean): void {
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
  if (u > 0) {
    br.unsubscribeId = nextPacketId(br);
    send(set, br, encodeUnsubscribe(br.unsubscribeId, unsub, u));
  }
  if (n > 0) {
    br.subscribeId = nextPacketId(br);
    send(set, br, encodeSubscribe(br.subscribeId, filters, qosList, n));
  }
}

function handlePacket(set: Bridges, br: Bridge, type: number, p: Packet): void {
  switch (type) {
    case PacketType.PUBLISH:
      return handleInbound(set, br, p);
    case PacketType.PUBACK:
      return handleAck(set, br, p.packetId, 1);
    case PacketType.PUBREC:
      return handlePubrec(set, br, p.packetId);
    case PacketType.PUBCOMP:
      return handleAck(set, br, p.packetId, 2);
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
    default:
      lost(set, br, "upstream sent " + PACKET_NAMES[type] + ", which only a client sends", true, false);
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
    if (n < p.count && p.qosList[n] === 0x80) log(set, LogLevel.WARNING, br, "the upstream refused the subscription to " + t.remoteTopic + ".");
    n++;
  }
}

/** A PUBLISH from upstream (receiver side of §4.3): publish locally, then acknowledge. */
function handleInbound(set: Bridges, br: Bridge, p: Packet): void {
  const b = set.broker;
  if (p.qos === 2) {
    // A PUBLISH repeated before PUBREL is acknowledged again but not published again (MQTT-4.3.3-2).
    if (inboundHas(br, p.packetId)) {
      send(set, br, encodeAck(PacketType.PUBREC, p.packetId));
      return;
    }
    if (br.inboundCount >= b.limits.maxInboundQos2) {
      lost(set, br, "more than " + b.limits.maxInboundQos2 + " QoS 2 messages from upstream awaiting PUBREL", true, false);
      return;
    }
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
      publishFrom(b, local, local === p.topic ? p.topicBytes : utf8Encode(local), p.payload, p.qos, p.retain, br.origin);
    }
  }
  if (p.qos === 1) {
    send(set, br, encodeAck(PacketType.PUBACK, p.packetId));
  } else if (p.qos === 2) {
    inboundAdd(br, p.packetId, b.limits.maxInboundQos2);
    send(set, br, encodeAck(PacketType.PUBREC, p.packetId));
  }
}

function handlePubrel(set: Bridges, br: Bridge, id: number): void {
  inboundRelease(br, id);
  send(set, br, encodeAck(PacketType.PUBCOMP, id));
}

/** PUBACK (qos 1) or PUBCOMP (qos 2) ends a flow. */
function handleAck(set: Bridges, br: Bridge, id: number, qos: number): void {
  const i = flightAcked(br, id, qos);
  if (i < 0) return;
  flightRemove(br, i);
  pump(set, br);
}

function handlePubrec(set: Bridges, br: Bridge, id: number): void {
  if (flightReleased(br, id) < 0) return;
  send(set, br, encodeAck(PacketType.PUBREL, id)); // MQTT-4.3.3-1
}

// ---------------------------------------------------------------------------------------------
// Local messages going upstream

function startFlight(set: Bridges, br: Bridge, m: Message, qos: number, retain: boolean): void {
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
function pump(set: Bridges, br: Bridge): void {
  while (br.state === LinkState.CONNECTED && br.queueCount > 0 && br.flightCount < br.window) {
    sendFlight(set, br, flightFromQueue(br, br.config.maxQueued, nextPacketId(br)));
  }
  if (br.queueCount === 0 && br.queueDropped > 0) {
    log(set, LogLevel.WARNING, br, "queue drained; " + br.queueDropped + " messages were dropped while it was full.");
    br.queueDropped = 0;
  }
}

function onLocalMessage(set: Bridges, topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retain: boolean, origin: number): void {
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
    } else if (br.state === LinkState.CONNECTED && br.config.keepAlive > 0) {
      const keepAliveMs = br.config.keepAlive * 1000;
      if (br.pingSentAt >= 0) {
        if (now - br.pingSentAt > keepAliveMs) lost(set, br, "no PINGRESP within " + br.config.keepAlive + " s", true, false);
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
      if (c.notifications && !c.notificationsLocalOnly) send(set, br, encodePublish(utf8Encode(br.notificationTopic), ZERO, 0, false, true, 0));
      send(set, br, encodeEmpty(PacketType.DISCONNECT));
      set.link.close(br.index);
      log(set, LogLevel.NOTICE, br, "disconnected (broker shutting down).");
    } else if (br.state === LinkState.OPENING || br.state === LinkState.CONNECTING) {
      set.link.close(br.index);
    }
    br.state = LinkState.STOPPED;
  }
}

/** State of bridge i, for logs and tests. */
export function bridgeState(set: Bridges, index: number): number {
  return set.list[index].state;
}

/** Messages waiting to go upstream (queued plus unacknowledged) on bridge i. */
export function bridgePending(set: Bridges, index: number): number {
  const br = set.list[index];
  return br.queueCount + br.flightCount;
}
