/**
 * Lua entry of the golden fixture check: `<lua> fixtures.lua <data file>` reads the flattened
 * fixtures (see fixturesCore.ts), prints every failure, then "N passed, M failed", and exits
 * non-zero on any failure. Built by test/lua/lua-fixtures.test.ts with typescript-to-lua.
 */
import { allFeatures } from "../../src/features";
import { runFixtures } from "./fixturesCore";

// The codec reads the board's features (src/features.ts); the fixtures are for the full set.
(globalThis as unknown as { MIDGE_FEATURES: ReturnType<typeof allFeatures> }).MIDGE_FEATURES = allFeatures();

interface LuaFile {
  read(this: LuaFile, format: "*a"): string | undefined;
  write(this: LuaFile, s: string): LuaFile;
  close(this: LuaFile): void;
}
declare const io: {
  stdout: LuaFile;
  open(this: void, path: string, mode: string): LuaMultiReturn<[LuaFile | undefined, string | undefined]>;
};
declare const os: { exit(this: void, code: number): never };
/** Through _G: a bare `arg` in a Lua 5.1 vararg function (a bundled module) is that function's own varargs. */
declare const _G: { arg: LuaTable<number, string> };
declare const _VERSION: string;

const path = _G.arg.get(1);
const [f, err] = io.open(path, "rb");
if (f === undefined) {
  io.stdout.write("cannot open " + path + ": " + err + "\n");
  os.exit(2);
} else {
  const text = f.read("*a");
  f.close();
  const r = runFixtures(text === undefined ? "" : text, (line) => {
    io.stdout.write(line + "\n");
  });
  io.stdout.write(_VERSION + ": " + r.passed + " passed, " + r.failed + " failed\n");
  os.exit(r.failed === 0 ? 0 : 1);
}
