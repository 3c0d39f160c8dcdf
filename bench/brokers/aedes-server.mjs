// aedes (npm, dev dependency) on a plain TCP server, for the benchmark: in-memory persistence
// (aedes's default), Nagle off like Midge and mosquitto (set_tcp_nodelay) in the benchmark.
//   node bench/brokers/aedes-server.mjs [--port 0] [--host 127.0.0.1]
// Prints "Opening ipv4 listen socket on port <N>." on stderr once listening (the line Midge
// and mosquitto print), and exits on SIGTERM/SIGINT.
import { createServer } from "node:net";
import { Aedes } from "aedes";

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(arg("--port", "0"));
const host = arg("--host", "127.0.0.1");

const broker = await Aedes.createBroker();
const server = createServer({ noDelay: true }, broker.handle);
server.listen(port, host, () => {
  process.stderr.write(`Opening ipv4 listen socket on port ${server.address().port}.\n`);
});

let stopping = false;
function stop() {
  if (stopping) process.exit(1);
  stopping = true;
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
