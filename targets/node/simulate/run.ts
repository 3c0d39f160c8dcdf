/**
 * Entry of dist/node/simulate.js: `node dist/node/simulate.js --board esp32 --port 0`.
 * Runs the simulator in its own process (a crash or an out-of-memory stop does not take the
 * caller with it). Exit status: 0 after SIGTERM/SIGINT, 1 on a start-up error, 3 when the
 * bundle ran out of the board's memory budget or called quit().
 * Also re-exports runSimulator for callers that import the built file.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RunningSimulator, SimulatorOptions, runSimulator, serveSimulator } from "./simulator";

export { runSimulator };
export type { RunningSimulator, SimulatorOptions };

const USAGE = `usage: simulate --board <name> [--port <n>] [--host <address>] [--storage-dir <dir>] [--verbose] [--no-wifi] [--no-memory-limit]
  --board          an Espruino board profile from boards/ (esp32, esp8266, espruino-wifi)
  --port           TCP port, 0 = any free port (default 1883)
  --host           address to listen on (default 0.0.0.0)
  --storage-dir    keep the simulated Storage (storage.json) there across runs (default: a temp dir)
  --verbose        log level 4 (debug) in the board's settings
  --no-wifi        simulate a board without the Wifi module (Linux build, Ethernet)
  --no-memory-limit  do not enforce the board's memory budget (measurements only)`;

export function parseArgs(argv: string[]): SimulatorOptions | string {
  const opts: SimulatorOptions = { board: "", port: 1883 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string | undefined => (i + 1 < argv.length ? argv[++i] : undefined);
    if (a === "--board" || a === "-b") opts.board = value() ?? "";
    else if (a === "--port" || a === "-p") {
      const v = value();
      if (v === undefined || !/^[0-9]+$/.test(v) || Number(v) > 65535) return "--port expects a number from 0 to 65535";
      opts.port = Number(v);
    } else if (a === "--host") opts.host = value();
    else if (a === "--storage-dir") opts.storageDir = value();
    else if (a === "--verbose" || a === "-v") opts.verbose = true;
    else if (a === "--no-wifi") opts.wifi = false;
    else if (a === "--no-memory-limit") opts.enforceMemory = false;
    else if (a === "--help" || a === "-h") return "";
    else return `unknown option ${a}`;
  }
  if (opts.board === "") return "--board is required";
  return opts;
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === "string") {
    if (parsed !== "") process.stderr.write(`Error: ${parsed}\n`);
    process.stderr.write(USAGE + "\n");
    process.exit(parsed === "" ? 0 : 1);
  }
  await serveSimulator(parsed);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
