#!/usr/bin/env node
// Soak run for Midge (issue 9): `npm run soak -- --minutes N`.
//
// Starts the Node broker (bin/midge.js, sys_interval 5, the reliability board profile of
// tools/lib/spawn.mjs) and runs mixed load for N minutes: well-behaved publishers and
// subscribers at QoS 0/1/2 (some killed and reconnected with persistent sessions), session
// and subscription churn, retained-message churn, and a low rate of fuzz connections. Every
// 10 s it prints broker memory (RSS from /proc), table usage and message counters (from the
// broker's own $SYS topics), and messages in/out/lost; at the end a summary.
// Exit code 0 = nothing lost, no QoS 2 duplicate, broker alive, memory flat.
//
// Options:
//   --minutes N        duration (default 5; fractions allowed)
//   --seed S           seed of the load (default: fresh, printed)
//   --rate N           well-behaved messages per second (default 200)
//   --fuzz N           concurrent fuzz connections (default 4; 0 = none)
//   --every S          seconds between status lines (default 10)
//   --mem-growth MB    allowed RSS growth from the first minute to the end (default 64)
//   --json FILE        also write the samples and the summary as JSON
import { writeFileSync } from "node:fs";
import { Churn } from "./lib/churn.mjs";
import { GoodClient } from "./lib/client.mjs";
import { newFuzzStats, startFuzzers } from "./lib/fuzzcore.mjs";
import { RELIABILITY_LIMITS, startBroker } from "./lib/spawn.mjs";
import { Workload } from "./lib/workload.mjs";
import { prng, subSeed } from "./lib/wire.mjs";
import { mb, rssBytes } from "./lib/proc.mjs";

