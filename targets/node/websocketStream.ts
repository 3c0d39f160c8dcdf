import { Duplex } from "node:stream";
import { WebSocket } from "ws";

/** How long a WebSocket we are closing gets to answer our close frame before we drop it. */
export const WS_CLOSE_GRACE_MS = 2000;

/** WebSocket close code 1003: "received a type of data it cannot accept" (RFC 6455 §7.4.1). */
const UNSUPPORTED_DATA = 1003;

/**
 * A WebSocket as a byte stream, so the transport treats it like a TCP or TLS socket
 * (MQTT over WebSocket, §6 of the standard):
 * - what the peer sends in binary messages is pushed as stream data, whatever the frame
 *   boundaries: a message may hold part of an MQTT packet or several (MQTT-6.0.0-2);
 * - a text message closes the connection with code 1003 (MQTT-6.0.0-1) and destroys the
 *   stream with an error saying why;
 * - what is written goes out in binary messages; writes corked together (the transport corks
 *   each event-loop turn) go out as one message;
 * - end() sends a normal close (1000) after what was written; destroy() drops the connection.
 */
export class WebSocketStream extends Duplex {
  readonly ws: WebSocket;
  /** Set when we started a close handshake we want to let finish (text frame). */
  private lingering = false;

  /** `onTextFrame` is told before the stream is destroyed for a text frame (for the log). */
  constructor(ws: WebSocket, onTextFrame?: () => void) {
    super({ allowHalfOpen: false });
    this.ws = ws;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (this.destroyed) return;
      if (!isBinary) {
        this.lingering = true;
        if (onTextFrame !== undefined) onTextFrame();
        ws.close(UNSUPPORTED_DATA, "MQTT needs binary frames");
        this.destroy(new Error("WebSocket text frame received; MQTT travels in binary frames only (MQTT-6.0.0-1)"));
        return;
      }
      if (!this.push(data)) ws.pause();
    });
    ws.once("close", () => {
      if (this.destroyed) return;
      this.push(null);
      this.destroy();
    });
    ws.on("error", (err: Error) => this.destroy(err));
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const parts: Buffer[] = [];
    for (const c of chunks) parts.push(c.chunk);
    this.send(parts.length === 1 ? parts[0] : Buffer.concat(parts), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Every write has been handed to the socket: the close frame follows them. The transport
    // destroys the stream if the peer does not answer in time.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const ws = this.ws;
    if (ws.readyState === WebSocket.CLOSING && this.lingering) {
      // Our close frame is on its way: give the peer a moment to answer, then drop it.
      const timer = setTimeout(() => ws.terminate(), WS_CLOSE_GRACE_MS);
      timer.unref();
      ws.once("close", () => clearTimeout(timer));
    } else if (ws.readyState !== WebSocket.CLOSED) {
      ws.terminate();
    }
    callback(error);
  }

  private send(data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      callback(new Error("WebSocket is not open"));
      return;
    }
    // The callback runs once the frame is handed to the socket, so writableLength counts what
    // is not sent yet (the transport's pending()).
    this.ws.send(data, { binary: true }, (err) => callback(err ?? null));
  }
}
