/**
 * End-to-end launchers for the Espruino bundles under the simulator: "esp32-sim" runs
 * dist/esp32/midge.js, "esp32s3-sim", "esp32c3-sim" and "esp8266-sim" the bundles of those
 * profiles (boards/<board>.json), each in its own process
 * (`node dist/node/simulate.js --board <b> --port 0`), so a crash or an out-of-memory stop
 * does not take vitest with it. The bundle and the runner are rebuilt first when missing or
 * older than their sources.
 *
 * Options map onto what a board has: a board profile's limits and the mosquitto.conf lines
 * that set limits go into the board's settings file (midge.json in the simulated Storage),
 * which overrides the limits baked into the bundle, as on a real board. Other config lines
 * are ignored (the Espruino target has no config file).
 *
 * "esp32-sim" runs at the board's own limits and memory budget, as the board would; tests
 * that need more than the profile holds skip themselves (helpers.ts, fits()). "esp32-sim:host"
 * (and MIDGE_SIM_LIMITS=<board> for the plain names) lays another profile's limits (the
 * host's) under the test's own, with no memory budget, to check the bundle's protocol
 * behaviour apart from the small board's capacities. MIDGE_SIM_MEMORY=off drops the budget.
 *
 * Only types come from ../targets (which imports this file): no value import, no cycle.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../tools/lib/net.mjs";
import type { BrokerHandle, StartOptions, Target } from "../targets";
import { boot, findInterpreter, writeStorage } from "../../../targets/espruino/interpreter.mjs";

const ROOT = resolve(fileURLToPath(new URL("../../../", import.meta.url)));
const START_TIMEOUT_MS = 10000;
const STOP_GRACE_MS = 3000;
const PORT_LINE = /listen socket on port (\d+)/;

const children = new Set<ChildProcess>();
let hooked = false;
function track(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    });
  }
}

/** mosquitto.conf options that are limits, and the limit each sets. */
const LIMIT_OPTIONS: Record<string, string> = {
  max_connections: "maxConnections",
  max_inflight_messages: "maxInflight",
  max_queued_messages: "maxQueued",
  message_size_limit: "messageSizeLimit",
  max_packet_size: "maxPacketSize",
  retain_available: "retainAvailable",
};

/** The features a board's bundle is built with (its profile's "features"; esbuild constants). */
function profileFeatures(board: string): Record<string, boolean> {
  const profile = JSON.parse(readFileSync(join(ROOT, "boards", board + ".json"), "utf8")) as { features?: Record<string, boolean> };
  return profile.features ?? {};
}

/** "" when `wanted` agrees with the built-in features; else why the bundle cannot serve it. */
function featureConflict(name: string, built: Record<string, boolean>, wanted: Record<string, boolean> | undefined): string {
  for (const key of Object.keys(wanted ?? {})) {
    if (built[key] !== undefined && built[key] !== wanted![key]) {
      return `${name}: feature ${key} is built ${built[key] ? "in" : "out"} of the bundle; boardFeatures cannot turn it ${wanted![key] ? "on" : "off"}`;
    }
  }
  return "";
}

function profileLimits(board: string): Record<string, number | boolean> {
  const profile = JSON.parse(readFileSync(join(ROOT, "boards", board + ".json"), "utf8")) as { limits?: Record<string, number | boolean> };
  return profile.limits ?? {};
}

/**
 * Limits set by a base profile (`base`: another board's limits laid under everything, say the
 * host's), a board profile (name in boards/ or path to JSON), inline board limits and config lines.
 */
