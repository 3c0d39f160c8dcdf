/**
 * The bundles on the real Espruino interpreter (Linux build of Espruino with a fixed variable
 * store, named by MIDGE_ESPRUINO_1600 and MIDGE_ESPRUINO_16383; the project does not build it).
 * Skipped, with a message, when there is none.
 *
 * The Linux build has no Wifi module, so these also show the bundle serving on whatever
 * network there is, with no error.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChildProcess, spawn } from "node:child_process";
import mqtt from "mqtt";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { ROOT, buildEspruino, loadProfile } from "../../targets/espruino/build.mjs";
import { EspruinoProcess, boot, controlCode, findInterpreter, writeStorage } from "../../targets/espruino/interpreter.mjs";
import { clientsHeld, estimateFor, fillTables } from "../../targets/espruino/loadtest.mjs";
import { loadCosts, startupVars } from "../../targets/espruino/memory.mjs";
import { client, connected, pk } from "../../targets/espruino/rawClient.mjs";
import ts from "typescript";

const BIG = findInterpreter(16383);
const SMALL = findInterpreter(1600);
const MIDDLE = findInterpreter(4095);
if (!BIG) console.warn("test/espruino/interpreter.test.ts skipped: no Espruino interpreter (set MIDGE_ESPRUINO_1600 and MIDGE_ESPRUINO_16383)");

const running: EspruinoProcess[] = [];
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  // Also after a test timed out (its finally blocks may never run).
  for (const c of children.splice(0)) c.kill("SIGKILL");
  for (const e of running.splice(0)) await e.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

beforeAll(async () => {
  if (!BIG) return;
  const previous = process.env.MIDGE_ESPRUINO_BUDGET;
  process.env.MIDGE_ESPRUINO_BUDGET = "warn";
  try {
    await buildEspruino();
  } finally {
    if (previous === undefined) delete process.env.MIDGE_ESPRUINO_BUDGET;
    else process.env.MIDGE_ESPRUINO_BUDGET = previous;
  }
}, 60000);

function bundle(board: string): string {
  return readFileSync(join(ROOT, "dist", board, "midge.js"), "latin1");
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "midge-espruino-test-"));
  dirs.push(d);
  return d;
}

function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(port, "0.0.0.0", () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

/**
 * Boots `board`'s bundle from Storage with settings, like a board at power-on. Memory is read
 * over the control channel of interpreter.mjs (controlCode), not typed at the REPL: the Linux
 * build's stdin thread races its main loop and stopped the interpreter on ASSERT(len<=64)
 * when a line was typed while the broker was still starting.
 */
async function bootBoard(board: string, settings: object, vars = 16383, dir = tempDir(), control = true): Promise<EspruinoProcess> {
  const controlPort = control ? await freePort() : 0;
  writeStorage(dir, { ".bootcde": bundle(board) + (control ? controlCode(controlPort) : ""), "midge.json": JSON.stringify(settings) });
  const e = boot(vars, dir, control ? { controlPort } : {});
  running.push(e);
  return e;
}

async function roundTrip(port: number): Promise<string> {
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "rt-sub", reconnectPeriod: 0 });
  const got = new Promise<string>((r) => sub.on("message", (t, m) => r(`${t}=${m}`)));
  await sub.subscribeAsync("rt/#", { qos: 1 });
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "rt-pub", reconnectPeriod: 0 });
  await pub.publishAsync("rt/x", Buffer.from([0, 1, 127, 128, 255]), { qos: 1 });
  const text = await got;
  await pub.endAsync();
  await sub.endAsync();
  return text;
}

