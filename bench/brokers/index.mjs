// Start/stop of the brokers the benchmark compares, each on a free loopback port, fresh for
// every measurement. Every broker gets the same policy where it has one: Nagle off, 20
// outbound QoS 1/2 messages in flight and 1000 queued per client, no connection log lines.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "../../tools/lib/net.mjs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const HOOK = pathToFileURL(join(ROOT, "bench", "brokers", "node-hook.mjs")).href;
const PORT_LINE = /listen socket on port (\d+)/;
const START_TIMEOUT_MS = 15000;
const STOP_GRACE_MS = 3000;

export const HOST = "127.0.0.1";

/** Every broker process started and not yet seen exiting; killed if the benchmark exits first. */
const live = new Set();
process.once("exit", () => {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

function mosquittoBin() {
  return existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
}

function luaBin() {
  for (const b of ["/usr/bin/luajit", "/usr/bin/lua5.4", "/usr/bin/lua5.1"]) if (existsSync(b)) return b;
  return null;
}

/**
 * The brokers the benchmark knows. `compare: true` ones are in every run and in the ratios;
 * the others are information, run only when `available()` and only for the scenarios they
 * list. `mqtt5: true` ones serve MQTT 5.0 clients and run the 5.0 scenarios (the others show
 * "n/a" there). Each `command(dir, port)` returns [executable, args, readyPattern].
 */
export const BROKERS = {
  midge: {
    label: "Midge (Node)",
    compare: true,
    node: true,
    mqtt5: true,
    ipc: true,
    available: () => existsSync(join(ROOT, "bin", "midge.js")),
    command(dir, _port, opts) {
      const conf = join(dir, "midge.conf");
      writeFileSync(
        conf,
        ["connection_messages false", "max_inflight_messages 20", "max_queued_messages 1000", "max_connections -1", ""].join("\n"),
      );
      const pre = ["--expose-gc", "--import", HOOK];
      if (opts.cpuProf) pre.push("--cpu-prof", "--cpu-prof-dir", opts.cpuProf);
      return [process.execPath, [...pre, join(ROOT, "bin", "midge.js"), "--port", "0", "--host", HOST, "--config", conf], null];
    },
  },
  aedes: {
    label: "aedes",
    compare: true,
    node: true,
    mqtt5: false, // aedes 1.x speaks MQTT 3.1 and 3.1.1 only
    ipc: true,
    available: () => existsSync(join(ROOT, "node_modules", "aedes", "package.json")),
    command(_dir, _port, opts) {
      const pre = ["--expose-gc", "--import", HOOK];
      if (opts.cpuProf) pre.push("--cpu-prof", "--cpu-prof-dir", opts.cpuProf);
      return [process.execPath, [...pre, join(ROOT, "bench", "brokers", "aedes-server.mjs"), "--port", "0", "--host", HOST], null];
    },
  },
  mosquitto: {
    label: "mosquitto",
    compare: true,
    node: false,
    mqtt5: true,
    needsPort: true,
    available: () => existsSync(mosquittoBin()) || existsSync("/usr/bin/mosquitto"),
    command(dir, port) {
      const conf = join(dir, "mosquitto.conf");
      writeFileSync(
        conf,
        [
          `listener ${port} ${HOST}`,
          "allow_anonymous true",
          "persistence false",
          "log_dest stderr",
          "connection_messages false",
          "max_inflight_messages 20",
          "max_queued_messages 1000",
          "max_connections -1",
          "set_tcp_nodelay true",
          "",
        ].join("\n"),
      );
      // mosquitto prints the port line before it binds; "running" comes after.
      return [mosquittoBin(), ["-c", conf], / running/];
    },
  },
  lua: {
    label: "Midge (Lua)",
    compare: false,
    node: false,
    once: true,
    // select()-based: at most ~1000 sockets, so only the scenarios with few connections.
    scenarios: ["fanin", "fanout", "qos1", "qos2", "connect", "retained", "fanin5", "qos15"],
    mqtt5: true, // the host profile
    available: () => existsSync(join(ROOT, "dist", "lua", "midge.lua")) && luaBin() !== null,
    command(dir) {
      const conf = join(dir, "midge.conf");
      writeFileSync(conf, ["connection_messages false", "max_inflight_messages 20", "max_queued_messages 1000", ""].join("\n"));
      return [luaBin(), [join(ROOT, "dist", "lua", "midge.lua"), "--port", "0", "--host", HOST, "--config", conf], null];
    },
  },
};

/**
 * The simulated ESP32 (information, its own table): the board's tables are small (boards/esp32.json:
 * 8 connections, 1 in flight, 256-byte packets, 512 bytes of unsent data per connection before
 * QoS 0 is dropped), so its scenarios are scaled down to fit them (see `params`).
 */
BROKERS.esp32 = {
  label: "ESP32 (simulated)",
  compare: false,
  separate: true,
  once: true,
  /** What its table shows (scenario.metric -> label). */
  show: {
    "fanin.rate": "QoS 0 fan-in 4→1 (msg/s)",
    "qos1.rate": "QoS 1, 2 pairs, window 2 (msg/s)",
    "qos1.p50": "QoS 1 latency p50 (ms)",
    "qos1.p99": "QoS 1 latency p99 (ms)",
    "idle.varsPerConn": "Idle connection: Espruino variables per connection (estimate)",
  },
  node: false,
  ipc: true,
  scenarios: ["fanin", "qos1", "idle"],
  params: {
    fanin: { publishers: 4, window: 4, maxBatch: 4 },
    qos1: { pairs: 2, window: 2, maxBatch: 2 },
    idle: { connections: 6, more: 0, warm: 2, concurrency: 2, settleMs: 500 },
  },
  available: () =>
    existsSync(join(ROOT, "dist", "node", "simulate.js")) &&
    existsSync(join(ROOT, "dist", "esp32", "midge.js")) &&
    existsSync(join(ROOT, "targets", "espruino", "costs.json")),
  command() {
    return [process.execPath, [join(ROOT, "bench", "brokers", "esp32-sim.mjs"), "--board", "esp32"], null];
  },
};

/**
 * An alternative Midge Node bundle (MIDGE_BENCH_ALT=path/to/midge.js, e.g. a build of another
 * commit), measured like Midge in the same run for A/B comparisons: --brokers midge,midge-alt.
 */
BROKERS["midge-alt"] = {
  label: "Midge (alt build)",
  compare: false,
  node: true,
  mqtt5: true, // a build from before MQTT 5.0 refuses the 5.0 rows (CONNACK 1): an error there
  ipc: true,
  available: () => !!process.env.MIDGE_BENCH_ALT && existsSync(process.env.MIDGE_BENCH_ALT),
  command(dir, port, opts) {
    const [, args] = BROKERS.midge.command(dir, port, opts);
    const i = args.indexOf(join(ROOT, "bin", "midge.js"));
    args.splice(i, 1, join(ROOT, "bench", "brokers", "midge-bundle.mjs"), resolve(process.env.MIDGE_BENCH_ALT));
    return [process.execPath, args, null];
  },
};

/**
 * The Node floor (information): the null sink run as a broker, with the memory hook. It accepts
 * a connection, answers CONNACK and does nothing else, so its connect rate and its memory per
 * idle connection are what any broker on Node's net module pays before doing any MQTT work.
 * It runs with the young-generation setting Midge's Node target makes at start-up
 * (targets/node/heap.ts), so the two differ only by what Midge does.
 */
BROKERS["node-floor"] = {
  label: "Node floor (null broker)",
  compare: false,
  node: true,
  ipc: true,
  scenarios: ["connect", "idle"],
  available: () => true,
  command(_dir, _port, opts) {
    const pre = ["--expose-gc", "--semi-space-growth-factor=1", "--import", HOOK];
    if (opts.cpuProf) pre.push("--cpu-prof", "--cpu-prof-dir", opts.cpuProf);
    return [process.execPath, [...pre, join(ROOT, "bench", "loadgen", "null-broker.mjs"), "sink"], null];
  },
};

/** Null brokers for the generator's self-test (never compared, never in the main table). */
for (const mode of ["sink", "firehose"]) {
  BROKERS[`null-${mode}`] = {
    label: `null ${mode}`,
    compare: false,
    node: false,
    selftest: true,
    available: () => true,
    command() {
      return [process.execPath, [join(ROOT, "bench", "loadgen", "null-broker.mjs"), mode], null];
    },
  };
}

export function brokerVersion(name) {
  try {
    if (name === "midge") return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
    if (name === "aedes") return JSON.parse(readFileSync(join(ROOT, "node_modules", "aedes", "package.json"), "utf8")).version;
    if (name === "lua") {
      const bin = luaBin();
      if (bin === null) return "";
      const r = spawnSync(bin, ["-v"], { encoding: "utf8" });
      return ((r.stdout || "") + (r.stderr || "")).trim().split("\n")[0].split(" -- ")[0] || bin;
    }
  } catch {
    return "";
  }
  return "";
}

/** Reads "utime stime" of a process in clock ticks (1/100 s on Linux), or null when gone. */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

/** Machine-wide busy CPU time (all cores) in clock ticks, from /proc/stat. */
export function systemBusyTicks() {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    return f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0);
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes (VmRSS), or null. */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Starts a broker; resolves with a handle once it listens:
 *   { name, pid, port, mem(), stop(), logs(), alive() }
 * mem() resolves with { rss, heapUsed? } (Node brokers: after a forced full GC).
 */
export async function startBroker(name, opts = {}) {
  const def = BROKERS[name];
  if (!def) throw new Error(`unknown broker '${name}' (known: ${Object.keys(BROKERS).join(", ")})`);
  const dir = mkdtempSync(join(tmpdir(), `midge-bench-${name}-`));
  const port = def.needsPort ? await freePort() : 0;
  const [cmd, args, ready] = def.command(dir, port, opts);
  const stdio = def.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"];
  const child = spawn(cmd, args, { cwd: dir, stdio });
  live.add(child);
  let output = "";
  let exited = false;
  const exitPromise = new Promise((res) => {
    child.once("exit", () => {
      exited = true;
      live.delete(child);
      res();
    });
  });
  // Keep only the tail of the log: a broker logging per message must not fill our memory.
  const onData = (chunk) => {
    output += chunk.toString("utf8");
    if (output.length > 65536) output = output.slice(-32768);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);

  const memWaiters = new Map();
  let memId = 0;
  if (def.ipc) {
    child.on("message", (m) => {
      const w = m && memWaiters.get(m.benchMem);
      if (w) {
        memWaiters.delete(m.benchMem);
        w(m);
      }
    });
  }

  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const t = setTimeout(() => {
        if (!exited) child.kill("SIGKILL");
      }, STOP_GRACE_MS);
      await exitPromise;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const boundPort = await new Promise((res, rej) => {
    let done = false;
    const check = () => {
      if (done) return;
      const m = PORT_LINE.exec(output);
      if (m && (ready === null || ready.test(output))) {
        done = true;
        clearTimeout(timer);
        res(def.needsPort ? port : Number(m[1]));
      }
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    const fail = (why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop().then(() => rej(new Error(`${name}: ${why}\n--- output ---\n${output}`)));
    };
    const timer = setTimeout(() => fail(`did not report its port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.once("exit", (code, signal) => fail(`exited before listening (code ${code}, signal ${signal})`));
    child.once("error", (e) => fail(`cannot spawn ${cmd}: ${e.message}`));
  });

  return {
    name,
    pid: child.pid,
    port: boundPort,
    logs: () => output,
    alive: () => !exited,
    stop,
    /** { rss, heapUsed?, heapTotal?, gc? }: Node brokers answer over IPC after a full GC. */
    async mem() {
      if (def.ipc && !exited && child.connected) {
        const id = ++memId;
        const reply = await new Promise((res) => {
          const t = setTimeout(() => {
            memWaiters.delete(id);
            res(null);
          }, 10000);
          memWaiters.set(id, (m) => {
            clearTimeout(t);
            res(m);
          });
          child.send({ benchMem: id });
        });
        if (reply) {
          const out = { rss: rssBytes(child.pid) ?? reply.rss, heapUsed: reply.heapUsed, heapTotal: reply.heapTotal, external: reply.external, gc: reply.gc };
          if (reply.vars !== undefined) out.vars = reply.vars;
          return out;
        }
      }
      return { rss: rssBytes(child.pid) };
    },
  };
}
