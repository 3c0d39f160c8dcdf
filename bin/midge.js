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

// No source maps by default: reading dist/node/midge.js.map costs about 5 MB of RSS for as long
// as the broker runs (measured idle: 64.8 MB with, 59.7-61.2 MB without). The bundle is not
// minified, so a stack trace still names functions and lines of dist/node/midge.js, whose
// `// src/...` comments say which source file each part comes from. For traces in src/ terms:
// NODE_OPTIONS=--enable-source-maps npx midge
const { main } = await import(bundle.href);
await main(process.argv);
