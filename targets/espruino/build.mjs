// Builds Midge for Espruino: one self-contained, minified bundle per board profile
// (boards/*.json with an "espruino" section) at dist/<board>/midge.js, with the profile's
// limits baked in, plus the Node simulator runner dist/node/simulate.js. Prints a table per
// board (bundle bytes raw and gzipped, worst-case memory of the full tables) and fails when a
// board's budget is exceeded.
//
//   import { buildEspruino } from "./targets/espruino/build.mjs";
//   await buildEspruino();            // every Espruino board
//   await buildEspruino(["esp8266"]); // some
//
// A budget miss is reported (the table says OVER) and asserted by test/espruino/bundle.test.ts,
// so `npm run build` still builds every target; MIDGE_ESPRUINO_BUDGET=strict makes it fail the build.
// A construct Espruino cannot run always fails it.
import { build } from "esbuild";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import ts from "typescript";
import { coreHash, formatEstimate, loadCosts, startupVars, worstCase } from "./memory.mjs";
import { coldParameters } from "./parameters.mjs";
import { profileModule, validateBoard } from "../../tools/lib/profile.mjs";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BOARDS_DIR = join(ROOT, "boards");

/**
 * The esbuild settings measured to produce code Espruino runs (portability.md): the guard
 * flags turn what esbuild cannot lower to ES2015 into build errors.
 *
 * Format "esm" with no exports: the bundle's code runs at the top level of .bootcde, not inside
 * an IIFE. Measured on the real interpreter booted from flash (issue 15): a function declared
 * at the top level costs 4 variables + 1 per parameter, the same function inside an IIFE 5 + 1
 * per parameter (the extra one links it to the IIFE's scope), about 200 variables for the
 * ESP32 bundle's functions. esbuild still minifies every top-level name (nothing is exported)
 * and never picks a name the code reads as a global, but on the board each top-level name is
 * a global: topLevelProblems() fails the build if one is in ESPRUINO_GLOBALS, or if the output
 * has import/export syntax.
 */
export const ESPRUINO_ESBUILD = {
  bundle: true,
  format: "esm",
  target: "es2015",
  minify: true,
  charset: "ascii",
  legalComments: "none",
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
  supported: {
    destructuring: false,
    "default-argument": false,
    "rest-argument": false,
    "array-spread": false,
    "object-rest-spread": false,
    "for-of": false,
    generator: false,
    "async-await": false,
  },
};

/**
 * Property names used on Espruino's own objects (sockets, servers, Storage, Wifi, E,
 * console, typed arrays, strings) or read from JSON (settings, board limits): never mangled.
 */
const RESERVED_PROPS = [
  "write", "end", "on", "listen", "close", "now", "log", "length", "set", "subarray", "slice",
  "push", "pop", "charCodeAt", "indexOf", "apply", "call", "floor", "random", "toString",
  "toUint8Array", "readJSON", "readArrayBuffer", "erase", "connect", "getIP", "ip", "require",
  "fromCharCode", "memory", "usage", "total", "free", "put",
  // midge.json (Settings in targets/espruino/espruino.ts)
  "port", "wifi", "ssid", "password", "persist", "saveIntervalMs", "saveMaxBytes", "logLevel",
];

/**
 * Property names of the core's state records (exported interfaces of src/, Limits included):
 * esbuild renames them to one or two letters, which takes a fifth off the bundle and a
 * variable off each long name kept in memory. They never meet JSON or the runtime: the
 * settings' limit names are read by their quoted names (main.ts limitsOf), so renaming is safe.
 * Features are not renamed: they are define'd away at build time.
 */
export function mangledProps() {
  const names = new Set(["buf", "pos"]); // bytes.js Writer fields (plain JS, no interface)
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) files.push(p);
    }
  };
  walk(join(ROOT, "src"));
  const featureKeys = [];
  for (const file of files) {
    const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2020, true);
    sf.forEachChild((node) => {
      if (!ts.isInterfaceDeclaration(node)) return;
      for (const m of node.members) {
        if (!(ts.isPropertySignature(m) || ts.isMethodSignature(m)) || !m.name || !ts.isIdentifier(m.name)) continue;
        // Features names are the keys of the MIDGE_FEATURES define.
        if (node.name.text === "Features") featureKeys.push(m.name.text);
        else names.add(m.name.text);
      }
    });
  }
  // Even where another interface uses the same name.
  for (const r of featureKeys) names.delete(r);
  for (const r of RESERVED_PROPS) names.delete(r);
  // Nor any name of a built-in property (String, Array, typed arrays, Error, ...): the core
  // or the runtime may use one of those on a built-in object.
  for (const proto of [String.prototype, Array.prototype, Object.getPrototypeOf(Uint8Array.prototype), Uint8Array.prototype,
    Object.prototype, Function.prototype, Math, JSON, Number, Object, String, Array, ArrayBuffer.prototype, Date.prototype,
    Number.prototype, Boolean.prototype, RegExp.prototype, Error.prototype]) {
    for (const k of Object.getOwnPropertyNames(proto)) names.delete(k);
  }
  for (const n of names) if (n.startsWith("__")) names.delete(n);
  return [...names].sort();
}

