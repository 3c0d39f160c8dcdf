import { Duplex } from "node:stream";
import { Broker, brokerAwaitsDrain, brokerClosed, brokerData, brokerDrained, brokerOpen } from "../../src/broker/broker";
import { Bytes } from "../../src/bytes/bytes";
import { Log, LogLevel, Transport } from "../../src/platform";

/** After close(conn), how long the peer gets to read what is left and close before we destroy. */
export const CLOSE_GRACE_MS = 2000;

/**
 * The Transport over byte streams: one Duplex per broker connection slot, whatever carries it
 * (net.Socket for TCP, tls.TLSSocket for TLS, WebSocketStream for WebSocket and secure
 * WebSocket). Every listener hands its connections to the one instance, so all listeners share
 * the broker's connection table. Writes made during one event-loop turn are gathered per
 * connection and handed to the stream as one Buffer when the turn ends (one write request,
 * one system call, one WebSocket message), so a PUBACK plus several forwarded PUBLISHes cost
 * one of each, not one each. Gathering into one Buffer, rather than corking the stream, spares
 * the stream a write request per packet: measured, a third of the broker's CPU per fan-out
 * delivery.
 */
export class StreamTransport implements Transport {
  private broker: Broker | null = null;
  private readonly log: Log;
  /** Indexed by connection slot; null = free (or handed back to the broker). */
  private readonly streams: (Duplex | null)[] = [];
  /** Streams closed by the broker that are still flushing, with their destroy timers. */
  private readonly closing = new Map<Duplex, NodeJS.Timeout>();
  /** Indexed by connection slot: packets written this turn, and their total length. */
  private readonly outParts: Uint8Array[][] = [];
  private readonly outBytes: number[] = [];
  /** Slots with packets waiting for the end of the turn. */
  private readonly dirty: number[] = [];
  private flushScheduled = false;
  private idleWaiter: (() => void) | null = null;
  /** Indexed by connection slot: the peer's "address:port" (for the log). */
  private readonly peers: string[] = [];
  /** The slot each adopted stream was given (it keeps it until its 'close'). */
  private readonly slots = new Map<Duplex, number>();
  /** The stream listeners, shared by every connection (`this` is the emitting stream). */
  private readonly onData: (chunk: Buffer) => void;
  private readonly onError: (err: NodeJS.ErrnoException) => void;
  private readonly onClose: () => void;

  constructor(log: Log) {
    this.log = log;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.onData = function (this: Duplex, chunk: Buffer): void {
      self.data(this, chunk);
    };
    this.onError = function (this: Duplex, err: NodeJS.ErrnoException): void {
      const conn = self.slotOf(this);
      if (conn < 0) return;
      self.log.log(LogLevel.DEBUG, `Socket error on connection ${conn} (${self.peers[conn]}): ${err.code ?? err.message}`);
      self.gone(conn, this);
    };
    this.onClose = function (this: Duplex): void {
      const conn = self.slotOf(this);
      self.slots.delete(this);
      if (conn >= 0) self.gone(conn, this);
      const timer = self.closing.get(this);
      if (timer !== undefined) {
        clearTimeout(timer);
        self.closing.delete(this);
      }
      if (self.idleWaiter !== null && self.openCount() === 0) self.idleWaiter();
    };
  }

  /** The slot `stream` still holds, or -1 (closed by the broker, or already reported). */
  private slotOf(stream: Duplex): number {
    const conn = this.slots.get(stream);
    return conn !== undefined && this.streams[conn] === stream ? conn : -1;
  }

  private data(stream: Duplex, chunk: Buffer): void {
    const conn = this.slotOf(stream);
    if (conn < 0) return;
    const broker = this.broker as Broker;
    try {
      brokerData(broker, conn, chunk as unknown as Bytes);
    } catch (err) {
      // A broker bug must cost one connection, not the process (SRV-OPS-12).
      this.log.log(LogLevel.ERROR, `Internal error while handling data from connection ${conn}, closing it: ${(err as Error).stack ?? String(err)}`);
      stream.destroy();
      this.gone(conn, stream);
    }
  }

