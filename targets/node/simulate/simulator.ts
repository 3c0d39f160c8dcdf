/**
 * The Espruino simulator: runs the very file that would be flashed (dist/<board>/midge.js)
 * inside QuickJS (quickjs-emscripten) with the Espruino APIs the target uses (guest.ts), real
 * TCP from the host bridged in, Storage kept in a file, and the board's memory budget
 * enforced as a QuickJS heap limit calibrated against the real Espruino interpreter
 * (targets/espruino/costs.json, measured by targets/espruino/measure.mjs).
 *
 * Memory: at start the simulator checks the variables the bundle needs once started (the
 * start model from the real interpreter) against the board's budget (jsVars - reserveVars).
 * Then it sets the QuickJS heap limit to what it uses at that point plus the variables left,
 * converted to bytes with the ratio of the two engines' costs for this profile's full tables.
 * Going over it is an error that stops the simulator (exit status 3 from the CLI), not a
 * silent success. process.memory() inside reports an estimate in variables.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { AddressInfo, Server, Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { QuickJSContext, QuickJSHandle, QuickJSRuntime, getQuickJS } from "quickjs-emscripten";
import { espruinoGuest } from "./guest";

export interface SimulatorOptions {
  board: string;
  port: number;
  host?: string;
  verbose?: boolean;
  /** Directory holding the simulated Storage (storage.json); default: a temp dir removed at stop. */
  storageDir?: string;
  /** Enforce the board's memory budget (default true). false = measure only (calibration runs). */
  enforceMemory?: boolean;
  /** Whether require("Wifi") exists (default: the profile's "wifi"). */
  wifi?: boolean;
  /** Where log lines go (default: stderr). */
  log?: (line: string) => void;
  /** Called once when the simulator stops on its own (out of memory, quit()). */
  onFatal?: (message: string) => void;
}

export interface RunningSimulator {
  port: number;
  stop(): Promise<void>;
  /** QuickJS heap bytes in use now. */
  heapBytes(): number;
  /** Estimated Espruino variables in use (what process.memory().usage says inside). */
  estimatedVars(): number;
  /** The heap limit in bytes (0 when not enforcing). */
  heapLimit(): number;
}

/** Bytes a board's TCP stack takes before unsent data stays in the socket's JS send buffer (2 MSS, lwIP's TCP_SND_BUF). */
const HOST_SEND_WINDOW = 2920;
const CLOSE_GRACE_MS = 1000;
/** QuickJS limit while the bundle starts, before the calibrated one applies. */
const STARTUP_HEAP_LIMIT = 256 * 1024 * 1024;

