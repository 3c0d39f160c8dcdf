import { describe, expect, test } from "vitest";
import { LogLevel } from "../../src/platform";
import { LogOptions, createLogger, defaultLogOptions } from "../../targets/node/logger";
import { logf, render } from "../../src/log/log";
import { Msg } from "../../src/log/messages";

function capture(options: LogOptions): { out: string[]; err: string[]; log: ReturnType<typeof createLogger> } {
  const out: string[] = [];
  const err: string[] = [];
  const log = createLogger(options, { write: (l) => out.push(l) }, { write: (l) => err.push(l) });
  return { out, err, log };
}

describe("createLogger", () => {
  test('lines read "<unix seconds>: <message>", on stderr by default', () => {
    const c = capture(defaultLogOptions());
    const before = Math.floor(Date.now() / 1000);
    c.log.log(LogLevel.NOTICE, "Opening ipv4 listen socket on port 1883.");
    expect(c.out).toEqual([]);
    expect(c.err).toHaveLength(1);
    const m = /^(\d+): Opening ipv4 listen socket on port 1883\.\n$/.exec(c.err[0]);
    expect(m).not.toBeNull();
    expect(Number(m![1]) - before).toBeLessThanOrEqual(1);
  });

  test("the default set is mosquitto's: everything but debug", () => {
    const c = capture(defaultLogOptions());
    for (let level = LogLevel.ERROR; level <= LogLevel.DEBUG; level++) c.log.log(level, "level " + level);
    expect(c.err.map((l) => l.replace(/^\d+: /, ""))).toEqual(["level 0\n", "level 1\n", "level 2\n", "level 3\n"]);
  });

  test("levels are chosen one by one; stdout and stderr may both be on, or neither", () => {
    const both = capture({ levels: [true, false, false, false, true], stdout: true, stderr: true, connectionMessages: true });
    both.log.log(LogLevel.WARNING, "hidden");
    both.log.log(LogLevel.DEBUG, "shown");
    expect(both.out).toHaveLength(1);
    expect(both.err).toEqual(both.out);
    const none = capture({ levels: [true, true, true, true, true], stdout: false, stderr: false, connectionMessages: true });
    none.log.log(LogLevel.ERROR, "nowhere");
    expect(none.out.length + none.err.length).toBe(0);
  });

  test("connection_messages false hides clients arriving and leaving (the core's connection category), nothing else", () => {
    const c = capture({ ...defaultLogOptions(), connectionMessages: false });
    // The lines as the core writes them: the category comes with the message number.
    logf(c.log, LogLevel.NOTICE, Msg.CLIENT_CONNECTED, "127.0.0.1:5555", "a", "p2, c1, k60");
    logf(c.log, LogLevel.NOTICE, Msg.CLIENT_DISCONNECTED, "a", render(Msg.REASON_DISCONNECT));
    logf(c.log, LogLevel.NOTICE, Msg.CONNECTION_CLOSED, "127.0.0.1:5556", render(Msg.REASON_NO_CONNECT, 10));
    logf(c.log, LogLevel.WARNING, Msg.CONNECTION_REFUSED_MAX, "127.0.0.1:5557", 1);
    logf(c.log, LogLevel.NOTICE, Msg.SUBSCRIBE_INVALID_FILTER, "a", "a/#/b");
    // A line of the target's own with connection-like words is not hidden: categories, not text.
    c.log.log(LogLevel.NOTICE, "Client a disconnected: not a core line.");
    expect(c.err.map((l) => l.replace(/^\d+: /, ""))).toEqual([
      "Connection from 127.0.0.1:5557 refused: max_connections (1) reached.\n",
      "Client a subscribed to invalid filter 'a/#/b': refused (0x80).\n",
      "Client a disconnected: not a core line.\n",
    ]);
    const all = capture(defaultLogOptions());
    logf(all.log, LogLevel.NOTICE, Msg.CLIENT_CONNECTED, "127.0.0.1:5555", "a", "p2, c1, k60");
    logf(all.log, LogLevel.NOTICE, Msg.CLIENT_DISCONNECTED, "a", render(Msg.REASON_DISCONNECT));
    expect(all.err.map((l) => l.replace(/^\d+: /, ""))).toEqual([
      "New client connected from 127.0.0.1:5555 as a (p2, c1, k60).\n",
      "Client a disconnected: client sent DISCONNECT.\n",
    ]);
  });
});