  /** The stream of `conn` is gone: tell the broker, once, if the slot is still its. */
  private gone(conn: number, stream: Duplex): void {
    if (this.streams[conn] !== stream) return;
    this.streams[conn] = null;
    this.peers[conn] = "";
    this.drop(conn);
    brokerClosed(this.broker as Broker, conn);
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
    while (this.streams.length <= conn) {
      this.streams.push(null);
      this.peers.push("");
      this.outParts.push([]);
      this.outBytes.push(0);
    }
    this.streams[conn] = stream;
    this.peers[conn] = peer;
    this.drop(conn);
    this.slots.set(stream, conn);
    // Shared listeners, no closure per connection: they find the slot through `slots`; events only reach the broker while the slot still holds this stream
    // (after close(conn), or once reported, the slot may already belong to a newer connection).
    stream.on("data", this.onData);
    stream.on("error", this.onError);
    stream.on("close", this.onClose);
    return conn;
  }

  write(conn: number, data: Bytes): void {
    const stream = this.streams[conn];
    if (stream === null || stream === undefined || stream.destroyed) return;
    const parts = this.outParts[conn];
    if (parts.length === 0) {
      this.dirty.push(conn);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        process.nextTick(() => this.flush());
      }
    }
    // The broker never modifies Bytes it has written (src/bytes/bytes.d.ts): safe to hold.
    parts.push(data as unknown as Uint8Array);
    this.outBytes[conn] += (data as unknown as Uint8Array).length;
  }

  pending(conn: number): number {
    const stream = this.streams[conn];
    return stream === null || stream === undefined ? 0 : stream.writableLength + this.outBytes[conn];
  }

  close(conn: number): void {
    const stream = this.streams[conn];
    if (stream === null || stream === undefined) return;
    this.send(conn, stream);
    this.streams[conn] = null;
    this.peers[conn] = "";
    // end() sends what is queued, then FIN (TLS: close_notify; WebSocket: a close frame); the
    // peer's close completes it.
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

  /** Hands a slot's gathered packets to its stream as one Buffer. */
  private send(conn: number, stream: Duplex): void {
    const parts = this.outParts[conn];
    if (parts.length === 0) return;
    const data = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.outBytes[conn]);
    this.drop(conn);
    if (stream.destroyed) return;
    // The broker is told when the stream has sent everything (brokerDrained) only while it waits
    // for that (a retained replay under way): a callback per write then, none otherwise. Streams
    // emit 'drain' only past their high-water mark, and a replay waits for far less.
    if (brokerAwaitsDrain(this.broker as Broker, conn)) stream.write(data, () => this.sent(conn, stream));
    else stream.write(data);
  }

  /** A write of `stream` was sent: when nothing is left, the broker may send more. */
  private sent(conn: number, stream: Duplex): void {
    if (this.streams[conn] !== stream || this.outBytes[conn] > 0 || stream.writableLength > 0) return;
    try {
      brokerDrained(this.broker as Broker, conn);
    } catch (err) {
      this.log.log(LogLevel.ERROR, `Internal error while sending to connection ${conn}, closing it: ${(err as Error).stack ?? String(err)}`);
      stream.destroy();
      this.gone(conn, stream);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (let i = 0; i < this.dirty.length; i++) {
      const conn = this.dirty[i];
      const stream = this.streams[conn];
      // A slot closed this turn has nothing left here (close() sent it, the peer's close dropped it).
      if (stream !== null) this.send(conn, stream);
    }
    this.dirty.length = 0;
  }

  /** Forgets a slot's gathered packets (its stream is gone, or the slot has a new one). */
  private drop(conn: number): void {
    this.outParts[conn].length = 0;
    this.outBytes[conn] = 0;
  }
}
