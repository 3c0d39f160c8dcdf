import { AddressInfo } from "node:net";
import { Broker, brokerShutdown, brokerTick, createBroker } from "../../src/broker/broker";
import { Clock, Log } from "../../src/platform";
import { Limits } from "../../src/limits";
import { TcpTransport } from "./tcpTransport";

/** brokerTick must run at least once a second (keep-alive, CONNECT timeout: SRV-IMPL-11/12). */
export const TICK_MS = 250;
/** How long shutdown waits for closed connections to flush before destroying them. */
export const SHUTDOWN_GRACE_MS = 1000;

export interface RunningServer {
  broker: Broker;
  transport: TcpTransport;
  address: AddressInfo;
  /** Stops accepting, closes every connection (flushing for up to SHUTDOWN_GRACE_MS), stops ticking. */
  stop(): Promise<void>;
}

/** Monotonic milliseconds: wall-clock jumps must not expire keep-alives. */
export const monotonicClock: Clock = { now: () => performance.now() };

/**
 * Creates a broker on a TCP listener and starts ticking it. Rejects if the port cannot be
 * bound (EADDRINUSE, EACCES, ...), with nothing left running.
 */
export async function startServer(limits: Limits, port: number, host: string, log: Log): Promise<RunningServer> {
  const transport = new TcpTransport(log);
  const broker = createBroker(limits, transport, monotonicClock, log);
  transport.attach(broker);
  const address = await transport.listen(port, host);
  const ticker = setInterval(() => brokerTick(broker), TICK_MS);
  ticker.unref();
  let stopping: Promise<void> | null = null;
  return {
    broker: broker,
    transport: transport,
    address: address,
    stop(): Promise<void> {
      if (stopping === null) {
        transport.stopAccepting();
        brokerShutdown(broker);
        clearInterval(ticker);
        stopping = transport.whenIdle(SHUTDOWN_GRACE_MS);
      }
      return stopping;
    },
  };
}
