// Measures what Midge's tables cost, per item, on the real Espruino interpreter (Linux build
// with 16,383 fixed variables, booting the ESP32 bundle from Storage as a board does) and in
// the simulator's QuickJS heap, and writes targets/espruino/costs.json. The worst-case
// estimates of the build (memory.mjs) and the simulator's heap limit use those numbers.
//
//   node targets/espruino/measure.mjs            # both engines
//   node targets/espruino/measure.mjs espruino   # only one (keeps the other's numbers)
//   node targets/espruino/measure.mjs espruino --board esp8266
//       # one profile's bundle (its features): costs.json "profiles.<board>", which the
//       # build's estimate for that board then uses instead of the ESP32 bundle's figures
//
// Memory is read over a control channel (interpreter.mjs controlCode: a TCP server appended
// to .bootcde), never typed at the REPL: the Linux build's stdin thread races the main loop
// on the event queue and stopped the interpreter with ASSERT(len<=64) in src/jsdevices.c,
// most often at the partial-packet step, the 40th or so reading of a run.
//
// Method: start the broker with generous limits (set through midge.json, the settings file a
// board reads), then for each kind of item add n of them over real TCP and read the
// memory before and after: process.memory().usage on Espruino (it collects garbage first),
// the QuickJS heap's memory_used_size in the simulator. Each item is measured at two sizes
// (client id, filter, topic, payload length) to split a fixed cost from a cost per byte.
// Start-up cost is measured at three table sizes to split the code from the per-slot cost.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "../../tools/lib/net.mjs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildEspruino, featuresOf, loadProfile, ROOT } from "./build.mjs";
import { boot, controlCode, findInterpreter, writeStorage } from "./interpreter.mjs";
import { coreHash, geometry } from "./memory.mjs";
import { client, connected, pk, sync } from "./rawClient.mjs";

const COSTS_FILE = fileURLToPath(new URL("./costs.json", import.meta.url));
const boardArg = process.argv.indexOf("--board");
const BOARD = boardArg > 0 ? process.argv[boardArg + 1] : "esp32";
const PER_PROFILE = boardArg > 0;
const FEATURES = featuresOf(loadProfile(BOARD));
const ESPRUINO_VARS = 16383;
const N = 16;

