import { Bytes, EMPTY_BYTES } from "../bytes/bytes";
import { FrameReader, newFrameReader } from "../codec/frameReader";
import { Packet, newPacket } from "../codec/packet";
import { Properties, newProperties } from "../codec/properties";
import { Limits } from "../limits";
import { Clock, Log, Policy, Store, SubscriptionIndex, Transport } from "../platform";
import { Flows, Message, NO_MESSAGE, newFlows } from "../qos/flows";
export { FlowState } from "../qos/flows";
export type { Flight, Message } from "../qos/flows";

export const enum ConnState {
  FREE = 0,
  /** Accepted, waiting for CONNECT (SRV-IMPL-12). */
  NEW = 1,
  CONNECTED = 2,
}

export interface Conn {
  state: number;
  peer: string;
  /**
   * A user name the transport has already authenticated (use_identity_as_username: the Common
   * Name of a verified TLS client certificate); "" = none.
   */
  identity: string;
  reader: FrameReader;
  /** Session slot, -1 until CONNECT is accepted. */
  session: number;
  protocolLevel: number;
  keepAliveMs: number;
  openedAt: number;
  lastPacketAt: number;
  /** When the packet being received began to arrive; -1 = none under way. */
  partialSince: number;
  hasWill: boolean;
  willTopic: string;
  willTopicBytes: Bytes;
  willPayload: Bytes;
  willQos: number;
  willRetain: boolean;
  /** QoS 0 messages dropped because the connection was not reading (slow consumer). */
  droppedQos0: number;
  // MQTT 5.0 only (mqtt5.ts; present where MIDGE_FEATURES.mqtt5):
  /** The client's Maximum Packet Size (MQTT-3.1.2-24); 0 = no limit. */
  maxPacketOut: number;
  /** Topic Alias → topic name, as the client set them on this connection (MQTT-3.3.2-12). */
  aliases: string[];
  aliasBytes: Bytes[];
  /** The will's PUBLISH properties (Message.props), expiry interval (s, -1 none) and delay (s). */
  willProps: Bytes;
  willExpiry: number;
  willDelay: number;
}

/**
 * Session state (SRV-OPS-4). The QoS flows (src/qos/flows.ts: in-flight window, queue,
 * inbound QoS 2 ids) are tables with explicit counts; they grow on demand up to the limits,
 * never past them.
 */
export interface Session extends Flows {
  /**
   * "" while the slot is free: a session in use always has a client id (CONNECT gives an empty
   * one a generated id, a store's is checked). No separate in-use flag: a boolean property
   * costs Espruino two variables, where this costs none.
   */
  clientId: string;
  cleanSession: boolean;
  /** Connection slot, -1 while offline. */
  conn: number;
  /** Credentials of the last connection, for authorisation of deliveries while offline too. */
  hasUsername: boolean;
  username: string;
  subscriptionCount: number;
  /** Scratch for routing: highest granted QoS among matching subscriptions, -1 if none. */
  matchQos: number;
  /**
   * Connected with protocol level 0x83/0x84, the mark of a broker bridging to us (SRV-V31-11,
   * our choice): its own messages are not routed back to it and deliveries keep their RETAIN
   * flag, as mosquitto treats bridges.
   */
  bridge: boolean;
  // MQTT 5.0 only (mqtt5.ts; present where MIDGE_FEATURES.mqtt5):
  /** Session Expiry Interval in seconds (0 ends with the connection, SESSION_NEVER_EXPIRES never). */
  expiry: number;
  /** When an offline session expires (clock ms); -1 = not counting down. */
  expiresAt: number;
  /** The client's Receive Maximum: the in-flight window is the smaller of it and maxInflight (MQTT-3.3.4-9). */
  receiveMax: number;
  /**
   * Flights at the end of the window not yet sent again on this connection: the client came back
   * with a Receive Maximum below its flights (delivery.ts resendFlights, resendNext).
   */
  resendLeft: number;
  /** A will waiting for its Will Delay Interval (MQTT-3.1.3-9): when (clock ms, -1 none), what, retain. */
  willAt: number;
  willMessage: Message;
  willRetain: boolean;
  /** Routing scratch: Retain As Published and Subscription Identifiers of the matching subscriptions. */
  matchRap: boolean;
  matchIds: number[];
  matchIdCount: number;
}

