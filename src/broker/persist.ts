import { Store } from "../platform";
import { Broker, Session } from "./state";

/**
 * The store to report a session's change to, or undefined when there is none or the session
 * is clean (nothing of it outlives the connection). Marks the broker as having a change to commit.
 */
export function storeFor(b: Broker, s: Session): Store | undefined {
  if (b.store === undefined || s.cleanSession) return undefined;
  b.storeDirty = true;
  return b.store;
}

/** The store for broker-wide state (retained messages), marking a change to commit. */
export function storeOf(b: Broker): Store | undefined {
  if (b.store !== undefined) b.storeDirty = true;
  return b.store;
}

/** Ends a broker call: commits what it changed. */
export function storeCommit(b: Broker): void {
  if (b.storeDirty && b.store !== undefined) {
    b.storeDirty = false;
    b.store.commit();
  }
}
