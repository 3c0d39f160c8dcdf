import { utf8Encode } from "../bytes/bytes";
import { publishFromBroker } from "./publish";
import { Broker } from "./state";

/**
 * Broker statistics as retained $SYS messages, with mosquitto's topic names where one exists
 * (SRV-IMPL-18) and Midge's table usage under $SYS/broker/tables/. Clients cannot publish
 * to $SYS (ack and drop), so these always come from the broker.
 */

function put(b: Broker, topic: string, value: string): void {
  publishFromBroker(b, topic, utf8Encode(value), 0, true);
}

function countPersistent(b: Broker): number {
  let n = 0;
  for (let i = 0; i < b.sessions.length; i++) {
    const s = b.sessions[i];
    if (s.clientId !== "" && s.conn < 0) n++;
  }
  return n;
}

function tableLine(b: Broker, name: string, used: number, size: number): void {
  put(b, "$SYS/broker/tables/" + name + "/used", "" + used);
  put(b, "$SYS/broker/tables/" + name + "/size", "" + size);
}

/** Publishes every $SYS topic once; call every sys_interval seconds. */
export function sysPublish(b: Broker, version: string, uptimeSeconds: number): void {
  if (!MIDGE_FEATURES.sys) return; // a build without $SYS: subscribers to $SYS/# get nothing
  // Read every figure before publishing: the $SYS messages themselves change some of them.
  const st = b.stats;
  const disconnected = countPersistent(b);
  const retained = st.retained;
  const retainedBytes = st.retainedBytes;
  const bytesSent = st.bytesSent;
  put(b, "$SYS/broker/version", "midge version " + version);
  put(b, "$SYS/broker/uptime", Math.floor(uptimeSeconds) + " seconds");
  put(b, "$SYS/broker/clients/connected", "" + (st.sessions - disconnected));
  put(b, "$SYS/broker/clients/disconnected", "" + disconnected);
  put(b, "$SYS/broker/clients/total", "" + st.sessions);
  put(b, "$SYS/broker/clients/maximum", "" + b.limits.maxConnections);
  put(b, "$SYS/broker/connections/total", "" + st.connectionsTotal);
  put(b, "$SYS/broker/messages/received", "" + st.messagesReceived);
  put(b, "$SYS/broker/messages/sent", "" + st.messagesSent);
  put(b, "$SYS/broker/messages/dropped", "" + st.messagesDropped);
  put(b, "$SYS/broker/bytes/received", "" + st.bytesReceived);
  put(b, "$SYS/broker/bytes/sent", "" + bytesSent);
  put(b, "$SYS/broker/retained messages/count", "" + retained);
  put(b, "$SYS/broker/subscriptions/count", "" + st.subscriptions);
  tableLine(b, "connections", st.connections, b.limits.maxConnections);
  tableLine(b, "sessions", st.sessions, b.limits.maxSessions);
  tableLine(b, "subscriptions", st.subscriptions, b.limits.maxSubscriptions);
  tableLine(b, "retained", retained, b.limits.maxRetained);
  put(b, "$SYS/broker/tables/retained/bytes", "" + retainedBytes);
}