export interface BrokerStats {
  connections: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  retainedBytes: number;
  messagesReceived: number;
  messagesSent: number;
  messagesDropped: number;
  bytesReceived: number;
  bytesSent: number;
  /** Connections accepted since start (for $SYS). */
  connectionsTotal: number;
}

/** Session Expiry Interval 0xFFFFFFFF: the session does not expire (MQTT 5.0 §3.1.2.11.2). */
export const SESSION_NEVER_EXPIRES = 4294967295;

/** Origin of a message the broker publishes itself (wills, $SYS); connections are >= 0. */
export const ORIGIN_BROKER = -1;

/**
 * An optional add-on driven by the broker (the bridges of src/bridge). The broker reaches it
 * only through this record, so a build that never installs one carries none of its code.
 */
export interface BrokerExtension {
  /**
   * Every message the broker accepted, once routed. origin: the publishing connection slot,
   * ORIGIN_BROKER, or a value below ORIGIN_BROKER that the extension gave when it published.
   * topicBytes and payload may be views of a receive buffer: copy them to keep them.
   */
  message(topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retain: boolean, origin: number): void;
  /** Called from brokerTick. */
  tick(now: number): void;
  /** Called from brokerShutdown. */
  shutdown(): void;
}

export interface Broker {
  limits: Limits;
  transport: Transport;
  clock: Clock;
  log: Log;
  /** Authentication and authorisation; undefined lets everyone do everything. */
  policy: Policy | undefined;
  /** Durable state; undefined keeps everything in memory only. */
  store: Store | undefined;
  /** Bridges (src/bridge), or undefined. */
  extension: BrokerExtension | undefined;
  /**
   * Value of `changes` when the store last committed (persist.ts storeCommit): the store has
   * something to commit exactly when `changes` moved past it. Not a counter of its own.
   */
  storeCommitted: number;
  conns: Conn[];
  sessions: Session[];
  /** clientId → session slot, keys prefixed with "c" so no client id can clash with Object members. */
  sessionIndex: { [key: string]: number };
  /** Subscription table (struct of arrays); slot i is used when subSession[i] >= 0. */
  subSession: number[];
  subFilter: string[];
  subQos: number[];
  /** MQTT 5.0 subscription options: No Local + 2 × Retain As Published (mqtt5 builds only). */
  subFlags: number[];
  /** MQTT 5.0 Subscription Identifier, 0 = none (mqtt5 builds only). */
  subIds: number[];
  /**
   * Shared subscriptions (shared.ts, mqtt5 builds only): the whole `$share/{ShareName}/{filter}`
   * of a member's slot, its group's key ("" = not shared; subFilter is then the inner filter),
   * and when the slot last got a message of its group (a value of shareTurn; 0 = never).
   */
  subShare: string[];
  subServed: number[];
  shareTurn: number;
  /** Routing scratch: matching shared subscription slots (shareFoundCount of them). */
  shareFound: number[];
  shareFoundCount: number;
  /** Routing scratch: the session of the publishing connection (No Local), -1 = none. */
  routeOrigin: number;
  /** Routing scratch: v5 properties and expiry of the message being published (mqtt5 builds). */
  msgProps: Bytes;
  msgExpiresAt: number;
  /** Properties of the packets the broker answers with (CONNACK, DISCONNECT), filled per use. */
  replyProps: Properties;
  /** Scratch: the Subscription Identifier of a retained replay (replay.ts). */
  replayId: number[];
  /** One past the highest slot ever used: scans stop here. */
  subTop: number;
  subFree: number[];
  subFreeCount: number;
  /** Index for routing; undefined = scan the table. */
  subIndex: SubscriptionIndex | undefined;
  /** Slots found by the index (scratch). */
  subFound: number[];
  retained: Message[];
  retainedCount: number;
  /** topic → retained slot, keys prefixed with "t". */
  retainedIndex: { [key: string]: number };
  retainedBytes: number;
  /** Retained $SYS messages among them (not counted against maxRetained). */
  systemRetained: number;
  /**
   * Retained replays under way (replay.ts), in SUBSCRIBE order, one number each: the
   * subscription slot sub and the retained slots [at, end) still to go through, as
   * (sub × rpSpan + at) × rpSpan + end. One number an entry is one variable on Espruino (a
   * small integer in an array), where three arrays took three. At most one per subscription,
   * so bounded by maxSubscriptions; only online sessions have them. Not persisted: a restart
   * ends them.
   */
  rp: number[];
  rpCount: number;
  /** Above any retained slot (maxRetained plus room for $SYS topics): the base of rp's numbers. */
  rpSpan: number;
  /** Sessions that matched the message being routed (scratch). */
  matched: number[];
  packet: Packet;
  codes: number[];
  autoIdCounter: number;
  /**
   * The one change counter. Bumped on every change to state worth persisting (retained
   * messages, sessions, subscriptions, queued and in-flight messages, inbound QoS 2 ids) and on
   * every report to b.store (persist.ts). Only its movement means anything: a saver keeps the
   * value it last saved or committed and saves again when the counter differs from it
   * (storeCommitted for the Store; the Espruino snapshot saver keeps its own last-saved value).
   * Clean sessions move it too, so a saver may find nothing new to keep.
   */
  changes: number;
  stats: BrokerStats;
}

