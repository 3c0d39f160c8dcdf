import { LogCategory } from "../../src/log/log";
import { Log } from "../../src/platform";

/** What to log and where; built by config.ts from log_type / log_dest / --verbose. */
export interface LogOptions {
  /** Indexed by LogLevel: true = lines of that level are written. */
  levels: boolean[];
  stdout: boolean;
  stderr: boolean;
  /** connection_messages: log clients connecting and disconnecting. */
  connectionMessages: boolean;
}

/** mosquitto's log_type names, indexed by LogLevel. */
export const LEVEL_NAMES = ["error", "warning", "notice", "information", "debug"];

/** mosquitto's default log_type set: everything but debug. */
export function defaultLogOptions(): LogOptions {
  return { levels: [true, true, true, true, false], stdout: false, stderr: true, connectionMessages: true };
}

export interface Output {
  write(line: string): unknown;
}

/**
 * A Log writing mosquitto-style lines, "<unix seconds>: <message>". `out` and `err` default to
 * the process streams (both are synchronous for files and pipes on Linux, so lines are not
 * lost at exit).
 */
export function createLogger(options: LogOptions, out?: Output, err?: Output): Log {
  const stdout = out ?? process.stdout;
  const stderr = err ?? process.stderr;
  return {
    log(level: number, message: string, category?: number): void {
      if (!options.levels[level]) return;
      // connection_messages false hides what the core marks as a client arriving or leaving
      // (LogCategory.CONNECTION: connected, disconnected, closed before CONNECT), whatever the level.
      if (!options.connectionMessages && category === LogCategory.CONNECTION) return;
      const line = Math.floor(Date.now() / 1000) + ": " + message + "\n";
      if (options.stderr) stderr.write(line);
      if (options.stdout) stdout.write(line);
    },
  };
}
