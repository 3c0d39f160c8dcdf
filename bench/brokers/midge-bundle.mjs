// Runs a Midge Node bundle other than dist/node/midge.js (an A/B build to compare against the
// current one in the same run): node bench/brokers/midge-bundle.mjs <bundle.js> [midge options]
// Used by the "midge-alt" broker when MIDGE_BENCH_ALT names the bundle. The bundle finds
// boards/ two directories up, so keep it two levels below the repository root, like
// dist/node/midge.js (for example dist/alt/midge.js).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const bundle = process.argv[2];
if (!bundle) {
  process.stderr.write("usage: node bench/brokers/midge-bundle.mjs <bundle.js> [options]\n");
  process.exit(2);
}
// As bin/midge.js: no source maps (they cost about 5 MB of RSS).
const { main } = await import(pathToFileURL(resolve(bundle)).href);
await main([process.argv[0], "midge", ...process.argv.slice(3)]);
