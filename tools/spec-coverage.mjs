#!/usr/bin/env node
// Lists which statement ids of a server checklist are named by a test, and which are not.
// Tests name the ids they check in their titles ("[MQTT-3.1.2-24] ...", or several at once:
// "[MQTT-3.1.2-11, MQTT-3.1.2-13] ..."), so a scan of test/ is the coverage map.
//
// Usage: node tools/spec-coverage.mjs [--v5 | path/to/checklist.md] [--covered]
//                                     [--tests DIR] [--check-abbreviated]
//   (default)            docs/spec/mqtt-3.1.1.md
//   --v5                 docs/spec/mqtt-5.0.md
//   path                 any checklist in the same format (the old ../shared/spec files work too)
//   --covered            also list each covered id with the files that name it
//   --tests DIR          scan DIR instead of test/ (e.g. a folder holding only MQTT 5 tests)
//                        With --v5 and no --tests, only folders named *-v5 count (test/broker-v5,
//                        test/e2e-v5, test/unit/v5); without --tests and --v5, those folders (the
//                        MQTT 5 tests) are left out: their ids are 5.0 tags, not 3.1.1 ones.
//   --check-abbreviated  list ids written in shortened form (MQTT-3.1.2-11/13, SRV-PUB-2..5)
//                        anywhere in src/ or test/, as file:line, so they can be written out
//
// Checklist format: ids are bold at the start of a list item ("- **MQTT-3.1.2-4** ..." or
// "- **SRV-IMPL-1 Name:** ..."). A heading whose text contains "client-only" marks the ids below
// it (down to the next heading of the same or a higher level) as client-only; "implementation
// choices" marks them as implementation choices. Neither kind counts as a server statement.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const valueOf = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const testsDir = resolve(root, valueOf("--tests") ?? "test");
const positional = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--tests");
const checklist = positional[0]
  ? resolve(process.cwd(), positional[0])
  : resolve(root, flag("--v5") ? "docs/spec/mqtt-5.0.md" : "docs/spec/mqtt-3.1.1.md");

// One id: MQTT-<section numbers>-<n> (5.0 has MQTT-4.2-1), or SRV-/SRV5-<AREA>-<n>.
const ID = String.raw`(?:MQTT-\d+(?:\.\d+)+-\d+|SRV5?-[A-Z0-9]+-\d+)`;

// --- the checklist -------------------------------------------------------------------------
const defined = [];
const kind = new Map(); // id -> "server" | "client" | "impl"
{
  const levels = []; // levels[n] = kind set by the heading of level n, if any
  for (const line of readFileSync(checklist, "utf8").split("\n")) {
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      const level = h[1].length;
      levels.length = level;
      levels[level] = /client-only/i.test(h[2]) ? "client" : /implementation(-defined)? choices/i.test(h[2]) ? "impl" : undefined;
      continue;
    }
    const m = new RegExp(String.raw`^\s*- \*\*(${ID})(?=\*\*|[\s:.])`).exec(line);
    if (!m || kind.has(m[1])) continue;
    defined.push(m[1]);
    kind.set(m[1], levels.findLast((k) => k !== undefined) ?? "server");
  }
}
if (defined.length === 0) {
  console.error(`No statement ids found in ${checklist}`);
  process.exit(1);
}

// --- the tests -----------------------------------------------------------------------------
// MQTT 5 test folders (test/e2e-v5) name 5.0 tags, which reuse 3.1.1 numbers with other meanings.
// Without --tests: 3.1.1 counts every folder but those; --v5 counts only those (test/broker-v5,
// test/e2e-v5, ...), so neither version borrows the other's coverage.
const skipV5Folders = !flag("--v5") && !valueOf("--tests");
const onlyV5Folders = flag("--v5") && !valueOf("--tests");
function walk(dir, out, inV5) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      const v5 = inV5 || name === "v5" || name.endsWith("-v5");
      if (!(skipV5Folders && v5)) walk(p, out, v5);
    }
    else if (/\.(ts|mjs|js|json)$/.test(name) && (!onlyV5Folders || inV5)) out.push(p);
  }
  return out;
}
// Every whole id in a test file counts, wherever it stands, so a title naming several ids
// ("[MQTT-3.1.2-11, MQTT-3.1.2-13] ...") covers each of them.
const named = new Map();
for (const file of walk(testsDir, [], false)) {
  for (const m of readFileSync(file, "utf8").matchAll(new RegExp(ID, "g"))) {
    if (!named.has(m[0])) named.set(m[0], new Set());
    named.get(m[0]).add(relative(root, file));
  }
}

const of = (k) => defined.filter((id) => kind.get(id) === k);
const server = of("server");
const covered = server.filter((id) => named.has(id));
const missing = server.filter((id) => !named.has(id));
const impl = of("impl");
const implNamed = impl.filter((id) => named.has(id));
const client = of("client");
const clientNamed = client.filter((id) => named.has(id));

console.log(`Checklist: ${relative(root, checklist) || checklist}; tests: ${relative(root, testsDir) || "."}/`);
console.log(
  `${covered.length} of ${server.length} server-side statements are named by tests (${client.length} client-only statements not counted).`,
);
if (impl.length) console.log(`${implNamed.length} of ${impl.length} implementation choices are named by tests (not counted above).`);
if (clientNamed.length) console.log(`Client-only ids named by tests (no server test should claim them): ${clientNamed.join(", ")}`);
if (flag("--v5") && !valueOf("--tests")) console.log("Counted: test folders named *-v5 only (MQTT 5.0 tags reuse 3.1.1 numbers with other meanings).");
console.log(`\nNot named by any test (${missing.length}):\n  ` + missing.join("\n  "));
if (flag("--covered")) {
  console.log(`\nCovered:`);
  for (const id of covered) console.log(`  ${id}: ${[...named.get(id)].join(", ")}`);
}

// --- abbreviated ids -----------------------------------------------------------------------
// An id followed by a shortened list or range of further numbers: MQTT-3.1.2-11/13/15,
// MQTT-1.5.3-1/-2, MQTT-3.1.2-8..17, SRV-PUB-2..5, MQTT-4.6.0-1–4, MQTT-3.1.2-4, -6.
if (flag("--check-abbreviated")) {
  const ABBR = new RegExp(String.raw`${ID}(?:\s*(?:\/|\.\.\.?|…|–|—)\s*-?\d+\b|(?:\s*,|\s+(?:and|or|to))\s*-\d+\b)+`, "g");
  const hits = [];
  for (const dir of ["src", "test"]) {
    for (const file of walk(join(root, dir), [])) {
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          for (const m of line.matchAll(ABBR)) hits.push(`${relative(root, file)}:${i + 1}: ${m[0]}`);
        });
    }
  }
  console.log(`\nIds written in abbreviated form in src/ and test/ (${hits.length}); write each id out whole:`);
  for (const h of hits) console.log(`  ${h}`);
}
