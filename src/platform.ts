import { Bytes } from "./bytes/bytes";

/**
 * The only ways the core reaches the world. Each target implements these; connections are
 * small integers (slots in the broker's connection table) handed out by brokerOpen.
 */
export interface Transport {
  /**
   * Queues bytes for sending on a connection. The Bytes value is never modified afterwards,
   * so the target may keep it without copying.
   */
  write(conn: number, data: Bytes): void;
  /**
   * Bytes written but not yet sent on this connection (drives the slow-consumer policy and the
   * pace of retained replay). When it goes back to 0, call brokerDrained, if the target can tell.
   */
  pending(conn: number): number;
  /**
   * Flushes what was written, then closes. After this call the target must not report
   * anything more for this connection: the slot may be handed out again at once.
   */
  close(conn: number): void;
}

export interface Clock {
  /** Milliseconds from any fixed origin; only differences are used. */
  now(): number;
}

export const enum LogLevel {
  ERROR = 0,
  WARNING = 1,
  NOTICE = 2,
  INFO = 3,
  DEBUG = 4,
}

export interface Log {
  /** category: a LogCategory (src/log/log.ts); connection_messages filters on it. */
  log(level: number, message: string, category?: number): void;
}

/** What a client wants to do with a topic, for Policy.allow. */
export const enum Access {
  /** Receive messages published to a topic name. */
  READ = 1,
  /** Publish to a topic name (also the will topic, checked at CONNECT). */
  WRITE = 2,
  /** Subscribe to a topic filter. */
  SUBSCRIBE = 4,
}

/**
 * Authentication and authorisation, injected by a target (password and ACL files on Node).
 * Without a policy the broker lets everyone do everything.
 */
export interface Policy {
  /** CONNACK code for these credentials: 0 accept, 4 bad user name or password, 5 not authorised. */
  authenticate(clientId: string, hasUsername: boolean, username: string, hasPassword: boolean, password: Bytes): number;
  allow(clientId: string, hasUsername: boolean, username: string, topic: string, access: number): boolean;
}

/**
 * Durable state, written as it changes. Times (expiresAt, willAt) are the broker's Clock
 * milliseconds, whose origin changes at every start: a store that outlives the process keeps
 * them as wall-clock deadlines (or as time left when it was written) and turns them back into
 * the new process's clock when it restores. Only CleanSession = 0 sessions are reported (clean
 * sessions end with their connection); retained messages always are. Entries of a session's
 * outbound messages are keyed by a per-session sequence number that grows with each message.
 * Calls come synchronously from inside a broker call; commit() ends each broker call that
 * changed anything, before any acknowledgement it wrote can reach the network (transports send
 * after the broker call returns), so a store that makes commit() durable never loses a
 * message the broker acknowledged.
 */
export interface Store {
  /**
   * props, expiresAt: MQTT 5.0 builds only (the message's Message.props and Message.expiresAt;
   * undefined from builds without MQTT 5.0, treat as none).
   */
  retainedSet(topic: string, payload: Bytes, qos: number, props?: Bytes, expiresAt?: number): void;
  retainedDelete(topic: string): void;
  sessionSet(clientId: string): void;
  /** The session and everything stored under it. */
  sessionDelete(clientId: string): void;
  /** flags, subId: the MQTT 5.0 options (Broker.subFlags, Broker.subIds); mqtt5 builds only. */
  subscriptionSet(clientId: string, filter: string, qos: number, flags?: number, subId?: number): void;
  subscriptionDelete(clientId: string, filter: string): void;
  /**
   * A QoS 1/2 message for the session, queued (not yet sent). props, expiresAt, subIds: its
   * MQTT 5.0 fields (Message.props, Message.expiresAt, Message.subIds), mqtt5 builds only.
   */
  messageAdd(clientId: string, seq: number, topic: string, payload: Bytes, qos: number, retain: boolean, props?: Bytes, expiresAt?: number, subIds?: number[]): void;
  /** The message was sent with this packet id and awaits PUBACK or PUBREC. */
  messageSent(clientId: string, seq: number, packetId: number): void;
  /** PUBREC arrived and PUBREL was sent: only the packet id is kept from now on. */
  messageReleased(clientId: string, seq: number): void;
  messageDelete(clientId: string, seq: number): void;
  /** An inbound QoS 2 packet id that got PUBREC and awaits PUBREL. */
  inboundAdd(clientId: string, packetId: number): void;
  inboundDelete(clientId: string, packetId: number): void;
  // MQTT 5.0 only (called in mqtt5 builds only):
  /**
   * The session's Session Expiry Interval (s; SESSION_NEVER_EXPIRES = never) and when it
   * expires (clock ms, -1 = not counting down: connected, or never). Sessions a build without
   * MQTT 5.0 stored have no expiry (they never expire, as 3.1.1 sessions).
   */
  sessionExpiry(clientId: string, expiry: number, expiresAt: number): void;
  /**
   * A will waiting in the offline session for its Will Delay Interval (MQTT-3.1.3-9): published
   * at willAt (clock ms) unless the client comes back; willAt -1 = none any more (published,
   * cancelled or the session ended). expiresAt: the will message's own expiry (clock ms, -1 none).
   */
  sessionWill(clientId: string, willAt: number, topic: string, payload: Bytes, qos: number, retain: boolean, props: Bytes, expiresAt: number): void;
  commit(): void;
}

/**
 * An index over the subscription table, for routing that does not scan every subscription.
 * Slots are the subscription table's; the index holds only slot numbers and filters.
 * Without one the broker scans the table (smallest code, right for small boards).
 */
export interface SubscriptionIndex {
  add(slot: number, filter: string): void;
  remove(slot: number, filter: string): void;
  /** Writes the slots whose filter matches topic into out; returns how many. */
  match(topic: string, out: number[]): number;
  /** The slots whose filter is exactly filter, into out; returns how many. */
  exact(filter: string, out: number[]): number;
}
