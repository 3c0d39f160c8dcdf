/**
 * Broker launchers for the end-to-end suite. Every test file runs its cases once per selected
 * target, so the same suite can later drive the Espruino bundle (under a simulator) or a Lua
 * build: a target only has to start a broker listening on 127.0.0.1 and say on which port.
 *
 * Select targets with MIDGE_TARGETS (comma separated, default "node"). "mosquitto" is the
 * Debian mosquitto broker, a reference for checking the suite's own hand-written bytes; it
 * differs from Midge where the spec leaves a choice (it closes on an invalid SUBSCRIBE filter
 * instead of answering 0x80, has no CONNECT timeout setting, no board profiles), so expect
 * those tests to fail against it.
 */
import { spawn, ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { freePort } from "../../tools/lib/net.mjs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { luaTargets } from "./targets/lua";
import { espruinoTargets } from "./targets/espruino";

export interface StartOptions {
  /** mosquitto.conf lines (listener, max_connections, max_packet_size, ...); written to a config file. */
  configLines?: string[];
  /** Board name or path to a JSON board profile ({ "board": ..., "limits": { ... } }). */
  board?: string;
  /**
   * A board profile given inline: Limits field names (src/limits.ts) → values. The target
   * writes it as a profile named "e2e" in its own temp dir (removed on stop).
   */
  boardLimits?: Record<string, number | boolean>;
  /**
   * Board features (src/features.ts names → on/off) for the profile the target writes, as
   * boardLimits does: `{ mqtt5: true }` serves MQTT 5.0 clients on a target whose default
   * board (the host's) has it off. A feature left out is on (a profile given by path). A
   * target whose features are built in (Target.builtFeatures) refuses a value that differs.
   */
  boardFeatures?: Record<string, boolean>;
  /** Pass --verbose (default true: the suite checks that the log says why a client was dropped). */
  verbose?: boolean;
}

export interface BrokerHandle {
  port: number;
  /** Everything the broker wrote so far (stderr and stdout, in arrival order). */
  logs(): string;
  /** True while the broker process runs. */
  alive(): boolean;
  stop(): Promise<void>;
}

export interface TargetFeatures {
  /** Accepts board profiles (needed for session/subscription limits and the CONNECT timeout). */
  board: boolean;
  /**
   * False when the broker cannot see a client stop reading (the Espruino simulator's sockets
   * report no unsent bytes, and loopback buffers megabytes): slow-consumer tests skip.
   */
  sendBuffer?: boolean;
  /**
   * False when the broker cannot know a connection's address (Espruino's sockets do not tell
   * it): log lines name a connection that has not sent CONNECT "socket N" instead.
   */
  peerAddress?: boolean;
}

export interface Target {
  name: string;
  features: TargetFeatures;
  /**
   * The limits (src/limits.ts names) a broker of this target starts with when they are a
   * small board's (the simulators at their profile); undefined: the host's, which no test
   * exceeds. Tests that need more skip on this target (helpers.ts, fits()).
   */
  limits?: Record<string, number | boolean>;
  /**
   * Features fixed when the broker was built (the Espruino bundles define them as constants
   * from their board profile); undefined: set at start-up from the board profile, so
   * StartOptions.boardFeatures can choose them. Tests of a feature that is built out skip
   * (or check the answer of a broker without it).
   */
  builtFeatures?: Record<string, boolean>;
  start(opts?: StartOptions): Promise<BrokerHandle>;
}

export const REPO_ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));

const START_TIMEOUT_MS = 8000;
const STOP_GRACE_MS = 2000;
const PORT_LINE = /listen socket on port (\d+)/;

/** Every child this process spawned and has not seen exit; killed on exit as a last resort. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Registers a spawned child so it is SIGKILLed if the test process exits first. */
export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of liveChildren) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    });
  }
}

const tempDirs = new Set<string>();
let tempHookInstalled = false;

/** A temp dir removed when the test process exits (or earlier by its owner). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  if (!tempHookInstalled) {
    tempHookInstalled = true;
    process.once("exit", () => {
      for (const d of tempDirs) {
        try {
          rmSync(d, { recursive: true, force: true });
        } catch {
          // best effort
        }
      }
    });
  }
  return dir;
}

/**
 * At most this many brokers start at once in one test process: a start costs a few hundred ms
 * of CPU, and a dozen at once on 2 cores would each take longer than START_TIMEOUT_MS.
 */
const MAX_PARALLEL_STARTS = 3;
let startsRunning = 0;
const startQueue: Array<() => void> = [];

async function acquireStart(): Promise<void> {
  if (startsRunning < MAX_PARALLEL_STARTS) {
    startsRunning++;
    return;
  }
  await new Promise<void>((res) => startQueue.push(res));
}

function releaseStart(): void {
  const next = startQueue.shift();
  if (next) next();
  else startsRunning--;
}

/**
 * Spawns `command args`, collects its output, waits for the "listen socket on port N" line and
 * returns a handle; rejects (after killing the child) if the line does not come in time.
 */
/** Starts a broker process and resolves once it reports its port (shared by every launcher). */
export function launchBroker(command: string, args: string[], cwd: string, cleanup: () => void, readyRe?: RegExp): Promise<BrokerHandle> {
  return launch(command, args, cwd, cleanup, readyRe);
}

