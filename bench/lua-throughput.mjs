#!/usr/bin/env node
// Throughput of the Lua target next to the Node target: one MQTT.js publisher sends N messages
// to one MQTT.js subscriber through the broker, at QoS 0 and at QoS 1; msgs/s is N divided by
// the time from the first publish to the last message received. Same clients, same machine,
// fresh broker per run, median of the repeats. Also the broker's CPU time per message (user +
// system, from /proc): steadier than msgs/s on a busy machine. The publisher keeps at most 400 messages in
// flight end to end (sent, not yet received), so no broker drops anything. Loopback only.
//
//   node bench/lua-throughput.mjs [--targets node,lua5.4,luajit[,lua5.1,mosquitto]] [--qos0 N] [--qos1 N]
//                                 [--payload BYTES] [--fixed-payload] [--repeat R] [--json FILE]
//
// Needs bin/midge.js + dist/node (node build.mjs --node) and dist/lua/midge.lua
// (node targets/lua/build.mjs). The client side (MQTT.js in this process) is part of what is
// measured: treat the numbers as a comparison between brokers, not as broker limits.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "../tools/lib/net.mjs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const HOST = "127.0.0.1";

function parseArgs(argv) {
  const o = { targets: ["node", "lua5.4", "luajit"], qos0: 50000, qos1: 10000, payload: 64, repeat: 3, json: "", fixedPayload: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--targets") o.targets = v.split(",").filter(Boolean);
    else if (a === "--qos0") o.qos0 = Number(v);
    else if (a === "--qos1") o.qos1 = Number(v);
    else if (a === "--payload") o.payload = Number(v);
    else if (a === "--repeat") o.repeat = Number(v);
    else if (a === "--json") o.json = v;
    else if (a === "--fixed-payload") {
      o.fixedPayload = true;
      continue;
    } else throw new Error(`unknown option ${a}`);
    i++;
  }
  return o;
}

async function command(target) {
  if (target === "mosquitto") {
    // Reference point: Debian's mosquitto, same clients.
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "midge-bench-mosq-"));
    const conf = join(dir, "mosquitto.conf");
    writeFileSync(conf, `listener ${port} ${HOST}\nallow_anonymous true\nlog_dest stderr\n`);
    const bin = existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
    return { cmd: bin, args: ["-c", conf], needs: "", ready: / running/, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (target === "node") {
    const bin = join(ROOT, "bin", "midge.js");
    return { cmd: process.execPath, args: [bin, "--port", "0", "--host", HOST], needs: join(ROOT, "dist", "node", "midge.js") };
  }
  const bundle = join(ROOT, "dist", "lua", "midge.lua");
  return { cmd: target, args: [bundle, "--port", "0", "--host", HOST], needs: bundle };
}

/** Children still running, killed if this process exits first. */
const live = new Set();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** Starts a broker; resolves { port, stop, output }. */
async function startBroker(target) {
  const { cmd, args, needs, ready, cleanup } = await command(target);
  if (needs !== "" && !existsSync(needs)) throw new Error(`${needs} is missing: build it first`);
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  let output = "";
  let exited = false;
  const exit = new Promise((res) =>
    child.once("exit", () => {
      exited = true;
      live.delete(child);
      if (cleanup) cleanup();
      res();
    }),
  );
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exit;
      clearTimeout(t);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${target}: no port line within 10 s\n${output}`));
    }, 10000);
    const onData = (d) => {
      output += d.toString();
      const m = /listen socket on port (\d+)/.exec(output);
      if (m && (ready === undefined || ready.test(output))) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), stop, output: () => output, rssKb: () => rssKb(child.pid), cpu: () => cpuSeconds(child.pid) });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${target}: exited (${code}) before listening\n${output}`));
    });
  });
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) the process has used so far, from /proc (Linux), or null. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

async function rssKb(pid) {
  try {
    const { readFileSync } = await import("node:fs");
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function connect(port, clientId) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ host: HOST, port, clientId, clean: true, reconnectPeriod: 0, keepalive: 60 });
    const t = setTimeout(() => reject(new Error("connect timeout")), 5000);
    c.once("connect", () => {
      clearTimeout(t);
      // MQTT.js leaves Nagle on: its small PUBACKs would then wait for the broker's delayed
      // ACKs, and the clients, not the brokers, would set the pace.
      if (typeof c.stream?.setNoDelay === "function") c.stream.setNoDelay(true);
      resolve(c);
    });
    c.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

function end(c) {
  return new Promise((res) => c.end(false, {}, () => res()));
}

