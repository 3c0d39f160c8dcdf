// Builds Midge's targets. `node build.mjs` builds every target; `node build.mjs --node` (or any
// other step's flag) builds only the named ones. Add a target by adding a step to STEPS.
import { build } from "esbuild";
import { statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildEspruino } from "./targets/espruino/build.mjs";
import { buildLua } from "./targets/lua/build.mjs";

const root = fileURLToPath(new URL(".", import.meta.url));

/** Each step: the flag that selects it, and a function returning the files it wrote. */
const STEPS = [
  {
    flag: "--node",
    name: "node",
    async run() {
      // commander stays external: it is a runtime dependency, and bundling CommonJS into an
      // ES module would need a require() shim for its node: imports.
      await build({
        absWorkingDir: root,
        entryPoints: ["targets/node/cli.ts"],
        outfile: "dist/node/midge.js",
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        packages: "external",
        sourcemap: true,
        logLevel: "warning",
      });
      return ["dist/node/midge.js"];
    },
  },
  {
    // One bundle per Espruino board profile (with its size and worst-case memory table) and
    // the simulator that runs them. Fails when a board is over budget, unless
    // MIDGE_ESPRUINO_BUDGET=strict (budgets are asserted by the tests: see README, Espruino).
    flag: "--espruino",
    name: "espruino",
    async run() {
      try {
        const rows = await buildEspruino();
        return [...rows.map((r) => r.file), "dist/node/simulate.js"];
      } catch (e) {
        console.error(e.message);
        throw e;
      }
    },
  },
  {
    flag: "--lua",
    name: "lua",
    async run() {
      const r = await buildLua();
      console.log(`lua      one file for lua5.1, lua5.3, lua5.4 and luajit, ${(r.gzipBytes / 1024).toFixed(1)} KB gzipped`);
      return r.files;
    },
  },
];

function usage() {
  return `usage: node build.mjs [${STEPS.map((s) => s.flag).join("] [")}]  (no flag: build everything)`;
}

async function main(args) {
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") {
      console.log(usage());
      return 0;
    }
    if (!STEPS.some((s) => s.flag === arg)) {
      console.error(`build: unknown option ${arg}\n${usage()}`);
      return 1;
    }
  }
  const selected = args.length === 0 ? STEPS : STEPS.filter((s) => args.includes(s.flag));
  for (const step of selected) {
    let files;
    try {
      files = await step.run();
    } catch {
      // esbuild has already printed the errors.
      console.error(`build: ${step.name} failed`);
      return 1;
    }
    for (const file of files) {
      const kb = (statSync(join(root, file)).size / 1024).toFixed(1);
      console.log(`${step.name.padEnd(8)} ${file}  ${kb} KB`);
    }
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
