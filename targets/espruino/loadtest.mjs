// Fills every table of a board profile at once, over real TCP, the way the worst-case
// estimate assumes: maxSessions persistent sessions with the longest client ids (as many
// online as maxConnections allows, each with a will; the others offline, with their
// subscriptions and queued messages),
// maxSubscriptions filters of the longest length, maxRetained retained messages using
// maxRetainedBytes, and for every session maxInflight unacknowledged plus maxQueued queued
// QoS 1 messages of the largest size (distinct per session), maxInboundQos2 inbound QoS 2 ids
// per session, and a partial packet of nearly maxPacketSize on every connection.
//
//   node targets/espruino/loadtest.mjs esp32 [simulator|espruino] [vars] [--limits '{"maxConnections":4}']
//
// On the simulator (budget enforced) the load must be held; on the real interpreter the
// variables used are printed next to the estimate for the same load (Linux geometry), with
// the variables left free. --limits lowers (or raises) some of the profile's tables, through
// midge.json as a user would, to find the largest load a board holds. On the interpreter,
// memory is read over the control channel of interpreter.mjs (its server's few variables are
// counted in "used" and "start": about 60, 1,740 against startup.mjs's 1,681 for the esp32
// bundle), never typed at the REPL while the broker works.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "../../tools/lib/net.mjs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, loadProfile } from "./build.mjs";
import { boot, controlCode, writeStorage } from "./interpreter.mjs";
import { loadCosts, sizes, worstCase } from "./memory.mjs";
import { client, connected, pk, sync } from "./rawClient.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pad = (s, n) => (s + "x".repeat(n)).slice(0, n);

/**
 * Fills the tables of `limits` on a broker at port. Returns { clients, subscriptions,
 * retained, inflight, queued, inbound, partial, open } (open: the clients, to close later).
 * `features` (the profile's): a table whose feature is off (qos2, will, retained) stays empty,
 * since the bundle has no code to fill it (a QoS 2 PUBLISH closes the connection there).
 */
export async function fillTables(port, limits, features) {
  const on = (name) => !features || features[name] !== false;
  const { T, P, Tr, Pr } = sizes(limits);
  const n = Math.min(limits.maxConnections, limits.maxSessions);
  // Sessions beyond the clients online: persistent clients that subscribed and went away
  // (created first, one connection at a time, so the online clients still find their slots).
  const sessions = limits.maxSessions;
  const clients = [];
  let subs = 0;
  let left = sessions;
  const subscribe = async (c, k) => {
    // At least one (its own topics), the rest spread evenly over the sessions left.
    const share = Math.max(1, Math.min(limits.maxSubscriptionsPerClient, Math.ceil((limits.maxSubscriptions - subs) / left--)));
    // The first filter of each session matches its own topics; the others are unique.
    for (let j = 0; j < share; j++) c.send(pk.subscribe(j + 1, j === 0 ? "s/" + k + "/#" : pad("f/" + k + "/" + j + "/", T), 1));
    await c.waitCount(9, share);
    if (c.codes.slice(1).some((x) => x === 0x80)) throw new Error(`a subscription of session ${k} was refused`);
    subs += share;
  };
  for (let k = n; k < sessions; k++) {
    const c = await connected(port, pad("c" + k + "-", limits.maxClientIdLength), false);
    if (c.codes[0] !== 0) throw new Error(`session ${k} refused with CONNACK ${c.codes[0]}`);
    await subscribe(c, k);
    c.send(pk.disconnect());
    await c.waitClosed(3000);
    c.close();
  }
  // Online clients, each with a will as large as the CONNECT allows.
  for (let k = 0; k < n; k++) {
    const id = pad("c" + k + "-", limits.maxClientIdLength);
    const willPayload = "w".repeat(Math.max(0, limits.maxPacketSize - 20 - id.length - T - 10));
    const c = await connected(port, id, false, on("will") ? { topic: pad("will/" + k + "/", T), payload: willPayload, qos: 1 } : undefined);
    if (c.codes[0] !== 0) throw new Error(`client ${k} refused with CONNACK ${c.codes[0]}`);
    clients.push(c);
  }
  for (let k = 0; k < n; k++) await subscribe(clients[k], k);
  // Retained messages.
  const pub = clients[0];
  const retained = on("retained") ? limits.maxRetained : 0;
  for (let r = 0; r < retained; r++) pub.send(pk.publish(pad("r/" + r + "/", Tr), "p".repeat(Pr), 0, true, 0));
  await sync(pub);
  // In-flight and queued messages, distinct per session: nobody acknowledges. An offline
  // session keeps maxQueued (its in-flight window fills when it comes back).
  let pid = 1;
  for (let k = 0; k < sessions; k++) {
    const perSession = k < n ? limits.maxInflight + limits.maxQueued : limits.maxQueued;
    for (let m = 0; m < perSession; m++) pub.send(pk.publish(pad("s/" + k + "/" + m + "/", T), "m".repeat(P), 1, false, pid++));
    await pub.waitCount(4, pid - 1, 10000);
  }
  for (let k = 0; k < n; k++) await clients[k].waitCount(3, limits.maxInflight, 10000);
  // Inbound QoS 2 ids (no PUBREL follows).
  const inbound = on("qos2") ? limits.maxInboundQos2 : 0;
  for (let k = 0; k < n && inbound > 0; k++) {
    for (let q = 0; q < inbound; q++) clients[k].send(pk.publish("n/" + k + "/" + q, "q", 2, false, 1000 + q));
    await clients[k].waitCount(5, inbound);
  }
  // A partial packet on every connection: the header announces a full-size PUBLISH.
  const whole = pk.publish(pad("z/", T), "z".repeat(P), 0, false, 0);
  for (const c of clients) c.send(whole.subarray(0, whole.length - 8));
  await sleep(300);
  return {
    clients: n,
    sessions,
    subscriptions: subs,
    retained,
    inflight: n * limits.maxInflight,
    queued: sessions * limits.maxQueued,
    inbound: n * inbound,
    partial: n,
    sizes: { T, P, Tr, Pr },
    open: clients,
  };
}