function parseArgs(argv) {
  const o = { minutes: 5, seed: (Date.now() ^ (process.pid << 16)) >>> 0, rate: 200, fuzz: 4, every: 10, memGrowth: 64, json: "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a number >= 0`);
      return v;
    };
    switch (a) {
      case "--minutes": o.minutes = num(); break;
      case "--seed": o.seed = num() >>> 0; break;
      case "--rate": o.rate = Math.max(1, num()); break;
      case "--fuzz": o.fuzz = Math.floor(num()); break;
      case "--every": o.every = Math.max(1, num()); break;
      case "--mem-growth": o.memGrowth = num(); break;
      case "--json": o.json = argv[++i] ?? ""; break;
      case "-h":
      case "--help":
        console.log("usage: node tools/soak.mjs [--minutes N] [--seed S] [--rate N] [--fuzz N] [--every S] [--mem-growth MB] [--json FILE]");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

/**
 * Latest $SYS values of the broker, read by a client subscribed to $SYS/broker/# (the
 * broker's table usage and counters, SRV-IMPL-18), plus its RSS from /proc.
 */
class SysWatcher {
  constructor(port, pid, run) {
    this.pid = pid;
    this.values = new Map();
    this.client = new GoodClient({ port, clientId: `soak-${run}-sys`, keepalive: 30, onMessage: (m) => this.values.set(m.topic, m.payload.toString()) });
  }

  async start() {
    await this.client.connect();
    await this.client.subscribe([["$SYS/broker/#", 0]]);
  }

  num(topic) {
    const v = this.values.get("$SYS/broker/" + topic);
    return v === undefined ? 0 : parseInt(v, 10);
  }

  latest() {
    if (this.values.size === 0) return null;
    return {
      rss: rssBytes(this.pid),
      connections: this.num("tables/connections/used"),
      sessions: this.num("tables/sessions/used"),
      subscriptions: this.num("tables/subscriptions/used"),
      retained: this.num("tables/retained/used"),
      retainedBytes: this.num("tables/retained/bytes"),
      received: this.num("messages/received"),
      sent: this.num("messages/sent"),
      dropped: this.num("messages/dropped"),
    };
  }
}

function fmtTime(ms) {
  const s = Math.round(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`soak: ${e.message}`);
    return 2;
  }
  const limits = { ...RELIABILITY_LIMITS, connectTimeoutMs: 3000 };
  const broker = await startBroker({ limits, configLines: ["sys_interval 5"] });
  const run = `s${o.seed.toString(36)}`;
  const sys = new SysWatcher(broker.port, broker.pid, run);
  await sys.start();
  console.log(`soak: ${o.minutes} min, seed ${o.seed}, broker pid ${broker.pid} on 127.0.0.1:${broker.port}, ${o.rate} msg/s well-behaved, ${o.fuzz} fuzz connections at a time`);
  console.log(`soak: limits ${JSON.stringify(limits)}`);
  const workload = new Workload({ port: broker.port, run, rnd: prng(subSeed(o.seed, 1)), rate: o.rate, maxPayload: 4000, killEveryMs: [1000, 8000], offlineMs: [20, 1500] });
  await workload.start();
  const churn = new Churn({ host: "127.0.0.1", port: broker.port, run, rnd: prng(subSeed(o.seed, 2)) });
  await churn.start();
  const fuzzStats = newFuzzStats();
  const violations = [];
  const started = Date.now();
  const until = started + o.minutes * 60000;
  const fuzzers =
    o.fuzz > 0
      ? startFuzzers({ host: "127.0.0.1", port: broker.port, closeWithinMs: 5000, seed: subSeed(o.seed, 3), concurrency: o.fuzz, maxPacket: limits.maxPacketSize, pid: broker.pid, stats: fuzzStats, violations, until })
      : null;

  const samples = [];
  console.log("");
  console.log("  time   rss MB | conns sess  subs  retained   | broker in/out/dropped        | good published/delivered  lost dupQ2 | fuzz conns");
  const status = () => {
    const s = sys.latest();
    if (!s) return;
    const w = workload.snapshot();
    const late = workload.missing(Date.now() - 30000).lost; // expected for 30 s and still not there
    const row = { t: Date.now() - started, ...s, good: w, late, fuzz: fuzzStats.connections };
    samples.push(row);
    console.log(
      `  ${fmtTime(row.t)}  ${String(mb(s.rss)).padStart(6)} | ` +
        `${String(s.connections).padStart(5)} ${String(s.sessions).padStart(4)} ${String(s.subscriptions).padStart(5)} ${String(s.retained).padStart(5)}/${String(Math.round(s.retainedBytes / 1024)).padStart(4)}K | ` +
        `${String(s.received).padStart(8)}/${String(s.sent).padStart(8)}/${String(s.dropped).padStart(6)} | ` +
        `${String(w.published).padStart(9)}/${String(w.delivered).padStart(9)} ${String(late).padStart(5)} ${String(w.dupQos2).padStart(5)} | ${fuzzStats.connections}`,
    );
  };
  const ticker = setInterval(status, o.every * 1000);
  while (Date.now() < until && broker.alive()) await new Promise((r) => setTimeout(r, 250));
  clearInterval(ticker);
  status();

  if (fuzzers) await fuzzers.stop();
  await churn.stop();
  const good = await workload.stop(30000);
  await new Promise((r) => setTimeout(r, 1500));
  const last = sys.latest();
  await sys.client.end();
  const alive = broker.alive();

  // Memory: the first sample after one minute (warm-up) against the last.
  const warm = samples.find((s) => s.t >= 60000) ?? samples[0];
  const end = samples[samples.length - 1];
  const peak = samples.reduce((m, s) => Math.max(m, s.rss), 0);
  const failures = [];
  if (!alive) failures.push(`broker exited (${broker.exitInfo()})`);
  if (broker.internalErrors() > 0) failures.push(`${broker.internalErrors()} internal errors logged: ${broker.grep(/Internal error|Uncaught|FATAL/).slice(0, 3).join(" | ")}`);
  if (good.lost > 0) failures.push(`lost ${good.lost}: ${good.lostSamples.join("; ")}`);
  if (good.dupQos2 > 0) failures.push(`${good.dupQos2} QoS 2 duplicates`);
  if (good.dupQos0 > 0) failures.push(`${good.dupQos0} QoS 0 duplicates`);
  if (good.notConfirmed > 0) failures.push(`${good.notConfirmed} publishes never completed`);
  if (good.anomalies.length > 0) failures.push(`anomalies: ${good.anomalies.slice(0, 5).join("; ")}`);
  if (good.unexpectedCloses > 0) failures.push(`well-behaved connections closed by the broker ${good.unexpectedCloses} times`);
  if (good.errors.length > 0) failures.push(`workload errors: ${good.errors.slice(0, 5).join("; ")}`);
  if (warm && end && o.minutes >= 2 && end.rss - warm.rss > o.memGrowth * 1024 * 1024) failures.push(`RSS grew ${mb(end.rss - warm.rss)} MB after warm-up (limit ${o.memGrowth} MB)`);
  failures.push(...violations);

  const summary = {
    pass: failures.length === 0,
    failures,
    seed: o.seed,
    minutes: Math.round(((Date.now() - started) / 60000) * 10) / 10,
    memory: {
      startMB: samples.length ? mb(samples[0].rss) : 0,
      afterWarmupMB: warm ? mb(warm.rss) : 0,
      peakMB: mb(peak),
      endMB: end ? mb(end.rss) : 0,
    },
    broker: last,
    good: { ...good },
    churn: churn.stats,
    fuzz: { connections: fuzzStats.connections, faults: fuzzStats.faults, bytes: fuzzStats.bytes },
  };
  console.log("");
  console.log(`soak seed ${o.seed}: ${summary.pass ? "PASS" : "FAIL"} after ${summary.minutes} min`);
  console.log(`  broker memory (RSS): start ${summary.memory.startMB} MB, after 1 min ${summary.memory.afterWarmupMB} MB, peak ${summary.memory.peakMB} MB, end ${summary.memory.endMB} MB`);
  if (last) console.log(`  broker counters: ${last.received} messages in, ${last.sent} out, ${last.dropped} dropped by policy (slow consumers, full queues, fuzz); tables at the end: ${last.connections} connections, ${last.sessions} sessions, ${last.subscriptions} subscriptions, ${last.retained} retained`);
  console.log(`  well-behaved: ${good.published} published (QoS 0/1/2: ${good.publishedByQos.join("/")}), ${good.delivered} deliveries, lost ${good.lost}, duplicated at QoS 2 ${good.dupQos2}, at-least-once duplicates ${good.dupQos1} (allowed), out of order ${good.outOfOrder}, ${good.kills} kills, ${good.reconnects} reconnects`);
  console.log(`  churn: ${churn.stats.sessions} short sessions, ${churn.stats.kills} killed, ${churn.stats.retained} retained writes, ${churn.stats.retainedDeletes} retained deletes; fuzz: ${fuzzStats.connections} connections, ${fuzzStats.faults} faults`);
  for (const f of failures) console.log(`  FAIL: ${f}`);
  if (!summary.pass) console.log(`--- broker log (tail) ---\n${broker.tail()}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ summary, samples }, null, 2));
  await broker.stop();
  return summary.pass ? 0 : 1;
}

process.exitCode = await main();
