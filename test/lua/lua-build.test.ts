/**
 * The Lua build (targets/lua/build.mjs) and its shell, on every installed Lua VM: one file for
 * all of them, the command line, configuration errors, and one MQTT round trip (QoS 1 through
 * a wildcard subscription, a retained message, a will) with MQTT.js. The full end-to-end suite
 * runs against the Lua targets with MIDGE_TARGETS=lua5.4,luajit (test/e2e/targets/lua.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLua } from "../../targets/lua/build.mjs";

const VMS = ["lua5.1", "lua5.4", "luajit"];

function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
}

let dir = "";
let bundle = "";
let size = { bytes: 0, gzipBytes: 0 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "midge-lua-build-"));
  // Built into a temp dir: the test must not race other users of dist/lua/midge.lua.
  const outFile = join(dir, "midge.lua");
  const r = await buildLua({ outFile: outFile });
  bundle = outFile;
  size = { bytes: r.bytes, gzipBytes: r.gzipBytes };
}, 180000);

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

function run(vm: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(vm, [bundle, ...args], { encoding: "utf8", timeout: 20000 });
  return { status: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

interface Running {
  port: number;
  output(): string;
  stop(): void;
}

function start(vm: string, args: string[]): Promise<Running> {
  const child = spawn(vm, [bundle, "--port", "0", "--host", "127.0.0.1", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${vm}: no port line\n${output}`));
    }, 10000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /Opening ipv4 listen socket on port (\d+)\./.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), output: () => output, stop: () => child.kill("SIGKILL") });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${vm} exited (${code})\n${output}`));
    });
  });
}

function client(port: number, opts: Record<string, unknown>): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: "127.0.0.1", port, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    c.once("connect", () => resolve(c));
    c.once("error", reject);
  });
}

describe("the Lua build", () => {
  it("is one file, without goto or bit-library calls (runs on 5.1, 5.4 and LuaJIT)", () => {
    const code = readFileSync(bundle, "utf8");
    expect(/\bgoto\b/.test(code)).toBe(false);
    expect(/\bbit32?\./.test(code)).toBe(false);
    expect(size.bytes).toBeGreaterThan(10000);
    expect(size.gzipBytes).toBeLessThan(size.bytes);
  });

  for (const vm of VMS) {
    describe.skipIf(!hasCommand(vm))(vm, () => {
      it("prints its version and usage", () => {
        const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
        expect(run(vm, ["--version"]).out.trim()).toBe(pkg.version);
        const help = run(vm, ["--help"]);
        expect(help.status).toBe(0);
        expect(help.out).toContain("--port <port>");
      });

      it("refuses bad flags and configuration with 'Error: ...' and exit code 1", () => {
        const bad = run(vm, ["--port", "70000"]);
        expect(bad.status).toBe(1);
        expect(bad.out).toMatch(/^Error: .*port/);
        const conf = join(dir, `bad-${vm}.conf`);
        writeFileSync(conf, "max_connections 10\npassword_file /etc/passwd\n");
        const r = run(vm, ["--config", conf]);
        expect(r.status).toBe(1);
        expect(r.out).toContain(`${conf}:2: option 'password_file': authentication is not available on the Lua target`);
        writeFileSync(conf, "no_such_option 1\n");
        expect(run(vm, ["--config", conf]).out).toContain("unknown option 'no_such_option'");
        const board = join(dir, `bad-board-${vm}.json`);
        writeFileSync(board, JSON.stringify({ board: "x", limits: { maxSessions: -1 } }));
        expect(run(vm, ["--board", board]).out).toContain('"maxSessions" must be a whole number >= 0');
      });

      it("serves MQTT.js: QoS 1 through a wildcard, retained messages, wills, board limits in the log", async () => {
        const board = join(dir, `small-${vm}.json`);
        writeFileSync(board, JSON.stringify({ board: "small", limits: { maxConnections: 8, maxSessions: 8 } }));
        const broker = await start(vm, ["--board", board, "--verbose"]);
        const clients: MqttClient[] = [];
        try {
          expect(broker.output()).toContain("Board small: 8 connections, 8 sessions");
          const sub = await client(broker.port, { clientId: "sub" });
          clients.push(sub);
          const got: string[] = [];
          sub.on("message", (topic, payload, packet) => got.push(`${topic}=${payload.toString("hex")}@${packet.qos}${packet.retain ? "r" : ""}`));
          await sub.subscribeAsync({ "a/+/c": { qos: 1 }, will: { qos: 0 } });
          const pub = await client(broker.port, { clientId: "pub", will: { topic: "will", payload: Buffer.from("gone"), qos: 0, retain: false } });
          clients.push(pub);
          const binary = Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]);
          await pub.publishAsync("a/b/c", binary, { qos: 1 });
          await pub.publishAsync("r/t", Buffer.from("kept"), { qos: 1, retain: true });
          // A network failure (not DISCONNECT) publishes the will.
          (pub as unknown as { stream: { destroy(): void } }).stream.destroy();
          const late = await client(broker.port, { clientId: "late" });
          clients.push(late);
          const retained = await new Promise<string>((res) => {
            late.on("message", (t, p, pk) => res(`${t}=${p.toString()}${pk.retain ? " retained" : ""}`));
            late.subscribe("r/#");
          });
          expect(retained).toBe("r/t=kept retained");
          const deadline = Date.now() + 5000;
          while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          expect(got).toEqual([`a/b/c=${binary.toString("hex")}@1`, `will=${Buffer.from("gone").toString("hex")}@0`]);
        } finally {
          for (const c of clients) c.end(true);
          broker.stop();
        }
      }, 30000);
    });
  }
});