export function newConn(maxPacketSize: number): Conn {
  const c = {
    state: ConnState.FREE,
    peer: "",
    identity: "",
    reader: newFrameReader(maxPacketSize),
    session: -1,
    protocolLevel: 0,
    keepAliveMs: 0,
    openedAt: 0,
    lastPacketAt: 0,
    partialSince: -1,
    hasWill: false,
    willTopic: "",
    willTopicBytes: EMPTY_BYTES,
    willPayload: EMPTY_BYTES,
    willQos: 0,
    willRetain: false,
    droppedQos0: 0,
  } as Conn;
  if (MIDGE_FEATURES.mqtt5) {
    c.maxPacketOut = 0;
    c.aliases = [];
    c.aliasBytes = [];
    c.willProps = EMPTY_BYTES;
    c.willExpiry = -1;
    c.willDelay = 0;
  }
  return c;
}

/** A free session slot: the QoS flows record (newFlows) with the session fields added. */
export function newSession(): Session {
  const s = newFlows() as Session;
  s.clientId = "";
  s.cleanSession = true;
  s.conn = -1;
  s.hasUsername = false;
  s.username = "";
  s.subscriptionCount = 0;
  s.matchQos = -1;
  s.bridge = false;
  if (MIDGE_FEATURES.mqtt5) {
    s.expiry = 0;
    s.expiresAt = -1;
    s.receiveMax = 65535;
    s.resendLeft = 0;
    s.willAt = -1;
    s.willMessage = NO_MESSAGE;
    s.willRetain = false;
    s.matchRap = false;
    s.matchIds = [];
    s.matchIdCount = 0;
  }
  return s;
}

export function newBrokerState(limits: Limits, transport: Transport, clock: Clock, log: Log): Broker {
  // Connection and session slots are created as first needed, never past the limits, and
  // reused after: the worst case is still bounded by the limits, but an idle broker with host
  // limits does not hold 10,000 empty slots.
  const conns: Conn[] = [];
  const sessions: Session[] = [];
  const b = {
    limits: limits,
    transport: transport,
    clock: clock,
    log: log,
    policy: undefined,
    store: undefined,
    extension: undefined,
    storeCommitted: 0,
    conns: conns,
    sessions: sessions,
    sessionIndex: {},
    subSession: [],
    subFilter: [],
    subQos: [],
    subTop: 0,
    subFree: [],
    subFreeCount: 0,
    subIndex: undefined,
    subFound: [],
    retained: [],
    retainedCount: 0,
    retainedIndex: {},
    retainedBytes: 0,
    systemRetained: 0,
    rp: [],
    rpCount: 0,
    rpSpan: limits.maxRetained + 1024,
    matched: [],
    packet: newPacket(),
    codes: [],
    autoIdCounter: 0,
    changes: 0,
    stats: {
      connections: 0,
      sessions: 0,
      subscriptions: 0,
      retained: 0,
      retainedBytes: 0,
      messagesReceived: 0,
      messagesSent: 0,
      messagesDropped: 0,
      bytesReceived: 0,
      bytesSent: 0,
      connectionsTotal: 0,
    },
  } as unknown as Broker; // the MQTT 5.0 fields are added below, in builds that have them
  if (MIDGE_FEATURES.mqtt5) {
    b.subFlags = [];
    b.subIds = [];
    b.subShare = [];
    b.subServed = [];
    b.shareTurn = 0;
    b.shareFound = [];
    b.shareFoundCount = 0;
    b.routeOrigin = -1;
    b.msgProps = EMPTY_BYTES;
    b.msgExpiresAt = -1;
    b.replyProps = newProperties();
    b.replayId = [0];
  }
  return b;
}
