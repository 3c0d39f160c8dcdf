/**
 * The Espruino bundles under the simulator (the very files that would be flashed), over real
 * TCP: the profiles' capacities are where table-full answers happen, the full tables fit the
 * board's memory budget and going past it is an error, Storage and Wi-Fi settings work.
 *
 * Capacity tests run the simulator in its own process (dist/node/simulate.js) like the e2e
 * launchers; memory tests run it in-process to read its heap. ESP8266 capacity tests run
 * without the memory budget: its tables do not fit 1,600 variables (see bundle.test.ts).
 */
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildEspruino, loadProfile, ROOT } from "../../targets/espruino/build.mjs";
import { clientsHeld, fillTables } from "../../targets/espruino/loadtest.mjs";
import { RawClient, client, connected, pk, sync } from "../../targets/espruino/rawClient.mjs";
import { logTextDecode } from "../../targets/node/logText";
import { runSimulator } from "../../targets/node/simulate/simulator";

const TIMEOUT = 30000;

beforeAll(async () => {
  const previous = process.env.MIDGE_ESPRUINO_BUDGET;
  process.env.MIDGE_ESPRUINO_BUDGET = "warn";
  try {
    await buildEspruino();
  } finally {
    if (previous === undefined) delete process.env.MIDGE_ESPRUINO_BUDGET;
    else process.env.MIDGE_ESPRUINO_BUDGET = previous;
  }
}, 60000);

