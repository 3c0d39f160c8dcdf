/**
 * Capacities of every table and every limit the broker enforces. A board profile
 * (boards/*.json, key "limits") overrides any of them; DEFAULT_LIMITS is the host profile.
 */
export interface Limits {
  /** Open network connections, including those that have not sent CONNECT yet. */
  maxConnections: number;
  /** Sessions, online and offline (CleanSession = 0 sessions outlive their connection). */
  maxSessions: number;
  /** Subscriptions of all sessions together. */
  maxSubscriptions: number;
  maxSubscriptionsPerClient: number;
  /** Outbound QoS 1/2 messages awaiting acknowledgement, per client (max_inflight_messages). */
  maxInflight: number;
  /** Outbound QoS 1/2 messages waiting behind the in-flight window or while offline, per client (max_queued_messages). */
  maxQueued: number;
  /** Inbound QoS 2 packet ids awaiting PUBREL, per client. */
  maxInboundQos2: number;
  maxRetained: number;
  /** Topic plus payload bytes of all retained messages together. */
  maxRetainedBytes: number;
  /** Whole packet, fixed header included; larger packets close the connection before buffering. */
  maxPacketSize: number;
  /** Largest PUBLISH payload accepted; larger ones are acknowledged and dropped. 0 = no limit (message_size_limit). */
  messageSizeLimit: number;
  maxClientIdLength: number;
  /** In UTF-8 bytes, for topic names and filters. */
  maxTopicLength: number;
  /** A connection that has not completed CONNECT by then is closed (SRV-IMPL-12). */
  connectTimeoutMs: number;
  /** Unsent bytes above which QoS 0 messages to a connection are dropped (slow consumer). */
  maxPendingBytes: number;
  /** retain_available: when false, a PUBLISH with RETAIN=1 closes the connection. */
  retainAvailable: boolean;
  /**
   * max_keepalive, in seconds: a 5.0 client asking for more (or for 0) is given this as Server
   * Keep Alive; a 3.1.1 client asking for more is refused, as in mosquitto. 65535 = any.
   */
  maxKeepAlive: number;
  /** max_topic_alias: Topic Aliases a 5.0 client may set per connection (Topic Alias Maximum); 0 = none. */
  maxTopicAlias: number;
  /**
   * persistent_client_expiration, in seconds: an offline session that would otherwise never
   * expire (3.1.1 CleanSession 0, 5.0 Session Expiry Interval 0xFFFFFFFF) ends after this long
   * offline; 0 = never. Served by mqtt5 builds (their session timers).
   */
  persistentClientExpiration: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxConnections: 10000,
  maxSessions: 10000,
  maxSubscriptions: 100000,
  maxSubscriptionsPerClient: 1000,
  maxInflight: 20,
  maxQueued: 1000,
  maxInboundQos2: 100,
  maxRetained: 100000,
  maxRetainedBytes: 64 * 1024 * 1024,
  maxPacketSize: 1024 * 1024,
  messageSizeLimit: 0,
  maxClientIdLength: 65535,
  maxTopicLength: 65535,
  connectTimeoutMs: 10000,
  maxPendingBytes: 8 * 1024 * 1024,
  retainAvailable: true,
  maxKeepAlive: 65535,
  maxTopicAlias: 10,
  persistentClientExpiration: 0,
};

/** Copies limits, taking each field from overrides where it is set. */
export function mergeLimits(base: Limits, overrides: Partial<Limits>): Limits {
  const out: Limits = {
    maxConnections: base.maxConnections,
    maxSessions: base.maxSessions,
    maxSubscriptions: base.maxSubscriptions,
    maxSubscriptionsPerClient: base.maxSubscriptionsPerClient,
    maxInflight: base.maxInflight,
    maxQueued: base.maxQueued,
    maxInboundQos2: base.maxInboundQos2,
    maxRetained: base.maxRetained,
    maxRetainedBytes: base.maxRetainedBytes,
    maxPacketSize: base.maxPacketSize,
    messageSizeLimit: base.messageSizeLimit,
    maxClientIdLength: base.maxClientIdLength,
    maxTopicLength: base.maxTopicLength,
    connectTimeoutMs: base.connectTimeoutMs,
    maxPendingBytes: base.maxPendingBytes,
    retainAvailable: base.retainAvailable,
    maxKeepAlive: base.maxKeepAlive,
    maxTopicAlias: base.maxTopicAlias,
    persistentClientExpiration: base.persistentClientExpiration,
  };
  if (overrides.maxConnections !== undefined) out.maxConnections = overrides.maxConnections;
  if (overrides.maxSessions !== undefined) out.maxSessions = overrides.maxSessions;
  if (overrides.maxSubscriptions !== undefined) out.maxSubscriptions = overrides.maxSubscriptions;
  if (overrides.maxSubscriptionsPerClient !== undefined) out.maxSubscriptionsPerClient = overrides.maxSubscriptionsPerClient;
  if (overrides.maxInflight !== undefined) out.maxInflight = overrides.maxInflight;
  if (overrides.maxQueued !== undefined) out.maxQueued = overrides.maxQueued;
  if (overrides.maxInboundQos2 !== undefined) out.maxInboundQos2 = overrides.maxInboundQos2;
  if (overrides.maxRetained !== undefined) out.maxRetained = overrides.maxRetained;
  if (overrides.maxRetainedBytes !== undefined) out.maxRetainedBytes = overrides.maxRetainedBytes;
  if (overrides.maxPacketSize !== undefined) out.maxPacketSize = overrides.maxPacketSize;
  if (overrides.messageSizeLimit !== undefined) out.messageSizeLimit = overrides.messageSizeLimit;
  if (overrides.maxClientIdLength !== undefined) out.maxClientIdLength = overrides.maxClientIdLength;
  if (overrides.maxTopicLength !== undefined) out.maxTopicLength = overrides.maxTopicLength;
  if (overrides.connectTimeoutMs !== undefined) out.connectTimeoutMs = overrides.connectTimeoutMs;
  if (overrides.maxPendingBytes !== undefined) out.maxPendingBytes = overrides.maxPendingBytes;
  if (overrides.retainAvailable !== undefined) out.retainAvailable = overrides.retainAvailable;
  if (overrides.maxKeepAlive !== undefined) out.maxKeepAlive = overrides.maxKeepAlive;
  if (overrides.maxTopicAlias !== undefined) out.maxTopicAlias = overrides.maxTopicAlias;
  if (overrides.persistentClientExpiration !== undefined) out.persistentClientExpiration = overrides.persistentClientExpiration;
  return out;
}
