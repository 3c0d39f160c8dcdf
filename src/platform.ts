import { Bytes } from "./bytes/bytes";

/**
 * The only ways the core reaches the world. Each target implements these; connections are
 * small integers (slots in the broker's connection table) handed out by brokerOpen.
 */
export interface Transport {
  /**
   * Queues bytes for sending on a connection. The Bytes value is never modified afterwards,
   * so the target may keep it without copying.
   */
  write(conn: number, data: Bytes): void;
  /** Bytes written but not yet sent on this connection (drives the slow-consumer policy). */
  pending(conn: number): number;
  /**
   * Flushes what was written, then closes. After this call the target must not report
   * anything more for this connection: the slot may be handed out again at once.
   */
  close(conn: number): void;
}

export interface Clock {
  /** Milliseconds from any fixed origin; only differences are used. */
  now(): number;
}

export const enum LogLevel {
  ERROR = 0,
  WARNING = 1,
  NOTICE = 2,
  INFO = 3,
  DEBUG = 4,
}

export interface Log {
  log(level: number, message: string): void;
}