/** One measurement: n messages at qos; resolves msgs/s. */
/**
 * Payload of message i: `{"seq":i,"pad":"aaa..."}` cut or padded to `bytes`, so consecutive
 * messages differ like sensor readings do. With --fixed-payload every message is the same
 * bytes: the worst case for Lua 5.1 (see the report in bench/README or targets/lua).
 */
function payloadOf(i, bytes, fixed) {
  const head = fixed ? "" : `{"seq":${i},"pad":"`;
  return Buffer.from((head + "a".repeat(bytes)).slice(0, bytes));
}

async function measure(broker, qos, n, payloadBytes, fixed) {
  const port = broker.port;
  const sub = await connect(port, "bench-sub");
  const pub = await connect(port, "bench-pub");
  await new Promise((res, rej) => sub.subscribe("bench/t", { qos }, (e) => (e ? rej(e) : res())));
  let received = 0;
  let done;
  const finished = new Promise((res) => (done = res));
  sub.on("message", () => {
    received++;
    if (received === n) done();
  });
  // A window of at most WINDOW messages sent but not yet received: the broker's queue per
  // subscriber (max_queued_messages 1000) and its slow-consumer limit are never reached, so
  // nothing is dropped, and the pipe stays full.
  const WINDOW = 400;
  let sent = 0;
  const pump = () => {
    while (sent < n && sent - received < WINDOW) {
      pub.publish("bench/t", payloadOf(sent, payloadBytes, fixed), { qos });
      sent++;
    }
  };
  sub.on("message", () => {
    if (sent < n && sent - received <= WINDOW / 2) pump();
  });
  const cpu0 = broker.cpu();
  const start = process.hrtime.bigint();
  pump();
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out: ${received}/${n} received, ${sent} sent`)), 120000);
  });
  try {
    await Promise.race([finished, timeout]);
  } finally {
    clearTimeout(timer);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu1 = broker.cpu();
  await end(pub);
  await end(sub);
  return { rate: n / seconds, cpuUsPerMsg: cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) * 1e6) / n };
}

function median(v) {
  const s = v.slice().sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const results = [];
  for (const target of o.targets) {
    for (const [qos, n] of [
      [0, o.qos0],
      [1, o.qos1],
    ]) {
      const runs = [];
      const cpu = [];
      let rss = null;
      for (let r = 0; r < o.repeat; r++) {
        const broker = await startBroker(target);
        try {
          const m = await measure(broker, qos, n, o.payload, o.fixedPayload);
          runs.push(m.rate);
          if (m.cpuUsPerMsg !== null) cpu.push(m.cpuUsPerMsg);
          rss = await broker.rssKb();
        } finally {
          await broker.stop();
        }
      }
      const cpuUs = cpu.length > 0 ? median(cpu) : null;
      const row = { target, qos, messages: n, payload: o.payload, msgsPerSec: Math.round(median(runs)), runs: runs.map(Math.round), cpuUsPerMsg: cpuUs, rssKb: rss };
      results.push(row);
      console.error(
        `${target.padEnd(9)} QoS ${qos}: ${row.msgsPerSec.toLocaleString("en-US")} msgs/s (runs ${row.runs.join(", ")}); ` +
          `broker CPU ${cpuUs === null ? "?" : cpuUs.toFixed(1)} µs/msg; RSS ${rss} kB`,
      );
    }
  }
  const fmtCpu = (r) => (r.cpuUsPerMsg === null ? "–" : r.cpuUsPerMsg.toFixed(1));
  console.log(`\n| target | QoS 0 msgs/s | QoS 1 msgs/s | broker CPU µs/msg QoS 0 | QoS 1 | broker RSS kB |\n|---|---:|---:|---:|---:|---:|`);
  for (const target of o.targets) {
    const r0 = results.find((r) => r.target === target && r.qos === 0);
    const r1 = results.find((r) => r.target === target && r.qos === 1);
    console.log(`| ${target} | ${r0.msgsPerSec.toLocaleString("en-US")} | ${r1.msgsPerSec.toLocaleString("en-US")} | ${fmtCpu(r0)} | ${fmtCpu(r1)} | ${r1.rssKb ?? "–"} |`);
  }
  console.log(`\n${o.qos0} QoS 0 / ${o.qos1} QoS 1 messages of ${o.payload} bytes (${o.fixedPayload ? "all identical" : "each different"}), 1 publisher -> 1 subscriber (MQTT.js), median of ${o.repeat}.`);
  console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} at the end.`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ options: o, results }, null, 2));
}

main().catch((e) => {
  console.error(e.stack ?? String(e));
  process.exitCode = 1;
});
