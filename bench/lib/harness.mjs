// The benchmark's scenario table and the code that runs one scenario against one broker:
// start a fresh broker, fork the load-generator worker(s), sample CPU at the measurement
// window's edges, measure broker memory at checkpoints, stop everything. Used by
// bench/run.mjs and by test/bench/smoke.test.ts.
import { fork } from "node:child_process";
import { join } from "node:path";
import { BROKERS, HOST, ROOT, cpuTicks, startBroker, systemBusyTicks } from "../brokers/index.mjs";

const WORKER = join(ROOT, "bench", "loadgen", "worker.mjs");
export const CLK_TCK = 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Scenarios: what the workers run (fn + params), and how their results become metrics.

function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function latencyMetrics(results) {
  const all = [];
  for (const r of results) for (const v of r.latency ?? []) all.push(v);
  all.sort((a, b) => a - b);
  return { p50: percentile(all, 0.5), p99: percentile(all, 0.99) };
}

export const sum = (results, key) => results.reduce((n, r) => n + (r[key] ?? 0), 0);

/** Scenario table. `quick` overrides params for --quick. */
export function scenarios(quick) {
  const table = scenarioTable(quick);
  for (const [name, scn] of Object.entries(table)) scn.name = name;
  return table;
}

function scenarioTable(quick) {
  const win = quick ? { warmupMs: 250, durationMs: 750 } : { warmupMs: 1000, durationMs: 3000 };
  return {
    fanin: {
      title: "QoS 0 fan-in, 8 publishers → 1 subscriber",
      fn: "fanin",
      params: { publishers: 8, window: 256, maxBatch: 64, payload: 32, ...win },
      metrics: [{ key: "rate", label: "QoS 0 fan-in 8→1 (msg/s)", better: "higher" }],
      compute: (rs) => ({ rate: sum(rs, "rate"), lost: sum(rs, "lost") }),
      check: (rs) => rs.every((r) => r.lost === 0) || "messages lost",
    },
    fanout: {
      title: "QoS 0 fan-out, 1 publisher → 100 subscribers",
      fn: "fanout",
      params: { subscribers: 100, window: 64, maxBatch: 32, payload: 32, ...win },
      metrics: [{ key: "rate", label: "QoS 0 fan-out 1→100 (deliveries/s)", better: "higher" }],
      compute: (rs) => ({ rate: sum(rs, "rate"), lost: sum(rs, "lost") }),
      check: (rs) => rs.every((r) => r.lost === 0) || "messages lost",
    },
    qos1: {
      title: "QoS 1 streams, 4 pairs, window 16",
      fn: "qosStream",
      params: { qos: 1, pairs: 4, window: 16, maxBatch: 16, payload: 32, ...win },
      metrics: [
        { key: "rate", label: "QoS 1 stream (msg/s)", better: "higher" },
        { key: "p50", label: "QoS 1 latency p50 (ms)", better: "lower", digits: 2 },
        { key: "p99", label: "QoS 1 latency p99 (ms)", better: "lower", digits: 2 },
      ],
      compute: (rs) => ({ rate: sum(rs, "rate"), lost: sum(rs, "lost"), ...latencyMetrics(rs) }),
      check: (rs) => rs.every((r) => r.lost === 0 && r.unacked === 0) || "messages lost or unacknowledged",
    },
    qos2: {
      title: "QoS 2 streams, 4 pairs, window 16",
      fn: "qosStream",
      params: { qos: 2, pairs: 4, window: 16, maxBatch: 16, payload: 32, ...win },
      metrics: [
        { key: "rate", label: "QoS 2 stream (msg/s)", better: "higher" },
        { key: "p50", label: "QoS 2 latency p50 (ms)", better: "lower", digits: 2 },
        { key: "p99", label: "QoS 2 latency p99 (ms)", better: "lower", digits: 2 },
      ],
      compute: (rs) => ({ rate: sum(rs, "rate"), lost: sum(rs, "lost"), ...latencyMetrics(rs) }),
      check: (rs) => rs.every((r) => r.lost === 0 && r.unacked === 0) || "messages lost or unacknowledged",
    },
    connect: {
      title: "Connect rate (CONNECT, CONNACK, DISCONNECT), 2 processes × 8 lanes",
      fn: "connectRate",
      // Opening Node sockets costs the generator about as much as a C broker spends: two processes.
      workers: 2,
      params: { lanes: 8, ...(quick ? { warmupMs: 250, durationMs: 750 } : { warmupMs: 500, durationMs: 2000 }) },
      metrics: [
        { key: "rate", label: "Connect rate (conn/s)", better: "higher" },
        { key: "p50", label: "Connect latency p50 (ms)", better: "lower", digits: 2 },
      ],
      compute: (rs) => ({ rate: sum(rs, "rate"), failures: sum(rs, "failures"), ...latencyMetrics(rs) }),
      check: (rs) => rs.every((r) => r.failures === 0) || "connections failed",
    },
    idle: {
      title: "2,000 idle connections: broker memory per connection",
      fn: "idle",
      params: { connections: quick ? 500 : 2000, more: quick ? 500 : 2000, concurrency: 50, warm: 50, settleMs: quick ? 300 : 1000 },
      checkpoints: true,
      metrics: [
        { key: "rssPerConn", label: "Idle connection: RSS per connection (bytes)", better: "lower", digits: 0 },
        { key: "heapPerConn", label: "Idle connection: JS heap per connection (bytes)", better: "lower", digits: 0 },
        { key: "rssPerMore", label: "Idle connection, one more: RSS per connection (bytes)", better: "lower", digits: 0 },
        { key: "heapPerMore", label: "Idle connection, one more: JS heap per connection (bytes)", better: "lower", digits: 0 },
        { key: "varsPerConn", label: "Idle connection: Espruino variables per connection", better: "lower", digits: 1, separateOnly: true },
      ],
      compute: (rs, mem) => {
        const n = sum(rs, "connections");
        const out = { rssPerConn: (mem.loaded.rss - mem.baseline.rss) / n, connectMs: Math.max(...rs.map((r) => r.connectMs)) };
        if (mem.loaded.heapUsed !== undefined) out.heapPerConn = (mem.loaded.heapUsed - mem.baseline.heapUsed) / n;
        if (mem.loaded.vars !== undefined) out.varsPerConn = (mem.loaded.vars - mem.baseline.vars) / n;
        // The second step (scenarios.mjs idle): the cost of one more connection next to the first ones.
        const k = sum(rs, "more");
        if (k > 0 && mem.more) {
          out.rssPerMore = (mem.more.rss - mem.loaded.rss) / k;
          if (mem.more.heapUsed !== undefined) out.heapPerMore = (mem.more.heapUsed - mem.loaded.heapUsed) / k;
        }
        return out;
      },
    },
    retained: {
      title: "10,000 retained messages, then a `#` subscriber",
      fn: "retained",
      params: { messages: quick ? 2000 : 10000, payload: 32, rounds: 3, timeoutMs: 20000 },
      metrics: [{ key: "ms", label: "Retained 10k → `#` subscriber (ms)", better: "lower", digits: 1 }],
      compute: (rs) => ({ ms: rs[0].ms, received: rs[0].received }),
      check: (rs) => rs.every((r) => r.received === r.expected) || "retained messages missing",
    },
    wildcard: {
      title: "1,000 subscribers with distinct wildcard filters",
      fn: "wildcard",
      params: { matching: 10, total: quick ? 200 : 1000, window: 256, maxBatch: 64, payload: 32, ...win },
      metrics: [
        { key: "rate", label: "1,000 wildcard subscriptions (msg/s)", better: "higher" },
        { key: "rateFew", label: "10 wildcard subscriptions (msg/s)", better: "higher" },
        { key: "growth", label: "Matching slowdown 10 → 1,000 subs (×)", better: "lower", digits: 2 },
      ],
      compute: (rs) => ({ rate: rs[0].rate, rateFew: rs[0].rateFew, growth: rs[0].rateFew / rs[0].rate, lost: rs[0].lost, stray: rs[0].stray }),
      check: (rs) => rs.every((r) => r.lost === 0 && r.stray === 0) || "messages lost or delivered to a non-matching subscriber",
    },
    heap: {
      title: "Heap growth per QoS 0 message (forced GC before and after)",
      fn: "heap",
      nodeOnly: true,
      once: true, // one long run, in the first repeat only
      checkpoints: true,
      params: {
        publishers: 8,
        window: 256,
        maxBatch: 64,
        payload: 32,
        warmMessages: quick ? 50000 : 300000,
        messages: quick ? 200000 : 2000000,
        maxMs: quick ? 3000 : 12000, // per phase (warm-up, each half): bounds the slower brokers
      },
      metrics: [{ key: "bytesPerMsg", label: "Heap growth per QoS 0 message, one run (bytes)", better: "lower", digits: 3 }],
      compute: (rs, mem) => ({
        // Steady state: the second half of the run (see scenarios.mjs heap()).
        bytesPerMsg: (mem.after.heapUsed - mem.middle.heapUsed) / rs[0].secondHalf,
        bytesPerMsgFirstHalf: (mem.middle.heapUsed - mem.before.heapUsed) / rs[0].firstHalf,
        heapBefore: mem.before.heapUsed,
        heapMiddle: mem.middle.heapUsed,
        heapAfter: mem.after.heapUsed,
        messages: rs[0].messages,
      }),
    },
    // MQTT 5.0 clients: the fan-in and QoS 1 scenarios above with level 5 CONNECTs and a
    // property block on every PUBLISH (lib/mqtt.mjs V5_PUBLISH_PROPERTIES: Content Type and a
    // User Property, 33 bytes), which the broker passes on to the subscriber. Only brokers
    // with `mqtt5` in brokers/index.mjs run them (aedes has no MQTT 5: "n/a"). `v311` names
    // the 3.1.1 twin, for the ratio 5.0 / 3.1.1 of the same broker in the same run.
    fanin5: {
      title: "QoS 0 fan-in, 8 publishers → 1 subscriber, MQTT 5.0 clients",
      fn: "fanin",
      mqtt5: true,
      v311: "fanin",
      params: { version: 5, publishers: 8, window: 256, maxBatch: 64, payload: 32, ...win },
      metrics: [{ key: "rate", label: "MQTT 5.0: QoS 0 fan-in 8→1 (msg/s)", better: "higher" }],
      compute: (rs) => ({ rate: sum(rs, "rate"), lost: sum(rs, "lost") }),
      check: (rs) => rs.every((r) => r.lost === 0 && r.rejected === 0 && r.malformed === 0) || "messages lost, refused or malformed",
    },
    qos15: {
      title: "QoS 1 streams, 4 pairs, window 16, MQTT 5.0 clients",
      fn: "qosStream",
      mqtt5: true,
      v311: "qos1",
      params: { version: 5, qos: 1, pairs: 4, window: 16, maxBatch: 16, payload: 32, ...win },
      metrics: [
        { key: "rate", label: "MQTT 5.0: QoS 1 stream (msg/s)", better: "higher" },
        { key: "p50", label: "MQTT 5.0: QoS 1 latency p50 (ms)", better: "lower", digits: 2 },
        { key: "p99", label: "MQTT 5.0: QoS 1 latency p99 (ms)", better: "lower", digits: 2 },
      ],
      compute: (rs) => ({ rate: sum(rs, "rate"), lost: sum(rs, "lost"), ...latencyMetrics(rs) }),
      check: (rs) =>
        rs.every((r) => r.lost === 0 && r.unacked === 0 && r.rejected === 0 && r.malformed === 0) || "messages lost, unacknowledged, refused or malformed",
    },
  };
}