/**
 * Clients held one after the other on a small board, each the share of the ESP8266's
 * load: CONNECT (persistent, 23-byte id), 4 subscriptions, 2 retained messages of 64 bytes and
 * a QoS 1 message of 87 bytes to itself, answered and delivered. Stops at the first step not
 * answered within 4 s or once `out()` (the engine ran out of memory) is true. Returns how many
 * clients completed every step (at most `max`) and the steps' log.
 */
export async function clientsHeld(port, out, max = 4) {
  const clients = [];
  const steps = [];
  let held = 0;
  const step = async (label, c, packet, type, n) => {
    if (out()) return false;
    c.send(packet);
    const deadline = Date.now() + 4000;
    while (c.count(type) < n && !out() && Date.now() < deadline) await sleep(20);
    const ok = !out() && c.count(type) >= n;
    steps.push(label + (ok ? " ok" : " failed"));
    return ok;
  };
  try {
    for (let k = 0; k < max; k++) {
      const c = client(port);
      clients.push(c);
      await c.ready;
      if (!(await step(`client ${k} CONNECT`, c, pk.connect(pad("c" + k + "-", 23), false), 2, 1))) break;
      let ok = true;
      for (let j = 0; j < 4 && ok; j++) ok = await step(`client ${k} SUBSCRIBE ${j + 1}`, c, pk.subscribe(j + 1, "s/" + k + "/" + j + "/#", 1), 9, j + 1);
      for (let r = 0; r < 2 && ok; r++) {
        // A QoS 0 PUBLISH has no answer: the PINGRESP after it says it was handled.
        c.send(pk.publish(pad("r/" + k + "/" + r + "/", 32), "p".repeat(32), 0, true, 0));
        ok = await step(`client ${k} retained ${r + 1}`, c, pk.pingreq(), 13, c.count(13) + 1);
      }
      if (ok) ok = await step(`client ${k} QoS 1 to itself`, c, pk.publish("s/" + k + "/0/m", "m".repeat(87), 1, false, 1), 3, 1);
      if (!ok) break;
      held++;
    }
  } finally {
    for (const c of clients) c.close();
  }
  return { held, steps };
}

