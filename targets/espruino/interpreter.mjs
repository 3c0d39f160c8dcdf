// The real Espruino interpreter (Linux build) for local checks and measurements: runs a bundle
// on it the way a board runs it from flash (.bootcde in Storage, booted by the interactive
// interpreter, which then emits E.on("init")). The project does not build or ship the
// interpreter: MIDGE_ESPRUINO_<vars> names a binary with a fixed store of <vars> variables
// (1600 = ESP8266, 8190 = Espruino WiFi, 16383 = ESP32), built by the developer from
// Espruino's own sources; without one, the checks that need it are skipped.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CACHE = join(ROOT, "node_modules", ".cache", "midge-espruino");

/** Path of the interpreter built with `vars` variables, or null when there is none. */
export function findInterpreter(vars) {
  const env = process.env["MIDGE_ESPRUINO_" + vars];
  if (env && existsSync(env)) return env;
  const p = join(CACHE, String(vars), "espruino");
  return existsSync(p) ? p : null;
}

/** Any interpreter with at least `vars` variables (for writing Storage before a smaller boot). */
function biggestInterpreter() {
  for (const v of [16383, 8190, 4095, 1600]) {
    const p = findInterpreter(v);
    if (p) return p;
  }
  return null;
}

/**
 * A script that writes `files` ({ name: text }) into Storage in 1 KB pieces, so the script
 * itself stays small in RAM while it runs.
 */
function storageScript(files) {
  let out = "var S=require('Storage');\n";
  const CH = 1024;
  for (const name of Object.keys(files)) {
    const text = files[name];
    out += `S.write(${JSON.stringify(name)},${JSON.stringify(text.slice(0, CH))},0,${text.length});\n`;
    for (let i = CH; i < text.length; i += CH) out += `S.write(${JSON.stringify(name)},${JSON.stringify(text.slice(i, i + CH))},${i});\n`;
  }
  out += "console.log('STORAGE-WRITTEN');quit();\n";
  return out;
}

/** Writes files into the Storage (espruino.flash) of dir, using the biggest interpreter. */
export function writeStorage(dir, files) {
  const bin = biggestInterpreter();
  if (!bin) throw new Error("no Espruino interpreter (set MIDGE_ESPRUINO_16383 to one)");
  writeFileSync(join(dir, "setup.js"), storageScript(files));
  const r = spawnSync(bin, ["setup.js"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], timeout: 30000 });
  const out = String(r.stdout) + String(r.stderr);
  rmSync(join(dir, "setup.js"), { force: true });
  if (!out.includes("STORAGE-WRITTEN")) throw new Error("writing Storage failed:\n" + out);
}

/**
 * A control channel for measurements, appended to .bootcde after the bundle: a TCP server on
 * `port` that evaluates one line and answers with its value, then closes. Questions asked
 * this way are read by the interpreter's main loop like any socket, never by the Linux
 * build's stdin thread, which pushes each typed character into the event queue while the main
 * loop pops (and shifts) it with no lock between them (targets/linux/jshardware.c
 * jshInputThread, src/jsdevices.c jshPopIOEventOfType): typing at the REPL while the broker
 * works corrupts that queue now and then and stops the interpreter with
 * "ASSERT(len <= 64) FAILED AT src/jsdevices.c". The server and its one connection cost the
 * same few variables at every reading, so they cancel in the differences measured. It prints
 * "midge-control on <port>" when listening.
 */
export function controlCode(port) {
  return `\n;(function(){require("net").createServer(function(s){var b="";s.on("data",function(d){b+=d;var i=b.indexOf("\\n");if(i<0)return;var r;try{r=String(eval(b.slice(0,i)))}catch(e){r="ERR "+e}s.end(r)})}).listen(${port});console.log("midge-control on ${port}")})();\n`;
}

/** Evaluates js over a control channel (controlCode) at port; resolves with its text. */
function controlEval(port, js, ms) {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`control channel: no answer to ${js} within ${ms} ms`));
    }, ms);
    s.on("connect", () => s.write(js + "\n"));
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on("close", () => {
      clearTimeout(timer);
      if (out.startsWith("ERR ")) reject(new Error(`control channel: ${js}: ${out}`));
      else resolve(out);
    });
  });
}

/**
 * Boots the interpreter with `vars` variables in dir (whose Storage holds .bootcde): the
 * board's boot path. Returns { output(), send(js), eval(js) -> Promise<string>, memory(),
 * waitFor(re, ms), stop() }. Everything is bounded; stop() kills the process.
 * `options.controlPort`: .bootcde carries controlCode(controlPort), and eval() asks there
 * instead of typing at the REPL (the way to read memory while the broker is busy).
 */
export function boot(vars, dir, options = {}) {
  const bin = findInterpreter(vars);
  if (!bin) throw new Error(`no Espruino interpreter with ${vars} variables (set MIDGE_ESPRUINO_${vars} to one)`);
  const child = spawn(bin, [], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let exited = false;
  const waiters = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      const m = w.re.exec(output.slice(w.from));
      if (m) {
        waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  };
  const onData = (d) => {
    output += String(d).replace(/\r/g, "");
    check();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  child.on("exit", () => {
    exited = true;
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error("interpreter exited\n" + output.slice(-2000)));
    }
  });
  child.stdin.on("error", () => {});
  const waitFor = (re, ms = 5000, from = 0) =>
    new Promise((resolve, reject) => {
      const w = { re, from, resolve, reject, timer: null };
      w.timer = setTimeout(() => {
        const i = waiters.indexOf(w);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`timed out waiting for ${re}\n--- output ---\n${output.slice(-3000)}`));
      }, ms);
      waiters.push(w);
      check();
    });
  let seq = 0;
  const handle = {
    output: () => output,
    alive: () => !exited,
    waitFor,
    /** Types a line at the REPL (echo off with \x10). */
    send(js) {
      child.stdin.write("\x10" + js + "\n");
    },
    /** Runs js at the REPL and resolves with what it printed between two markers. */
    async eval(js, ms = 5000) {
      if (options.controlPort) {
        if (exited) throw new Error("interpreter exited\n" + output.slice(-2000));
        return controlEval(options.controlPort, js, ms);
      }
      // Typed twice at most: a line typed while the interpreter is busy has been seen to go
      // unanswered once in a while. The Linux build reads stdin on a thread of its own that
      // shares the event queue unlocked, and typing while it is busy can also stop it with
      // "ASSERT(len <= 64) FAILED AT src/jsdevices.c" (seen in a few runs of measure.mjs):
      // a harness artefact, a board's console has no such thread; run the measurement again.
      for (let attempt = 0; ; attempt++) {
        const id = ++seq;
        const from = output.length;
        handle.send(`console.log("<<${id}<"+(${js})+">${id}>>")`);
        try {
          const m = await waitFor(new RegExp(`<<${id}<([\\s\\S]*?)>${id}>>`), ms, from);
          return m[1];
        } catch (e) {
          if (attempt >= 1 || exited) throw e;
        }
      }
    },
    /** process.memory().usage after a garbage collection (process.memory() collects first). */
    async memory() {
      return Number(await handle.eval("process.memory().usage"));
    },
    async stop() {
      if (exited) return;
      child.kill("SIGKILL");
      await new Promise((r) => (exited ? r() : child.once("exit", r)));
    },
  };
  return handle;
}
