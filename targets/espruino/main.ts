/**
 * Midge on Espruino: the portable broker on require("net"), started at boot (E.on("init"))
 * or right after upload, with settings from Storage (midge.json), Wi-Fi when the board has
 * it, and retained messages and persistent sessions kept in Storage (midge.snap).
 *
 * The board's limits are baked in by the build (esbuild define MIDGE_LIMITS_JSON); midge.json may
 * override any of them. Conversions between Espruino's binary Strings and the core's Bytes
 * (Uint8Array) happen here, at the edge, once per chunk.
 */
import { Broker, brokerClosed, brokerData, brokerDrained, brokerOpen, brokerShutdown, brokerTick, createBroker } from "../../src/broker/broker";
import { SnapshotSink, snapshotRestore, snapshotSize, snapshotWrite } from "../../src/broker/snapshot";
import { Bytes } from "../../src/bytes/bytes";
import { Limits } from "../../src/limits";
import { LogLevel, Transport } from "../../src/platform";
import { EspruinoE, EspruinoGlobal, EspruinoServer, EspruinoSocket, EspruinoStorage, EspruinoWifi, Settings } from "./espruino";

declare const E: EspruinoE;
declare const global: EspruinoGlobal;
declare function getTime(): number;
declare const console: { log(line: string): void };
declare function setInterval(f: () => void, ms: number): unknown;
declare function clearInterval(id: unknown): void;
declare function setTimeout(f: () => void, ms: number): unknown;

/** Baked in by targets/espruino/build.mjs from boards/<board>.json. */
declare const MIDGE_BOARD: string;
declare const MIDGE_VERSION: string;
/**
 * The board's limits as JSON text, parsed at each start (limitsOf): a string literal stays in
 * the code, in flash, where an object baked in as a constant would hold about 45 variables for
 * good (one per limit and its long name), beside the copy each start made of it.
 */
declare const MIDGE_LIMITS_JSON: string;
/** Board defaults for persistence: [enabled (1/0), least ms between writes, largest snapshot bytes]. */
declare const MIDGE_PERSIST: number[];

const SETTINGS_FILE = "midge.json";
const SNAPSHOT_FILE = "midge.snap";
/** "MS", version, end record. */
const EMPTY_SNAPSHOT = 4;
const DEFAULT_PORT = 1883;
/** brokerTick must run at least once a second (CONNECT timeout, keep alive). */
const TICK_MS = 500;

let broker: Broker | null = null;
let server: EspruinoServer | null = null;
let ticker: unknown = 0;
let logLevel = LogLevel.NOTICE;
/** Indexed by connection slot: its socket (null when free) and bytes written since the last drain. */
const sockets: (EspruinoSocket | null)[] = [];
const unsent: number[] = [];
let accepted = 0;
let persist = false;
let saveIntervalMs = 0;
let saveMaxBytes = 0;
let savedChanges = 0;
let savedAt = 0;
/** Size of the snapshot in Storage: an empty one (4 bytes, or none) is not written again. */
let savedBytes = 0;

const storage = (): EspruinoStorage => global.require("Storage");
const now = (): number => getTime() * 1000;

function log(level: number, message: string): void {
  if (level <= logLevel) console.log(Math.floor(getTime()) + ": " + message);
}

const transport: Transport = {
  write(conn: number, data: Bytes): void {
    const socket = sockets[conn];
    if (!socket) return;
    const text = E.toString(data as unknown as Uint8Array);
    if (text === undefined) {
      // Espruino could not allocate the String: the message is lost, the connection lives on.
      log(LogLevel.ERROR, "Out of memory writing to connection " + conn + ".");
      return;
    }
    unsent[conn] += text.length;
    socket.write(text);
  },
  pending(conn: number): number {
    return sockets[conn] ? unsent[conn] : 0;
  },
  close(conn: number): void {
    const socket = sockets[conn];
    if (!socket) return;
    sockets[conn] = null;
    socket.end();
  },
};

// One set of socket handlers for every connection (a closure per socket costs variables);
// Espruino calls them with `this` = the socket, which carries its slot in `c`.
function onData(this: EspruinoSocket, data: string): void {
  const conn = this.c as number;
  if (broker && sockets[conn] === this) brokerData(broker, conn, E.toUint8Array(data) as unknown as Bytes);
}

