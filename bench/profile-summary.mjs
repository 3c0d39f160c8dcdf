#!/usr/bin/env node
// Summarises V8 .cpuprofile files (node --cpu-prof, as written by `npm run bench -- --profile
// DIR`): top functions by self time, and self time per source file.
//   node bench/profile-summary.mjs FILE.cpuprofile [--top N]
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const topIdx = args.indexOf("--top");
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
const files = args.filter((a, i) => a.endsWith(".cpuprofile") && i !== topIdx + 1);
if (files.length === 0) {
  console.error("usage: node bench/profile-summary.mjs FILE.cpuprofile... [--top N]");
  process.exit(2);
}

function shortUrl(url) {
  if (!url) return "";
  return url.replace(/^file:\/\//, "").replace(/^.*\/(dist|node_modules|bench|src|targets)\//, "$1/");
}

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const d = dt[i] ?? 0;
    total += d;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + d);
  }
  const fn = new Map();
  const perFile = new Map();
  for (const [id, t] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || "(anonymous)";
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : "";
    const key = `${name} ${where}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + t);
    const f = cf.url ? shortUrl(cf.url) : name.startsWith("(") ? name : "(native)";
    perFile.set(f, (perFile.get(f) ?? 0) + t);
  }
  const idle = fn.get("(idle)") ?? 0;
  const busy = total - idle;
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages of busy time)`);
  console.log("  self %  function");
  for (const [k, t] of [...fn].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${((t * 100) / busy).toFixed(1).padStart(6)}  ${k}`);
  }
  console.log("  self %  by file");
  for (const [k, t] of [...perFile].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${((t * 100) / busy).toFixed(1).padStart(6)}  ${k}`);
  }
  console.log("");
}