/** The repository root: the directory above this file holding boards/ and package.json. */
export function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "boards")) && existsSync(join(dir, "package.json"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find the Midge repository root (boards/) from " + fileURLToPath(import.meta.url));
}

function latin1(buf: Buffer): string {
  return buf.toString("latin1");
}

export async function runSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const root = findRoot();
  const profileFile = join(root, "boards", opts.board + ".json");
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(opts.board) || !existsSync(profileFile)) throw new Error(`unknown board '${opts.board}'`);
  const profile = JSON.parse(readFileSync(profileFile, "utf8"));
  if (!profile.espruino) throw new Error(`boards/${opts.board}.json is not an Espruino board`);
  const bundleFile = join(root, "dist", opts.board, "midge.js");
  if (!existsSync(bundleFile)) throw new Error(`${bundleFile} does not exist (run node build.mjs)`);
  const bundle = readFileSync(bundleFile, "latin1");
  const memoryModel = (await import(pathToFileURL(join(root, "targets", "espruino", "memory.mjs")).href)) as {
    loadCosts(): unknown;
    calibration(profile: unknown, costs: unknown): { bytesPerVar: number; startVars: number; budgetVars: number; jsVars: number } | null;
  };
  const enforce = opts.enforceMemory !== false;
  const costs = memoryModel.loadCosts();
  const cal = memoryModel.calibration(profile, costs);
  if (enforce && cal === null) throw new Error("targets/espruino/costs.json is missing: run node targets/espruino/measure.mjs");
  const jsVars: number = profile.espruino.jsVars;
  if (enforce && cal !== null && cal.startVars > cal.budgetVars) {
    // The real interpreter stops with OUT OF MEMORY while the bundle starts: fail before
    // listening, so nobody takes the broker for ready.
    throw new Error(
      `out of memory at start: the bundle and the ${opts.board} tables need about ${cal.startVars} variables ` +
        `(measured on the real interpreter), the budget is ${cal.budgetVars} (${jsVars} less ${jsVars - cal.budgetVars} reserved)`,
    );
  }

  const hasWifi = opts.wifi ?? profile.espruino.wifi === true;
  const write = opts.log ?? ((line: string) => void process.stderr.write(line + "\n"));
  const simLog = (line: string): void => write("[simulator] " + line);

  // Storage --------------------------------------------------------------------------------
  const ownStorage = opts.storageDir === undefined;
  const storageDir = opts.storageDir ?? mkdtempSync(join(tmpdir(), "midge-sim-"));
  const storageFile = join(storageDir, "storage.json");
  const files = new Map<string, Buffer>();
  if (existsSync(storageFile)) {
    const json = JSON.parse(readFileSync(storageFile, "utf8")) as Record<string, string>;
    for (const k of Object.keys(json)) files.set(k, Buffer.from(json[k], "base64"));
  }
  const flush = (): void => {
    const json: Record<string, string> = {};
    for (const [k, v] of files) json[k] = v.toString("base64");
    writeFileSync(storageFile, JSON.stringify(json));
  };

  // The listening socket is bound before the bundle starts, so --port 0 works: the bundle is
  // told the real port through its settings (midge.json in Storage), which is also how a
  // board is configured.
  const bindHost = opts.host ?? "0.0.0.0";
  const preServer = createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    preServer.once("error", reject);
    preServer.listen(opts.port, bindHost, () => {
      preServer.removeListener("error", reject);
      resolve();
    });
  });
  const port = (preServer.address() as AddressInfo).port;
  let settings: Record<string, unknown> = {};
  if (files.has("midge.json")) {
    try {
      settings = JSON.parse(latin1(files.get("midge.json")!));
    } catch {
      settings = {};
    }
  }
  settings.port = port;
  if (opts.verbose) settings.logLevel = 4;
  files.set("midge.json", Buffer.from(JSON.stringify(settings), "latin1"));
  flush();

  // QuickJS --------------------------------------------------------------------------------
  const QuickJS = await getQuickJS();
  const rt: QuickJSRuntime = QuickJS.newRuntime();
  rt.setMemoryLimit(STARTUP_HEAP_LIMIT);
  const vm: QuickJSContext = rt.newContext();
  let stopped = false;
  let failed = false;
  let limitBytes = 0;
  let startBytes = 0;
  let startVars = cal ? cal.startVars : 0;
  const bytesPerVar = cal ? cal.bytesPerVar : 1;

  const heapBytes = (): number => {
    const h = rt.computeMemoryUsage();
    const o = vm.dump(h) as { memory_used_size: number };
    h.dispose();
    return o.memory_used_size;
  };
  const estimatedVars = (): number =>
    startBytes === 0 ? startVars : Math.round(startVars + (heapBytes() - startBytes) / bytesPerVar);

  const hostSockets = new Map<number, Socket>();
  const servers = new Map<number, Server>();
  const timers = new Map<number, NodeJS.Timeout>();
  let nextSocket = 1;

  const hostObj = vm.newObject();
  const fn = (name: string, f: (...args: QuickJSHandle[]) => QuickJSHandle | void): void => {
    const h = vm.newFunction(name, f);
    vm.setProp(hostObj, name, h);
    h.dispose();
  };
  const str = (h: QuickJSHandle): string => vm.getString(h);
  const num = (h: QuickJSHandle): number => vm.getNumber(h);

  // Host functions return a handle or nothing (quickjs-emscripten reads anything else as an error record).
  fn("log", (line) => {
    write(str(line));
  });
  fn("warn", (line) => {
    simLog("warning: " + str(line));
  });
  fn("now", () => vm.newNumber(performance.now()));
  fn("version", () => vm.newString("2v29 (Midge simulator)"));
  fn("env", () =>
    vm.newString(JSON.stringify({ VERSION: "2v29", BOARD: profile.espruino.cliBoard, MODULES: "net,Storage" + (hasWifi ? ",Wifi" : ""), SIMULATOR: true })),
  );
  fn("memory", () => {
    const usage = estimatedVars();
    return vm.newString(JSON.stringify({ free: jsVars - usage, usage: usage, total: jsVars, history: 0, gc: 0, gctime: 0, blocksize: 0 }));
  });
  fn("quit", () => {
    setImmediate(() => fatal("quit() called"));
  });
  fn("hasWifi", () => (hasWifi ? vm.true : vm.false));

  fn("setTimer", (idH, msH, repeatH) => {
    const id = num(idH);
    const ms = num(msH);
    const repeat = vm.dump(repeatH) === true;
    const t = repeat ? setInterval(() => dispatch("timer", id), Math.max(1, ms)) : setTimeout(() => {
      timers.delete(id);
      dispatch("timer", id);
    }, ms);
    timers.set(id, t);
  });
  fn("clearTimer", (idH) => {
    const id = num(idH);
    const t = timers.get(id);
    if (t) {
      clearTimeout(t);
      clearInterval(t);
      timers.delete(id);
    }
  });

  const bytesOf = (h: QuickJSHandle): Buffer => {
    const life = vm.getArrayBuffer(h);
    const copy = Buffer.from(life.value);
    life.dispose();
    return copy;
  };
  const arrayBuffer = (b: Buffer): QuickJSHandle => vm.newArrayBuffer(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));

  fn("storageRead", (nameH) => {
    const b = files.get(str(nameH));
    return b === undefined ? vm.undefined : arrayBuffer(b);
  });
  fn("storageWrite", (nameH, dataH, offsetH, sizeH) => {
    const name = str(nameH);
    const data = bytesOf(dataH);
    const offset = num(offsetH);
    const size = num(sizeH);
    if (name.length === 0 || name.length > 28) throw new Error("Storage.write: invalid file name '" + name + "'");
    if (offset < 0) {
      files.set(name, data);
    } else {
      let file = files.get(name);
      if (offset === 0 || file === undefined) {
        // A new file of `size` bytes (erased flash reads 0xFF); later writes fill it in.
        if (offset !== 0) throw new Error("Storage.write: file '" + name + "' does not exist");
        file = Buffer.alloc(size > 0 ? size : data.length, 0xff);
      }
      if (offset + data.length > file.length) throw new Error("Storage.write: data past the end of '" + name + "'");
      data.copy(file, offset);
      files.set(name, file);
    }
    flush();
    return vm.true;
  });
  fn("storageErase", (nameH) => {
    files.delete(str(nameH));
    flush();
  });
  fn("storageList", () => vm.newString(JSON.stringify([...files.keys()])));
  fn("storageFree", () => vm.newNumber(Math.max(0, 262144 - [...files.values()].reduce((n, b) => n + b.length + 32, 0))));

  fn("listen", (serverIdH, portH) => {
    const serverId = num(serverIdH);
    const wanted = num(portH);
    let srv: Server;
    if (wanted === port && !servers.has(-1)) {
      srv = preServer;
      servers.set(-1, preServer);
    } else {
      srv = createServer({ pauseOnConnect: true });
      srv.on("error", (e) => write(`Error: listen on port ${wanted}: ${e.message}`));
      srv.listen(wanted, bindHost);
    }
    servers.set(serverId, srv);
    srv.on("connection", (sock: Socket) => accept(serverId, sock));
    if (srv === preServer) onListening();
    return vm.true;
  });
  fn("serverClose", (serverIdH) => {
    const srv = servers.get(num(serverIdH));
    servers.delete(num(serverIdH));
    if (srv) {
      srv.removeAllListeners("connection");
      srv.close();
    }
  });
  fn("writable", (idH) => {
    const s = hostSockets.get(num(idH));
    return s !== undefined && !s.destroyed && s.writableLength < HOST_SEND_WINDOW ? vm.true : vm.false;
  });
  fn("write", (idH, dataH) => {
    const id = num(idH);
    const s = hostSockets.get(id);
    if (!s || s.destroyed) return;
    s.write(bytesOf(dataH), () => {
      if (s.writableLength === 0 && hostSockets.get(id) === s) dispatch("writable", id, undefined, true);
    });
  });
  fn("end", (idH) => {
    const s = hostSockets.get(num(idH));
    if (!s) return;
    s.end();
    setTimeout(() => s.destroy(), CLOSE_GRACE_MS).unref();
  });
  vm.setProp(vm.global, "__host", hostObj);
  hostObj.dispose();

  const guestResult = vm.evalCode("(" + espruinoGuest.toString() + ")()", "espruino-runtime.js");
  if (guestResult.error) {
    const e = vm.dump(guestResult.error);
    guestResult.error.dispose();
    throw new Error("simulator runtime failed to load: " + JSON.stringify(e));
  }
  guestResult.value.dispose();
  const guestObj = vm.getProp(vm.global, "__guest");
  const dispatchFn = vm.getProp(guestObj, "dispatch");
  guestObj.dispose();

  function isOutOfMemory(err: unknown): boolean {
    if (err === null || err === undefined) return true; // QuickJS cannot even allocate the error
    const text = typeof err === "object" ? JSON.stringify(err) : String(err);
    return /out of memory/i.test(text);
  }

  function describe(err: unknown): string {
    if (err && typeof err === "object") {
      const e = err as { name?: string; message?: string; stack?: string };
      return (e.name ? e.name + ": " : "") + (e.message ?? JSON.stringify(err)) + (e.stack ? "\n" + e.stack : "");
    }
    return String(err);
  }

  function reportError(errHandle: QuickJSHandle, where: string): void {
    const err = vm.dump(errHandle);
    errHandle.dispose();
    if (enforce && limitBytes > 0 && isOutOfMemory(err)) {
      fatal(
        `Error: out of memory in ${where}: over the ${opts.board} budget of ${cal!.budgetVars} variables ` +
          `(${jsVars} on the board less ${jsVars - cal!.budgetVars} reserved; heap limit ${limitBytes} bytes, ` +
          `${bytesPerVar.toFixed(1)} bytes per variable)`,
      );
      return;
    }
    write("Uncaught " + describe(err));
  }

  function dispatch(kind: string, id: number, a?: string | number | Buffer, b?: boolean | string): void {
    if (stopped || failed) return;
    const args: QuickJSHandle[] = [vm.newString(kind), vm.newNumber(id)];
    args.push(a === undefined ? vm.undefined : typeof a === "number" ? vm.newNumber(a) : typeof a === "string" ? vm.newString(a) : arrayBuffer(a));
    args.push(b === true ? vm.true : typeof b === "string" ? vm.newString(b) : vm.undefined);
    const r = vm.callFunction(dispatchFn, vm.undefined, ...args);
    for (const h of args) if (h.alive && h !== vm.undefined && h !== vm.true) h.dispose();
    if (r.error) reportError(r.error, kind);
    else {
      r.value.dispose();
      if (limitBytes > 0) checkHeap(kind);
    }
  }

  // QuickJS enforces its limit on objects and strings but not on ArrayBuffer contents (where
  // the broker keeps payloads), so the heap is also measured after events: every 20 events
  // or 10 ms, whichever comes first (a measurement walks the heap, about 1 ms).
  let lastCheck = 0;
  let sinceCheck = 0;
  function checkHeap(kind: string): void {
    sinceCheck++;
    const now = performance.now();
    if (sinceCheck < 20 && now - lastCheck < 10) return;
    lastCheck = now;
    sinceCheck = 0;
    const used = heapBytes();
    if (used > limitBytes) {
      fatal(
        `Error: out of memory after ${kind}: over the ${opts.board} budget of ${cal!.budgetVars} variables ` +
          `(about ${estimatedVars()} in use; heap ${used} of ${limitBytes} bytes, ${bytesPerVar.toFixed(1)} bytes per variable)`,
      );
    }
  }

  function accept(serverId: number, sock: Socket): void {
    if (stopped || failed) {
      sock.destroy();
      return;
    }
    const id = nextSocket++;
    hostSockets.set(id, sock);
    sock.setNoDelay(true);
    let error: string | undefined;
    sock.on("data", (d: Buffer) => dispatch("data", id, d));
    sock.on("drain", () => dispatch("writable", id));
    sock.on("error", (e) => {
      error = e.message;
    });
    sock.on("close", () => {
      if (hostSockets.get(id) === sock) hostSockets.delete(id);
      dispatch("close", id, error);
    });
    dispatch("connection", serverId, id);
    sock.resume();
  }

  function onListening(): void {
    if (!enforce || cal === null || limitBytes > 0) return;
    // The bundle has started and listens: from here on the board's budget applies.
    startBytes = heapBytes();
    startVars = cal.startVars;
    limitBytes = Math.floor(startBytes + (cal.budgetVars - startVars) * bytesPerVar);
    rt.setMemoryLimit(limitBytes);
    simLog(`${opts.board}: ${jsVars} variables, budget ${cal.budgetVars}, ${startVars} used at start; heap limit ${limitBytes} bytes (${bytesPerVar.toFixed(1)} bytes per variable)`);
  }

  let fatalMessage = "";
  function fatal(message: string): void {
    if (failed || stopped) return;
    failed = true;
    fatalMessage = message;
    write(message);
    shutdownHost();
    if (opts.onFatal) opts.onFatal(message);
  }

  function shutdownHost(): void {
    for (const t of timers.values()) {
      clearTimeout(t);
      clearInterval(t);
    }
    timers.clear();
    for (const srv of new Set(servers.values())) srv.close();
    preServer.close();
    servers.clear();
    for (const s of hostSockets.values()) s.destroy();
    hostSockets.clear();
  }

  // Boot: evaluate the bundle as Espruino runs .bootcde from flash, then emit E "init".
  const loaded = vm.evalCode(bundle, "midge.js");
  if (loaded.error) {
    reportError(loaded.error, "midge.js");
    if (!failed) fatal("Error: midge.js failed to load");
  } else {
    loaded.value.dispose();
    dispatch("event", 0, "init");
  }
  if (failed) {
    disposeVm();
    throw new Error(fatalMessage);
  }

  function disposeVm(): void {
    try {
      dispatchFn.dispose();
      vm.dispose();
      rt.dispose();
    } catch {
      // a failed runtime may refuse; nothing more to free
    }
    if (ownStorage) rmSync(storageDir, { recursive: true, force: true });
  }

  let stopping: Promise<void> | null = null;
  return {
    port,
    heapBytes,
    estimatedVars,
    heapLimit: () => limitBytes,
    stop(): Promise<void> {
      if (stopping) return stopping;
      stopping = (async () => {
        if (!failed) {
          // As before save() or reset() on a board: the bundle saves what changed and closes.
          dispatch("event", 0, "kill");
          await new Promise((r) => setTimeout(r, 50));
        }
        stopped = true;
        shutdownHost();
        disposeVm();
      })();
      return stopping;
    },
  };
}

/**
 * Runs the simulator as a process's whole job: exit status 3 when the bundle runs out of the
 * board's memory budget (or calls quit()), 1 when it cannot start; SIGTERM/SIGINT stop it
 * (exit 0; a second signal exits 1 at once). Used by `midge simulate` and dist/node/simulate.js.
 */
export async function serveSimulator(opts: SimulatorOptions): Promise<void> {
  let sim: RunningSimulator;
  try {
    sim = await runSimulator({ ...opts, onFatal: () => process.exit(3) });
  } catch (e) {
    const message = (e as Error).message;
    process.stderr.write(`Error: ${message}\n`);
    process.exit(/^out of memory/.test(message) ? 3 : 1);
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    sim.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