/** Board profiles with an "espruino" section, by name. */
export function espruinoBoards() {
  const out = [];
  for (const f of readdirSync(BOARDS_DIR).sort()) {
    if (!f.endsWith(".json")) continue;
    const profile = JSON.parse(readFileSync(join(BOARDS_DIR, f), "utf8"));
    if (profile.espruino) out.push(profile.board);
  }
  return out;
}

export function loadProfile(board) {
  const profile = JSON.parse(readFileSync(join(BOARDS_DIR, board + ".json"), "utf8"));
  if (!profile.espruino) throw new Error(`boards/${board}.json has no "espruino" section`);
  featuresOf(profile);
  return profile;
}

/** The feature names of src/features.ts, in its order (the host profile has them all). */
export function featureNames() {
  return Object.keys(profileModule().defaultProfile("").features);
}

/**
 * The profile's features, checked by the core's validator (src/config/profile.ts: a profile of
 * boards/ names every feature). The Espruino target has no bridge link
 * (targets/espruino/README.md), so "bridge" must be false there.
 */
export function featuresOf(profile) {
  const features = validateBoard(profile, profile.board).features;
  if (features.bridge) throw new Error(`boards/${profile.board}.json: the Espruino target has no bridges: "bridge" must be false`);
  return features;
}

/** esbuild defines that make each feature a constant: MIDGE_FEATURES.<name> -> true/false. */
export function featureDefines(features) {
  const out = {};
  for (const name of Object.keys(features)) out["MIDGE_FEATURES." + name] = features[name] ? "true" : "false";
  return out;
}

/** The features that are off, as the build table prints them ("all" when none is). */
export function featuresOffLabel(features) {
  const off = Object.keys(features).filter((n) => !features[n]);
  return off.length === 0 ? "all" : "-" + off.join(" -");
}

/** Every limit, in DEFAULT_LIMITS order, checked by the core's validator (a profile of boards/ names them all). */
function limitsOf(profile) {
  return validateBoard(profile, profile.board).limits;
}

const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

/** Resolves the core's bytes module to src/bytes/bytes.espruino.js (byte strings: see there). */
const espruinoBytes = {
  name: "espruino-bytes",
  setup(b) {
    b.onResolve({ filter: /\/bytes\/bytes$/ }, () => ({ path: join(ROOT, "src", "bytes", "bytes.espruino.js") }));
  },
};

/**
 * Keeps the minifier off ESPRUINO_GLOBALS: esbuild never gives a symbol a name that the code
 * reads as a global, and a `typeof NAME;` statement is such a read that the minifier then
 * drops (no bytes in the bundle). Prepended to the entry, it reserves every name of the list
 * for the whole bundle; topLevelProblems() still checks the result.
 */
const reserveGlobals = {
  name: "espruino-reserve-globals",
  setup(b) {
    b.onLoad({ filter: /[\\/]targets[\\/]espruino[\\/]main\.ts$/ }, (args) => ({
      contents: ESPRUINO_GLOBALS.filter((n) => n !== "arguments").map((n) => `typeof ${n};`).join("") + readFileSync(args.path, "utf8"),
      loader: "ts",
    }));
  },
};

/**
 * Bundles targets/espruino/main.ts for a profile. `limits` overrides some of the profile's
 * (used by the measurement runs). Returns { code, metafile }.
 */
/**
 * `options.names`: keep the bundle's identifiers (function names) so tests can see which
 * functions a feature set leaves in; dead-code removal is the same as in the real bundle.
 */
