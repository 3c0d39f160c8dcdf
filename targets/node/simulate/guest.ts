/**
 * The Espruino runtime as the Midge bundle sees it, written to run *inside* the QuickJS
 * context (the simulator evaluates `(${espruinoGuest.toString()})()` before the bundle).
 * It reaches the host only through the functions of `__host` (see simulator.ts) and gets
 * host events through `__guest.dispatch`.
 *
 * What is emulated, as measured on the real interpreter (portability.md):
 *  - net: createServer(cb).listen(port), server.close(); sockets with write(String) (a non-String
 *    is sent as its text, as Espruino does, and the simulator warns), end() but no destroy();
 *    events data (binary Strings, at most 536 characters each), drain, end, close, error.
 *    Unsent data stays in the socket's send buffer, a String in the JS heap, as on Espruino.
 *  - E.on("init" | "kill"), E.toString, E.toUint8Array, E.toArrayBuffer.
 *  - Storage: write(name, data, offset, size), read, readJSON, readArrayBuffer, erase, list.
 *  - 8-bit strings: String.fromCharCode keeps the low byte, as on the boards.
 *  - getTime, setTimeout/setInterval/clearTimeout/clearInterval, process.memory() (an
 *    estimate in variables), process.env, require() ("Module X not found" for others), Wifi.
 *
 * Must not reference anything outside its own body: it is stringified.
 */
