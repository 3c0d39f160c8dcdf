#!/usr/bin/env node
// Lists which statement ids of the MQTT 3.1.1 server checklist are named by a test, and which
// are not. Tests name the ids they check in their titles ("[MQTT-3.1.2-24] ..."), so a grep of
// test/ is the coverage map. Usage: node tools/spec-coverage.mjs [path/to/checklist.md]
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const checklist = process.argv[2] ?? resolve(root, "../shared/spec/mqtt-3.1.1-server.md");
const text = readFileSync(checklist, "utf8");

// Ids defined by the checklist: bold ids at the start of a line ("- **MQTT-3.1.2-4**").
const defined = [];
const clientOnly = new Set();
let inClientOnly = false;
for (const line of text.split("\n")) {
  if (/^### 2\.19/.test(line)) inClientOnly = true;
  else if (/^##/.test(line)) inClientOnly = false;
  const m = /^\s*- \*\*((?:MQTT|SRV)-[A-Z0-9.-]+)\*\*/.exec(line);
  if (m) {
    defined.push(m[1]);
    if (inClientOnly) clientOnly.add(m[1]);
  }
}

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mjs|js|json)$/.test(name)) out.push(p);
  }
  return out;
}
const named = new Map();
for (const file of walk(join(root, "test"), [])) {
  const body = readFileSync(file, "utf8");
  for (const m of body.matchAll(/(MQTT-\d+\.\d+\.\d+-\d+|SRV-[A-Z0-9]+-\d+)/g)) {
    if (!named.has(m[1])) named.set(m[1], new Set());
    named.get(m[1]).add(file.substring(root.length + 1));
  }
}

const server = defined.filter((id) => !clientOnly.has(id));
const covered = server.filter((id) => named.has(id));
const missing = server.filter((id) => !named.has(id));
console.log(`${covered.length} of ${server.length} server-side statements are named by tests (${clientOnly.size} client-only statements not counted).`);
console.log(`\nNot named by any test (${missing.length}):\n  ` + missing.join("\n  "));
if (process.argv.includes("--covered")) {
  console.log(`\nCovered:`);
  for (const id of covered) console.log(`  ${id}: ${[...named.get(id)].join(", ")}`);
}
