import { Bytes } from "../bytes/bytes";
import { storeCommit } from "../broker/persist";
import { Broker } from "../broker/state";
import { BridgeConfig } from "./config";
import { BridgeLink, Bridges, ZERO, notifyLocal, newBridge } from "./state";
import { onLocalMessage } from "./flows";
import { bridgesTick, bridgesShutdown } from "./link";
export type { BridgeConfig } from "./config";
export { newBridgeConfig } from "./config";
export type { Bridge, BridgeLink, BridgeStats, Bridges } from "./state";
export { LINK_STATE_NAMES, LinkState, bridgeOrigin } from "./state";
export { bridgeLinkData, bridgeLinkDown, bridgeLinkUp, bridgesShutdown, bridgesTick } from "./link";

/**
 * Bridges: Midge as an MQTT client of upstream brokers (mosquitto's `connection` sections).
 * Each bridge is a client connection built on the project's codec and following the client
 * rules on its outbound connection (MQTT-7.0.0-1). The broker reaches the bridges through its
 * BrokerExtension slot only, so this module is in a bundle only when the target imports it.
 *
 * Local side: every message the broker accepts is offered here with its origin; a message is
 * forwarded over each bridge whose out/both lines match, except the bridge it came from (no
 * loops), at min(message QoS, line QoS), retain flag as published (bridge_outgoing_retain).
 * Upstream side: messages from upstream are published locally through the broker's own path
 * (retained store, routing) with the bridge as origin.
 * While the upstream is unreachable, QoS 1/2 messages wait in a bounded queue (the oldest is
 * dropped, with a log line, when it is full); QoS 0 messages are dropped. Unacknowledged
 * messages are sent again after a reconnect. Queues live in memory only.
 * Timing: brokerTick drives keep alive (PINGREQ), the CONNACK and PINGRESP timeouts and the
 * reconnect backoff (restart_timeout).
 *
 * Files: config.ts (BridgeConfig), state.ts (the Bridge records and shared helpers), link.ts
 * (connection life cycle), flows.ts (the messages, on the QoS engine of src/qos/flows.ts);
 * this file installs the bridges on a broker and is the API the targets use.
 */

/**
 * Installs the bridges on a broker (as its extension) and publishes each notification topic's
 * initial "0". The first connection attempts start at the next brokerTick.
 */
export function bridgesCreate(b: Broker, link: BridgeLink, configs: BridgeConfig[], count: number): Bridges {
  const set: Bridges = { broker: b, link: link, list: [], count: count };
  for (let i = 0; i < count; i++) set.list.push(newBridge(configs[i], i, b.limits.maxPacketSize));
  b.extension = {
    message: (topic: string, topicBytes: Bytes, payload: Bytes, qos: number, retain: boolean, origin: number) => onLocalMessage(set, topic, topicBytes, payload, qos, retain, origin),
    tick: (now: number) => bridgesTick(set, now),
    shutdown: () => bridgesShutdown(set),
  };
  for (let i = 0; i < count; i++) notifyLocal(set, set.list[i], ZERO);
  storeCommit(b);
  return set;
}

/** State of bridge i, for logs and tests. */
export function bridgeState(set: Bridges, index: number): number {
  return set.list[index].state;
}

/** Messages waiting to go upstream (queued plus unacknowledged) on bridge i. */
export function bridgePending(set: Bridges, index: number): number {
  const br = set.list[index];
  return br.queueCount + br.flightCount;
}
