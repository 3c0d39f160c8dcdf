import { describe, expect, test } from "vitest";
import { LogLevel } from "../../src/platform";
import { LogOptions, createLogger, defaultLogOptions } from "../../targets/node/logger";

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

  test("connection_messages false hides clients arriving and leaving, nothing else", () => {
    const c = capture({ ...defaultLogOptions(), connectionMessages: false });
    c.log.log(LogLevel.NOTICE, "New client connected from 127.0.0.1:5555 as a (p2, c1, k60).");
    c.log.log(LogLevel.NOTICE, "Client a disconnected: client sent DISCONNECT.");
    c.log.log(LogLevel.NOTICE, "Connection from 127.0.0.1:5556 closed: no CONNECT within 10 s.");
    c.log.log(LogLevel.WARNING, "Connection from 127.0.0.1:5557 refused: max_connections (1) reached.");
    c.log.log(LogLevel.NOTICE, "Client a subscribed to invalid filter 'a/#/b': refused (0x80).");
    expect(c.err.map((l) => l.replace(/^\d+: /, ""))).toEqual([
      "Connection from 127.0.0.1:5557 refused: max_connections (1) reached.\n",
      "Client a subscribed to invalid filter 'a/#/b': refused (0x80).\n",
    ]);
  });
});
