import { Socket, connect } from "node:net";
import { BridgeLink, Bridges, bridgeLinkData, bridgeLinkDown, bridgeLinkUp, bridgesCreate } from "../../../src/bridge/bridge";
import { Broker } from "../../../src/broker/broker";
import { Bytes } from "../../../src/bytes/bytes";
import { Log, LogLevel } from "../../../src/platform";
import { BridgeSection } from "./bridgeConfig";

/** After close(), how long the upstream gets to read what is left before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

/**
 * The bridges' outbound connections over TCP. Writes made during one event-loop turn are corked
 * and sent when the turn ends, so they leave after the broker call that made them has returned
 * (and its store commit is done), as with StreamTransport.
 */
export class NetBridgeLink implements BridgeLink {
  private set: Bridges | null = null;
  private readonly log: Log;
  /** Indexed by bridge; null = no connection (or closed by the core: its events are ignored). */
  private readonly sockets: (Socket | null)[] = [];

  constructor(log: Log) {
    this.log = log;
  }

  attach(set: Bridges): void {
    this.set = set;
  }

  open(bridge: number, host: string, port: number): void {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    while (this.sockets.length <= bridge) this.sockets.push(null);
    this.sockets[bridge] = socket;
    const current = (): boolean => this.sockets[bridge] === socket && this.set !== null;
    socket.on("connect", () => {
      if (current()) this.guard(bridge, socket, () => bridgeLinkUp(this.set!, bridge));
    });
    socket.on("data", (chunk: Buffer) => {
      if (current()) this.guard(bridge, socket, () => bridgeLinkData(this.set!, bridge, chunk as unknown as Bytes));
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (current()) this.log.log(LogLevel.DEBUG, `Bridge connection to ${host}:${port}: ${err.code ?? err.message}`);
    });
    socket.on("close", () => {
      if (!current()) return;
      this.sockets[bridge] = null;
      bridgeLinkDown(this.set!, bridge);
    });
  }

  write(bridge: number, data: Bytes): void {
    const socket = this.sockets[bridge];
    if (socket === null || socket === undefined || socket.destroyed) return;
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(data as unknown as Uint8Array);
  }

  close(bridge: number): void {
    const socket = this.sockets[bridge];
    if (socket === null || socket === undefined) return;
    this.sockets[bridge] = null;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** A bug in the bridge code costs the connection (it reconnects), not the process. */
  private guard(bridge: number, socket: Socket, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.log.log(LogLevel.ERROR, `Internal error in bridge ${bridge}, dropping its connection: ${(err as Error).stack ?? String(err)}`);
      socket.destroy();
    }
  }
}

/**
 * Creates the configured bridges on a broker (call before clients connect, after persistence
 * is restored). They connect from the first brokerTick on and stop with brokerShutdown.
 * Returns null when there are none.
 */
export function startBridges(broker: Broker, sections: BridgeSection[], log: Log): Bridges | null {
  if (sections.length === 0) return null;
  const configs = sections.map((s) => {
    const c = s.config;
    c.maxQueued = s.maxQueued >= 0 ? s.maxQueued : broker.limits.maxQueued;
    c.maxInflight = broker.limits.maxInflight;
    return c;
  });
  const link = new NetBridgeLink(log);
  const set = bridgesCreate(broker, link, configs, configs.length);
  link.attach(set);
  for (const c of configs) {
    log.log(LogLevel.INFO, `Bridge ${c.name}: ${c.host}:${c.port} as ${c.clientId}, ${c.topicCount} topic line(s), queue up to ${c.maxQueued} messages.`);
  }
  return set;
}
