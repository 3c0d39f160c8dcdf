#!/usr/bin/env node
// Network fuzzer for Midge (issue 9): `npm run fuzz -- --seconds N --seed S`.
//
// Starts the Node broker (bin/midge.js, on a free loopback port, with the reliability board
// profile of tools/lib/spawn.mjs) unless --port names a broker that is already running, then
// runs tools/lib/fuzzcore.mjs against it: many concurrent connections sending mutated valid
// streams while well-behaved clients publish and subscribe at QoS 0/1/2. Prints progress
// every 5 s and a summary; exit code 0 = pass, 1 = fail (with the reasons and the seed).
//
// Options:
//   --seconds N       how long to fuzz (default 30)
//   --seed S          seed of every fuzz input (default: a fresh one, printed)
//   --concurrency N   fuzz connections at a time (default 24)
//   --rate N          well-behaved messages per second (default 100)
//   --mem-limit MB    allowed broker RSS growth over the baseline (default 150)
//   --board NAME|FILE a board profile (boards/<name>.json or a JSON file): the started broker
//                     runs under its limits, and the load is sized for them (small boards get a
//                     slow well-behaved load, no connection floods); default: the reliability
//                     profile of tools/lib/spawn.mjs
//   --port P [--host H]
//                     fuzz a running broker instead (memory is watched through /proc when
//                     the listening process can be found); give its --board so the load fits,
//                     e.g. the simulated ESP32: node dist/node/simulate.js --board esp32 --port 1884
//                     then npm run fuzz -- --port 1884 --board esp32
//   --json            print the report as JSON on stdout
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runFuzz, tuneForBoard } from "./lib/fuzzcore.mjs";
import { RELIABILITY_LIMITS, REPO_ROOT, startBroker } from "./lib/spawn.mjs";
import { pidOfListeningPort } from "./lib/proc.mjs";

function parseArgs(argv) {
  const o = { seconds: 30, seed: (Date.now() ^ (process.pid << 16)) >>> 0, concurrency: 24, rate: 100, memLimit: 150, port: 0, host: "127.0.0.1", board: "", json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const num = () => {
      const v = Number(val());
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a number >= 0`);
      return v;
    };
    switch (a) {
      case "--seconds": o.seconds = num(); break;
      case "--seed": o.seed = num() >>> 0; break;
      case "--concurrency": o.concurrency = Math.max(1, Math.floor(num())); break;
      case "--rate": o.rate = Math.max(1, num()); break;
      case "--mem-limit": o.memLimit = num(); break;
      case "--port": o.port = Math.floor(num()); break;
      case "--host": o.host = val(); break;
      case "--board": o.board = val(); break;
      case "--json": o.json = true; break;
      case "-h":
      case "--help":
        console.log("usage: node tools/fuzz.mjs [--seconds N] [--seed S] [--concurrency N] [--rate N] [--mem-limit MB] [--board NAME|FILE] [--port P [--host H]] [--json]");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`fuzz: ${e.message}`);
    return 2;
  }
  const say = (line) => (o.json ? process.stderr : process.stdout).write(line + "\n");
  let limits = RELIABILITY_LIMITS;
  if (o.board !== "") {
    const file = /[\\/]|\.json$/.test(o.board) ? resolve(o.board) : join(REPO_ROOT, "boards", o.board + ".json");
    try {
      limits = { ...JSON.parse(readFileSync(file, "utf8")).limits };
    } catch (e) {
      console.error(`fuzz: cannot read board profile ${file}: ${e.message}`);
      return 2;
    }
  }
  const tuned = tuneForBoard(limits, o.concurrency, o.rate);
  let broker = null;
  let port = o.port;
  let pid = 0;
  if (port === 0) {
    broker = await startBroker({ limits });
    port = broker.port;
    pid = broker.pid;
    say(`fuzz: started bin/midge.js (pid ${pid}) on 127.0.0.1:${port}, board profile ${o.board || "reliability"} ${JSON.stringify(limits)}`);
  } else {
    pid = pidOfListeningPort(port);
    say(`fuzz: external broker on ${o.host}:${port}${pid ? ` (pid ${pid})` : " (process not found: memory not watched)"}`);
  }
  if (tuned.small) say(`fuzz: small board: ${tuned.concurrency} fuzz connections at a time, ${tuned.rate} well-behaved msg/s, payloads up to ${tuned.workload.maxPayload} bytes`);
  const stop = async () => {
    if (broker) await broker.stop();
  };
  process.once("SIGINT", () => stop().then(() => process.exit(130)));
  let report;
  try {
    report = await runFuzz({
      host: o.host,
      port,
      pid,
      seed: o.seed,
      seconds: o.seconds,
      concurrency: tuned.concurrency,
      rate: tuned.rate,
      maxPacket: tuned.maxPacket,
      weights: tuned.weights,
      workload: tuned.workload,
      memLimitMB: o.memLimit,
      log: say,
      logs: broker ? () => broker.grep(/Internal error|Uncaught|FATAL|RangeError|TypeError/).join("\n") : undefined,
    });
  } catch (e) {
    say(`fuzz: aborted: ${e.stack ?? e}`);
    if (broker) say(`--- broker log (tail) ---\n${broker.tail()}`);
    await stop();
    return 1;
  }
  if (broker && !broker.alive()) report.failures.unshift(`broker exited (${broker.exitInfo()})`);
  report.pass = report.failures.length === 0;
  const g = report.good;
  say("");
  say(`fuzz seed ${report.seed}: ${report.pass ? "PASS" : "FAIL"} after ${report.seconds} s`);
  say(`  inputs tried: ${report.inputs} fuzz connections, ${report.bytes} bytes, ${report.faults} faults injected`);
  say(`  by kind: ${Object.entries(report.byKind).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  say(`  closed by the broker: ${report.closedByBroker}; refused (max_connections): ${report.refused}; partial packets closed by timeout: ${report.partialClosed}, still open when the fuzzer gave up: ${report.partialHeld}`);
  say(`  well-behaved: ${g.published} published (QoS 0/1/2: ${g.publishedByQos.join("/")}), ${g.delivered} deliveries, lost ${g.lost}, duplicated at QoS 2 ${g.dupQos2}, at-least-once duplicates ${g.dupQos1} (QoS 1, allowed), out of order ${g.outOfOrder}, kills ${g.kills}, reconnects ${g.reconnects}`);
  say(`  broker memory (RSS): baseline ${report.memory.baselineMB} MB, peak ${report.memory.peakMB} MB, end ${report.memory.endMB} MB`);
  for (const f of report.failures) say(`  FAIL: ${f}`);
  if (!report.pass) say(`  reproduce: npm run fuzz -- --seconds ${o.seconds} --seed ${report.seed} --concurrency ${o.concurrency} --rate ${o.rate}${o.board ? " --board " + o.board : ""}`);
  if (!report.pass && broker) say(`--- broker log (tail) ---\n${broker.tail()}`);
  if (o.json) {
    delete report.memory.samples;
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  }
  await stop();
  return report.pass ? 0 : 1;
}

process.exitCode = await main();