async function launch(command: string, args: string[], cwd: string, cleanup: () => void, readyRe?: RegExp): Promise<BrokerHandle> {
  await acquireStart();
  try {
    return await launchNow(command, args, cwd, cleanup, readyRe);
  } finally {
    releaseStart();
  }
}

function launchNow(command: string, args: string[], cwd: string, cleanup: () => void, readyRe?: RegExp): Promise<BrokerHandle> {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  let output = "";
  let exited = false;
  const exitPromise = new Promise<void>((res) => {
    child.once("exit", () => {
      exited = true;
      res();
    });
  });
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        if (!exited) child.kill("SIGKILL");
      }, STOP_GRACE_MS);
      await exitPromise;
      clearTimeout(timer);
    }
    cleanup();
  };
  return new Promise<BrokerHandle>((resolvePromise, reject) => {
    let settled = false;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      if (settled) return;
      const m = PORT_LINE.exec(output);
      if (m && (readyRe === undefined || readyRe.test(output))) {
        settled = true;
        clearTimeout(timer);
        resolvePromise({
          port: Number(m[1]),
          logs: () => output,
          alive: () => !exited,
          stop,
        });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${why}\n--- broker output ---\n${output}`)));
    };
    const timer = setTimeout(() => fail(`broker did not report its port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.once("exit", (code, signal) => fail(`broker exited before listening (code ${code}, signal ${signal})`));
    child.once("error", (e) => fail(`cannot spawn ${command}: ${e.message}`));
  });
}

/** The Node CLI: node bin/midge.js --port 0 [--config FILE] [--verbose]. */
/**
 * Turns StartOptions into command-line arguments appended to args: a config file (configLines,
 * board, a profile written from boardLimits) and --verbose. Returns the temp dir holding the
 * files ("" when none), for the launcher's cleanup. Shared by the Node and Lua launchers.
 */
export function configArgs(opts: StartOptions, tempPrefix: string, args: string[]): string {
  let dir = "";
  const lines = (opts.configLines ?? []).slice();
  if (opts.board !== undefined) lines.push(`board ${opts.board}`);
  if (lines.length > 0 || opts.boardLimits !== undefined || opts.boardFeatures !== undefined) {
    dir = makeTempDir(tempPrefix);
    if (opts.boardLimits !== undefined || opts.boardFeatures !== undefined) {
      const profile = join(dir, "e2e.json");
      const json: Record<string, unknown> = { board: "e2e", description: "e2e test profile", limits: opts.boardLimits ?? {} };
      if (opts.boardFeatures !== undefined) json.features = opts.boardFeatures;
      writeFileSync(profile, JSON.stringify(json, null, 2));
      lines.push(`board ${profile}`);
    }
    const file = join(dir, "midge.conf");
    writeFileSync(file, lines.join("\n") + "\n");
    args.push("--config", file);
  }
  if (opts.verbose !== false) args.push("--verbose");
  return dir;
}

export const nodeTarget: Target = {
  name: "node",
  features: { board: true },
  start(opts: StartOptions = {}): Promise<BrokerHandle> {
    const bin = join(REPO_ROOT, "bin", "midge.js");
    if (!existsSync(bin)) return Promise.reject(new Error(`${bin} does not exist (run node build.mjs --node)`));
    const args = [bin, "--port", "0"];
    const dir = configArgs(opts, "midge-e2e-conf-", args);
    return launch(process.execPath, args, REPO_ROOT, () => {
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    });
  },
};

/** Reference broker: Debian's mosquitto 2.x. Options that mosquitto lacks (board) are refused. */
export const mosquittoTarget: Target = {
  name: "mosquitto",
  features: { board: false },
  async start(opts: StartOptions = {}): Promise<BrokerHandle> {
    if (opts.board !== undefined || opts.boardLimits !== undefined || opts.boardFeatures !== undefined) throw new Error("mosquitto target: board profiles are not supported");
    const port = await freePort();
    const dir = makeTempDir("midge-e2e-mosq-");
    const file = join(dir, "mosquitto.conf");
    const lines = [`listener ${port} 127.0.0.1`, "allow_anonymous true", "log_dest stderr"];
    if (opts.verbose !== false) lines.push("log_type all");
    lines.push(...(opts.configLines ?? []));
    writeFileSync(file, lines.join("\n") + "\n");
    const bin = existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
    // mosquitto prints the port line before it binds; "running" comes after.
    return launch(bin, ["-c", file], dir, () => rmSync(dir, { recursive: true, force: true }), / running/);
  },
};

export const allTargets: Target[] = [nodeTarget, mosquittoTarget, ...luaTargets, ...espruinoTargets];

/** Targets named in MIDGE_TARGETS (default "node"); an unknown name is an error, not a silent skip. */
export function selectedTargets(): Target[] {
  const names = (process.env.MIDGE_TARGETS ?? "node")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return names.map((n) => {
    const t = allTargets.find((x) => x.name === n);
    if (!t) throw new Error(`MIDGE_TARGETS: unknown target '${n}' (known: ${allTargets.map((x) => x.name).join(", ")})`);
    return t;
  });
}