export function settingsLimits(opts: StartOptions, base = process.env.MIDGE_SIM_LIMITS ?? ""): Record<string, number | boolean> {
  const limits: Record<string, number | boolean> = {};
  if (base !== "") Object.assign(limits, profileLimits(base));
  if (opts.board !== undefined) {
    const file = opts.board.endsWith(".json") || opts.board.includes("/")
      ? (isAbsolute(opts.board) ? opts.board : resolve(ROOT, opts.board))
      : join(ROOT, "boards", opts.board + ".json");
    const profile = JSON.parse(readFileSync(file, "utf8")) as { limits?: Record<string, number | boolean> };
    Object.assign(limits, profile.limits ?? {});
  }
  Object.assign(limits, opts.boardLimits ?? {});
  for (const line of opts.configLines ?? []) {
    const parts = line.trim().split(/\s+/);
    const key = LIMIT_OPTIONS[parts[0]];
    if (key === undefined || parts.length < 2) continue;
    if (key === "retainAvailable") limits[key] = parts[1] === "true";
    else {
      const n = Number(parts[1]);
      // mosquitto's -1 / 0 mean "no limit": on a board, the profile's table size stays.
      if (Number.isInteger(n) && n > 0) limits[key] = n;
    }
  }
  return limits;
}

/** Newest modification time of the files under the given paths. */
function newest(paths: string[]): number {
  let t = 0;
  const walk = (p: string): void => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else if (st.mtimeMs > t) t = st.mtimeMs;
  };
  for (const p of paths) walk(p);
  return t;
}

/**
 * (Re)builds the bundle and the simulator runner when missing or older than their sources,
 * once across parallel test files (a lock directory). Budgets only warn here: the e2e suite
 * is about behaviour; test/espruino checks the budgets.
 */
function ensureBuilt(board: string): void {
  const outputs = [join(ROOT, "dist", board, "midge.js"), join(ROOT, "dist", "node", "simulate.js")];
  const sources = ["src", "targets/espruino", "targets/node/simulate", "boards/" + board + ".json"].map((p) => join(ROOT, p));
  const fresh = (): boolean => outputs.every((f) => existsSync(f) && statSync(f).mtimeMs >= newest(sources));
  if (fresh()) return;
  const lock = join(ROOT, "dist", ".espruino-build.lock");
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  const until = Date.now() + 120000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > until) throw new Error(`${lock} held for 2 minutes`);
      spawnSync(process.execPath, ["-e", "setTimeout(()=>{},200)"]);
      if (fresh()) return;
    }
  }
  try {
    if (fresh()) return;
    const r = spawnSync(process.execPath, [join(ROOT, "targets", "espruino", "build.mjs"), board], {
      cwd: ROOT,
      env: { ...process.env, MIDGE_ESPRUINO_BUDGET: "warn" },
      encoding: "utf8",
      timeout: 120000,
    });
    if (r.status !== 0) throw new Error(`building the ${board} bundle failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** `base`: "" for the board's own limits and memory budget, or a profile ("host") laid under them, with no budget. */
function simulatorTarget(name: string, board: string, base: string): Target {
  return {
    name,
    features: { board: true, sendBuffer: false, peerAddress: false },
    limits: base === "" ? profileLimits(board) : undefined,
    builtFeatures: profileFeatures(board),
    start(opts: StartOptions = {}): Promise<BrokerHandle> {
      const conflict = featureConflict(name, profileFeatures(board), opts.boardFeatures);
      if (conflict !== "") return Promise.reject(new Error(conflict));
      try {
        ensureBuilt(board);
      } catch (e) {
        return Promise.reject(e);
      }
      const runner = join(ROOT, "dist", "node", "simulate.js");
      const dir = mkdtempSync(join(tmpdir(), `midge-e2e-${board}-`));
      const settings = { limits: settingsLimits(opts, base) };
      const json = { "midge.json": Buffer.from(JSON.stringify(settings)).toString("base64") };
      writeFileSync(join(dir, "storage.json"), JSON.stringify(json));
      const args = [runner, "--board", board, "--port", "0", "--host", "127.0.0.1", "--storage-dir", dir];
      if (opts.verbose !== false) args.push("--verbose");
      if (process.env.MIDGE_SIM_MEMORY === "off" || base !== "") args.push("--no-memory-limit");
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      track(child);
      let output = "";
      let exited = false;
      const exitPromise = new Promise<void>((r) =>
        child.once("exit", () => {
          exited = true;
          r();
        }),
      );
      const stop = async (): Promise<void> => {
        if (!exited) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => {
            if (!exited) child.kill("SIGKILL");
          }, STOP_GRACE_MS);
          await exitPromise;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      };
      return new Promise<BrokerHandle>((resolvePromise, reject) => {
        let settled = false;
        const onData = (chunk: Buffer): void => {
          output += chunk.toString("utf8");
          if (settled) return;
          const m = PORT_LINE.exec(output);
          if (m) {
            settled = true;
            clearTimeout(timer);
            resolvePromise({ port: Number(m[1]), logs: () => output, alive: () => !exited, stop });
          }
        };
        child.stdout!.on("data", onData);
        child.stderr!.on("data", onData);
        const fail = (why: string): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          void stop().then(() => reject(new Error(`${why}\n--- simulator output ---\n${output}`)));
        };
        const timer = setTimeout(() => fail(`simulator did not report its port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
        child.once("exit", (code, signal) => fail(`simulator exited before listening (code ${code}, signal ${signal})`));
        child.once("error", (e) => fail(`cannot spawn the simulator: ${e.message}`));
      });
    },
  };
}

