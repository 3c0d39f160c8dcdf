#!/usr/bin/env node
// The cost of persistence: QoS 1 and QoS 2 throughput through the Node target with
// persistence off, relaxed and durable, one persistent subscriber (clean session 0), one
// publisher with up to WINDOW messages unacknowledged. Loopback only, bounded.
//   node bench/persistence.mjs [--messages N] [--window W]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "mqtt";

const root = fileURLToPath(new URL("..", import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MESSAGES = arg("--messages", 5000);
const WINDOW = arg("--window", 50);

function start(lines) {
  const dir = mkdtempSync(join(tmpdir(), "midge-pbench-"));
  writeFileSync(join(dir, "midge.conf"), [...lines, `persistence_location ${dir}`, "sys_interval 0", "max_queued_messages 100000", "log_type error", "log_type notice", "connection_messages false"].join("\n") + "\n");
  const child = spawn(process.execPath, [join(root, "bin/midge.js"), "--port", "0", "--config", join(dir, "midge.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let log = "";
    const t = setTimeout(() => reject(new Error("no start: " + log)), 10000);
    child.stderr.on("data", (d) => {
      log += d;
      const m = /listen socket on port (\d+)/.exec(log);
      if (m) {
        clearTimeout(t);
        resolve({ port: Number(m[1]), stop: () => (child.kill("SIGKILL"), rmSync(dir, { recursive: true, force: true })) });
      }
    });
  });
}

const connected = (port, clientId) =>
  new Promise((res) => {
    const c = connect({ host: "127.0.0.1", port, clientId, clean: false, reconnectPeriod: 0 });
    c.once("connect", () => res(c));
  });

async function run(label, lines, qos) {
  const b = await start(lines);
  const sub = await connected(b.port, "bench-sub");
  await new Promise((r) => sub.subscribe("bench/#", { qos }, r));
  const pub = await connected(b.port, "bench-pub");
  let received = 0;
  const done = new Promise((r) => sub.on("message", () => ++received === MESSAGES && r()));
  const t0 = performance.now();
  let sent = 0;
  let acked = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < MESSAGES && sent - acked < WINDOW) {
        sent++;
        pub.publish("bench/x", "payload-" + sent, { qos }, () => {
          acked++;
          if (acked === MESSAGES) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, 30000))]);
  const secs = (performance.now() - t0) / 1000;
  sub.end(true);
  pub.end(true);
  b.stop();
  const rate = Math.round(received / secs);
  console.log(`${label.padEnd(10)} QoS ${qos}: ${received}/${MESSAGES} delivered in ${secs.toFixed(2)} s = ${rate} msg/s`);
  return rate;
}

const modes = [
  ["off", ["persistence false"]],
  ["relaxed", ["persistence true", "persistence_mode relaxed"]],
  ["durable", ["persistence true", "persistence_mode durable"]],
];
for (const qos of [1, 2]) for (const [label, lines] of modes) await run(label, lines, qos);
