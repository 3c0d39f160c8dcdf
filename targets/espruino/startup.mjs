// Measures what each Espruino bundle costs at start-up on the real interpreter (Linux build
// with the board's own variable count), booted from Storage as a board boots it, with no
// client: the variables in use once the broker listens. Writes them into
// targets/espruino/costs.json ("startup"), keyed by the bundle's hash, so the build prints the
// measured figure while the bundle is unchanged.
//
// It also measures variant bundles (the ESP32 profile with one feature off at a time, and all
// of them off) and fits the model the build uses for bundles nobody measured yet:
//   vars = base + perFunction x functions + perParam x parameters + perValue x top-level values
// (counts from memory.mjs bundleShape), by least squares over the boards' bundles and the
// variants with a feature off. Variants with a feature on that every Espruino profile leaves
// out (esp32 +mqtt5) are measured and recorded but not fitted: MQTT 5 builds state at start-up
// that the shape does not count (about 270 variables over any fit), and with it in, the fit
// traded functions against parameters (-3.8 per function, +3.9 per parameter, issue 15).
//
//   node targets/espruino/startup.mjs            # every board and the variants
//   node targets/espruino/startup.mjs --boards   # the boards only (keeps the model)
//
// Needs interpreters (MIDGE_ESPRUINO_<vars>, see interpreter.mjs). The Linux build sometimes
// stops on an assertion of its stdin thread; a boot that fails is tried again, up to 6 times.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { buildEspruino, bundleFor, espruinoBoards, featureNames, featuresOf, loadProfile } from "./build.mjs";
import { boot, findInterpreter, writeStorage } from "./interpreter.mjs";
import { bundleHash, bundleShape } from "./memory.mjs";
import { freePort } from "../../tools/lib/net.mjs";

const COSTS_FILE = fileURLToPath(new URL("./costs.json", import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Variables in use after booting `code` on the interpreter with `vars` variables; null if it never listened. */
async function bootUsage(code, vars) {
  for (let attempt = 0; attempt < 6; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "midge-startup-"));
    const port = await freePort();
    writeStorage(dir, { ".bootcde": code, "midge.json": JSON.stringify({ port }) });
    const e = boot(vars, dir);
    try {
      await e.waitFor(/listen socket on port|OUT OF MEMORY/, 15000);
      if (/OUT OF MEMORY/.test(e.output())) return { error: "out of memory at start-up" };
      await sleep(300);
      const mem = JSON.parse(await e.eval("JSON.stringify(process.memory())"));
      return { usage: mem.usage };
    } catch {
      // the interpreter's stdin-thread assertion: boot again
    } finally {
      await e.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { error: "the interpreter did not start the bundle in 6 attempts" };
}

/** Least squares for vars = X b (normal equations, Gaussian elimination). */
function leastSquares(rows, ys) {
  const n = rows[0].length;
  const a = Array.from({ length: n }, () => new Array(n + 1).fill(0));
  for (let r = 0; r < rows.length; r++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) a[i][j] += rows[r][i] * rows[r][j];
      a[i][n] += rows[r][i] * ys[r];
    }
  }
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    if (Math.abs(a[c][c]) < 1e-9) return null;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((row, i) => row[n] / row[i]);
}

async function main() {
  const boardsOnly = process.argv.includes("--boards");
  process.env.MIDGE_ESPRUINO_BUDGET = "warn";
  await buildEspruino();
  const costs = JSON.parse(readFileSync(COSTS_FILE, "utf8"));
  const samples = [];
  const boards = {};
  for (const board of espruinoBoards()) {
    const profile = loadProfile(board);
    const vars = profile.espruino.jsVars;
    if (!findInterpreter(vars)) throw new Error(`no Espruino interpreter with ${vars} variables (MIDGE_ESPRUINO_${vars})`);
    const code = readFileSync(join(fileURLToPath(new URL("../../", import.meta.url)), "dist", board, "midge.js"), "latin1");
    const r = await bootUsage(code, vars);
    if (r.error) throw new Error(`${board}: ${r.error}`);
    boards[board] = { vars: r.usage, jsVars: vars, bytes: Buffer.byteLength(code, "latin1"), bundleHash: bundleHash(code) };
    samples.push({ label: board, shape: bundleShape(code, ts), vars: r.usage, fitted: true });
    console.log(`${board.padEnd(14)} ${String(r.usage).padStart(5)} variables at start-up (${vars} in the store)`);
  }
  if (!boardsOnly) {
    // Variants of the largest profile: each feature off, then all off.
    const profile = loadProfile("esp32");
    const base = featuresOf(profile);
    const variants = [];
    for (const name of featureNames()) {
      if (!base[name]) continue;
      variants.push(["esp32 -" + name, { ...base, [name]: false }]);
    }
    // Features the profile leaves out, one at a time on (MQTT 5 above all: its cost on a board).
    for (const name of featureNames()) {
      if (base[name]) continue;
      variants.push(["esp32 +" + name, { ...base, [name]: true }]);
    }
    const none = {};
    for (const name of featureNames()) none[name] = false;
    variants.push(["esp32 none", none]);
    for (const [label, features] of variants) {
      const { code } = await bundleFor(profile, undefined, features);
      const r = await bootUsage(code, profile.espruino.jsVars);
      if (r.error) {
        // A variant only feeds the model: note it and go on.
        console.log(`${label.padEnd(26)} not measured: ${r.error}`);
        continue;
      }
      samples.push({ label, shape: bundleShape(code, ts), vars: r.usage, fitted: !label.includes(" +") });
      console.log(`${label.padEnd(26)} ${String(r.usage).padStart(5)} variables`);
    }
  }
  costs.startup = costs.startup || {};
  costs.startup.about = "Variables in use after the bundle boots from Storage on Espruino's Linux build with the board's variable count, no client (targets/espruino/startup.mjs)";
  costs.startup.boards = boards;
  if (!boardsOnly) {
    const fitted = samples.filter((s) => s.fitted);
    const x = fitted.map((s) => [1, s.shape.functions, s.shape.params, s.shape.values]);
    const b = leastSquares(x, fitted.map((s) => s.vars));
    if (b !== null) {
      const round = (v) => Math.round(v * 1000) / 1000;
      costs.startup.model = { base: round(b[0]), perFunction: round(b[1]), perParam: round(b[2]), perValue: round(b[3]), samples: fitted.length };
      let worst = 0;
      for (const s of samples) {
        const est = b[0] + b[1] * s.shape.functions + b[2] * s.shape.params + b[3] * s.shape.values;
        s.modelError = Math.round(est - s.vars);
        if (s.fitted) worst = Math.max(worst, Math.abs(est - s.vars));
        else console.log(`${s.label.padEnd(26)} not fitted: the model says ${Math.round(est)}, measured ${s.vars}`);
      }
      costs.startup.model.worstError = Math.round(worst);
      console.log("model: " + JSON.stringify(costs.startup.model));
    }
    costs.startup.samples = samples.map((s) => ({ label: s.label, vars: s.vars, functions: s.shape.functions, params: s.shape.params, values: s.shape.values, fitted: s.fitted, modelError: s.modelError }));
  }
  writeFileSync(COSTS_FILE, JSON.stringify(costs, null, 2) + "\n");
  console.log("wrote " + COSTS_FILE);
}

main().catch((e) => {
  console.error(e.message || e);
  process.exitCode = 1;
});