/** Whether a broker runs a scenario's protocol: MQTT 5.0 scenarios need `mqtt5` (else "n/a"). */
export function supports(scn, brokerName) {
  return !scn.mqtt5 || BROKERS[brokerName]?.mqtt5 === true;
}

/**
 * The generator's self-test against null brokers (its ceiling; not a broker comparison). The
 * `mqtt5` ones (5.0 clients, PUBLISHes with the property block) run when a 5.0 scenario does.
 */
export function selftests(quick) {
  const win = quick ? { warmupMs: 200, durationMs: 600 } : { warmupMs: 500, durationMs: 2000 };
  return {
    send: { broker: "null-sink", fn: "selfSend", params: { publishers: 8, maxBatch: 64, payload: 32, ...win } },
    receive: { broker: "null-firehose", fn: "selfReceive", params: { ...win } },
    send5: { broker: "null-sink", fn: "selfSend", mqtt5: true, params: { version: 5, publishers: 8, maxBatch: 64, payload: 32, ...win } },
    receive5: { broker: "null-firehose", fn: "selfReceive", mqtt5: true, params: { version: 5, ...win } },
  };
}

// ---------------------------------------------------------------------------------------------
// Running one scenario against one broker.

let runCounter = 0;

export async function runOne(scn, brokerName, opts) {
  const def = BROKERS[brokerName];
  const params = { ...scn.params, ...(def.params?.[scn.name] ?? {}) };
  const broker = await startBroker(brokerName, { cpuProf: opts.profile && brokerName === "midge" ? opts.profile : undefined });
  const shards = scn.workers ?? 1;
  const runId = `${process.pid}x${++runCounter}`;
  const workers = [];
  const marks = {};
  const mem = {};
  const arrived = {};
  try {
    await sleep(200);
    const results = await new Promise((resolve, reject) => {
      const out = new Array(shards);
      let done = 0;
      const timer = setTimeout(() => reject(new Error(`timed out after ${opts.runTimeoutMs} ms`)), opts.runTimeoutMs);
      for (let shard = 0; shard < shards; shard++) {
        const w = fork(WORKER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
        workers.push(w);
        w.on("message", async (m) => {
          if (m.type === "mark") {
            if (shard !== 0) return;
            marks[m.name] = { t: Date.now(), broker: cpuTicks(broker.pid), gen: workers.map((x) => cpuTicks(x.pid)), sys: systemBusyTicks() };
          } else if (m.type === "checkpoint") {
            arrived[m.name] = (arrived[m.name] ?? 0) + 1;
            if (arrived[m.name] === shards) {
              mem[m.name] = await broker.mem();
              for (const x of workers) x.send({ type: "resume" });
            }
          } else if (m.type === "result") {
            out[shard] = m.result;
            if (++done === shards) {
              clearTimeout(timer);
              resolve(out);
            }
          } else if (m.type === "error") {
            clearTimeout(timer);
            reject(new Error(m.error));
          }
        });
        w.once("exit", (code) => {
          if (out[shard] === undefined) {
            clearTimeout(timer);
            reject(new Error(`load generator worker exited (code ${code})`));
          }
        });
        w.send({ type: "run", fn: scn.fn, params, host: HOST, port: broker.port, shard, shards, runId });
      }
    });
    if (!broker.alive()) throw new Error(`broker exited during the run\n${broker.logs()}`);
    const metrics = scn.compute(results, mem);
    let cpu = null;
    if (marks.start && marks.end) {
      const secs = (marks.end.t - marks.start.t) / 1000;
      const pct = (a, b) => (a === null || b === null ? null : (((b - a) / CLK_TCK) * 100) / secs);
      let gen = 0;
      for (let i = 0; i < workers.length; i++) gen += pct(marks.start.gen[i], marks.end.gen[i]) ?? 0;
      cpu = { broker: pct(marks.start.broker, marks.end.broker), gen };
      // Everything else the machine ran meanwhile: noise (another job) shows up here.
      const sys = pct(marks.start.sys, marks.end.sys);
      cpu.other = sys === null || cpu.broker === null ? null : Math.max(0, sys - cpu.broker - gen);
    }
    const ok = scn.check ? scn.check(results) : true;
    const logTail = ok === true ? undefined : broker.logs().slice(-2000);
    return { metrics, cpu, warning: ok === true ? null : ok, results: results.map(stripSamples), mem, params: def.params?.[scn.name] ?? null, logTail };
  } finally {
    for (const w of workers) if (w.connected) w.disconnect();
    for (const w of workers) if (w.exitCode === null) w.kill("SIGKILL");
    await broker.stop();
  }
}

function stripSamples(r) {
  const { latency, ...rest } = r;
  return rest;
}

/** Machine-wide CPU use (% of one core) over `ms`, this process excluded (it sleeps). */
export async function otherLoad(ms) {
  const a = systemBusyTicks();
  await sleep(ms);
  const b = systemBusyTicks();
  return a === null || b === null ? null : ((b - a) / CLK_TCK) * 100 / (ms / 1000);
}
