// Builds the Lua target: src/ + targets/lua compiled by typescript-to-lua into one file,
// dist/lua/midge.lua, that runs on Lua 5.1, 5.3, 5.4 and LuaJIT (luaTarget "universal": no
// goto, no bit operators, no unpack/table.unpack in generated code). src/bytes/bytes.lua, the
// Lua implementation of src/bytes/bytes.d.ts, is bundled automatically.
//
//   import { buildLua } from "./targets/lua/build.mjs";   // from the repository root
//   const r = await buildLua();   // { files: ["dist/lua/midge.lua"], bytes, gzipBytes, rawBytes }
//
// Standalone: node targets/lua/build.mjs
//
// The bundle is then compacted: comment lines, indentation and blank lines are removed. That is
// safe because typescript-to-lua prints every string literal on one line (newlines as "\n"),
// which the build checks (no long brackets in the output).
import { mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build as esbuild } from "esbuild";
import ts from "typescript";
import * as tstl from "typescript-to-lua";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
export const LUA_TSCONFIG = join(here, "tsconfig.json");
export const LUA_OUTPUT = "dist/lua/midge.lua";

function formatDiagnostics(diagnostics) {
  return diagnostics
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (d.file && d.start !== undefined) {
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
        return `${relative(root, d.file.fileName)}:${line + 1}:${character + 1}: ${message}`;
      }
      return message;
    })
    .join("\n");
}

/**
 * Drops comment-only lines, leading indentation and blank lines. Trailing comments after code
 * are kept (telling them from "--" inside a string would need a Lua lexer).
 */
export function compactLua(code) {
  if (/\[=*\[/.test(code.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, '""'))) {
    throw new Error("generated Lua contains a long bracket ([[ or [=[): it cannot be compacted line by line");
  }
  const out = [];
  for (const line of code.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("--")) continue;
    out.push(t);
  }
  return out.join("\n") + "\n";
}

/**
 * The shell imports only `version` from package.json, but typescript-to-lua bundles the whole
 * file as a table: keep just the version.
 */
function slimPackageJson(code) {
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const start = code.indexOf('\n["package"] = function(...)\n');
  if (start < 0) return code;
  const end = code.indexOf("\nend,\n", start);
  if (end < 0) return code;
  return code.slice(0, start) + `\n["package"] = function(...)\nreturn {version = ${JSON.stringify(version)}}` + code.slice(end);
}

/** A Lua literal for a JSON value; strings escaped byte by byte, so any Lua version reads them. */
function luaLiteral(v) {
  if (typeof v === "string") {
    let out = '"';
    for (const b of Buffer.from(v, "utf8")) {
      out += b >= 32 && b < 127 && b !== 34 && b !== 92 ? String.fromCharCode(b) : "\\" + b;
    }
    return out + '"';
  }
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "{" + v.map(luaLiteral).join(", ") + "}";
  if (v !== null && typeof v === "object") {
    return "{" + Object.keys(v).map((k) => `[${luaLiteral(k)}] = ${luaLiteral(v[k])}`).join(", ") + "}";
  }
  throw new Error(`cannot bake ${typeof v} into Lua`);
}

/** src/config/profile.ts compiled for Node (the validator the Lua build runs too). */
async function profileValidator() {
  const r = await esbuild({
    entryPoints: [join(root, "src", "config", "profile.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    logLevel: "silent",
  });
  const code = r.outputFiles[0].text;
  return import("data:text/javascript;base64," + Buffer.from(code).toString("base64"));
}

export const BAKED_BOARDS_LUA = join(here, "bakedBoards.lua");

/**
 * Validates boards/*.json with src/config/profile.ts (every limit required, as for any profile
 * in boards/) and writes targets/lua/bakedBoards.lua, the implementation of bakedBoards.d.ts:
 * the Lua build then needs no boards/ directory at run time. Throws on an invalid profile.
 */
export async function bakeBoards() {
  const { validateProfile } = await profileValidator();
  const dir = join(root, "boards");
  const entries = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
    const name = f.slice(0, -5);
    const json = JSON.parse(readFileSync(join(dir, f), "utf8"));
    const r = validateProfile(json, name, true);
    if (!r.ok) throw new Error(`boards/${f}: ${r.error}`);
    if (json.board !== name) throw new Error(`boards/${f}: "board" is "${json.board}", not the file name`);
    const kept = { board: json.board, description: json.description ?? "", limits: json.limits };
    if (json.features !== undefined) kept.features = json.features;
    entries.push(`{name = ${luaLiteral(name)}, profile = ${luaLiteral(kept)}}`);
  }
  const code =
    "-- Generated by targets/lua/build.mjs from boards/*.json (validated with src/config/profile.ts). Do not edit.\n" +
    "local ____exports = {}\n____exports.BAKED_BOARDS = {\n" + entries.map((e) => "  " + e).join(",\n") + "\n}\nreturn ____exports\n";
  let old = "";
  try {
    old = readFileSync(BAKED_BOARDS_LUA, "utf8");
  } catch {
    // first build
  }
  if (old !== code) writeFileSync(BAKED_BOARDS_LUA, code);
  return entries.length;
}

/**
 * Compiles the Lua target. Throws (after printing the diagnostics to stderr) if
 * typescript-to-lua reports any. Returns the files written (relative to the repository root)
 * and their sizes.
 */
export async function buildLua(options = {}) {
  const outFile = resolve(root, options.outFile ?? LUA_OUTPUT);
  await bakeBoards();
  let bundle;
  const result = tstl.transpileProject(LUA_TSCONFIG, { removeComments: true }, (fileName, text) => {
    if (fileName.endsWith(".lua")) bundle = text;
  });
  if (result.diagnostics.length > 0) {
    const text = formatDiagnostics(result.diagnostics);
    process.stderr.write(text + "\n");
    throw new Error(`typescript-to-lua: ${result.diagnostics.length} diagnostic(s)`);
  }
  if (bundle === undefined) throw new Error("typescript-to-lua produced no bundle");
  const code = options.compact === false ? bundle : slimPackageJson(compactLua(bundle));
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  const bytes = Buffer.byteLength(code);
  return {
    files: [relative(root, outFile)],
    rawBytes: Buffer.byteLength(bundle),
    bytes,
    gzipBytes: gzipSync(code, { level: 9 }).length,
  };
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const r = await buildLua();
    const kb = (n) => (n / 1024).toFixed(1) + " KB";
    console.log(`lua      ${r.files[0]}  ${kb(r.bytes)} (${kb(r.gzipBytes)} gzipped; ${kb(r.rawBytes)} before compacting)`);
  } catch (e) {
    console.error(`build: lua failed: ${e.message}`);
    process.exitCode = 1;
  }
}
