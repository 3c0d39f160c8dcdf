// Starts the Node broker (bin/midge.js) for the reliability tools: port 0, a generated board
// profile, output collected (the last lines kept, internal errors counted), killed on exit.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Limits for fuzzing and soaking: small enough that every bound is reached in a short run. */
export const RELIABILITY_LIMITS = {
  maxConnections: 1000,
  maxSessions: 2000,
  maxSubscriptions: 50000,
  maxSubscriptionsPerClient: 500,
  maxInflight: 20,
  maxQueued: 300,
  maxInboundQos2: 100,
  maxRetained: 2000,
  maxRetainedBytes: 4 * 1024 * 1024,
  maxPacketSize: 65536,
  connectTimeoutMs: 2000,
  maxPendingBytes: 1024 * 1024,
};

const INTERNAL_ERROR = /Internal error|Uncaught|FATAL ERROR|JavaScript heap out of memory/;

/**
 * Spawns `node <script> ...args` (default bin/midge.js) with a board profile made from
 * `limits`; resolves once it prints its port. Returns { port, pid, child, tail(), internalErrors(),
 * alive(), stop() }.
 */
export function startBroker({ limits = RELIABILITY_LIMITS, script = join(REPO_ROOT, "bin", "midge.js"), args = [], configLines = [], env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "midge-rel-"));
  const board = join(dir, "reliability.json");
  writeFileSync(board, JSON.stringify({ board: "reliability", description: "fuzz/soak profile", limits }, null, 2));
  const conf = join(dir, "midge.conf");
  writeFileSync(conf, ["log_type error", "log_type warning", "log_type notice", ...configLines].join("\n") + "\n");
  const child = spawn(process.execPath, [script, "--port", "0", "--host", "127.0.0.1", "--board", board, "--config", conf, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const killer = () => child.kill("SIGKILL");
  process.once("exit", killer);
  let exited = false;
  let exitInfo = "";
  const exitPromise = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      exitInfo = `code ${code}, signal ${signal}`;
      process.removeListener("exit", killer);
      resolve();
    });
  });
  const lines = [];
  let internal = 0;
  let partial = "";
  let all = "";
  const onData = (chunk) => {
    const text = partial + chunk.toString("utf8");
    const parts = text.split("\n");
    partial = parts.pop();
    for (const l of parts) {
      if (INTERNAL_ERROR.test(l)) internal++;
      lines.push(l);
      if (lines.length > 2000) lines.splice(0, 1000);
      if (all.length < 4096) all += l + "\n";
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const handle = {
    child,
    pid: child.pid,
    port: 0,
    dir,
    tail: (n = 40) => lines.slice(-n).join("\n"),
    /** Lines matching re among the last 2000. */
    grep: (re) => lines.filter((l) => re.test(l)),
    internalErrors: () => internal,
    alive: () => !exited,
    exitInfo: () => exitInfo,
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exitPromise;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`broker did not report its port in 10 s:\n${all}`));
    }, 10000);
    const check = () => {
      const m = /listen socket on port (\d+)/.exec(all);
      if (m) {
        clearTimeout(t);
        handle.port = Number(m[1]);
        child.stdout.off("data", check);
        child.stderr.off("data", check);
        resolve(handle);
      }
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    child.once("exit", () => {
      clearTimeout(t);
      reject(new Error(`broker exited before listening (${exitInfo}):\n${all}`));
    });
  });
}
