import { AddressInfo } from "node:net";
import { Broker, brokerSetPolicy, brokerSetSubscriptionIndex, brokerShutdown, brokerTick, createBroker } from "../../src/broker/broker";
import { createTopicTree } from "../../src/topics/topicTree";
import { Clock, Log, Policy } from "../../src/platform";
import { Limits } from "../../src/limits";
import { ListenerConfig } from "./config";
import { OpenListener, openListener } from "./listeners";
import { StreamTransport } from "./transport";

/** brokerTick must run at least once a second (keep-alive, CONNECT timeout: SRV-IMPL-11/12). */
export const TICK_MS = 250;
/** How long shutdown waits for closed connections to flush before destroying them. */
export const SHUTDOWN_GRACE_MS = 1000;

export interface RunningServer {
  broker: Broker;
  /** The one transport every listener hands its connections to. */
  transport: StreamTransport;
  /** The listeners, in configuration order. */
  listeners: OpenListener[];
  /** The first listener's bound address. */
  address: AddressInfo;
  /** Stops accepting, closes every connection (flushing for up to SHUTDOWN_GRACE_MS), stops ticking. */
  stop(): Promise<void>;
}

/** Monotonic milliseconds: wall-clock jumps must not expire keep-alives. */
export const monotonicClock: Clock = { now: () => performance.now() };

/**
 * Creates one broker, opens every listener (TCP, TLS, WebSocket, secure WebSocket) on it and
 * starts ticking. `policy` (authentication and ACLs) is installed before the first listener
 * opens. Rejects with a ListenError if a listener cannot be opened (EADDRINUSE, EACCES, ...),
 * with nothing left running.
 */
export async function startServer(limits: Limits, listeners: ListenerConfig[], log: Log, policy?: Policy, prepare?: (broker: Broker) => void): Promise<RunningServer> {
  const transport = new StreamTransport(log);
  const broker = createBroker(limits, transport, monotonicClock, log);
  // Hosts route through a topic tree: cost grows with topic depth, not with subscriptions.
  brokerSetSubscriptionIndex(broker, createTopicTree());
  if (policy !== undefined) brokerSetPolicy(broker, policy);
  // Restoring persisted state and the like, before any client can connect.
  if (prepare !== undefined) prepare(broker);
  transport.attach(broker);
  const open: OpenListener[] = [];
  try {
    for (const l of listeners) open.push(await openListener(l, transport, limits, log));
  } catch (e) {
    for (const l of open) l.close();
    throw e;
  }
  const ticker = setInterval(() => brokerTick(broker), TICK_MS);
  ticker.unref();
  let stopping: Promise<void> | null = null;
  return {
    broker: broker,
    transport: transport,
    listeners: open,
    address: open[0].address,
    stop(): Promise<void> {
      if (stopping === null) {
        for (const l of open) l.close();
        brokerShutdown(broker);
        clearInterval(ticker);
        stopping = transport.whenIdle(SHUTDOWN_GRACE_MS);
      }
      return stopping;
    },
  };
}