/** Limits large enough that no measurement hits a table limit. */
const MEASURE_LIMITS = {
  maxConnections: 24,
  maxSessions: 24,
  maxSubscriptions: 256,
  maxSubscriptionsPerClient: 128,
  maxInflight: 64,
  maxQueued: 64,
  maxInboundQos2: 64,
  maxRetained: 128,
  maxRetainedBytes: 100000,
  maxPacketSize: 4096,
  maxClientIdLength: 128,
  maxTopicLength: 256,
  maxPendingBytes: 65536,
  connectTimeoutMs: 60000,
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const name = (prefix, i, len) => (prefix + i.toString(36) + "x".repeat(len)).slice(0, len);

// Engines -----------------------------------------------------------------------------------------
async function espruinoEngine(settings) {
  const code = readFileSync(join(ROOT, "dist", BOARD, "midge.js"), "latin1");
  const dir = mkdtempSync(join(tmpdir(), "midge-measure-"));
  const port = await freePort();
  const controlPort = await freePort();
  writeStorage(dir, { ".bootcde": code + controlCode(controlPort), "midge.json": JSON.stringify({ ...settings, port }) });
  const e = boot(ESPRUINO_VARS, dir, { controlPort });
  try {
    await e.waitFor(new RegExp(`listen socket on port ${port}\\.`), 10000);
    await e.waitFor(new RegExp(`midge-control on ${controlPort}`), 10000);
  } catch (err) {
    await e.stop();
    throw err;
  }
  return {
    port,
    memory: async () => {
      await sleep(150);
      return e.memory();
    },
    eval: (js) => e.eval(js),
    output: () => e.output(),
    stop: async () => {
      await e.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function simulatorEngine(settings) {
  const { runSimulator } = await import(join(ROOT, "dist", "node", "simulate.js"));
  const dir = mkdtempSync(join(tmpdir(), "midge-measure-sim-"));
  writeFileSync(join(dir, "storage.json"), JSON.stringify({ "midge.json": Buffer.from(JSON.stringify(settings)).toString("base64") }));
  const sim = await runSimulator({ board: BOARD, port: 0, host: "127.0.0.1", storageDir: dir, enforceMemory: false, log: () => {} });
  return {
    port: sim.port,
    memory: async () => {
      await sleep(150);
      return sim.heapBytes();
    },
    stop: async () => {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** fixed + perByte * len through two points. */
function fit(len1, c1, len2, c2) {
  const perByte = (c2 - c1) / (len2 - len1);
  return { fixed: round(c1 - perByte * len1), perByte: round(perByte) };
}
const round = (x) => Math.round(x * 1000) / 1000;

async function measureEngine(make, label) {
  const out = { items: {} };
  // Start-up at three table sizes.
  const startAt = async (conns, sessions) => {
    const eng = await make({ limits: { ...MEASURE_LIMITS, maxConnections: conns, maxSessions: sessions } });
    try {
      return await eng.memory();
    } finally {
      await eng.stop();
    }
  };
  const s1 = await startAt(8, 8);
  const s2 = await startAt(24, 8);
  const s3 = await startAt(8, 24);
  const perConnSlot = (s2 - s1) / 16;
  const perSessionSlot = (s3 - s1) / 16;
  out.start = { fixed: round(s1 - 8 * perConnSlot - 8 * perSessionSlot), perConnSlot: round(perConnSlot), perSessionSlot: round(perSessionSlot) };
  console.log(label, "start", JSON.stringify(out.start));

  const eng = await make({ limits: MEASURE_LIMITS });
  const port = eng.port;
  const open = [];
  try {
    const delta = async (action, n) => {
      const before = await eng.memory();
      await action();
      const after = await eng.memory();
      return (after - before) / n;
    };

    // Sockets that have not sent CONNECT: the first 8 create their connection slots (the core
    // creates slots as first needed and keeps them), the next 8 reuse them.
    const openSockets = async () => {
      for (let i = 0; i < 8; i++) {
        const c = client(port);
        await c.ready;
        open.push(c);
      }
    };
    const firstSocket = await delta(openSockets, 8);
    for (const c of open.splice(0)) c.close();
    await sleep(300);
    const socket = await delta(openSockets, 8);
    for (const c of open.splice(0)) c.close();
    await sleep(300);
    out.items.socket = { fixed: round(socket) };
    out.items.connSlot = round(firstSocket - socket);
    // Sessions: the first 8 create their session slots; then two client id lengths on reused slots.
    const sessionAt = async (len, tag) => {
      const cs = [];
      const d = await delta(async () => {
        for (let i = 0; i < 8; i++) cs.push(await connected(port, name("s" + tag + len + "-", i, len), true));
      }, 8);
      for (const c of cs) {
        c.send(pk.disconnect());
        c.close();
      }
      await sleep(300);
      return d - socket;
    };
    const firstSession = await sessionAt(8, "a");
    const s8 = await sessionAt(8, "b");
    const s100 = await sessionAt(100, "c");
    out.items.session = fit(8, s8, 100, s100);
    out.items.sessionSlot = round(firstSession - s8);

    // Subscriptions of one persistent client, two filter lengths.
    const sub = await connected(port, "subscriber", false);
    open.push(sub);
    let pid = 1;
    const subsAt = async (len) =>
      delta(async () => {
        for (let i = 0; i < N; i++) sub.send(pk.subscribe(pid++, name("f" + len + "/", i, len), 1));
        await sub.waitCount(9, pid - 1);
      }, N);
    out.items.subscription = fit(8, await subsAt(8), 100, await subsAt(100));

    // Retained messages: (topic, payload) = (8, 8), (40, 8), (8, 200).
    const pub = await connected(port, "publisher", true);
    open.push(pub);
    const retainedAt = async (tl, pl) =>
      delta(async () => {
        for (let i = 0; i < N; i++) pub.send(pk.publish(name("r" + tl + "-" + pl + "/", i, tl), "p".repeat(pl), 0, true, 0));
        await sync(pub);
      }, N);
    const msgFit = (c88, c408, c8200) => {
      const perTopicByte = (c408 - c88) / 32;
      const perPayloadByte = (c8200 - c88) / 192;
      return { fixed: round(c88 - 8 * perTopicByte - 8 * perPayloadByte), perTopicByte: round(perTopicByte), perPayloadByte: round(perPayloadByte) };
    };
    // A feature the bundle leaves out has no item to measure: it costs nothing.
    const NONE = { fixed: 0, perTopicByte: 0, perPayloadByte: 0 };
    if (FEATURES.retained) {
      const r88 = await retainedAt(8, 8);
      const r408 = await retainedAt(40, 8);
      const r8200 = await retainedAt(8, 200);
      out.items.retained = msgFit(r88, r408, r8200);
    } else out.items.retained = NONE;

    // Queued: QoS 1 messages for an offline persistent session.
    if (FEATURES.persistentSessions) {
      const q = await connected(port, "queued", false);
      q.send(pk.subscribe(1, "q/#", 1));
      await q.waitCount(9, 1);
      q.send(pk.disconnect());
      q.close();
      await sleep(200);
    }
    let ppid = 1;
    let acks = 0;
    const publishQos1 = async (prefix, tl, pl) => {
      for (let i = 0; i < N; i++) pub.send(pk.publish(name(prefix + tl + "-" + pl + "/", i, tl), "p".repeat(pl), 1, false, ppid++));
      acks += N;
      await pub.waitCount(4, acks);
    };
    const queuedAt = (tl, pl) => delta(() => publishQos1("q/", tl, pl), N);
    out.items.queued = FEATURES.persistentSessions ? msgFit(await queuedAt(8, 8), await queuedAt(40, 8), await queuedAt(8, 200)) : NONE;

    // In flight: QoS 1 messages sent to a connected client that never acknowledges.
    const f = await connected(port, "inflight", true);
    open.push(f);
    f.send(pk.subscribe(1, "f/#", 1));
    await f.waitCount(9, 1);
    let got = 0;
    const flightAt = (tl, pl) =>
      delta(async () => {
        await publishQos1("f/", tl, pl);
        got += N;
        await f.waitCount(3, got);
      }, N);
    out.items.inflight = msgFit(await flightAt(8, 8), await flightAt(40, 8), await flightAt(8, 200));

    // Inbound QoS 2 packet ids waiting for PUBREL (no subscriber: nothing else is kept).
    if (FEATURES.qos2) {
      const q2 = await connected(port, "qos2", true);
      open.push(q2);
      out.items.inboundId = round(
        await delta(async () => {
          for (let i = 0; i < N; i++) q2.send(pk.publish("nobody/" + i, "x", 2, false, 100 + i));
          await q2.waitCount(5, N);
        }, N),
      );
    } else out.items.inboundId = 0;

    // Partial packets: a PUBLISH announcing 3000 bytes, of which n have arrived.
    const partialAt = async (n) => {
      const cs = [];
      for (let i = 0; i < 8; i++) cs.push(await connected(port, name("part" + n + "-", i, 12), true));
      const d = await delta(async () => {
        const whole = pk.publish("partial/topic", "z".repeat(3000 - 17), 0, false, 0);
        for (const c of cs) c.send(whole.subarray(0, n));
        await sleep(200);
      }, 8);
      for (const c of cs) c.close();
      await sleep(300);
      return d;
    };
    out.items.partial = fit(100, await partialAt(100), 800, await partialAt(800));
    console.log(label, "items", JSON.stringify(out.items));
    if (eng.eval) {
      // Geometry of this build (src/jsutils.h, 64-bit names), bytes per variable as reported.
      const blocksize = Number(await eng.eval("process.memory().blocksize"));
      out.geometry = geometry(ESPRUINO_VARS, 8, blocksize);
    }
  } catch (err) {
    if (eng.output) console.error("--- interpreter output ---\n" + eng.output().slice(-3000));
    throw err;
  } finally {
    for (const c of open) c.close();
    await eng.stop();
  }
  return out;
}

/** QuickJS heap bytes of a String and a Uint8Array beyond their contents (per object). */
async function quickjsOverheads() {
  const { getQuickJS } = await import("quickjs-emscripten");
  const QJ = await getQuickJS();
  const rt = QJ.newRuntime();
  const vm = rt.newContext();
  const used = () => {
    const h = rt.computeMemoryUsage();
    const o = vm.dump(h);
    h.dispose();
    return o.memory_used_size;
  };
  const run = (code) => vm.unwrapResult(vm.evalCode(code)).dispose();
  run("globalThis.keep=[]");
  const a = used();
  run('for(let i=0;i<100;i++)keep.push(("s"+i+"x".repeat(1000)).slice(0))');
  const b = used();
  run("for(let i=0;i<100;i++)keep.push(new Uint8Array(1000))");
  const c = used();
  vm.dispose();
  rt.dispose();
  return { stringOverhead: Math.round((b - a) / 100 - 1000), bytesOverhead: Math.round((c - b) / 100 - 1000) };
}

async function main() {
  const which = process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : undefined;
  loadProfile(BOARD);
  // The bundles and the simulator runner; budgets are not enforced while measuring.
  process.env.MIDGE_ESPRUINO_BUDGET = "warn";
  await buildEspruino([BOARD]);
  let costs = {};
  try {
    costs = JSON.parse(readFileSync(COSTS_FILE, "utf8"));
  } catch {
    costs = {};
  }
  // One profile's figures go under profiles.<board>; the ESP32 bundle's stay the default.
  const into = PER_PROFILE ? ((costs.profiles = costs.profiles || {})[BOARD] = costs.profiles[BOARD] || {}) : costs;
  if (!which || which === "espruino") {
    if (!findInterpreter(ESPRUINO_VARS)) throw new Error(`no Espruino interpreter with ${ESPRUINO_VARS} variables: set MIDGE_ESPRUINO_${ESPRUINO_VARS}`);
    const m = await measureEngine(espruinoEngine, "espruino");
    into.espruino = {
      about: `Espruino ${"2v29"} Linux build (VARIABLES=${ESPRUINO_VARS}, 64-bit), bundle dist/${BOARD}/midge.js booted from Storage (.bootcde) like a board; variables per item from process.memory().usage deltas over ${N} items, read over a control channel (start.fixed includes its server and connection, about 60 variables: 1,741 against 1,681 read at the REPL for the esp32 bundle)`,
      geometry: m.geometry,
      start: m.start,
      items: m.items,
    };
  }
  if (!which || which === "quickjs") {
    const m = await measureEngine(simulatorEngine, "quickjs");
    into.quickjs = { about: "QuickJS heap bytes (memory_used_size) per item in the simulator, same workload", start: m.start, items: m.items, ...(await quickjsOverheads()) };
  }
  into.measured = new Date().toISOString().slice(0, 10);
  into.coreHash = coreHash();
  into.workload = { board: BOARD, limits: MEASURE_LIMITS, itemsPerStep: N };
  if (PER_PROFILE) into.features = FEATURES;
  writeFileSync(COSTS_FILE, JSON.stringify(costs, null, 2) + "\n");
  console.log("wrote " + COSTS_FILE + (PER_PROFILE ? ` (profiles.${BOARD})` : ""));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
