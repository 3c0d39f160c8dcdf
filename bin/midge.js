#!/usr/bin/env node
// Launcher for the Node build. Builds dist/ first when it is missing (a fresh clone), so
// `npx midge` works straight after `npm install`.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/node/midge.js", import.meta.url);

if (!existsSync(bundle)) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  // Build output goes to stderr: stdout stays the broker's.
  const r = spawnSync(process.execPath, ["build.mjs", "--node"], { cwd: root, stdio: ["ignore", 2, 2] });
  if (r.status !== 0) {
    process.stderr.write("Error: dist/node/midge.js is missing and building it failed (is esbuild installed? run npm install)\n");
    process.exit(1);
  }
}

process.setSourceMapsEnabled(true);
const { main } = await import(bundle.href);
await main(process.argv);
