// A load-generator worker process (child_process.fork from bench/run.mjs). It runs one
// scenario function against one broker and reports back over IPC:
//   parent -> worker: { type: "run", fn, params, host, port, shard, shards, runId }
//                     { type: "resume" }                       (after a checkpoint)
//   worker -> parent: { type: "mark", name }                   (measurement window edges)
//                     { type: "checkpoint", name }             (waits for "resume")
//                     { type: "result", result } | { type: "error", error }
import { SCENARIOS } from "./scenarios.mjs";

let resume = null;

process.on("message", async (m) => {
  if (m.type === "resume") {
    const r = resume;
    resume = null;
    if (r) r();
    return;
  }
  if (m.type !== "run") return;
  const ctx = {
    host: m.host,
    port: m.port,
    shard: m.shard,
    shards: m.shards,
    runId: m.runId,
    mark(name) {
      process.send({ type: "mark", name, t: performance.timeOrigin + performance.now() });
    },
    checkpoint(name) {
      return new Promise((r) => {
        resume = r;
        process.send({ type: "checkpoint", name });
      });
    },
  };
  try {
    const fn = SCENARIOS[m.fn];
    if (!fn) throw new Error(`unknown scenario function ${m.fn}`);
    const result = await fn(m.params, ctx);
    process.send({ type: "result", result });
  } catch (e) {
    process.send({ type: "error", error: e && e.stack ? e.stack : String(e) });
  }
});

// The coordinator going away ends the worker (and with it every socket it holds).
process.on("disconnect", () => process.exit(0));
