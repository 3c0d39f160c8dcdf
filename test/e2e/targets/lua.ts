/**
 * End-to-end launchers for the Lua target: `lua5.4 dist/lua/midge.lua --port 0` and the same
 * under LuaJIT. The Lua shell reads the same mosquitto.conf options and board profiles as the
 * Node target (targets/lua/config.ts), so configLines and board are passed the same way:
 * written to a config file given with --config.
 *
 * dist/lua/midge.lua is (re)built first when it is missing or older than any source of the Lua
 * build (src/, targets/lua/, package.json), under a lock so parallel test files build it once.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { optionNames } from "../../../src/config/options";
import type { BrokerHandle, StartOptions, Target } from "../targets";
// Only used inside functions: targets.ts imports this module to list the Lua targets, and
// the cycle is safe as long as nothing from it is read while the modules are evaluated.
import { configArgs, launchBroker, trackChild } from "../targets";

/** The repository root (computed here, not imported: see the import cycle note above). */
const REPO_ROOT = resolve(fileURLToPath(new URL("../../../", import.meta.url)));
export const LUA_BUNDLE = join(REPO_ROOT, "dist", "lua", "midge.lua");

const BUILD_WAIT_MS = 180000;

/** mosquitto.conf options the Lua shell understands: the "lua" column of the core's option table. */
export const LUA_CONFIG_OPTIONS = optionNames("lua", true);

/** Options of other targets the Lua build refuses (password files, ACLs, persistence files, TLS, bridges). */
export const LUA_UNSUPPORTED_OPTIONS = optionNames("lua", false);

/**
 * Values of shared options the Lua build refuses (targets/lua/config.ts narrows these):
 * option → the value it refuses.
 */
const LUA_REFUSED_VALUES: Record<string, string> = { allow_anonymous: "false", persistence: "true", protocol: "websockets" };

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (/\.(ts|lua|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh(): boolean {
  if (!existsSync(LUA_BUNDLE)) return false;
  const built = statSync(LUA_BUNDLE).mtimeMs;
  const sources = Math.max(
    newestSource(join(REPO_ROOT, "src")),
    newestSource(join(REPO_ROOT, "targets", "lua")),
    newestSource(join(REPO_ROOT, "boards")),
    statSync(join(REPO_ROOT, "package.json")).mtimeMs,
  );
  return built >= sources;
}

function runNode(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), BUILD_WAIT_MS);
    child.once("error", (e) => (output += e.message));
    child.once("close", (code) => {
      clearTimeout(timer);
      res({ code, output });
    });
  });
}

let ensured: Promise<void> | null = null;

/** Builds dist/lua/midge.lua if it is missing or stale; one build at a time across processes. */
export function ensureLuaBundle(): Promise<void> {
  if (ensured === null) {
    ensured = (async () => {
      const lockDir = join(REPO_ROOT, "dist", "lua", ".build-lock");
      mkdirSync(join(REPO_ROOT, "dist", "lua"), { recursive: true });
      const end = Date.now() + BUILD_WAIT_MS;
      while (!bundleIsFresh()) {
        let locked = false;
        try {
          mkdirSync(lockDir);
          locked = true;
        } catch {
          // Someone else is building: wait for them (a lock older than BUILD_WAIT_MS is stale).
          try {
            if (Date.now() - statSync(lockDir).mtimeMs > BUILD_WAIT_MS) rmSync(lockDir, { recursive: true, force: true });
          } catch {
            // gone meanwhile
          }
        }
        if (locked) {
          try {
            const tmp = join("dist", "lua", `midge.lua.${process.pid}.tmp`);
            // In a child process: the build is CPU-bound for seconds and must not stall this event loop.
            const script = `import("./targets/lua/build.mjs").then((m) => m.buildLua({ outFile: ${JSON.stringify(tmp)} }))`;
            const r = await runNode(["-e", script]);
            if (r.code !== 0) throw new Error(`building ${LUA_BUNDLE} failed:\n${r.output}`);
            renameSync(join(REPO_ROOT, tmp), LUA_BUNDLE);
          } finally {
            rmSync(lockDir, { recursive: true, force: true });
          }
          break;
        }
        if (Date.now() > end) throw new Error(`timed out waiting for another process to build ${LUA_BUNDLE}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    ensured.catch(() => {
      ensured = null;
    });
  }
  return ensured;
}

/** Lua has no signal handlers: the shared launcher's SIGTERM ends it at once (the kernel closes the sockets). */
function launch(vm: string, args: string[], cleanup: () => void): Promise<BrokerHandle> {
  return launchBroker(vm, args, REPO_ROOT, cleanup);
}

export interface LuaTarget extends Target {
  /** The Lua VM command. */
  vm: string;
  /**
   * True when the Lua shell accepts this configLines option: an option name ("sys_interval")
   * or a whole line ("allow_anonymous false", which it refuses). Tests of Node-only features
   * (authentication, persistence, TLS, WebSockets) can skip on false.
   */
  supports(option: string): boolean;
}

function luaTarget(name: string, vm: string): LuaTarget {
  return {
    name: name,
    vm: vm,
    features: { board: true },
    supports: (option: string): boolean => {
      // "option" or a whole config line ("allow_anonymous false").
      const words = option.trim().split(/\s+/);
      if (LUA_CONFIG_OPTIONS.indexOf(words[0]) < 0) return false;
      if (words.length < 2) return true;
      return LUA_REFUSED_VALUES[words[0]] !== words[1];
    },
    async start(opts: StartOptions = {}): Promise<BrokerHandle> {
      await ensureLuaBundle();
      const args = [LUA_BUNDLE, "--port", "0", "--host", "127.0.0.1"];
      const dir = configArgs(opts, "midge-e2e-lua-conf-", args);
      return launch(vm, args, () => {
        if (dir !== "") rmSync(dir, { recursive: true, force: true });
      });
    },
  };
}

/**
 * "lua5.4" and "luajit" (the CI pair), and "lua5.1" (same file, plain 5.1): select with
 * MIDGE_TARGETS=lua5.4,luajit once these are listed in allTargets.
 */
export const luaTargets: LuaTarget[] = [luaTarget("lua5.4", "lua5.4"), luaTarget("luajit", "luajit"), luaTarget("lua5.1", "lua5.1")];
