/**
 * A real upstream for the bridge tests: Debian's mosquitto on a free port of 127.0.0.1, which a
 * test can stop and start again on the same port. mosquitto started as root drops to the user
 * mosquitto, so its directory and config are world-readable (and the persistence directory
 * world-writable).
 */
import { spawn, ChildProcess } from "node:child_process";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { freePort } from "../../tools/lib/net.mjs";
import { join } from "node:path";
import type { TestContext } from "vitest";
import { REPO_ROOT, makeTempDir, trackChild } from "../e2e/targets";

const MOSQUITTO = existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
const START_TIMEOUT_MS = 8000;

export interface Upstream {
  port: number;
  /** Output of every run so far. */
  logs(): string;
  running(): boolean;
  /** Starts mosquitto (again) on the same port; resolves once it is listening. */
  start(): Promise<void>;
  /** SIGTERM (mosquitto saves its persistence file), then waits for the exit. */
  stop(): Promise<void>;
}

export interface UpstreamOptions {
  /** persistence true: sessions, queued messages and QoS 2 state survive a restart. */
  persistence?: boolean;
  /** Port to listen on (default: a free one). */
  port?: number;
  lines?: string[];
}

/** Creates the mosquitto config; call start() to run it. */
export async function mosquittoUpstream(o: UpstreamOptions = {}): Promise<Upstream> {
  const port = o.port ?? (await freePort());
  const dir = makeTempDir("midge-bridge-up-");
  chmodSync(dir, 0o777);
  const file = join(dir, "mosquitto.conf");
  const lines = [`listener ${port} 127.0.0.1`, "allow_anonymous true", "log_dest stderr", "log_type all"];
  if (o.persistence) lines.push("persistence true", `persistence_location ${dir}/`, "autosave_interval 1");
  lines.push(...(o.lines ?? []));
  writeFileSync(file, lines.join("\n") + "\n");
  chmodSync(file, 0o644);
  let output = "";
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  return {
    port,
    logs: () => output,
    running: () => child !== null,
    start() {
      return new Promise<void>((resolve, reject) => {
        const c = spawn(MOSQUITTO, ["-c", file], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        trackChild(c);
        child = c;
        let ready = false;
        const mark = output.length;
        exited = new Promise<void>((r) =>
          c.once("exit", (code, signal) => {
            if (child === c) child = null;
            if (!ready) reject(new Error(`mosquitto exited (code ${code}, signal ${signal}):\n${output.slice(mark)}`));
            r();
          }),
        );
        const timer = setTimeout(() => {
          if (!ready) {
            c.kill("SIGKILL");
            reject(new Error(`mosquitto did not start within ${START_TIMEOUT_MS} ms:\n${output.slice(mark)}`));
          }
        }, START_TIMEOUT_MS);
        const onData = (d: Buffer): void => {
          output += d.toString();
          // mosquitto prints the port line before it binds; "running" comes after.
          if (!ready && / running/.test(output.slice(mark))) {
            ready = true;
            clearTimeout(timer);
            resolve();
          }
        };
        c.stdout!.on("data", onData);
        c.stderr!.on("data", onData);
      });
    },
    async stop() {
      const c = child;
      if (c === null) return;
      c.kill("SIGTERM");
      const t = setTimeout(() => c.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface MidgeProcess {
  port: number;
  logs(): string;
  alive(): boolean;
  /** SIGTERM (clean shutdown), then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: the process dies without a word, as on a power cut. */
  kill(): Promise<void>;
}

/** The Node CLI (bin/midge.js --port 0 --verbose) with these config lines. */
export function startMidge(lines: string[]): Promise<MidgeProcess> {
  const dir = makeTempDir("midge-bridge-edge-");
  const file = join(dir, "midge.conf");
  writeFileSync(file, lines.join("\n") + "\n");
  const child = spawn(process.execPath, [join(REPO_ROOT, "bin", "midge.js"), "--port", "0", "--verbose", "-c", file], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  let output = "";
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once("exit", () => {
      exited = true;
      r();
    }),
  );
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (!exited) {
      child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exit;
      clearTimeout(t);
    }
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill("SIGKILL");
      reject(new Error(`midge did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /listen socket on port (\d+)/.exec(output);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ port: Number(m[1]), logs: () => output, alive: () => !exited, stop: () => end("SIGTERM"), kill: () => end("SIGKILL") });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exit.then(() => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`midge exited before listening:\n${output}`));
    });
  });
}

/** A mosquitto upstream started for this test, stopped when it ends. */
export async function upstreamFor(ctx: TestContext, o: UpstreamOptions = {}): Promise<Upstream> {
  const u = await mosquittoUpstream(o);
  ctx.onTestFinished(() => u.stop());
  await u.start();
  return u;
}

/** A Midge edge broker with these config lines, stopped when the test ends (its log shown if it failed). */
export async function edgeFor(ctx: TestContext, lines: string[]): Promise<MidgeProcess> {
  const h = await startMidge(lines);
  ctx.onTestFinished(async () => {
    await h.stop();
    if (ctx.task.result?.state === "fail") process.stderr.write(`--- edge broker log (tail) ---\n${h.logs().slice(-4000)}\n`);
  });
  return h;
}
