/**
 * The core (src/, as selected by tsconfig.lua.json) must compile with typescript-to-lua
 * without a single diagnostic, for luaTarget "universal" (the one build meant to run on
 * Lua 5.1, 5.3, 5.4 and LuaJIT) and "5.1" (NodeMCU). The emitted Lua is then parsed by every
 * Lua VM installed here, and loaded and smoke-tested on them (topics, encode -> frame
 * reader -> decode of a PUBLISH).
 *
 * Bytes: src/bytes/bytes.d.ts is implemented for Lua by its sibling src/bytes/bytes.lua, which
 * typescript-to-lua copies next to the output (module "bytes.bytes").
 *
 * Pass typescript-to-lua an absolute tsconfig path: with a relative one, typescript-to-lua
 * 1.37.1 sees src/bytes/bytes.lua twice (relative and absolute) and reports "Output path ...
 * is used by both".
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import ts from "typescript";
import * as tstl from "typescript-to-lua";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, SRC } from "./srcFiles";

const CONFIG = path.join(ROOT, "tsconfig.lua.json");
const SMOKE = path.join(ROOT, "test", "portability", "fixtures", "lua-smoke.lua");

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "midge-lua-check-"));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

function formatDiagnostics(diags: readonly ts.Diagnostic[]): string {
  return diags
    .map((d) => {
      const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (d.file && d.start !== undefined) {
        const lc = d.file.getLineAndCharacterOfPosition(d.start);
        return `${path.relative(ROOT, d.file.fileName)}:${lc.line + 1}:${lc.character + 1}: TS${d.code}: ${msg}`;
      }
      return `TS${d.code}: ${msg}`;
    })
    .join("\n");
}

function listLua(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".lua")) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function compile(luaTarget: tstl.LuaTarget): { outDir: string; result: tstl.EmitResult } {
  const outDir = path.join(tmpRoot, luaTarget);
  const result = tstl.transpileProject(CONFIG, { luaTarget, outDir });
  return { outDir, result };
}

function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
}

/** Parses every file with loadfile (compile only, nothing runs). */
const PARSE_ALL = `for i = 1, #arg do local f, err = loadfile(arg[i]); if not f then io.stderr:write(err, "\\n"); os.exit(1) end end print("PARSE OK")`;

const VMS = ["lua5.1", "lua5.3", "lua5.4", "luajit"];

// Compiling takes 1-3 s per target alone, more when the whole suite runs in parallel.
describe("typescript-to-lua compile of src/", { timeout: 120000 }, () => {
  it("tsconfig.lua.json selects src/ only (luaBundle takes every file of the program)", () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(CONFIG, {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(formatDiagnostics([d]));
      },
    });
    expect(parsed).toBeDefined();
    expect(parsed!.errors).toEqual([]);
    expect(parsed!.fileNames.length).toBeGreaterThan(5);
    for (const f of parsed!.fileNames) expect(path.relative(SRC, f).startsWith(".."), `${f} is outside src/`).toBe(false);
    const raw = JSON.parse(fs.readFileSync(CONFIG, "utf8"));
    expect(raw.tstl.luaTarget).toBe("universal");
    expect(raw.tstl.noImplicitSelf).toBe(true);
  });

  for (const luaTarget of [tstl.LuaTarget.Universal, tstl.LuaTarget.Lua51]) {
    describe(`luaTarget ${luaTarget}`, () => {
      let compiled: { outDir: string; result: tstl.EmitResult } | undefined;
      const get = () => (compiled ??= compile(luaTarget));

      it("compiles with zero diagnostics", () => {
        const { outDir, result } = get();
        expect(formatDiagnostics(result.diagnostics)).toBe("");
        expect(result.emitSkipped).toBe(false);
        const files = listLua(outDir).map((f) => path.relative(outDir, f));
        expect(files).toContain(path.join("codec", "decode.lua"));
        expect(files).toContain(path.join("topics", "topic.lua"));
        expect(files).toContain(path.join("bytes", "bytes.lua"));
      });

      it("the generated Lua uses no bit library and no goto", () => {
        const { outDir } = get();
        for (const f of listLua(outDir)) {
          const code = fs.readFileSync(f, "utf8");
          const rel = path.relative(outDir, f);
          expect(/\bbit32?\./.test(code), `${rel} uses the bit library`).toBe(false);
          expect(/\bgoto\b/.test(code), `${rel} uses goto (Lua 5.1 has none)`).toBe(false);
        }
      });

      const vms = luaTarget === tstl.LuaTarget.Universal ? VMS : ["lua5.1", "luajit"];
      for (const vm of vms) {
        it.skipIf(!hasCommand(vm))(`${vm} parses and loads the output and passes the smoke test`, () => {
          const { outDir } = get();
          const files = listLua(outDir);
          const parseScript = path.join(tmpRoot, "parse-all.lua");
          fs.writeFileSync(parseScript, PARSE_ALL);
          const parse = spawnSync(vm, [parseScript, ...files], { encoding: "utf8" });
          expect(parse.stderr + parse.stdout).toContain("PARSE OK");

          const modules = files.map((f) => path.relative(outDir, f).replace(/\.lua$/, "").split(path.sep).join("."));
          const run = spawnSync(vm, [SMOKE, outDir, "bytes.bytes", ...modules.filter((m) => m !== "lualib_bundle")], {
            encoding: "utf8",
            timeout: 20000,
          });
          expect(run.stderr + run.stdout).toContain("SMOKE OK");
        });
      }
    });
  }
});
