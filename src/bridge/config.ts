import { BridgeTopic } from "./topicMap";

/** Bridge configuration: one record per `connection` section, filled in by a target (targets/node/bridge/bridgeConfig.ts). */

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
  /** 4 (MQTT 3.1.1), 3 (MQTT 3.1) or 5 (MQTT 5.0, builds with MIDGE_FEATURES.mqtt5 only). */
  protocolLevel: number;
  /**
   * MQTT 5.0: the Session Expiry Interval sent in CONNECT (bridge_session_expiry_interval,
   * seconds); -1 = by cleansession: none with cleansession true, 0xFFFFFFFF (never expires, as
   * a 3.1.1 CleanSession 0 session) with cleansession false.
   */
  sessionExpiry: number;
  /**
   * MQTT 5.0: the Receive Maximum sent in CONNECT (bridge_receive_maximum), at most the
   * broker's maxInboundQos2; 0 = maxInboundQos2.
   */
  receiveMaximum: number;
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
    sessionExpiry: -1,
    receiveMaximum: 0,
    maxQueued: 1000,
    maxInflight: 20,
    outgoingRetain: true,
    attemptUnsubscribe: true,
    topics: [],
    topicCount: 0,
  };
}
