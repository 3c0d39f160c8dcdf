// Null brokers for the load generator's self-test (bench/run.mjs --selftest): they do
// (almost) no work, so what the generator reaches against them is its own ceiling.
//   node bench/loadgen/null-broker.mjs sink      answers CONNACK, discards everything else
//   node bench/loadgen/null-broker.mjs firehose  answers CONNACK and SUBACK, then sends
//                                                pre-encoded QoS 0 PUBLISHes as fast as the
//                                                socket takes them
// Both answer in the version of the client's CONNECT (3.1.1, or 5.0 for level 5: CONNACK and
// SUBACK with a Property Length of 0, PUBLISHes with the generator's property block).
// Prints "Opening ipv4 listen socket on port <N>." on stderr like the real brokers.
import { createServer } from "node:net";
import { publishTemplate } from "../lib/mqtt.mjs";

const mode = process.argv[2] === "firehose" ? "firehose" : "sink";
const CONNACK = Buffer.from([0x20, 2, 0, 0]);
const SUBACK = Buffer.from([0x90, 3, 0, 1, 0]);
const CONNACK5 = Buffer.from([0x20, 3, 0, 0, 0]);
const SUBACK5 = Buffer.from([0x90, 4, 0, 1, 0, 0]);

function burstOf(version) {
  const one = publishTemplate("bench/fanin/x/00", 32, 0, false, { version }).bytes;
  const burst = Buffer.alloc(one.length * Math.floor(65536 / one.length));
  for (let at = 0; at + one.length <= burst.length; at += one.length) one.copy(burst, at);
  return burst;
}
const BURST = { 4: burstOf(4), 5: burstOf(5) };

const server = createServer({ noDelay: true }, (socket) => {
  let packets = 0;
  let v5 = false;
  socket.on("error", () => socket.destroy());
  socket.on("data", (data) => {
    packets++;
    if (packets === 1) {
      // The generator's CONNECT is short (1-byte Remaining Length): the level is byte 8.
      v5 = data.length > 8 && data[8] === 5;
      socket.write(v5 ? CONNACK5 : CONNACK);
    } else if (packets === 2 && mode === "firehose") {
      socket.write(v5 ? SUBACK5 : SUBACK);
      const burst = BURST[v5 ? 5 : 4];
      const flood = () => {
        while (!socket.destroyed && socket.write(burst));
      };
      socket.on("drain", flood);
      flood();
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stderr.write(`Opening ipv4 listen socket on port ${server.address().port}.\n`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
