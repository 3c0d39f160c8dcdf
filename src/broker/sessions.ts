import { NO_MESSAGE, flowsClear } from "../qos/flows";
import { storeFor } from "./persist";
import { Broker, SESSION_NEVER_EXPIRES, newSession } from "./state";
import { shareRehome } from "./shared";
import { subscriptionRemoveAll } from "./subscriptions";

/** Session slot of a client id, or -1. */
export function sessionFind(b: Broker, clientId: string): number {
  const slot = b.sessionIndex["c" + clientId];
  return slot === undefined ? -1 : slot;
}

/** Takes a free session slot for clientId, or -1 when the table is full. */
export function sessionCreate(b: Broker, clientId: string, cleanSession: boolean): number {
  let slot = -1;
  for (let i = 0; i < b.sessions.length; i++) {
    if (b.sessions[i].clientId === "") {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    if (b.sessions.length >= b.limits.maxSessions) return -1;
    slot = b.sessions.length;
    b.sessions.push(newSession()); // slots are made as first needed (see newBrokerState)
  }
  const s = b.sessions[slot];
  s.clientId = clientId; // never "": CONNECT gives an empty one a generated id, a store's is checked
  s.cleanSession = cleanSession;
  s.conn = -1;
  s.nextPacketId = 1;
  s.nextSeq = 1;
  s.matchQos = -1;
  if (MIDGE_FEATURES.mqtt5) {
    // A session read back from a store, or made by 3.1.1: no expiry unless clean (CONNECT sets it).
    s.expiry = cleanSession ? 0 : SESSION_NEVER_EXPIRES;
    s.expiresAt = -1;
    s.willAt = -1;
    s.resendLeft = 0;
  }
  const st = storeFor(b, s);
  if (st !== undefined) st.sessionSet(clientId);
  b.sessionIndex["c" + clientId] = slot;
  b.stats.sessions++;
  b.changes++;
  return slot;
}

/**
 * Ends a session and everything in it (MQTT-3.1.2-6); retained messages stay (MQTT-3.1.2-7).
 * Messages it holds through shared subscriptions may move to another member first (shared.ts).
 */
export function sessionDiscard(b: Broker, slot: number): void {
  const s = b.sessions[slot];
  if (s.clientId === "") return;
  const st = storeFor(b, s);
  if (st !== undefined) st.sessionDelete(s.clientId);
  subscriptionRemoveAll(b, slot);
  if (MIDGE_FEATURES.mqtt5) shareRehome(b, s); // its shared deliveries to another member (§4.8.2)
  flowsClear(s); // flights, queue and inbound QoS 2 ids
  delete b.sessionIndex["c" + s.clientId];
  s.clientId = ""; // the slot is free
  s.conn = -1;
  if (MIDGE_FEATURES.mqtt5) {
    s.willAt = -1;
    s.willMessage = NO_MESSAGE;
  }
  b.stats.sessions--;
  b.changes++;
}