export async function bundleFor(profile, limits, features, options) {
  const baked = Object.assign(limitsOf(profile), limits || {});
  const featureSet = features || featuresOf(profile);
  const persist = profile.espruino.persist;
  const result = await build({
    ...ESPRUINO_ESBUILD,
    absWorkingDir: ROOT,
    entryPoints: ["targets/espruino/main.ts"],
    write: false,
    metafile: true,
    ...(options && options.names ? { minify: false, minifyWhitespace: true, minifySyntax: true, minifyIdentifiers: false } : {}),
    logLevel: "silent",
    mangleProps: new RegExp("^(" + mangledProps().join("|") + ")$"),
    // A property renamed to "at" would read as the .at() Espruino lacks (FORBIDDEN below).
    mangleCache: { at: false },
    plugins: [espruinoBytes, reserveGlobals],
    define: {
      MIDGE_BOARD: JSON.stringify(profile.board),
      MIDGE_VERSION: JSON.stringify(VERSION),
      MIDGE_LIMITS_JSON: JSON.stringify(JSON.stringify(baked)),
      MIDGE_PERSIST: JSON.stringify([persist.enabled ? 1 : 0, persist.minIntervalMs, persist.maxBytes]),
      ...featureDefines(featureSet),
    },
  });
  if (result.warnings.length > 0) throw new Error("esbuild warnings:\n" + result.warnings.map((w) => w.text).join("\n"));
  const code = result.outputFiles[0].text;
  if (options && options.names) return { code, metafile: result.metafile };
  // The cold functions take their parameters from `arguments` (parameters.mjs): known by name
  // through the same bundle built with its names kept.
  const named = await bundleFor(profile, limits, features, { names: true });
  return { code: coldParameters(code, named.code, ts).code, metafile: result.metafile };
}

/**
 * Constructs the Espruino interpreter cannot run, or globals it lacks (portability.md), that
 * esbuild's guard flags do not catch. Each: [label, regular expression].
 */