describe.skipIf(!BIG)("on the real Espruino interpreter", { timeout: 60000 }, () => {
  test("run as a file on the Linux build (no Wifi module), the bundle serves on port 1883 with no error", async (ctx) => {
    let free = true;
    try {
      await freePort(1883);
    } catch {
      free = false;
    }
    if (!free) ctx.skip();
    const dir = tempDir();
    const child = spawn(BIG!, [join(ROOT, "dist", "esp32", "midge.js")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    try {
      const until = Date.now() + 5000;
      while (!/listen socket on port 1883\./.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/Opening ipv4 listen socket on port 1883\./);
      // Binary payload bytes 0..255 survive Espruino's String sockets both ways (two messages:
      // one of 256 bytes would be over the ESP32 profile's maxPacketSize).
      const sub = await mqtt.connectAsync("mqtt://127.0.0.1:1883", { reconnectPeriod: 0, connectTimeout: 5000 });
      const got: Buffer[] = [];
      sub.on("message", (_t, m) => got.push(m));
      await sub.subscribeAsync("bin", { qos: 1 });
      const low = Buffer.from(Array.from({ length: 128 }, (_, i) => i));
      const high = Buffer.from(Array.from({ length: 128 }, (_, i) => 128 + i));
      await sub.publishAsync("bin", low, { qos: 1 });
      await sub.publishAsync("bin", high, { qos: 1 });
      const until2 = Date.now() + 5000;
      while (got.length < 2 && Date.now() < until2) await new Promise((r) => setTimeout(r, 20));
      expect(Buffer.concat(got).equals(Buffer.concat([low, high]))).toBe(true);
      await sub.endAsync();
      expect(out).not.toMatch(/Uncaught|ERROR|Error:|OUT OF MEMORY/);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("booted from Storage like a board, it takes port and limits from midge.json", async () => {
    const port = await freePort();
    const e = await bootBoard("esp32", { port, limits: { maxConnections: 2, maxSessions: 2 } });
    await e.waitFor(new RegExp(`listen socket on port ${port}\\.`), 10000);
    expect(await roundTrip(port)).toBe("rt/x=" + Buffer.from([0, 1, 127, 128, 255]).toString());
    const a = await connected(port, "a", true);
    const b = await connected(port, "b", true);
    const c = client(port);
    await c.ready;
    c.send(pk.connect("c", true));
    expect(await c.waitClosed(3000)).toBe(true); // a third connection: over maxConnections 2
    a.close();
    b.close();
    expect(e.output()).not.toMatch(/Uncaught|ERROR|OUT OF MEMORY/);
  });

  test("[MQTT-4.7.3-4] on the interpreter's 8-bit strings, topics beyond U+00FF stay distinct and go out under their own bytes", async () => {
    // String.fromCharCode keeps only the low byte on Espruino: U+6E29 would become ")".
    const port = await freePort();
    const e = await bootBoard("esp32", { port, persist: false });
    await e.waitFor(new RegExp(`listen socket on port ${port}\\.`), 10000);
    const got: string[] = [];
    const wide = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "wide", reconnectPeriod: 0 });
    wide.on("message", (t, m) => got.push(`wide ${t}=${m}`));
    await wide.subscribeAsync("\u6e29/+", { qos: 1 });
    const paren = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "paren", reconnectPeriod: 0 });
    paren.on("message", (t, m) => got.push(`paren ${t}=${m}`));
    await paren.subscribeAsync(")/+", { qos: 1 });
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "pub", reconnectPeriod: 0 });
    await pub.publishAsync("\u6e29/x", "1", { qos: 1, retain: true });
    await pub.publishAsync(")/x", "2", { qos: 1 });
    const late = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "late", reconnectPeriod: 0 });
    late.on("message", (t, m) => got.push(`late ${t}=${m}`));
    await late.subscribeAsync("+/x", { qos: 1 });
    const until = Date.now() + 3000;
    while (got.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(got.sort()).toEqual(["late \u6e29/x=1", "paren )/x=2", "wide \u6e29/x=1"]);
    for (const c of [wide, paren, pub, late]) await c.endAsync();
    expect(e.output()).not.toMatch(/Uncaught|ERROR|OUT OF MEMORY/);
  });

  test("retained messages and a persistent session survive a reset (snapshot in Storage, written on change)", async () => {
    const port = await freePort();
    const dir = tempDir();
    const e = await bootBoard("esp32", { port, saveIntervalMs: 200 }, 16383, dir);
    await e.waitFor(/listen socket on port/, 10000);
    const keeper = await connected(port, "keeper", false);
    keeper.send(pk.subscribe(1, "keep/#", 1));
    await keeper.waitCount(9, 1);
    keeper.send(pk.disconnect());
    keeper.close();
    const pub = await connected(port, "pub", true);
    pub.send(pk.publish("keep/r", "R", 1, true, 1));
    await pub.waitCount(4, 1);
    pub.close();
    await e.waitFor(/Saved \d+ bytes to midge.snap/, 5000, e.output().length);
    await e.stop(); // SIGKILL: no E.on("kill"), as a power cut

    const e2 = boot(16383, dir);
    running.push(e2);
    await e2.waitFor(/Restored midge.snap: 1 retained, 1 sessions/, 10000);
    await e2.waitFor(/listen socket on port/, 10000);
    const got: string[] = [];
    const back = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: "keeper", clean: false, reconnectPeriod: 0 });
    back.on("message", (t, m) => got.push(`${t}=${m}`));
    await new Promise((r) => setTimeout(r, 600));
    expect(got).toEqual(["keep/r=R"]);
    await back.endAsync();
  });

  test("the ESP32 profile's full tables are held in 16,383 variables, and the estimate covers what they use", async () => {
    const port = await freePort();
    const e = await bootBoard("esp32", { port, persist: false });
    await e.waitFor(/listen socket on port/, 10000);
    const profile = loadProfile("esp32");
    const load = await fillTables(port, profile.limits);
    const used = await e.memory();
    const est = estimateFor(profile, loadCosts());
    expect(e.output()).not.toMatch(/OUT OF MEMORY/);
    expect(load.clients).toBe(profile.limits.maxConnections);
    // The estimate (same load, this build's geometry) is an upper bound, and a close one.
    expect(used).toBeLessThanOrEqual(est.total);
    // Not far above either; the estimate also counts every connection's send buffer full,
    // which fillTables does not make (with 8 connections that is about a quarter of it).
    expect(used).toBeGreaterThan(est.total * 0.7);
    for (const c of load.open) c.close();
  });

  test.skipIf(!MIDDLE)("the ESP32-C3 profile's full tables are held in 4,095 variables (issue 15)", async () => {
    const port = await freePort();
    const e = await bootBoard("esp32c3", { port, persist: false }, 4095);
    await e.waitFor(/listen socket on port/, 10000);
    const profile = loadProfile("esp32c3");
    const load = await fillTables(port, profile.limits, profile.features);
    const used = await e.memory();
    expect(e.output()).not.toMatch(/OUT OF MEMORY/);
    expect(load.clients).toBe(profile.limits.maxConnections);
    expect(load.subscriptions).toBe(profile.limits.maxSubscriptions);
    expect(load.retained).toBe(profile.limits.maxRetained);
    // 3,379 measured (with the control channel's ~60): room for the interpreter's own needs.
    expect(used).toBeLessThanOrEqual(4095 - profile.espruino.reserveVars);
    for (const c of load.open) c.close();
  });

  test.skipIf(!SMALL)("with 1,600 variables the ESP8266 bundle starts, holds one client of the issue's load and runs out of memory at the second, as the build's estimate says", async () => {
    const costs = loadCosts();
    const port = await freePort();
    // No control channel: its ~60 variables would be counted in the start-up compared below
    // (startup.mjs measures without it). Read once at the REPL, after the start has settled
    // (typing while the interpreter is busy is what trips its stdin race).
    // The race still trips now and then at an idle REPL: a boot that dies there is tried again.
    let e: EspruinoProcess | undefined;
    let used = NaN;
    for (let attempt = 0; attempt < 3 && Number.isNaN(used); attempt++) {
      if (e) await e.stop();
      e = await bootBoard("esp8266", { port, persist: false }, 1600, tempDir(), false);
      await e.waitFor(/listen socket on port/, 10000);
      await new Promise((r) => setTimeout(r, 500));
      used = await e.memory().catch(() => NaN);
    }
    if (!e) throw new Error("no boot");
    // The build's start-up figure for this very bundle (measured by startup.mjs, or its model).
    const code = readFileSync(join(ROOT, "dist", "esp8266", "midge.js"), "latin1");
    expect(Math.abs(used - startupVars("esp8266", code, costs, ts).vars)).toBeLessThan(50);
    // Issue 15 asks for 4 clients, each with 4 subscriptions, 8 retained messages in all and
    // 128-byte messages. Until the cold functions' parameters went into `arguments` the first
    // client's first QoS 1 message ran the interpreter out of memory; now the first client
    // completes its share and the second client's CONNECT runs it out (the simulator agrees).
    const out = (): boolean => /OUT OF MEMORY/.test(e!.output()) || !e!.alive();
    const r = await clientsHeld(port, out);
    expect(r.held, r.steps.join(", ")).toBe(1);
    await e.waitFor(/OUT OF MEMORY/, 10000).catch(() => undefined);
    expect(e.output()).toMatch(/OUT OF MEMORY/);
  });
});