/** Everything written was sent: a retained replay may go on (brokerDrained). */
function onDrain(this: EspruinoSocket): void {
  const conn = this.c as number;
  if (sockets[conn] !== this) return;
  unsent[conn] = 0;
  if (MIDGE_FEATURES.retained && broker) brokerDrained(broker, conn);
}

function onClose(this: EspruinoSocket): void {
  const conn = this.c as number;
  if (sockets[conn] !== this) return;
  sockets[conn] = null;
  if (broker) brokerClosed(broker, conn);
}

function onError(this: EspruinoSocket, details: { code: number; message: string }): void {
  log(LogLevel.DEBUG, "Socket error on connection " + this.c + ": " + details.message);
  onClose.call(this);
}

function accept(socket: EspruinoSocket): void {
  accepted++;
  // Espruino's sockets do not tell the peer's address: logs name a connection by its number.
  const conn = broker ? brokerOpen(broker, "socket " + accepted) : -1;
  if (conn < 0) {
    socket.end();
    return;
  }
  socket.c = conn;
  sockets[conn] = socket;
  unsent[conn] = 0;
  socket.on("data", onData);
  socket.on("drain", onDrain);
  socket.on("close", onClose);
  socket.on("error", onError);
}

/** Writes the snapshot to Storage piece by piece (no copy of it all in RAM). */
function save(b: Broker): void {
  savedChanges = b.changes;
  savedAt = now();
  const total = snapshotSize(b);
  // Clean sessions coming and going move the change counter too, but leave nothing to keep.
  if (total === EMPTY_SNAPSHOT && savedBytes === EMPTY_SNAPSHOT) return;
  if (total > saveMaxBytes) {
    log(LogLevel.WARNING, "Snapshot of " + total + " bytes is over saveMaxBytes (" + saveMaxBytes + "): not saved.");
    return;
  }
  let offset = 0;
  const sink: SnapshotSink = {
    put(data: Bytes): void {
      const piece = data as unknown as Uint8Array;
      if (piece.length === 0) return;
      storage().write(SNAPSHOT_FILE, E.toString(piece), offset, total);
      offset += piece.length;
    },
  };
  try {
    snapshotWrite(b, sink);
    savedBytes = total;
    log(LogLevel.NOTICE, "Saved " + total + " bytes to " + SNAPSHOT_FILE + ".");
  } catch (e) {
    log(LogLevel.ERROR, "Error: saving " + SNAPSHOT_FILE + ": " + e);
  }
}

function tick(): void {
  if (!broker) return;
  brokerTick(broker);
  if (MIDGE_FEATURES.persistence && persist && broker.changes !== savedChanges && now() - savedAt >= saveIntervalMs) save(broker);
}

function listen(port: number): void {
  try {
    server = global.require("net").createServer(accept).listen(port);
    log(LogLevel.NOTICE, "Opening ipv4 listen socket on port " + port + ".");
  } catch (e) {
    log(LogLevel.ERROR, "Error: cannot listen on port " + port + ": " + e);
  }
}

/**
 * The broker's Limits from their settings' names (the profile's JSON, midge.json). The build
 * renames Limits' properties like the core's other records (build.mjs mangledProps), so the
 * record kept for good has one- or two-letter names, a variable each, where the settings' long
 * names took two or three on the boards; the long names stay here, in the code, in flash.
 */
function limitsOf(json: { [name: string]: number | boolean }): Limits {
  return {
    maxConnections: json["maxConnections"] as number,
    maxSessions: json["maxSessions"] as number,
    maxSubscriptions: json["maxSubscriptions"] as number,
    maxSubscriptionsPerClient: json["maxSubscriptionsPerClient"] as number,
    maxInflight: json["maxInflight"] as number,
    maxQueued: json["maxQueued"] as number,
    maxInboundQos2: json["maxInboundQos2"] as number,
    maxRetained: json["maxRetained"] as number,
    maxRetainedBytes: json["maxRetainedBytes"] as number,
    maxPacketSize: json["maxPacketSize"] as number,
    messageSizeLimit: json["messageSizeLimit"] as number,
    maxClientIdLength: json["maxClientIdLength"] as number,
    maxTopicLength: json["maxTopicLength"] as number,
    connectTimeoutMs: json["connectTimeoutMs"] as number,
    maxPendingBytes: json["maxPendingBytes"] as number,
    retainAvailable: json["retainAvailable"] as boolean,
    maxKeepAlive: json["maxKeepAlive"] as number,
    maxTopicAlias: json["maxTopicAlias"] as number,
    persistentClientExpiration: json["persistentClientExpiration"] as number,
  };
}

