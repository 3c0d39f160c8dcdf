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

/** MQTT 5.0: reports the will waiting in a session, or that none waits now (Store.sessionWill). */
export function storeSessionWill(b: Broker, s: Session): void {
  const st = storeFor(b, s);
  if (st === undefined) return;
  const m = s.willMessage;
  st.sessionWill(s.clientId, s.willAt, m.topic, m.payload, m.qos, s.willRetain, m.props === undefined ? EMPTY_BYTES : m.props, m.expiresAt === undefined ? -1 : m.expiresAt);
}
