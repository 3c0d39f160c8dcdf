import { Bytes, utf8Encode } from "../bytes/bytes";
import { FrameReader, newFrameReader } from "../codec/frameReader";
import { Packet, newPacket } from "../codec/packet";
import { publishFromBridge } from "../broker/publish";
import { Broker, ORIGIN_BROKER } from "../broker/state";
import { Flows, newFlows, packetIdNext } from "../qos/flows";
import { BridgeConfig } from "./config";
import { LogCategory } from "../log/log";
import { PROTOCOL_LEVEL_5 } from "../codec/constants";

/**
 * The state of the bridges (one Bridge record each, its QoS flows with the upstream included)
 * and the helpers the link and the flows share: logging, sending, local notifications, ids.
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
  /**
   * Flights at the end of the window not yet sent again on this connection: a 5.0 upstream
   * came back with a Receive Maximum below them (flows.ts resendFlights, flightEnded).
   */
  resendLeft: number;
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
  /** Keep alive in use (s): the configured one, or the upstream's Server Keep Alive (MQTT-3.2.2-21). */
  keepAlive: number;
  // What a 5.0 upstream's CONNACK allows (§3.2.2.3); for 3.1/3.1.1 upstreams the 3.1.1 values.
  /** Maximum QoS of PUBLISHes to the upstream (MQTT-3.2.2-11). */
  maxQos: number;
  /** False: RETAIN is never set upstream (Retain Available 0, MQTT-3.2.2-14). */
  retainAvailable: boolean;
  /** Largest packet the upstream takes, 0 = no limit (Maximum Packet Size, MQTT-3.2.2-15). */
  maxPacketOut: number;
  /** The upstream refused the will's RETAIN (0x9A) or QoS 1 (0x9B): the will goes without. */
  willRetainRefused: boolean;
  willQosRefused: boolean;
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

export const ONE = utf8Encode("1");
export const ZERO = utf8Encode("0");

/** Origin value of bridge i's messages: below ORIGIN_BROKER, one per bridge. */
export function bridgeOrigin(index: number): number {
  return ORIGIN_BROKER - 1 - index;
}

/** The in-flight window of a configuration: maxInflight, kept below the 65,535 packet ids. */
export function baseWindow(config: BridgeConfig): number {
  return config.maxInflight < 1 ? 1 : config.maxInflight > 65000 ? 65000 : config.maxInflight;
}

/** A bridge: the QoS flows record (newFlows) with the bridge fields added. */
export function newBridge(config: BridgeConfig, index: number, maxPacketSize: number): Bridge {
  const br = newFlows() as Bridge;
  br.config = config;
  br.index = index;
  br.window = baseWindow(config);
  br.resendLeft = 0;
  br.origin = bridgeOrigin(index);
  br.notificationTopic = config.notificationTopic !== "" ? config.notificationTopic : "$SYS/broker/connection/" + config.clientId + "/state";
  br.state = LinkState.WAITING;
  br.since = 0;
  br.delayMs = config.restartBase * 1000;
  br.privateRefused = false;
  br.reader = newFrameReader(maxPacketSize);
  br.packet = newPacket();
  br.lastSentAt = 0;
  br.pingSentAt = -1;
  br.keepAlive = config.keepAlive;
  br.maxQos = 2;
  br.retainAvailable = true;
  br.maxPacketOut = 0;
  br.willRetainRefused = false;
  br.willQosRefused = false;
  br.subscribeId = 0;
  br.unsubscribeId = 0;
  br.stats = { sent: 0, received: 0, droppedQos0: 0, droppedQueueFull: 0, connects: 0 };
  return br;
}

/** True when bridge br speaks MQTT 5.0 to its upstream (always false in a build without mqtt5). */
export function isV5Bridge(br: Bridge): boolean {
  return MIDGE_FEATURES.mqtt5 && br.config.protocolLevel === PROTOCOL_LEVEL_5;
}

export function log(set: Bridges, level: number, br: Bridge, message: string): void {
  set.broker.log.log(level, "Bridge " + br.config.name + ": " + message, LogCategory.GENERAL);
}

export function notifyLocal(set: Bridges, br: Bridge, value: Bytes): void {
  if (!br.config.notifications) return;
  publishFromBridge(set.broker, br.notificationTopic, utf8Encode(br.notificationTopic), value, 1, true, br.origin);
}

export function send(set: Bridges, br: Bridge, data: Bytes): void {
  br.lastSentAt = set.broker.clock.now();
  set.link.write(br.index, data);
}

/** An id no outstanding flow of this bridge uses (MQTT-2.3.1-2), SUBSCRIBE and UNSUBSCRIBE included. */
export function nextPacketId(br: Bridge): number {
  for (;;) {
    const id = packetIdNext(br);
    if (id !== br.subscribeId && id !== br.unsubscribeId) return id;
  }
}