/**
 * The estimate for exactly the load fillTables applies, in the geometry of the Linux build
 * that runs it; send and packet buffers are left out (on localhost the kernel takes what the
 * broker writes, so they stay empty).
 */
export function estimateFor(profile, costs) {
  const est = worstCase(profile, costs, 0, undefined, costs.espruino.geometry);
  const skip = (i) => i.name.startsWith("send buffers") || i.name.startsWith("packet buffers");
  let total = est.start;
  for (const i of est.items) if (!skip(i)) total += i.total;
  return { total, start: est.start, items: est.items.filter((i) => !skip(i)) };
}

async function main() {
  const args = process.argv.slice(2);
  const li = args.indexOf("--limits");
  const override = li >= 0 ? JSON.parse(args.splice(li, 2)[1]) : {};
  const board = args[0] || "esp32";
  const engine = args[1] || "simulator";
  const profile = loadProfile(board);
  profile.limits = { ...profile.limits, ...override };
  const costs = loadCosts();
  const over = Object.keys(override).length > 0 ? { limits: override } : {};
  if (engine === "simulator") {
    const { runSimulator } = await import(join(ROOT, "dist", "node", "simulate.js"));
    let fatal = "";
    const lines = [];
    const dir = mkdtempSync(join(tmpdir(), "midge-load-sim-"));
    writeFileSync(join(dir, "storage.json"), JSON.stringify({ "midge.json": Buffer.from(JSON.stringify({ persist: false, ...over })).toString("base64") }));
    let sim;
    try {
      sim = await runSimulator({ board, port: 0, host: "127.0.0.1", storageDir: dir, log: (l) => lines.push(l), onFatal: (m) => (fatal = m) });
    } catch (e) {
      console.log(JSON.stringify({ board, engine, limits: override, held: false, error: "at start: " + String(e.message || e) }));
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    try {
      const load = await fillTables(sim.port, profile.limits, profile.features);
      await sleep(200);
      console.log(JSON.stringify({ board, engine, limits: override, held: fatal === "", fatal, estimatedVars: sim.estimatedVars(), heapBytes: sim.heapBytes(), heapLimit: sim.heapLimit(), load: { ...load, open: undefined } }));
      for (const c of load.open) c.close();
    } catch (e) {
      console.log(JSON.stringify({ board, engine, limits: override, held: false, fatal, error: String(e.message || e) }));
      console.log(lines.slice(-5).join("\n"));
    } finally {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    const vars = Number(args[2] || profile.espruino.jsVars);
    const code = readFileSync(join(ROOT, "dist", board, "midge.js"), "latin1");
    const dir = mkdtempSync(join(tmpdir(), "midge-load-"));
    const port = await freePort();
    const controlPort = await freePort();
    writeStorage(dir, { ".bootcde": code + controlCode(controlPort), "midge.json": JSON.stringify({ port, persist: false, ...over }) });
    const e = boot(vars, dir, { controlPort });
    try {
      await e.waitFor(new RegExp(`listen socket on port ${port}\\.|OUT OF MEMORY`), 10000);
      if (/OUT OF MEMORY/.test(e.output())) {
        console.log(JSON.stringify({ board, engine, vars, limits: override, held: false, error: "OUT OF MEMORY at boot" }));
        return;
      }
      await e.waitFor(new RegExp(`midge-control on ${controlPort}`), 10000);
      const start = await e.memory();
      const load = await fillTables(port, profile.limits, profile.features);
      await sleep(300);
      const used = await e.memory();
      const est = estimateFor(profile, costs);
      const oom = /OUT OF MEMORY/.test(e.output());
      console.log(JSON.stringify({ board, engine, vars, limits: override, held: !oom, start, used, free: vars - used, estimateSameLoad: est.total, load: { ...load, open: undefined } }));
      for (const c of load.open) c.close();
    } catch (err) {
      console.log(JSON.stringify({ board, engine, vars, limits: override, held: false, error: String(err.message || err).split("\n")[0] }));
      console.log(e.output().slice(-1500));
    } finally {
      await e.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
