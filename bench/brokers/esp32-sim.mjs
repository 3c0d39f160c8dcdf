// The simulated ESP32 (the Espruino bundle dist/esp32/midge.js inside the QuickJS simulator,
// dist/node/simulate.js) as a broker for the benchmark, with memory figures over IPC:
//   parent -> child: { benchMem: id }
//   child -> parent: { benchMem: id, rss, heapUsed (QuickJS heap bytes), vars (estimated
//                      Espruino variables, what process.memory().usage says on the board) }
// Prints "Opening ipv4 listen socket on port <N>." on stderr once listening.
//   node bench/brokers/esp32-sim.mjs [--board esp32] [--no-memory-limit]
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const board = process.argv.includes("--board") ? process.argv[process.argv.indexOf("--board") + 1] : "esp32";
const { runSimulator } = await import(new URL("dist/node/simulate.js", "file://" + root).href);

const sim = await runSimulator({
  board,
  port: 0,
  host: "127.0.0.1",
  enforceMemory: !process.argv.includes("--no-memory-limit"),
  onFatal: (message) => {
    process.stderr.write(`simulator stopped: ${message}\n`);
    process.exit(3);
  },
});
process.stderr.write(`Opening ipv4 listen socket on port ${sim.port}.\n`);

if (typeof process.send === "function") {
  process.on("message", (m) => {
    if (m === null || typeof m !== "object" || typeof m.benchMem !== "number") return;
    process.send({ benchMem: m.benchMem, gc: false, rss: process.memoryUsage().rss, heapUsed: sim.heapBytes(), vars: sim.estimatedVars() });
  });
  if (process.channel && typeof process.channel.unref === "function") process.channel.unref();
}

let stopping = false;
async function stop() {
  if (stopping) process.exit(1);
  stopping = true;
  setTimeout(() => process.exit(0), 2000).unref();
  await sim.stop();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
