/**
 * The golden codec and topic fixtures under the real Lua VMs: test/lua/fixturesCore.ts (the
 * checks) is compiled with src/ by typescript-to-lua into one Lua file, then run by lua5.1,
 * lua5.4 and luajit on the fixtures flattened by fixtureData.ts. The same checks run under
 * Node first, so a Lua result can be compared with the JS one check for check.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import * as tstl from "typescript-to-lua";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFixtures } from "./fixturesCore";
import { fixtureData } from "./fixtureData";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const VMS = ["lua5.1", "lua5.4", "luajit"];

function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
}

let dir = "";
let runner = "";
let dataFile = "";
let nodePassed = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "midge-lua-fixtures-"));
  const result = tstl.transpileProject(join(HERE, "tsconfig.json"), { outDir: dir });
  const diags = result.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n");
  if (diags !== "") throw new Error("typescript-to-lua: " + diags);
  runner = join(dir, "fixtures.lua");
  if (!existsSync(runner)) throw new Error("no bundle at " + runner);
  const data = fixtureData();
  dataFile = join(dir, "fixtures.txt");
  writeFileSync(dataFile, data.text);
}, 120000);

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("golden fixtures (packets.json, topics.json) under the Lua VMs", () => {
  it("the runner's checks pass under Node (same code, JS Bytes)", () => {
    const failures: string[] = [];
    const r = runFixtures(readFileSync(dataFile, "utf8"), (line) => failures.push(line));
    expect(failures.slice(0, 20).join("\n")).toBe("");
    expect(r.failed).toBe(0);
    expect(r.passed).toBeGreaterThan(500);
    nodePassed = r.passed;
  });

  it("the compiled runner uses no goto and no bit library (one file for 5.1, 5.4 and LuaJIT)", () => {
    const code = readFileSync(runner, "utf8");
    expect(/\bgoto\b/.test(code)).toBe(false);
    expect(/\bbit32?\./.test(code)).toBe(false);
  });

  for (const vm of VMS) {
    it.skipIf(!hasCommand(vm))(`${vm}: every check passes, as many as under Node`, () => {
      const run = spawnSync(vm, [runner, dataFile], { encoding: "utf8", timeout: 120000, maxBuffer: 64 * 1024 * 1024 });
      const out = (run.stdout ?? "") + (run.stderr ?? "");
      const m = /(\d+) passed, (\d+) failed/.exec(out);
      expect(m, out.slice(0, 4000)).not.toBeNull();
      const passed = Number(m![1]);
      const failed = Number(m![2]);
      expect(failed, out.slice(0, 4000)).toBe(0);
      expect(passed).toBeGreaterThan(0);
      if (nodePassed > 0) expect(passed).toBe(nodePassed);
      expect(run.status).toBe(0);
    }, 150000);
  }
});
