import { Bytes, EMPTY_BYTES } from "../bytes/bytes";
import { FrameReader, newFrameReader } from "../codec/frameReader";
import { Packet, newPacket } from "../codec/packet";
import { Limits } from "../limits";
import { Clock, Log, Policy, Store, SubscriptionIndex, Transport } from "../platform";
import { Flows, Message, newFlows } from "../qos/flows";
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
}

/**
 * Session state (SRV-OPS-4). The QoS flows (src/qos/flows.ts: in-flight window, queue,
 * inbound QoS 2 ids) are tables with explicit counts; they grow on demand up to the limits,
 * never past them.
 */
export interface Session extends Flows {
  used: boolean;
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
   * Retained replays under way (replay.ts), in SUBSCRIBE order: the subscription slot, and the
   * retained slots [rpAt, rpEnd) still to go through. At most one per subscription, so bounded
   * by maxSubscriptions; only online sessions have them. Not persisted: a restart ends them.
   */
  rpSub: number[];
  rpAt: number[];
  rpEnd: number[];
  rpCount: number;
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
  return {
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
  };
}

/** A free session slot: the QoS flows record (newFlows) with the session fields added. */
export function newSession(): Session {
  const s = newFlows() as Session;
  s.used = false;
  s.clientId = "";
  s.cleanSession = true;
  s.conn = -1;
  s.hasUsername = false;
  s.username = "";
  s.subscriptionCount = 0;
  s.matchQos = -1;
  s.bridge = false;
  return s;
}

export function newBrokerState(limits: Limits, transport: Transport, clock: Clock, log: Log): Broker {
  // Connection and session slots are created as first needed, never past the limits, and
  // reused after: the worst case is still bounded by the limits, but an idle broker with host
  // limits does not hold 10,000 empty slots.
  const conns: Conn[] = [];
  const sessions: Session[] = [];
  return {
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
    rpSub: [],
    rpAt: [],
    rpEnd: [],
    rpCount: 0,
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
  };
}
