#!/usr/bin/env node
// Message rate through the Espruino bundles (dist/<board>/midge.js): one publisher sends
// messages with a 100-byte payload to 1, 4 and 8 subscribers, at QoS 0 and QoS 1, on the real
// Espruino interpreter (Linux build with the board's variable count, booted from Storage as a
// board boots) and in the simulator (QuickJS, dist/node/simulate.js, in its own process).
//
//   node bench/espruino-rate.mjs [--boards esp32,esp32c3] [--engines espruino,simulator]
//        [--fanout 1,4,8] [--qos 0,1] [--seconds 5] [--window 2] [--payload 100]
//        [--vars N] [--json FILE] [--md FILE]
//
// msg/s is messages published per second, each delivered to every subscriber (deliveries/s =
// msg/s x subscribers), counted over --seconds after a warm-up of 0.5 s. The publisher keeps at
// most --window messages in flight end to end (published, not yet received by every
// subscriber): the boards' queues are small (maxPendingBytes, maxInflight + maxQueued) and a
// faster publisher would only measure drops. Subscribers acknowledge QoS 1 at once; the
// publisher's QoS 1 PUBACKs are counted but not waited for (the window is end to end).
//
// A fan-out the profile cannot admit (1 + subscribers > maxConnections) runs with
// maxConnections and maxSessions raised through midge.json, as a user could, and is marked:
// the Linux interpreter has no socket limit, a board's firmware has (boards/*.json notes).
// A board whose started bundle cannot hold the clients on its own variable count is run on
// --vars (default: that count; the row says which) or reported as out of memory.
//
// The simulator runs without its memory budget (--no-memory-limit): this measures speed;
// targets/espruino/loadtest.mjs measures what each board holds.
//
// Raw sockets (no MQTT library) keep the client side cheap; the clients share this process
// with nothing else. Loopback only; on a shared machine treat the figures as +-10%.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../tools/lib/net.mjs";
import { ROOT, buildEspruino, espruinoBoards, loadProfile } from "../targets/espruino/build.mjs";
import { boot, findInterpreter, writeStorage } from "../targets/espruino/interpreter.mjs";
import { frame, pk, u16 } from "../targets/espruino/rawClient.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const o = { noMemoryLimit: true, boards: espruinoBoards(), engines: ["espruino", "simulator"], fanout: [1, 4, 8], qos: [0, 1], seconds: 5, window: 2, payload: 100, vars: 0, json: "", md: "" };
  for (let i = 0; i < argv.length; i += 2) {
    const [a, v] = [argv[i], argv[i + 1]];
    const list = () => v.split(",").filter(Boolean);
    if (a === "--boards") o.boards = list();
    else if (a === "--engines") o.engines = list();
    else if (a === "--fanout") o.fanout = list().map(Number);
    else if (a === "--qos") o.qos = list().map(Number);
    else if (a === "--seconds") o.seconds = Number(v);
    else if (a === "--window") o.window = Number(v);
    else if (a === "--payload") o.payload = Number(v);
    else if (a === "--vars") o.vars = Number(v);
    else if (a === "--json") o.json = v;
    else if (a === "--md") o.md = v;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** A raw MQTT client: onPublish(qos, packetId) per PUBLISH received, PUBACKs counted. */
function rawClient(port) {
  const sock = net.connect(port, "127.0.0.1");
  sock.setNoDelay(true);
  let buf = Buffer.alloc(0);
  const c = {
    sock,
    closed: false,
    connack: -1,
    suback: -1,
    pubacks: 0,
    received: 0,
    onPublish: null,
    onPacket: null,
    ready: new Promise((r) => sock.once("connect", r)),
    send: (b) => sock.write(b),
    close: () => sock.destroy(),
  };
  sock.on("data", (d) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) break;
      let len = 0, mult = 1, i = 1;
      for (;;) {
        if (i >= buf.length) return;
        len += (buf[i] & 127) * mult;
        mult *= 128;
        if (buf[i++] < 128) break;
      }
      if (buf.length < i + len) break;
      const type = buf[0] >> 4;
      if (type === 2) c.connack = buf[i + 1];
      else if (type === 9) c.suback = buf[i + 2];
      else if (type === 4) c.pubacks++;
      else if (type === 3) {
        const qos = (buf[0] >> 1) & 3;
        const tl = buf.readUInt16BE(i);
        const pid = qos > 0 ? buf.readUInt16BE(i + 2 + tl) : 0;
        c.received++;
        if (qos === 1) sock.write(frame(0x40, u16(pid)));
        if (c.onPublish) c.onPublish(qos, pid);
      }
      if (c.onPacket) c.onPacket(type);
      buf = buf.subarray(i + len);
    }
  });
  sock.on("error", () => {});
  sock.on("close", () => (c.closed = true));
  return c;
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(2);
  }
}