export function espruinoGuest(): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any;
  const host = g.__host;
  g.global = g;

  // Espruino's board builds (ESP32, ESP8266, STM32) have 8-bit strings, without
  // ESPR_UNICODE_SUPPORT: String.fromCharCode keeps the low byte of each code.
  const fromCharCode = String.fromCharCode;
  String.fromCharCode = function (...codes: number[]): string {
    return fromCharCode.apply(null, codes.map((c) => Number(c) & 255));
  };

  type Handler = (...args: unknown[]) => void;
  interface Emitter {
    __ev: { [name: string]: Handler[] };
  }
  function on(this: Emitter, event: string, handler: Handler): Emitter {
    if (typeof handler !== "function") throw new Error("Expecting a function");
    if (!this.__ev) this.__ev = {};
    (this.__ev[event] = this.__ev[event] || []).push(handler);
    return this;
  }
  function removeAllListeners(this: Emitter, event?: string): void {
    if (!this.__ev) return;
    if (event === undefined) this.__ev = {};
    else delete this.__ev[event];
  }
  function emit(obj: Emitter, event: string, args: unknown[]): void {
    const list = obj.__ev && obj.__ev[event];
    if (!list) return;
    for (const h of list.slice()) h.apply(obj, args);
  }

  function bytesToString(data: unknown): string {
    if (typeof data === "string") return data;
    if (typeof data === "number") return String.fromCharCode(data & 255);
    let u8: Uint8Array;
    if (data instanceof ArrayBuffer) u8 = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else if (Array.isArray(data)) u8 = new Uint8Array(data);
    else return String(data);
    let s = "";
    for (let i = 0; i < u8.length; i += 4096) s += String.fromCharCode.apply(null, Array.from(u8.subarray(i, i + 4096)));
    return s;
  }

  function stringToBytes(s: unknown): Uint8Array {
    if (typeof s !== "string") {
      if (ArrayBuffer.isView(s)) return new Uint8Array((s as Uint8Array).buffer.slice(0));
      s = String(s);
    }
    const str = s as string;
    const out = new Uint8Array(str.length);
    for (let i = 0; i < str.length; i++) out[i] = str.charCodeAt(i) & 255;
    return out;
  }

  // E -------------------------------------------------------------------------------------
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const E: any = { __ev: {} };
  E.on = on;
  E.removeAllListeners = removeAllListeners;
  E.toString = function (...args: unknown[]): string {
    let s = "";
    for (const a of args) s += bytesToString(a);
    return s;
  };
  E.toUint8Array = function (...args: unknown[]): Uint8Array {
    let s = "";
    for (const a of args) s += bytesToString(a);
    return stringToBytes(s);
  };
  E.toArrayBuffer = function (s: string): ArrayBuffer {
    return stringToBytes(s).buffer as ArrayBuffer;
  };
  g.E = E;

  // Timers ------------------------------------------------------------------------------------
  let nextTimer = 1;
  const timers: { [id: number]: { f: Handler; repeat: boolean; args: unknown[] } } = {};
  function addTimer(f: Handler, ms: unknown, repeat: boolean, args: unknown[]): number {
    if (typeof f !== "function") throw new Error("Function or String not supplied!");
    const id = nextTimer++;
    timers[id] = { f: f, repeat: repeat, args: args };
    host.setTimer(id, Math.max(0, Number(ms) || 0), repeat);
    return id;
  }
  g.setTimeout = (f: Handler, ms: unknown, ...args: unknown[]) => addTimer(f, ms, false, args);
  g.setInterval = (f: Handler, ms: unknown, ...args: unknown[]) => addTimer(f, ms, true, args);
  g.clearTimeout = g.clearInterval = (id: number) => {
    if (id === undefined) {
      for (const k of Object.keys(timers)) {
        delete timers[Number(k)];
        host.clearTimer(Number(k));
      }
      return;
    }
    if (timers[id]) {
      delete timers[id];
      host.clearTimer(id);
    }
  };
  g.getTime = () => host.now() / 1000;

  // Console, process, quit ---------------------------------------------------------------------
  g.console = {
    log: (...args: unknown[]) => host.log(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")),
  };
  g.print = g.console.log;
  g.process = {
    version: host.version(),
    env: JSON.parse(host.env()),
    memory: () => JSON.parse(host.memory()),
  };
  g.quit = () => host.quit();

  // Binary data crosses to and from the host as ArrayBuffers (host strings stop at U+0000).
  function readString(name: string): string | undefined {
    const ab = host.storageRead(String(name));
    return ab === undefined ? undefined : bytesToString(ab);
  }

  // Storage ------------------------------------------------------------------------------------
  const Storage = {
    write(name: string, data: unknown, offset?: number, size?: number): boolean {
      const bytes = stringToBytes(bytesToString(data));
      return host.storageWrite(String(name), bytes.buffer, offset === undefined ? -1 : offset, size === undefined ? -1 : size);
    },
    read(name: string, offset?: number, length?: number): string | undefined {
      const s = readString(name);
      if (s === undefined) return undefined;
      return s.substr(offset || 0, length === undefined ? s.length : length);
    },
    readJSON(name: string, noExceptions?: boolean): unknown {
      const s = readString(name);
      if (s === undefined) return undefined;
      try {
        return JSON.parse(s);
      } catch (e) {
        if (noExceptions) return undefined;
        throw e;
      }
    },
    readArrayBuffer(name: string): ArrayBuffer | undefined {
      return host.storageRead(String(name));
    },
    writeJSON(name: string, data: unknown): boolean {
      return Storage.write(name, JSON.stringify(data));
    },
    erase(name: string): void {
      host.storageErase(String(name));
    },
    list(): string[] {
      return JSON.parse(host.storageList());
    },
    getFree(): number {
      return host.storageFree();
    },
    compact(): void {},
  };

  // net ----------------------------------------------------------------------------------------
  interface Socket extends Emitter {
    __id: number;
    __out: string;
    __open: boolean;
    __ending: boolean;
    __endSent: boolean;
    [k: string]: unknown;
  }
  interface Server extends Emitter {
    __id: number;
    __cb: Handler;
    [k: string]: unknown;
  }
  const sockets: { [id: number]: Socket } = {};
  const servers: { [id: number]: Server } = {};
  let nextServer = 1;

  function pump(s: Socket): void {
    if (!s.__open) return;
    if (s.__out.length > 0 && host.writable(s.__id)) {
      host.write(s.__id, stringToBytes(s.__out).buffer);
      s.__out = "";
    }
    if (s.__out.length === 0 && s.__ending && !s.__endSent) {
      s.__endSent = true;
      host.end(s.__id);
    }
  }

  function socketWrite(this: Socket, data: unknown): boolean {
    if (typeof data !== "string") {
      host.warn("socket.write() called with " + Object.prototype.toString.call(data) + ": Espruino sends its text (convert with E.toString)");
      data = String(data);
    }
    if (!this.__open || this.__ending) return false;
    this.__out += data as string;
    pump(this);
    return false;
  }

  function socketEnd(this: Socket, data?: unknown): void {
    if (data !== undefined) socketWrite.call(this, data);
    if (!this.__open) return;
    this.__ending = true;
    pump(this);
  }

  const net = {
    createServer(cb: Handler): Server {
      if (typeof cb !== "function") throw new Error("Expecting Callback Function but got " + typeof cb);
      const srv: Server = { __ev: {}, __id: nextServer++, __cb: cb } as Server;
      srv.on = on;
      srv.listen = function (port: number): Server {
        servers[srv.__id] = srv;
        if (!host.listen(srv.__id, Number(port))) throw new Error("Unable to create socket");
        return srv;
      };
      srv.close = function (): void {
        delete servers[srv.__id];
        host.serverClose(srv.__id);
      };
      return srv;
    },
    connect(): never {
      throw new Error("net.connect is not simulated");
    },
  };

  const wifi = {
    __ev: {},
    on: on,
    connect(ssid: string, options: unknown, cb?: Handler): void {
      host.log("[simulator] Wi-Fi: joining " + ssid);
      g.setTimeout(() => {
        if (typeof cb === "function") cb(null);
        emit(wifi as Emitter, "connected", [{ ip: "127.0.0.1" }]);
      }, 20);
    },
    disconnect(): void {},
    getIP(): { ip: string; netmask: string; gw: string } {
      return { ip: "127.0.0.1", netmask: "255.0.0.0", gw: "127.0.0.1" };
    },
    getStatus(): { station: string } {
      return { station: "connected" };
    },
    save(): void {},
    setHostname(): void {},
  };

  const modules: { [name: string]: unknown } = { net: net, Storage: Storage };
  if (host.hasWifi()) modules.Wifi = wifi;
  g.require = (name: string): unknown => {
    if (Object.prototype.hasOwnProperty.call(modules, name)) return modules[name];
    throw new Error('Module "' + name + '" not found');
  };

  // Host events --------------------------------------------------------------------------------
  g.__guest = {
    dispatch(kind: string, id: number, a: unknown, b: unknown): void {
      if (kind === "timer") {
        const t = timers[id];
        if (!t) return;
        if (!t.repeat) delete timers[id];
        t.f.apply(g, t.args);
      } else if (kind === "connection") {
        // a: the host socket's id. Espruino's sockets do not tell the peer's address, so
        // neither does this one.
        const srv = servers[id];
        if (!srv) return host.end(a as number);
        const s: Socket = { __ev: {}, __id: a as number, __out: "", __open: true, __ending: false, __endSent: false } as Socket;
        s.on = on;
        s.removeAllListeners = removeAllListeners;
        s.write = socketWrite;
        s.end = socketEnd;
        sockets[s.__id] = s;
        srv.__cb.call(srv, s);
      } else if (kind === "data") {
        const s = sockets[id];
        if (!s || !s.__open) return;
        const text = bytesToString(a);
        // Espruino hands data over in chunks (536 characters seen on the Linux build).
        for (let i = 0; i < text.length && s.__open; i += 536) emit(s, "data", [text.substr(i, 536)]);
      } else if (kind === "writable") {
        const s = sockets[id];
        if (!s) return;
        const had = s.__out.length > 0;
        pump(s);
        if (s.__out.length === 0 && (had || b === true)) emit(s, "drain", []);
      } else if (kind === "close") {
        const s = sockets[id];
        if (!s || !s.__open) return;
        if (a) emit(s, "error", [{ code: -9, message: String(a) }]);
        s.__open = false;
        delete sockets[id];
        emit(s, "end", []);
        emit(s, "close", [Boolean(a)]);
      } else if (kind === "event") {
        emit(E, String(a), []);
      }
    },
  };
}
