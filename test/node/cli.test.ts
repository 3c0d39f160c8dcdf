import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Server, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { RawClient } from "../e2e/helpers";

// Runs bin/midge.js as a user would. Needs dist/node/midge.js (`node build.mjs --node`; the
// launcher builds it when missing).

const BIN = fileURLToPath(new URL("../../bin/midge.js", import.meta.url));
const WAIT_MS = 8000;
const PORT_LINE = /Opening ipv4 listen socket on port (\d+)\./;

const dir = mkdtempSync(join(tmpdir(), "midge-cli-test-"));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  children.length = 0;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  output: () => string;
  stdout: () => string;
  /** Resolves with the exit code (or the signal name) within WAIT_MS, else rejects. */
  exited: Promise<number | string>;
  /** Resolves once the output matches re, rejects at exit or after WAIT_MS. */
  waitFor: (re: RegExp) => Promise<RegExpExecArray>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let stdout = "";
  const listeners: (() => void)[] = [];
  const onData = (isStdout: boolean) => (chunk: Buffer): void => {
    out += chunk.toString("utf8");
    if (isStdout) stdout += chunk.toString("utf8");
    for (const l of listeners.slice()) l();
  };
  child.stdout!.on("data", onData(true));
  child.stderr!.on("data", onData(false));
  const exited = new Promise<number | string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`midge did not exit within ${WAIT_MS} ms; output:\n${out}`)), WAIT_MS);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      for (const l of listeners.slice()) l();
      resolve(code ?? String(signal));
    });
  });
  exited.catch(() => undefined);
  const waitFor = (re: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no ${re} within ${WAIT_MS} ms; output:\n${out}`)), WAIT_MS);
      const check = (): void => {
        const m = re.exec(out);
        if (m) finish(null, m);
        else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`midge exited without ${re}; output:\n${out}`));
      };
      const finish = (err: Error | null, m?: RegExpExecArray): void => {
        clearTimeout(timer);
        const i = listeners.indexOf(check);
        if (i >= 0) listeners.splice(i, 1);
        if (err) reject(err);
        else resolve(m!);
      };
      listeners.push(check);
      check();
    });
  return { child, output: () => out, stdout: () => stdout, exited, waitFor };
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

describe("midge (bin/midge.js)", () => {
  test("--port 0 listens on a free port, prints the mosquitto-style lines, and exits 0 on SIGTERM", async () => {
    const r = run(["--port", "0", "--host", "127.0.0.1"]);
    const m = await r.waitFor(PORT_LINE);
    const port = Number(m[1]);
    expect(port).toBeGreaterThan(0);
    expect(r.output()).toMatch(/^\d+: midge version \d+\.\d+\.\d+ starting\n/);
    expect(r.output()).toContain(": Using default config.\n");
    // The broker answers on that port.
    const c = await RawClient.open(port);
    try {
      await c.handshake({ clientId: "t" });
    } finally {
      c.destroy();
    }
    r.child.kill("SIGTERM");
    expect(await r.exited).toBe(0);
    expect(r.output()).toMatch(/\d+: midge version \d+\.\d+\.\d+ terminating\n/);
  });

  test("SIGINT also shuts down cleanly; log_dest stdout moves the log to stdout", async () => {
    const conf = join(dir, "stdout.conf");
    writeFileSync(conf, "log_dest stdout\n");
    const r = run(["--port", "0", "--host", "127.0.0.1", "--config", conf]);
    await r.waitFor(PORT_LINE);
    expect(r.stdout()).toMatch(PORT_LINE);
    expect(r.output()).toContain(`Config loaded from ${conf}.`);
    r.child.kill("SIGINT");
    expect(await r.exited).toBe(0);
  });

  test("a bad config file stops start-up with file:line and exit code 1", async () => {
    writeFileSync(join(dir, "bad.conf"), "# comment\nport 1883\nmax_connections lots\n");
    const r = run(["--config", "bad.conf"]);
    expect(await r.exited).toBe(1);
    expect(r.output()).toBe("Error: bad.conf:3: 'max_connections' must be a whole number, got 'lots'\n");
  });

  test("a missing config file: exit code 1", async () => {
    const r = run(["--config", "does-not-exist.conf"]);
    expect(await r.exited).toBe(1);
    expect(r.output()).toBe("Error: cannot read config file does-not-exist.conf: ENOENT\n");
  });

  test("an unknown --board: exit code 1", async () => {
    const r = run(["--port", "0", "--board", "nosuchboard"]);
    expect(await r.exited).toBe(1);
    expect(r.output()).toMatch(/^Error: --board: unknown board 'nosuchboard' \(known: .*host.*\)\n$/);
  });

  test("a port in use: a clear message and exit code 1", async () => {
    const srv = await listenOn(0);
    const port = (srv.address() as { port: number }).port;
    try {
      const r = run(["--port", String(port), "--host", "127.0.0.1"]);
      expect(await r.exited).toBe(1);
      expect(r.output()).toContain(`Error: cannot listen on 127.0.0.1:${port}: address already in use\n`);
    } finally {
      await new Promise((res) => srv.close(res));
    }
  });

  test.each([
    [["--port", "http"], "error: option '-p, --port <port>' argument 'http' is invalid"],
    [["--port", "70000"], "expected a port number from 0 to 65535"],
    [["--frobnicate"], "error: unknown option '--frobnicate'"],
    [["extra-argument"], "error: too many arguments"],
  ])("bad command line %j: exit code 1", async (args, message) => {
    const r = run(args);
    expect(await r.exited).toBe(1);
    expect(r.output()).toContain(message);
  });

  test("--version prints the version", async () => {
    const r = run(["--version"]);
    expect(await r.exited).toBe(0);
    expect(r.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
