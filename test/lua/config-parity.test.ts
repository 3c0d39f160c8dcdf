/**
 * One configuration parser (src/config): the same mosquitto.conf mistakes give the same
 * "file:line: message" on the Node target (targets/node/config.ts, in this process) and on the
 * Lua build (dist-style bundle run by a real Lua VM with --config).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MOSQUITTO_ONLY, optionNames } from "../../src/config/options";
import { parseConfig } from "../../targets/node/config";
import { buildLua } from "../../targets/lua/build.mjs";

const VM = ["lua5.4", "luajit", "lua5.1"].find((vm) => spawnSync("sh", ["-c", `command -v ${vm}`]).status === 0);

let dir = "";
let bundle = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "midge-config-parity-"));
  bundle = join(dir, "midge.lua");
  await buildLua({ outFile: bundle });
}, 180000);

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** The Lua build's message for a config text ("" when it starts). */
function luaError(text: string): string {
  const file = join(dir, "midge.conf");
  writeFileSync(file, text);
  const run = spawnSync(VM!, [bundle, "--config", file, "--port", "70"], { encoding: "utf8", timeout: 20000 });
  const out = (run.stdout ?? "") + (run.stderr ?? "");
  const m = /Error: (.*)/.exec(out);
  return m === null ? "" : m[1].split(file).join("midge.conf");
}

function nodeError(text: string): string {
  const r = parseConfig(text, "midge.conf", dir);
  return r.ok ? "" : r.error;
}

/** Mistakes in options both targets share, and options neither has. */
const MISTAKES: string[] = [
  "max_connections 0",
  "max_connections lots",
  "max_inflight_messages 70000",
  "max_queued_messages -2",
  "max_packet_size 5",
  "message_size_limit 268435456",
  "retain_available maybe",
  "connection_messages yes",
  "sys_interval 90000",
  "port 1883\nlistener 1884",
  "listener 1884\nport 1883",
  "listener 99999",
  "listener 1884 127.0.0.1 extra",
  "listener",
  "log_type chatty",
  "log_dest file",
  "board esp9000",
  "board Bad!",
  "protocol mqtt5",
  "allow_anonymous perhaps",
  "max_connections 5 # five",
  "max_connections # five",
  "no_such_option 1",
  "\n\n  # comment\n\tmax_queued_messages\t0x10\r\n",
];

describe.skipIf(VM === undefined)(`Node and Lua (${VM}) parse configuration alike`, () => {
  it.each(MISTAKES)("same error for %j", (text) => {
    const expected = nodeError(text);
    expect(expected).not.toBe("");
    expect(luaError(text)).toBe(expected);
  });

  it("mosquitto-only options are refused alike", () => {
    for (const option of MOSQUITTO_ONLY.slice(0, 5).concat(["queue_qos0_messages"])) {
      const text = option + " 1";
      expect(luaError(text)).toBe(nodeError(text));
      expect(nodeError(text)).toBe(`midge.conf:1: option '${option}' is not supported by Midge`);
    }
  });

  it("options of the Node target are refused by the Lua build honestly", () => {
    for (const option of optionNames("lua", false)) {
      expect(luaError(option + " x")).toMatch(new RegExp(`^midge.conf:1: option '${option}': .* not available on the Lua target$`));
    }
    expect(luaError("connection b")).toBe("midge.conf:1: option 'connection': bridges are not available on the Lua target");
  });
});