interface Sim {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

/** dist/node/simulate.js in its own process, with midge.json settings in its Storage. */
async function startSim(board: string, settings: object, extra: string[] = []): Promise<Sim> {
  const dir = mkdtempSync(join(tmpdir(), "midge-simtest-"));
  writeFileSync(join(dir, "storage.json"), JSON.stringify({ "midge.json": Buffer.from(JSON.stringify(settings)).toString("base64") }));
  const child = spawn(process.execPath, [join(ROOT, "dist/node/simulate.js"), "--board", board, "--port", "0", "--host", "127.0.0.1", "--storage-dir", dir, ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return new Promise<Sim>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no listen line:\n" + out)), 10000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listen socket on port (\d+)/.exec(out);
      if (m && timer) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          output: () => out,
          stop: async () => {
            child.kill("SIGTERM");
            const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
            await exited;
            clearTimeout(kill);
            children.delete(child);
            rmSync(dir, { recursive: true, force: true });
          },
        });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited (${code}):\n${out}`));
    });
  });
}

/** Polls `cond` every 20 ms; throws `what` after ms. */
async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits until the simulator has logged the disconnect of `n` clients whose id matches `id`
 * (since output position `since`): their slots are free from then on.
 */
function disconnected(sim: Sim, id: RegExp, n: number, since: number): Promise<void> {
  const re = new RegExp(`Client ${id.source} disconnected`, "g");
  // A board without logText logs numbered codes: read them as `midge log-text` does.
  const text = (): string => sim.output().slice(since).split("\n").map(logTextDecode).join("\n");
  return waitFor(() => (text().match(re) ?? []).length >= n, `${n} disconnects of ${id}:\n${sim.output().slice(since).slice(-2000)}`);
}

async function clients(port: number, n: number, prefix: string): Promise<RawClient[]> {
  const out: RawClient[] = [];
  for (let i = 0; i < n; i++) out.push(await connected(port, prefix + i, true));
  return out;
}

// esp32s3 has the esp32's limits (boards/esp32s3.json): its capacities are the same tests.
for (const [board, extra] of [["esp32", []], ["esp32c3", []], ["esp8266", ["--no-memory-limit"]]] as Array<[string, string[]]>) {
  const L = loadProfile(board).limits;
  describe.sequential(`${board}-sim: the profile's capacities`, { timeout: TIMEOUT }, () => {
    let sim: Sim;
    beforeAll(async () => {
      sim = await startSim(board, {}, extra);
    });
    afterAll(async () => {
      await sim.stop();
    });

    test(`client ${L.maxConnections + 1} is refused (maxConnections ${L.maxConnections})`, async () => {
      const cs = await clients(sim.port, L.maxConnections, "cap-");
      const extraClient = client(sim.port);
      await extraClient.ready;
      extraClient.send(pk.connect("one-too-many", true));
      expect(await extraClient.waitClosed(3000)).toBe(true);
      expect(extraClient.count(2)).toBe(0);
      let mark = sim.output().length;
      for (const c of cs) c.close();
      await disconnected(sim, /cap-\d+/, cs.length, mark);
      // The slots are free again.
      const again = await connected(sim.port, "again", true);
      expect(again.codes[0]).toBe(0);
      mark = sim.output().length;
      again.close();
      await disconnected(sim, /again/, 1, mark);
    });

    test(`subscription ${L.maxSubscriptionsPerClient + 1} of one client gets 0x80 (maxSubscriptionsPerClient)`, async () => {
      const c = await connected(sim.port, "subs", true);
      for (let i = 0; i <= L.maxSubscriptionsPerClient; i++) c.send(pk.subscribe(i + 1, "per/" + i, 1));
      await c.waitCount(9, L.maxSubscriptionsPerClient + 1);
      const granted = c.codes.slice(1);
      expect(granted.slice(0, L.maxSubscriptionsPerClient).every((x) => x === 1)).toBe(true);
      expect(granted[L.maxSubscriptionsPerClient]).toBe(0x80);
      const mark = sim.output().length;
      c.close();
      await disconnected(sim, /subs/, 1, mark);
    });

    test(`subscription ${L.maxSubscriptions + 1} in all gets 0x80 (maxSubscriptions)`, async () => {
      // Persistent sessions that subscribe and go offline keep their subscriptions: the table
      // fills even where it holds more than maxConnections clients' worth (esp32: 128 of 16 each).
      const n = Math.ceil(L.maxSubscriptions / L.maxSubscriptionsPerClient);
      let left = L.maxSubscriptions;
      for (let k = 0; k < n; k++) {
        const c = await connected(sim.port, "tab-" + k, false);
        const share = Math.min(L.maxSubscriptionsPerClient, left);
        for (let i = 0; i < share; i++) c.send(pk.subscribe(i + 1, "t/" + left + "/" + i, 0));
        await c.waitCount(9, share);
        expect(c.codes.slice(1).every((x) => x === 0)).toBe(true);
        left -= share;
        const mark = sim.output().length;
        c.send(pk.disconnect());
        c.close();
        await disconnected(sim, new RegExp("tab-" + k), 1, mark);
      }
      const last = await connected(sim.port, "tab-extra", true);
      last.send(pk.subscribe(999, "one/more", 0));
      await last.waitCount(9, 1);
      expect(last.codes[last.codes.length - 1]).toBe(0x80);
      let mark = sim.output().length;
      last.close();
      await disconnected(sim, /tab-extra/, 1, mark);
      // Clean sessions end the persistent ones and free their subscriptions for the next tests.
      for (let k = 0; k < n; k++) {
        const c = await connected(sim.port, "tab-" + k, true);
        mark = sim.output().length;
        c.send(pk.disconnect());
        c.close();
        await disconnected(sim, new RegExp("tab-" + k), 1, mark);
      }
    });

    test(`retained message ${L.maxRetained + 1} is not retained (maxRetained)`, async () => {
      // Topics in groups of 8, read one group per SUBSCRIBE: the retained messages go out in
      // one burst per SUBSCRIBE, and past maxPendingBytes of unsent data QoS 0 ones are dropped
      // (esp32: 64 short ones are about 700 bytes, over its 512).
      const topic = (i: number): string => "ret/" + Math.floor(i / 8) + "/" + i;
      const p = await connected(sim.port, "ret-pub", true);
      for (let i = 0; i <= L.maxRetained; i++) p.send(pk.publish(topic(i), "v", 0, true, 0));
      await sync(p);
      const s = await connected(sim.port, "ret-sub", true);
      const groups = Math.ceil((L.maxRetained + 1) / 8);
      for (let g = 0; g < groups; g++) {
        s.send(pk.subscribe(g + 1, "ret/" + g + "/#", 0));
        await s.waitCount(9, g + 1);
        // The group's retained messages go out with the SUBSCRIBE: all of them before this PINGRESP.
        await sync(s);
      }
      expect(s.count(3)).toBe(L.maxRetained);
      // Clear them for the next tests.
      for (let i = 0; i <= L.maxRetained; i++) p.send(pk.publish(topic(i), "", 0, true, 0));
      await sync(p);
      const mark = sim.output().length;
      p.close();
      s.close();
      await disconnected(sim, /ret-(pub|sub)/, 2, mark);
    });

    test(`a packet over maxPacketSize (${L.maxPacketSize}) closes the connection`, async () => {
      const c = await connected(sim.port, "big", true);
      c.send(pk.publish("big", "x".repeat(L.maxPacketSize), 0, false, 0));
      expect(await c.waitClosed(3000)).toBe(true);
    });

    test(`an offline session keeps at most maxQueued (${L.maxQueued}) messages`, async () => {
      const q = await connected(sim.port, "offline", false);
      q.send(pk.subscribe(1, "q/#", 1));
      await q.waitCount(9, 1);
      const mark = sim.output().length;
      q.send(pk.disconnect());
      q.close();
      await disconnected(sim, /offline/, 1, mark);
      const p = await connected(sim.port, "q-pub", true);
      const n = L.maxQueued + L.maxInflight + 2;
      for (let i = 0; i < n; i++) p.send(pk.publish("q/" + i, "m" + i, 1, false, i + 1));
      await p.waitCount(4, n);
      const got: string[] = [];
      const back = mqtt.connect(`mqtt://127.0.0.1:${sim.port}`, { clientId: "offline", clean: false, reconnectPeriod: 0 });
      back.on("message", (topic) => got.push(topic));
      await new Promise<void>((r, j) => {
        back.once("connect", () => r());
        back.once("error", j);
      });
      // A marker queued behind what the session kept (the queued messages go out at the CONNECT).
      p.send(pk.publish("q/end", "end", 1, false, n + 1));
      await waitFor(() => got.includes("q/end"), "the marker q/end");
      expect(got.pop()).toBe("q/end");
      expect(got.length).toBe(L.maxQueued);
      // The oldest were dropped (SRV-IMPL-10): the newest maxQueued remain, in order.
      expect(got).toEqual(Array.from({ length: L.maxQueued }, (_, k) => "q/" + (n - L.maxQueued + k)));
      await back.endAsync();
      p.close();
    });
  });
}