async function connectClient(port, id) {
  const c = rawClient(port);
  await c.ready;
  c.send(pk.connect(id, true));
  await until(() => c.connack >= 0 || c.closed, 10000, `CONNACK for ${id}`);
  if (c.connack !== 0) throw new Error(`${id}: ${c.closed ? "closed" : "CONNACK " + c.connack}`);
  return c;
}

/** One run: returns { msgPerSec, deliveriesPerSec, sent, lost }. */
async function rate(port, fanout, qos, o) {
  const subs = [];
  for (let k = 0; k < fanout; k++) {
    const s = await connectClient(port, "sub" + k);
    s.send(pk.subscribe(1, "bench/t", qos));
    await until(() => s.suback >= 0, 10000, "SUBACK");
    if (s.suback === 0x80) throw new Error("subscription refused");
    subs.push(s);
  }
  const pub = await connectClient(port, "pub");
  const payload = "p".repeat(o.payload);
  const packets = [];
  for (let i = 1; i <= 1024; i++) packets.push(qos === 0 ? pk.publish("bench/t", payload, 0, false, 0) : pk.publish("bench/t", payload, 1, false, i));
  let sent = 0;
  let countFrom = -1;
  let stopAt = 0;
  // Delivered end to end: the least any subscriber has received.
  const delivered = () => {
    let m = Infinity;
    for (const s of subs) m = Math.min(m, s.received);
    return m;
  };
  let done;
  const finished = new Promise((r) => (done = r));
  const pump = () => {
    if (stopAt > 0 && Date.now() >= stopAt) return done();
    while (sent - delivered() < o.window) pub.send(packets[sent++ % packets.length]);
  };
  for (const s of subs) s.onPublish = () => pump();
  const t0 = Date.now();
  let tStart = 0, dStart = 0;
  setTimeout(() => {
    tStart = Date.now();
    dStart = delivered();
    countFrom = sent;
    stopAt = tStart + o.seconds * 1000;
  }, 500);
  pump();
  // A stall (a lost message with QoS 0) is waited out for 2 s, then the window refills.
  const watchdog = setInterval(() => {
    if (stopAt > 0 && Date.now() >= stopAt) done();
  }, 100);
  let lastSeen = -1, stalls = 0;
  const stallCheck = setInterval(() => {
    const d = delivered();
    if (d === lastSeen && sent - d >= o.window) {
      stalls++;
      // Forget what was lost: count it, and let the publisher go on.
      for (const s of subs) s.received = Math.max(s.received, sent);
      pump();
    }
    lastSeen = d;
  }, 2000);
  await finished;
  clearInterval(watchdog);
  clearInterval(stallCheck);
  const elapsed = (Date.now() - tStart) / 1000;
  const d = delivered() - dStart;
  void t0;
  void countFrom;
  const out = { msgPerSec: Math.round(d / elapsed), deliveriesPerSec: Math.round((d * fanout) / elapsed), stalls, alive: !pub.closed && subs.every((s) => !s.closed) };
  for (const s of [pub, ...subs]) {
    s.onPublish = null;
    s.send(pk.disconnect());
    s.close();
  }
  await sleep(300);
  return out;
}