/**
 * The bundle on the real Espruino interpreter (Linux build with `vars` variables, named by
 * MIDGE_ESPRUINO_<vars>; targets/espruino/interpreter.mjs), booted from Storage as a board
 * boots: a local check of the simulator's fidelity, for developers who built one. Not in
 * `npm test` (CI has no interpreter). Its port comes from midge.json (the interpreter cannot
 * listen on port 0).
 */
function interpreterTarget(name: string, board: string, vars: number, base: string): Target {
  return {
    name,
    features: { board: true, sendBuffer: false, peerAddress: false },
    limits: base === "" ? profileLimits(board) : undefined,
    builtFeatures: profileFeatures(board),
    async start(opts: StartOptions = {}): Promise<BrokerHandle> {
      const conflict = featureConflict(name, profileFeatures(board), opts.boardFeatures);
      if (conflict !== "") throw new Error(conflict);
      if (findInterpreter(vars) === null) throw new Error(`${name}: no Espruino interpreter with ${vars} variables (set MIDGE_ESPRUINO_${vars})`);
      ensureBuilt(board);
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), `midge-e2e-${name}-`));
      const settings = { port, persist: false, logLevel: opts.verbose === false ? 2 : 4, limits: settingsLimits(opts, base) };
      writeStorage(dir, { ".bootcde": readFileSync(join(ROOT, "dist", board, "midge.js"), "latin1"), "midge.json": JSON.stringify(settings) });
      const e = boot(vars, dir);
      const stop = async (): Promise<void> => {
        await e.stop();
        rmSync(dir, { recursive: true, force: true });
      };
      try {
        await e.waitFor(new RegExp(`listen socket on port ${port}\\.`), START_TIMEOUT_MS);
      } catch (err) {
        await stop();
        throw err;
      }
      return { port, logs: () => e.output(), alive: () => e.alive(), stop };
    },
  };
}

const simBase = process.env.MIDGE_SIM_LIMITS ?? "";
export const espruinoTargets: Target[] = [
  simulatorTarget("esp32-sim", "esp32", simBase),
  simulatorTarget("esp32-sim:host", "esp32", "host"),
  simulatorTarget("esp32s3-sim", "esp32s3", simBase),
  simulatorTarget("esp32s3-sim:host", "esp32s3", "host"),
  simulatorTarget("esp32c3-sim", "esp32c3", simBase),
  simulatorTarget("esp32c3-sim:host", "esp32c3", "host"),
  simulatorTarget("esp8266-sim", "esp8266", simBase),
  simulatorTarget("esp8266-sim:host", "esp8266", "host"),
  interpreterTarget("esp32-espruino", "esp32", 16383, simBase),
  interpreterTarget("esp32-espruino:host", "esp32", 16383, "host"),
  interpreterTarget("esp32c3-espruino", "esp32c3", 4095, simBase),
  interpreterTarget("esp8266-espruino", "esp8266", 1600, simBase),
];
