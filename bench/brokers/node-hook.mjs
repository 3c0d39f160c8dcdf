// Preloaded (node --import) into the Node brokers the benchmark starts (Midge's Node target and
// the aedes server), so the benchmark can ask for memory figures over the IPC channel without
// any hook in src/ or targets/. With --expose-gc the figures are taken after a full GC.
//   parent -> child: { benchMem: id }
//   child -> parent: { benchMem: id, rss, heapUsed, heapTotal, external, arrayBuffers, gc }
if (typeof process.send === "function") {
  process.on("message", (m) => {
    if (m === null || typeof m !== "object" || typeof m.benchMem !== "number") return;
    const gc = typeof globalThis.gc === "function";
    if (gc) {
      globalThis.gc();
      globalThis.gc();
    }
    const u = process.memoryUsage();
    process.send({
      benchMem: m.benchMem,
      gc: gc,
      rss: u.rss,
      heapUsed: u.heapUsed,
      heapTotal: u.heapTotal,
      external: u.external,
      arrayBuffers: u.arrayBuffers,
    });
  });
  // The channel must not keep the broker alive on its own (SIGTERM ends it as usual).
  if (process.channel && typeof process.channel.unref === "function") process.channel.unref();
  process.on("disconnect", () => {});
}