describe("memory budget (in-process simulator)", { timeout: 60000 }, () => {
  // The ESP32-C3's by about 78 variables of its 3,895 (issue 15): the simulator's count is the
  // same at every run (3,817 in three runs), so a change that costs the C3 more shows here.
  test.each(["esp32", "esp32c3"])("%s: the profile's full tables are held within the board's budget", async (board) => {
    let fatal = "";
    const profile = loadProfile(board);
    const sim = await runSimulator({ board, port: 0, host: "127.0.0.1", log: () => {}, onFatal: (m) => (fatal = m) });
    try {
      expect(sim.heapLimit()).toBeGreaterThan(0);
      const load = await fillTables(sim.port, profile.limits, profile.features);
      expect(fatal).toBe("");
      expect(load.clients).toBe(profile.limits.maxConnections);
      expect(load.subscriptions).toBe(profile.limits.maxSubscriptions);
      expect(load.retained).toBe(profile.limits.maxRetained);
      expect(sim.estimatedVars()).toBeLessThanOrEqual(profile.espruino.jsVars - profile.espruino.reserveVars);
      for (const c of load.open) c.close();
    } finally {
      await sim.stop();
    }
  });

  test("esp32: going past the budget is an out-of-memory error that stops the simulator", async () => {
    const dir = mkdtempSync(join(tmpdir(), "midge-oom-"));
    // Settings raise the tables past what the board holds (as a user could, in midge.json).
    const settings = { limits: { maxQueued: 1000, maxPacketSize: 8192, maxInflight: 1 } };
    writeFileSync(join(dir, "storage.json"), JSON.stringify({ "midge.json": Buffer.from(JSON.stringify(settings)).toString("base64") }));
    let fatal = "";
    const lines: string[] = [];
    const sim = await runSimulator({ board: "esp32", port: 0, host: "127.0.0.1", storageDir: dir, log: (l) => lines.push(l), onFatal: (m) => (fatal = m) });
    try {
      const q = await connected(sim.port, "hoarder", false);
      q.send(pk.subscribe(1, "flood/#", 1));
      await q.waitCount(9, 1);
      q.send(pk.disconnect());
      q.close();
      const p = await connected(sim.port, "flooder", true);
      for (let i = 0; i < 400 && fatal === ""; i++) {
        p.send(pk.publish("flood/" + i, "F".repeat(4000), 1, false, (i % 60000) + 1));
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20)); // pacing, part of the input: the in-process simulator runs in between
      }
      const until = Date.now() + 5000;
      while (fatal === "" && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(fatal).toMatch(/out of memory/);
      expect(fatal).toMatch(/budget of 13383 variables/);
      expect(await p.waitClosed(3000)).toBe(true);
    } finally {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("esp8266: the bundle starts in 1,600 variables, holds one client of the issue's load and runs out of memory at the second (as the real interpreter does)", async () => {
    // About 1,120 of the 1,500 variables are used once started. Issue 15 asks for 4 clients
    // (4 subscriptions each, 8 retained messages in all, 128-byte messages): the first client
    // completes its share, the second runs the board's budget out.
    let fatal = "";
    const sim = await runSimulator({ board: "esp8266", port: 0, host: "127.0.0.1", log: () => {}, onFatal: (m) => (fatal = m) });
    try {
      const r = await clientsHeld(sim.port, () => fatal !== "");
      expect(r.held, r.steps.join(", ")).toBe(1);
      expect(fatal).toMatch(/out of memory.*budget of 1500 variables/);
    } finally {
      await sim.stop();
    }
  });
});

describe("Storage, settings and Wi-Fi", { timeout: 30000 }, () => {
  test("retained messages and persistent sessions survive a restart (midge.snap in Storage)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "midge-persist-"));
    try {
      const log: string[] = [];
      const a = await runSimulator({ board: "esp32", port: 0, host: "127.0.0.1", storageDir: dir, log: (l) => log.push(l) });
      const p = await connected(a.port, "keeper", false);
      p.send(pk.subscribe(1, "keep/#", 1));
      await p.waitCount(9, 1);
      p.send(pk.disconnect());
      p.close();
      const pub = await connected(a.port, "pub", true);
      pub.send(pk.publish("keep/retained", "R", 1, true, 1));
      pub.send(pk.publish("keep/queued", "Q", 1, false, 2));
      await pub.waitCount(4, 2);
      pub.close();
      await a.stop(); // E.on("kill"): the target saves what changed
      expect(log.join("\n")).toMatch(/Saved \d+ bytes to midge.snap/);
      const stored = JSON.parse(readFileSync(join(dir, "storage.json"), "utf8"));
      expect(Object.keys(stored)).toEqual(expect.arrayContaining(["midge.json", "midge.snap"]));

      const log2: string[] = [];
      const b = await runSimulator({ board: "esp32", port: 0, host: "127.0.0.1", storageDir: dir, log: (l) => log2.push(l) });
      try {
        expect(log2.join("\n")).toMatch(/Restored midge.snap: 1 retained, 1 sessions/);
        const got: string[] = [];
        const back = mqtt.connect(`mqtt://127.0.0.1:${b.port}`, { clientId: "keeper", clean: false, reconnectPeriod: 0 });
        back.on("message", (t, m, packet) => got.push(`${t}=${m}${packet.retain ? " (retained)" : ""}`));
        await new Promise<void>((r, j) => {
          back.once("connect", () => r());
          back.once("error", j);
        });
        // A marker published now comes after what the session kept.
        const marker = await connected(b.port, "marker", true);
        marker.send(pk.publish("keep/zz-end", "end", 1, false, 1));
        await waitFor(() => got.includes("keep/zz-end=end"), "the marker keep/zz-end");
        got.pop();
        // Both were routed to the offline session (the retained one as an ordinary message, MQTT-3.3.1-9).
        expect(got).toEqual(["keep/retained=R", "keep/queued=Q"]);
        const fresh = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: "fresh", reconnectPeriod: 0 });
        const seen: string[] = [];
        fresh.on("message", (t, m) => seen.push(`${t}=${m}`));
        await fresh.subscribeAsync("keep/#");
        marker.send(pk.publish("keep/zz-end", "end2", 1, false, 2));
        await waitFor(() => seen.includes("keep/zz-end=end2"), "the second marker");
        expect(seen.slice(0, seen.indexOf("keep/zz-end=end2"))).toEqual(["keep/retained=R"]);
        marker.close();
        await back.endAsync();
        await fresh.endAsync();
      } finally {
        await b.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("snapshots are written on change, at most once per saveIntervalMs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "midge-wear-"));
    const settings = { saveIntervalMs: 600 };
    writeFileSync(join(dir, "storage.json"), JSON.stringify({ "midge.json": Buffer.from(JSON.stringify(settings)).toString("base64") }));
    const log: string[] = [];
    const sim = await runSimulator({ board: "esp32", port: 0, host: "127.0.0.1", storageDir: dir, verbose: true, log: (l) => log.push(l) });
    try {
      const saves = (): number => log.filter((l) => /Saved \d+ bytes/.test(l)).length;
      await new Promise((r) => setTimeout(r, 1000)); // the idle second under test (over saveIntervalMs)
      expect(saves()).toBe(0); // nothing changed, nothing written
      const pub = await connected(sim.port, "writer", true);
      const t0 = Date.now();
      for (let i = 0; i < 40; i++) {
        pub.send(pk.publish("w/" + (i % 4), "v" + i, 0, true, 0));
        await new Promise((r) => setTimeout(r, 25)); // the rate of changes, part of the input
      }
      await sync(pub);
      // The observation window after the burst, in which a saver that queued its writes would
      // exceed the bound: no event marks "no more saves", so this wait stays (issue 14).
      await new Promise((r) => setTimeout(r, 1300));
      const elapsed = Date.now() - t0;
      // 40 changes in about 2.3 s: one write per 600 ms at most (plus the tick's granularity).
      expect(saves()).toBeGreaterThanOrEqual(1);
      expect(saves()).toBeLessThanOrEqual(Math.ceil(elapsed / 600) + 1);
      pub.close();
    } finally {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Wi-Fi settings are used on a board with the Wifi module; without it the bundle serves with no error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "midge-wifi-"));
    const settings = { wifi: { ssid: "lab", password: "secret" } };
    writeFileSync(join(dir, "storage.json"), JSON.stringify({ "midge.json": Buffer.from(JSON.stringify(settings)).toString("base64") }));
    try {
      const log: string[] = [];
      const a = await runSimulator({ board: "esp32", port: 0, host: "127.0.0.1", storageDir: dir, log: (l) => log.push(l) });
      await waitFor(() => /Opening ipv4 listen socket on port/.test(log.join("\n")), "the listen line");
      await a.stop();
      expect(log.join("\n")).toMatch(/Joining Wi-Fi lab[\s\S]*Wi-Fi connected, address 127\.0\.0\.1[\s\S]*Opening ipv4 listen socket on port/);

      const log2: string[] = [];
      const b = await runSimulator({ board: "esp32", port: 0, host: "127.0.0.1", storageDir: dir, wifi: false, log: (l) => log2.push(l) });
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`, { reconnectPeriod: 0 });
      await c.endAsync();
      await b.stop();
      const text = log2.join("\n");
      expect(text).toMatch(/Opening ipv4 listen socket on port/);
      expect(text).not.toMatch(/Wi-Fi|Error|Uncaught/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the CLI prints the listen line on stderr with the real port for --port 0", async () => {
    const sim = await startSim("esp32", {});
    try {
      expect(sim.port).toBeGreaterThan(0);
      expect(sim.output()).toMatch(new RegExp(`Opening ipv4 listen socket on port ${sim.port}\\.`));
    } finally {
      await sim.stop();
    }
  });
});
