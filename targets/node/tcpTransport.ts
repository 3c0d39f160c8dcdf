import { AddressInfo, Server, Socket, createServer } from "node:net";
import { Broker, brokerClosed, brokerData, brokerOpen } from "../../src/broker/broker";
import { Bytes } from "../../src/bytes/bytes";
import { Log, LogLevel, Transport } from "../../src/platform";

/** After close(conn), how long the peer gets to read what is left and close before we destroy. */
export const CLOSE_GRACE_MS = 2000;

/**
 * The Transport over TCP: one net.Socket per broker connection slot. Writes made during one
 * event-loop turn are corked and sent together (one writev per socket) when the turn ends,
 * so a PUBACK plus several forwarded PUBLISHes cost one system call, not one each.
 */
export class TcpTransport implements Transport {
  readonly server: Server;
  private broker: Broker | null = null;
  private readonly log: Log;
  /** Indexed by connection slot; null = free (or handed back to the broker). */
  private readonly sockets: (Socket | null)[] = [];
  /** Sockets closed by the broker that are still flushing, with their destroy timers. */
  private readonly closing = new Map<Socket, NodeJS.Timeout>();
  private readonly corked: Socket[] = [];
  private flushScheduled = false;
  private idleWaiter: (() => void) | null = null;

  constructor(log: Log) {
    this.log = log;
    this.server = createServer((socket) => this.accept(socket));
    this.server.on("error", (err) => {
      // Errors after listen() succeeded (EMFILE on accept, ...): keep serving.
      if (this.server.listening) this.log.log(LogLevel.ERROR, `Error: listener: ${err.message}`);
    });
  }

  /** Connects the broker; the broker needs this transport to be created, so this comes second. */
  attach(broker: Broker): void {
    this.broker = broker;
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once("error", onError);
      this.server.listen(port, host, () => {
        this.server.removeListener("error", onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting new connections; open ones are untouched. */
  stopAccepting(): void {
    if (this.server.listening) this.server.close();
  }

  write(conn: number, data: Bytes): void {
    const socket = this.sockets[conn];
    if (socket === null || socket === undefined || socket.destroyed) return;
    // Only this class corks, so writableCorked === 0 means "first write of this turn".
    if (socket.writableCorked === 0) {
      socket.cork();
      this.corked.push(socket);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        process.nextTick(() => this.flush());
      }
    }
    socket.write(data as unknown as Uint8Array);
  }

  pending(conn: number): number {
    const socket = this.sockets[conn];
    return socket === null || socket === undefined ? 0 : socket.writableLength;
  }

  close(conn: number): void {
    const socket = this.sockets[conn];
    if (socket === null || socket === undefined) return;
    this.sockets[conn] = null;
    // end() uncorks, sends what is queued, then FIN; the peer's close completes it.
    socket.end();
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    this.closing.set(socket, timer);
  }

  /** Sockets open or still closing. */
  openCount(): number {
    let n = this.closing.size;
    for (let i = 0; i < this.sockets.length; i++) if (this.sockets[i] !== null) n++;
    return n;
  }

  /**
   * Resolves once every socket is closed, destroying the stragglers after timeoutMs. Meant for
   * shutdown, after brokerShutdown has closed every connection.
   */
  whenIdle(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiter = null;
        resolve();
      };
      const timer = setTimeout(() => {
        for (const socket of this.closing.keys()) socket.destroy();
        for (let i = 0; i < this.sockets.length; i++) this.sockets[i]?.destroy();
        done();
      }, timeoutMs);
      this.idleWaiter = done;
      if (this.openCount() === 0) done();
    });
  }

  private accept(socket: Socket): void {
    const broker = this.broker;
    if (broker === null || socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = brokerOpen(broker, socket.remoteAddress + ":" + socket.remotePort);
    if (conn < 0) {
      socket.destroy();
      return;
    }
    while (this.sockets.length <= conn) this.sockets.push(null);
    this.sockets[conn] = socket;

    // Events only reach the broker while the slot still holds this socket: after close(conn),
    // or once reported, the slot may already belong to a newer connection.
    const gone = (): void => {
      if (this.sockets[conn] !== socket) return;
      this.sockets[conn] = null;
      brokerClosed(broker, conn);
    };
    socket.on("data", (chunk: Buffer) => {
      if (this.sockets[conn] !== socket) return;
      try {
        brokerData(broker, conn, chunk as unknown as Bytes);
      } catch (err) {
        // A broker bug must cost one connection, not the process (SRV-OPS-12).
        this.log.log(LogLevel.ERROR, `Internal error while handling data from connection ${conn}, closing it: ${(err as Error).stack ?? String(err)}`);
        socket.destroy();
        gone();
      }
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.log.log(LogLevel.DEBUG, `Socket error on connection ${conn}: ${err.code ?? err.message}`);
      gone();
    });
    socket.on("close", () => {
      gone();
      const timer = this.closing.get(socket);
      if (timer !== undefined) {
        clearTimeout(timer);
        this.closing.delete(socket);
      }
      if (this.idleWaiter !== null && this.openCount() === 0) this.idleWaiter();
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    for (let i = 0; i < this.corked.length; i++) {
      const socket = this.corked[i];
      if (!socket.destroyed) socket.uncork();
    }
    this.corked.length = 0;
  }
}
