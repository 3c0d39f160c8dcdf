import { EMPTY_BYTES } from "../bytes/bytes";
import { Store } from "../platform";
import { Broker, Session } from "./state";

/**
 * The store to report a session's change to, or undefined when there is none or the session
 * is clean (nothing of it outlives the connection). A report is a change: it moves b.changes,
 * so the end of the broker call commits it.
 */
export function storeFor(b: Broker, s: Session): Store | undefined {
  if (!MIDGE_FEATURES.persistence || b.store === undefined || s.cleanSession) return undefined;
  b.changes++;
  return b.store;
}

/** The store for broker-wide state (retained messages); moves b.changes like storeFor. */
export function storeOf(b: Broker): Store | undefined {
  if (!MIDGE_FEATURES.persistence) return undefined;
  if (b.store !== undefined) b.changes++;
  return b.store;
}

/** Ends a broker call: commits when b.changes moved since the last commit (see Broker.changes). */
export function storeCommit(b: Broker): void {
  if (MIDGE_FEATURES.persistence && b.store !== undefined && b.changes !== b.storeCommitted) {
    b.storeCommitted = b.changes;
    b.store.commit();
  }
}

/** MQTT 5.0: reports a session's Session Expiry Interval and countdown (Store.sessionExpiry). */
export function storeSessionExpiry(b: Broker, s: Session): void {
  const st = storeFor(b, s);
  if (st !== undefined) st.sessionExpiry(s.clientId, s.expiry, s.expiresAt);
}

/**
 * MQTT 5.0: reports the will waiting in a session, or that none waits now (Store.sessionWill).
 * A waiting will is kept across a restart, not dropped and not published at start-up: the
 * client may still come back within its Will Delay Interval (MQTT-3.1.3-9), and the spec lets
 * a server defer a will over its own failure (§3.1.3.2.2, as moquette reloads them). After the
 * restart it goes out when what is left of its delay runs out, or at the first tick if that
 * passed while the broker was down. The will of a connection still open when the broker died
 * is not kept (it lives on the connection, not in the session): it is not published.
 */
export function storeSessionWill(b: Broker, s: Session): void {
  const st = storeFor(b, s);
  if (st === undefined) return;
  const m = s.willMessage;
  st.sessionWill(s.clientId, s.willAt, m.topic, m.payload, m.qos, s.willRetain, m.props === undefined ? EMPTY_BYTES : m.props, m.expiresAt === undefined ? -1 : m.expiresAt);
}