/** Starts a broker for board on engine with settings (midge.json); { port, stop, output, vars }. */
async function start(board, engine, settings, o) {
  if (engine === "espruino") {
    const profile = loadProfile(board);
    let vars = o.vars || profile.espruino.jsVars;
    if (!findInterpreter(vars)) throw new Error(`no Espruino interpreter with ${vars} variables (MIDGE_ESPRUINO_${vars})`);
    const dir = mkdtempSync(join(tmpdir(), "midge-rate-"));
    const port = await freePort();
    writeStorage(dir, { ".bootcde": readFileSync(join(ROOT, "dist", board, "midge.js"), "latin1"), "midge.json": JSON.stringify({ ...settings, port }) });
    const e = boot(vars, dir);
    try {
      await e.waitFor(new RegExp(`listen socket on port ${port}\\.|OUT OF MEMORY`), 15000);
    } catch (err) {
      await e.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const stop = async () => {
      await e.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    if (/OUT OF MEMORY/.test(e.output())) {
      await stop();
      throw new Error("OUT OF MEMORY at start");
    }
    return { port, vars, output: () => e.output(), stop };
  }
  const dir = mkdtempSync(join(tmpdir(), "midge-rate-sim-"));
  writeFileSync(join(dir, "storage.json"), JSON.stringify({ "midge.json": Buffer.from(JSON.stringify(settings)).toString("base64") }));
  const args = [join(ROOT, "dist", "node", "simulate.js"), "--board", board, "--port", "0", "--host", "127.0.0.1", "--storage-dir", dir];
  if (o.noMemoryLimit) args.push("--no-memory-limit");
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("simulator did not listen:\n" + out)), 15000);
    const on = (d) => {
      out += d;
      const m = /listen socket on port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited (${code}):\n${out.slice(-500)}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { port, vars: 0, output: () => out, stop };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  process.env.MIDGE_ESPRUINO_BUDGET = "warn";
  const origLog = console.log;
  console.log = () => {};
  try {
    await buildEspruino(o.boards);
  } finally {
    console.log = origLog;
  }
  const rows = [];
  for (const board of o.boards) {
    const limits = loadProfile(board).limits;
    for (const engine of o.engines) {
      for (const qos of o.qos) {
        for (const fanout of o.fanout) {
          const need = fanout + 1;
          const raised = need > limits.maxConnections;
          const settings = { persist: false, logLevel: 2, limits: raised ? { maxConnections: need, maxSessions: Math.max(need, limits.maxSessions) } : {} };
          const row = { board, engine, qos, fanout, payload: o.payload, window: o.window, raisedConnections: raised ? need : 0 };
          let b;
          try {
            b = await start(board, engine, settings, o);
            row.vars = b.vars;
            Object.assign(row, await rate(b.port, fanout, qos, o));
            if (/OUT OF MEMORY|out of memory/.test(b.output())) row.error = "out of memory";
          } catch (e) {
            row.error = String(e.message || e).split("\n")[0];
          } finally {
            if (b) await b.stop();
          }
          rows.push(row);
          origLog(JSON.stringify(row));
        }
      }
    }
  }
  const meta = { date: new Date().toISOString(), command: "node bench/espruino-rate.mjs " + process.argv.slice(2).join(" "), cpus: cpus().length, loadavg: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version };
  if (o.json) writeFileSync(o.json, JSON.stringify({ meta, rows }, null, 2) + "\n");
  const lines = [`Message rate through the Espruino bundles (msg/s published, each to every subscriber; ${o.payload}-byte payloads, window ${o.window}, ${o.seconds} s per cell)`, "", `Command: \`${meta.command}\` (${meta.date}, ${meta.cpus} cores, load ${meta.loadavg.join(" ")})`, ""];
  lines.push("| Board | Engine | QoS | " + o.fanout.map((f) => `1 → ${f}`).join(" | ") + " |");
  lines.push("|---|---|---:|" + o.fanout.map(() => "---:|").join(""));
  for (const board of o.boards)
    for (const engine of o.engines)
      for (const qos of o.qos) {
        const cells = o.fanout.map((f) => {
          const r = rows.find((x) => x.board === board && x.engine === engine && x.qos === qos && x.fanout === f);
          if (!r) return "";
          if (r.error) return "— (" + r.error + ")";
          return `${r.msgPerSec}${r.raisedConnections ? "*" : ""}${r.stalls ? ` (${r.stalls} stalls)` : ""}`;
        });
        const vars = rows.find((x) => x.board === board && x.engine === engine && x.vars)?.vars;
        lines.push(`| ${board} | ${engine === "espruino" ? `interpreter${vars ? ` (${vars} vars)` : ""}` : "simulator"} | ${qos} | ${cells.join(" | ")} |`);
      }
  lines.push("", "\\* maxConnections raised through midge.json to admit the publisher and every subscriber (more than the board's firmware accepts).");
  const md = lines.join("\n") + "\n";
  if (o.md) writeFileSync(o.md, md);
  origLog(md);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