export const FORBIDDEN = [
  ["extends Error", /extends\s+Error\b/],
  ["labelled statement", /(^|[;{}])\s*(?!default\b)[A-Za-z_$][\w$]*:\s*(for|while|do)\b/],
  [".prototype. call", /\.prototype\./],
  ["Symbol", /\bSymbol\b/],
  ["Proxy", /\bProxy\b/],
  ["Reflect", /\bReflect\./],
  ["WeakMap/WeakSet/WeakRef", /\bWeak(Map|Set|Ref)\b/],
  ["Map", /\bnew Map\b/],
  ["Set", /\bnew Set\b/],
  ["async/await", /\basync\s*(function|\(|[A-Za-z_$])|\bawait\s/],
  ["generator", /function\s*\*/],
  ["for...of", /for\s*\([^;)]*\sof\s/],
  ["spread/rest", /\.\.\.[A-Za-z_$[({]/],
  ["Array.from", /\bArray\.from\b/],
  ["Uint8Array.from", /\bUint8Array\.from\b/],
  ["copyWithin", /\.copyWithin\(/],
  ["Object.freeze", /\bObject\.freeze\b/],
  ["codePointAt", /\.codePointAt\(/],
  [".at()", /\.at\(/],
  ["Math.imul/trunc/clz32/log2/sign", /\bMath\.(imul|trunc|clz32|log2|sign)\b/],
  ["Number.isInteger", /\bNumber\.isInteger\b/],
  ["TextEncoder/TextDecoder", /\bText(En|De)coder\b/],
  ["bare require (esbuild shim)", /(^|[^.\w$])require\s*\(/],
  ["globalThis", /\bglobalThis\b/],
  ["Buffer", /\bBuffer\b/],
  ["process.exit/argv", /\bprocess\.(exit|argv)\b/],
  ["destroy()", /\.destroy\(/],
  // Every feature read must be MIDGE_FEATURES.<name>, which the build defines away.
  ["MIDGE_FEATURES left in (a feature not read as MIDGE_FEATURES.<name>)", /\bMIDGE_FEATURES\b/],
];

/** Labels of the forbidden constructs found in code, for the build and the tests. */
export function scanBundle(code) {
  const found = [];
  for (const [label, re] of FORBIDDEN) if (re.test(code)) found.push(label);
  return found;
}

/** Pin names A0-A15, B0-B15, C0-C15, D0-D48, H0-H1 (every pin of the boards below, and more). */
function pinNames() {
  const out = [];
  for (const [port, last] of [["A", 15], ["B", 15], ["C", 15], ["D", 48], ["H", 1]]) for (let i = 0; i <= last; i++) out.push(port + i);
  return out;
}

/**
 * Globals the bundle relies on at run time, on the boards (Espruino 2v29 and the firmware of
 * ESP32, ESP32-S3, ESP32-C3, ESP8266, Espruino WiFi) and in the simulator: what the code reads
 * by name (esbuild never gives a top-level name one of those, but the list does not trust
 * that), what the tools' appended code uses (interpreter.mjs controlCode: require, eval,
 * String, console; measure.mjs and loadtest.mjs evaluate process.memory() through it), what
 * the simulator's runtime defines (targets/node/simulate/guest.ts, __host/__guest), names
 * Espruino itself looks up (onInit), the boards' objects and pins (Espruino's boards/ESP32.py,
 * ESP32C3_IDF4.py, ESP32S3_IDF4.py, ESP8266_4MB.py, ESPRUINOWIFI.py: D0-D48, A0-A15, B0-B15,
 * C13-C15, H0-H1, LED1/LED2/BTN1) and the modules reached through require. The bundle's code
 * runs at the top level (ESPRUINO_ESBUILD), so a top-level name of the bundle equal to one of
 * these would replace it on the board: the build refuses that (topLevelProblems).
 */
export const ESPRUINO_GLOBALS = [
  // Espruino's runtime
  "E", "global", "globalThis", "require", "process", "console", "print", "eval", "quit", "getTime", "setTime",
  "setTimeout", "setInterval", "clearTimeout", "clearInterval", "changeInterval", "setWatch", "clearWatch",
  "onInit", "load", "save", "reset", "dump", "edit", "echo", "trace", "Modules", "arguments",
  "peek8", "peek16", "peek32", "poke8", "poke16", "poke32", "btoa", "atob",
  // built-ins
  "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array",
  "Uint8ClampedArray", "ArrayBuffer", "DataView", "String", "Number", "Boolean", "Math", "JSON", "Date", "Object", "Array",
  "Function", "RegExp", "Promise", "Error", "TypeError", "SyntaxError", "ReferenceError", "InternalError",
  "Infinity", "NaN", "undefined", "isNaN", "isFinite", "parseInt", "parseFloat", "encodeURIComponent", "decodeURIComponent",
  // modules reached through require() (not globals on Espruino, but never to be shadowed)
  "Storage", "net", "Wifi", "Flash",
  // board objects and I/O
  "ESP32", "ESP8266", "NodeMCU", "LED", "LED1", "LED2", "BTN", "BTN1", "HIGH", "LOW", "Pin", "USB", "Telnet",
  "Serial", "Serial1", "Serial2", "LoopbackA", "LoopbackB", "SPI", "SPI1", "I2C", "I2C1", "Server", "Socket",
  "analogRead", "analogWrite", "digitalRead", "digitalWrite", "digitalPulse", "pinMode", "getPinMode", "getSerial",
  ...pinNames(),
  // the simulator's runtime (targets/node/simulate)
  "__host", "__guest",
  // one-letter names, the globals a user most often types at the console (i=0, x=...): the
  // minifier then names everything with two letters or more (2.4 KB more bundle, no variable)
  ..."abcdefghijklmnopqrstuvwxyzABCDFGIJKMNOPQRSTUVWXYZ_$".split(""),
];

/**
 * The names a bundle declares outside any function: on Espruino (and in the simulator's
 * QuickJS) those are globals. Every var/let/const/function/class declaration not inside a
 * function or class body counts, block-scoped or not (Espruino's scoping of top-level blocks is
 * not the standard's), so the list errs on the side of more names.
 */
export function topLevelNames(code) {
  const sf = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.ES2015, true, ts.ScriptKind.JS);
  const names = new Set();
  const bind = (name) => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const e of name.elements) if (!ts.isOmittedExpression(e)) bind(e.name);
  };
  const visit = (node) => {
    if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && node.name) names.add(node.name.text);
    if (ts.isVariableDeclaration(node)) bind(node.name);
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return [...names].sort();
}

/** import/export anywhere in code (module syntax Espruino cannot run): their texts. */
function moduleSyntax(code) {
  const sf = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.ES2015, true, ts.ScriptKind.JS);
  const found = [];
  const visit = (node) => {
    const exported = ts.canHaveModifiers(node) && (ts.getModifiers(node) || []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    const dynamic = ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword;
    if (exported || dynamic || ts.isImportDeclaration(node) || ts.isImportEqualsDeclaration(node) || ts.isExportDeclaration(node) || ts.isExportAssignment(node) || ts.isMetaProperty(node)) {
      found.push(node.getText(sf).slice(0, 40));
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/**
 * What is wrong with a bundle that runs at the top level: module syntax, and top-level names
 * that are Espruino globals the bundle relies on (ESPRUINO_GLOBALS). Labels, [] when none.
 */
export function topLevelProblems(code) {
  const problems = moduleSyntax(code).map((t) => "module syntax: " + t);
  const reserved = new Set(ESPRUINO_GLOBALS);
  const clashes = topLevelNames(code).filter((n) => reserved.has(n));
  if (clashes.length > 0) problems.push("top-level names that are Espruino globals: " + clashes.join(", "));
  return problems;
}

/** Builds dist/node/simulate.js, the simulator's runnable entry (quickjs-emscripten stays external). */
export async function buildSimulatorRunner() {
  await build({
    absWorkingDir: ROOT,
    entryPoints: ["targets/node/simulate/run.ts"],
    outfile: "dist/node/simulate.js",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
  });
  return "dist/node/simulate.js";
}

function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function lpad(s, n) {
  s = String(s);
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

/**
 * Builds every named board (default: all Espruino profiles) and the simulator runner; prints
 * the table; throws when a bundle holds a forbidden construct or a budget is exceeded
 * (only with MIDGE_ESPRUINO_BUDGET=strict: the tests assert budgets). Returns the rows.
 */
export async function buildEspruino(boards) {
  const names = boards && boards.length > 0 ? boards : espruinoBoards();
  const costs = loadCosts();
  const rows = [];
  const failures = [];
  for (const name of names) {
    const profile = loadProfile(name);
    const features = featuresOf(profile);
    const { code } = await bundleFor(profile, undefined, features);
    const outfile = join(ROOT, "dist", name, "midge.js");
    mkdirSync(dirname(outfile), { recursive: true });
    writeFileSync(outfile, code);
    const raw = Buffer.byteLength(code);
    const gzip = gzipSync(code, { level: 9 }).length;
    const startup = startupVars(name, code, costs, ts);
    const est = worstCase(profile, costs, raw, undefined, undefined, startup.vars);
    const forbidden = scanBundle(code).concat(topLevelProblems(code));
    const budgetBytes = profile.espruino.bundleBudgetBytes || 0;
    const sizeOk = budgetBytes === 0 || raw <= budgetBytes;
    const memOk = est.total <= est.budget;
    if (forbidden.length > 0) failures.push(`${name}: bundle uses what Espruino cannot run: ${forbidden.join(", ")}`);
    if (!sizeOk) failures.push(`${name}: bundle is ${raw} bytes, over its budget of ${budgetBytes}`);
    if (!memOk) failures.push(`${name}: worst case ${est.total} variables, over the budget of ${est.budget}`);
    rows.push({ board: name, file: `dist/${name}/midge.js`, raw, gzip, budgetBytes, sizeOk, estimate: est, memOk, forbidden, features, startup });
  }
  const runner = await buildSimulatorRunner();

  const lines = [];
  lines.push("espruino " + pad("board", 14) + lpad("bytes", 7) + lpad("gzip", 7) + lpad("budget", 8) + lpad("start-up", 10) + "  " + lpad("worst", 6) + " /" + pad(" budget vars", 13) + " result");
  for (const r of rows) {
    lines.push(
      "espruino " + pad(r.board, 14) + lpad(r.raw, 7) + lpad(r.gzip, 7) + lpad(r.budgetBytes || "-", 8) +
        lpad((r.startup.measured ? "" : "~") + r.startup.vars, 10) + "  " +
        lpad(r.estimate.total, 6) + " / " + pad(r.estimate.budget + " of " + r.estimate.jsVars, 12) + " " +
        (r.sizeOk && r.memOk && r.forbidden.length === 0 ? "ok" : "OVER" + (r.sizeOk ? "" : " (size)") + (r.memOk ? "" : " (memory)") + (r.forbidden.length ? " (constructs)" : "")),
    );
  }
  for (const r of rows) lines.push("espruino " + pad(r.board, 14) + "features: " + featuresOffLabel(r.features));
  lines.push("espruino start-up: variables after boot with no client; ~ = estimated from the bundle's functions, parameters and top-level values (model in costs.json), else measured on the real interpreter");
  for (const r of rows) lines.push(formatEstimate(r.board, r.estimate));
  lines.push(`espruino simulator runner ${runner}`);
  if (costs && costs.coreHash !== coreHash()) {
    lines.push("espruino warning: src/ changed since targets/espruino/costs.json was measured: re-run node targets/espruino/measure.mjs");
  }
  console.log(lines.join("\n"));

  if (failures.length > 0) {
    const message = "Espruino budget exceeded:\n  " + failures.join("\n  ");
    const onlyBudget = rows.every((r) => r.forbidden.length === 0);
    if (process.env.MIDGE_ESPRUINO_BUDGET !== "strict" && onlyBudget) console.warn("warning: " + message);
    else throw new Error(message);
  }
  return rows;
}

// `node targets/espruino/build.mjs [board...]`
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildEspruino(process.argv.slice(2)).catch((e) => {
    console.error(e.message);
    process.exitCode = 1;
  });
}