/** Starts the broker (once; again after stop). Runs at boot and after upload. */
function start(): void {
  if (broker) return;
  const settings = (storage().readJSON(SETTINGS_FILE, true) || {}) as Settings;
  if (settings.logLevel !== undefined) logLevel = settings.logLevel;
  const json = JSON.parse(MIDGE_LIMITS_JSON) as { [name: string]: number | boolean };
  // Quoted: the build renames the core's property names, and "limits" is one of them.
  const overrides = settings["limits"];
  if (overrides) for (const name in overrides) if (name in json) json[name] = overrides[name];
  const limits = limitsOf(json);
  // A board built without the persistence feature has no snapshot code: settings cannot turn it on.
  persist = MIDGE_FEATURES.persistence && (settings.persist !== undefined ? settings.persist : MIDGE_PERSIST[0] === 1);
  saveIntervalMs = settings.saveIntervalMs !== undefined ? settings.saveIntervalMs : MIDGE_PERSIST[1];
  saveMaxBytes = settings.saveMaxBytes !== undefined ? settings.saveMaxBytes : MIDGE_PERSIST[2];

  log(LogLevel.NOTICE, "midge version " + MIDGE_VERSION + " (" + MIDGE_BOARD + ") starting");
  const b = createBroker(limits, transport, { now: now }, { log: log });
  broker = b;
  savedBytes = EMPTY_SNAPSHOT;
  if (MIDGE_FEATURES.persistence && persist) {
    const snapshot = storage().readArrayBuffer(SNAPSHOT_FILE);
    if (snapshot) {
      savedBytes = snapshot.byteLength;
      const result = snapshotRestore(b, new Uint8Array(snapshot) as unknown as Bytes);
      log(result === 0 ? LogLevel.NOTICE : LogLevel.WARNING, "Restored " + SNAPSHOT_FILE + ": " + (result === 0 ? b.retainedCount + " retained, " + b.stats.sessions + " sessions" : "damaged (" + result + "), ignored") + ".");
    }
  }
  savedChanges = b.changes;
  savedAt = now();
  ticker = setInterval(tick, TICK_MS);

  const port = settings.port !== undefined ? settings.port : DEFAULT_PORT;
  const wifi = settings.wifi;
  let w: EspruinoWifi | null = null;
  try {
    w = global.require("Wifi");
  } catch (e) {
    // No Wifi module (Linux build, Ethernet boards): serve on whatever network there is.
  }
  if (w && wifi && wifi.ssid) {
    const module = w;
    log(LogLevel.NOTICE, "Joining Wi-Fi " + wifi.ssid + ".");
    module.connect(wifi.ssid, { password: wifi.password }, (err) => {
      if (err) log(LogLevel.ERROR, "Error: Wi-Fi " + wifi.ssid + ": " + err);
      else {
        // getIP() answers at once on the ESP boards; Espruino WiFi's takes a callback instead.
        const info = module.getIP();
        log(LogLevel.NOTICE, "Wi-Fi connected" + (info && info.ip ? ", address " + info.ip : "") + ".");
      }
      if (broker === b) listen(port);
    });
  } else {
    listen(port);
  }
}

/** Before save() or reset(): keep what changed, close every connection, stop serving. */
function stop(): void {
  const b = broker;
  if (!b) return;
  if (MIDGE_FEATURES.persistence && persist && b.changes !== savedChanges) save(b);
  brokerShutdown(b);
  clearInterval(ticker);
  if (server) server.close();
  server = null;
  broker = null;
}

E.on("init", start);
E.on("kill", stop);
// Uploaded without a reset (not at boot): start now; at boot "init" has started it already.
setTimeout(start, 10);
