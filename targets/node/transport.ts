import { Duplex } from "node:stream";
import { Broker, brokerClosed, brokerData, brokerOpen } from "../../src/broker/broker";
import { Bytes } from "../../src/bytes/bytes";
import { Log, LogLevel, Transport } from "../../src/platform";

/** After close(conn), how long the peer gets to read what is left and close before we destroy. */
export const CLOSE_GRACE_MS = 2000;

/**
 * The Transport over byte streams: one Duplex per broker connection slot, whatever carries it
 * (net.Socket for TCP, tls.TLSSocket for TLS, WebSocketStream for WebSocket and secure
 * WebSocket). Every listener hands its connections to the one instance, so all listeners share
 * the broker's connection table. Writes made during one event-loop turn are corked and sent
 * together (one writev per socket, one message per WebSocket) when the turn ends, so a PUBACK
 * plus several forwarded PUBLISHes cost one system call, not one each.
 */
export class StreamTransport implements Transport {
  private broker: Broker | null = null;
  private readonly log: Log;
  /** Indexed by connection slot; null = free (or handed back to the broker). */
  private readonly streams: (Duplex | null)[] = [];
  /** Streams closed by the broker that are still flushing, with their destroy timers. */
  private readonly closing = new Map<Duplex, NodeJS.Timeout>();
  private readonly corked: Duplex[] = [];
  private flushScheduled = false;
  private idleWaiter: (() => void) | null = null;

  constructor(log: Log) {
    this.log = log;
  }

  /** Connects the broker; the broker needs this transport to be created, so this comes second. */
  attach(broker: Broker): void {
    this.broker = broker;
  }

  /**
   * Hands a connected stream to the broker. `peer` names it in the log ("address:port");
   * `identity` is "" or the user name the listener vouches for (use_identity_as_username).
   * Returns the connection slot, or -1 when the broker refused it (max_connections); the stream
   * is destroyed then.
   */
  adopt(stream: Duplex, peer: string, identity: string): number {
    const broker = this.broker;
    if (broker === null || stream.destroyed) {
      stream.destroy();
      return -1;
    }
    const conn = brokerOpen(broker, peer, identity);
    if (conn < 0) {
      stream.destroy();
      return -1;
    }
    while (this.streams.length <= conn) this.streams.push(null);
    this.streams[conn] = stream;

    // Events only reach the broker while the slot still holds this stream: after close(conn),
    // or once reported, the slot may already belong to a newer connection.
    const gone = (): void => {
      if (this.streams[conn] !== stream) return;
      this.streams[conn] = null;
      brokerClosed(broker, conn);
    };
    stream.on("data", (chunk: Buffer) => {
      if (this.streams[conn] !== stream) return;
      try {
        brokerData(broker, conn, chunk as unknown as Bytes);
      } catch (err) {
        // A broker bug must cost one connection, not the process (SRV-OPS-12).
        this.log.log(LogLevel.ERROR, `Internal error while handling data from connection ${conn}, closing it: ${(err as Error).stack ?? String(err)}`);
        stream.destroy();
        gone();
      }
    });
    stream.on("error", (err: NodeJS.ErrnoException) => {
      this.log.log(LogLevel.DEBUG, `Socket error on connection ${conn} (${peer}): ${err.code ?? err.message}`);
      gone();
    });
    stream.on("close", () => {
      gone();
      const timer = this.closing.get(stream);
      if (timer !== undefined) {
        clearTimeout(timer);
        this.closing.delete(stream);
      }
      if (this.idleWaiter !== null && this.openCount() === 0) this.idleWaiter();
    });
    return conn;
  }

  write(conn: number, data: Bytes): void {
    const stream = this.streams[conn];
    if (stream === null || stream === undefined || stream.destroyed) return;
    // Only this class corks, so writableCorked === 0 means "first write of this turn".
    if (stream.writableCorked === 0) {
      stream.cork();
      this.corked.push(stream);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        process.nextTick(() => this.flush());
      }
    }
    stream.write(data as unknown as Uint8Array);
  }

  pending(conn: number): number {
    const stream = this.streams[conn];
    return stream === null || stream === undefined ? 0 : stream.writableLength;
  }

  close(conn: number): void {
    const stream = this.streams[conn];
    if (stream === null || stream === undefined) return;
    this.streams[conn] = null;
    // end() uncorks, sends what is queued, then FIN (TLS: close_notify; WebSocket: a close
    // frame); the peer's close completes it.
    stream.end();
    const timer = setTimeout(() => stream.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    this.closing.set(stream, timer);
  }

  /** Streams open or still closing. */
  openCount(): number {
    let n = this.closing.size;
    for (let i = 0; i < this.streams.length; i++) if (this.streams[i] !== null) n++;
    return n;
  }

  /**
   * Resolves once every stream is closed, destroying the stragglers after timeoutMs. Meant for
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
        for (const stream of this.closing.keys()) stream.destroy();
        for (let i = 0; i < this.streams.length; i++) this.streams[i]?.destroy();
        done();
      }, timeoutMs);
      this.idleWaiter = done;
      if (this.openCount() === 0) done();
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    for (let i = 0; i < this.corked.length; i++) {
      const stream = this.corked[i];
      if (!stream.destroyed) stream.uncork();
    }
    this.corked.length = 0;
  }
}
