/**
 * The Lua target: the portable core (src/) compiled by typescript-to-lua, served over TCP with
 * LuaSocket. One thread, one loop: socket.select over the listening socket and every client,
 * non-blocking receive and send, a per-connection output queue, brokerTick every 250 ms.
 *
 *   lua5.4 dist/lua/midge.lua --port 1883 [--host 0.0.0.0] [--config midge.conf] [--board host] [--verbose]
 *
 * Runs on Lua 5.1, 5.3, 5.4 and LuaJIT with LuaSocket 3.x (Debian: lua-socket).
 */
import * as socket from "socket";
import type { TcpSocket } from "socket";
import {
  Broker,
  brokerClosed,
  brokerData,
  brokerDrained,
  brokerOpen,
  brokerSetSubscriptionIndex,
  brokerStats,
  brokerSysPublish,
  brokerTick,
  createBroker,
} from "../../src/broker/broker";
import { Bytes } from "../../src/bytes/bytes";
import { Features } from "../../src/features";
import { LogCategory } from "../../src/log/log";
import { Limits, mergeLimits } from "../../src/limits";
import { Clock, Log, LogLevel, Transport } from "../../src/platform";
import { createTopicTree } from "../../src/topics/topicTree";
import { Config, FileReader, LogOptions, loadConfig, parseArgs } from "./config";
import { version } from "../../package.json";

// The few Lua standard library entries the shell needs (typescript-to-lua refers to them as globals).
interface LuaFile {
  write(this: LuaFile, s: string): LuaFile;
  read(this: LuaFile, format: "a" | "*a"): string | undefined;
  flush(this: LuaFile): void;
  close(this: LuaFile): void;
}
declare const io: {
  stdout: LuaFile;
  stderr: LuaFile;
  open(this: void, path: string, mode: string): LuaMultiReturn<[LuaFile | undefined, string | undefined]>;
};
declare const os: {
  time(this: void): number;
  exit(this: void, code: number): never;
};
/**
 * The script's arguments (arg[0] is the script, arg[1..] the options), read through _G: in Lua
 * 5.1 a bare `arg` inside a vararg function (every bundled module is one) is the implicit local
 * table of that function's own arguments (LUA_COMPAT_VARARG), not the command line.
 */
declare const _G: { arg: LuaTable<number, string> | undefined };
declare function collectgarbage(this: void, opt: "count"): number;
declare const math: { randomseed(this: void, seed: number): void };

export const VERSION: string = version;

/** brokerTick must run at least once a second (keep alive, CONNECT timeout: SRV-IMPL-11/12). */
const TICK_MS = 250;
/** After close(conn), how long the peer gets to read what is left and close before we do. */
const CLOSE_GRACE_MS = 2000;
/** Bytes asked of one receive call; a readable socket gets up to RECV_ROUNDS calls per turn. */
const RECV_SIZE = 65536;
const RECV_ROUNDS = 4;
/** A turn of the loop longer than this is logged (debug): the broker was deaf meanwhile. */
const SLOW_TURN_MS = 200;
/** New connections taken per turn, so a connection storm cannot starve the open ones. */
const ACCEPTS_PER_TURN = 64;
/**
 * select() uses an fd_set: descriptors from FD_SETSIZE (1024) up cannot be watched, and
 * LuaSocket raises an error for them. Connections that would get one are refused.
 */
const MAX_FD = 1023;
/** Connections the shell can watch (descriptors 0-2 and the listener take four of FD_SETSIZE). */
const MAX_CONNECTIONS = 1000;

/** One accepted socket: while its broker slot is open, and after, while it flushes and closes. */
interface Peer {
  sock: TcpSocket;
  /** Broker connection slot; -1 once the broker closed it (or the peer went away). */
  slot: number;
  /** Written and not yet moved to buf. */
  parts: string[];
  queued: number;
  /** Being sent: bytes from bufPos (1-based) on are unsent. */
  buf: string;
  bufPos: number;
  /** The broker closed this connection: flush, shut down sending, wait for the peer's close. */
  closing: boolean;
  shutdownSent: boolean;
  closeBy: number;
  /** Socket closed; dropped from the peer list at the end of the turn. */
  dead: boolean;
  /** More input may be waiting where select() does not look (LuaSocket's buffer, or a full read). */
  backlog: boolean;
}

/** Wall-clock milliseconds (LuaSocket has no monotonic clock; only differences are used). */
function nowMs(): number {
  return socket.gettime() * 1000;
}

const clock: Clock = {
  now(): number {
    return socket.gettime() * 1000;
  },
};

/** mosquitto-style lines, "<unix seconds>: <message>", like the Node target. */
function createLogger(options: LogOptions): Log {
  return {
    log(level: number, message: string, category?: number): void {
      if (!options.levels[level]) return;
      // connection_messages false: the lines the core marks as a client arriving or leaving.
      if (!options.connectionMessages && category === LogCategory.CONNECTION) return;
      const line = os.time() + ": " + message + "\n";
      if (options.stderr) io.stderr.write(line);
      if (options.stdout) {
        io.stdout.write(line);
        io.stdout.flush();
      }
    },
  };
}

const files: FileReader = {
  read(path: string): { ok: boolean; text: string; error: string } {
    const [f, err] = io.open(path, "rb");
    if (f === undefined) return { ok: false, text: "", error: err === undefined ? "cannot open" : err };
    const text = f.read("*a");
    f.close();
    if (text === undefined) return { ok: false, text: "", error: "cannot read" };
    return { ok: true, text: text, error: "" };
  },
};

function fatal(message: string): never {
  io.stderr.write("Error: " + message + "\n");
  return os.exit(1);
}

const USAGE =
  "Usage: midge.lua [options]\n\n" +
  "Midge, a small MQTT 3.1.1 broker (Lua build)\n\n" +
  "Options:\n" +
  "  -V, --version           output the version number\n" +
  "  -p, --port <port>       TCP port to listen on, 0 = any free port (default: 1883)\n" +
  "  --host <address>        address to listen on (default: 0.0.0.0)\n" +
  "  -c, --config <file>     configuration file in mosquitto.conf syntax\n" +
  "  -b, --board <name|file> board profile: a name from boards/ (built in) or a JSON file (default: host)\n" +
  "  -v, --verbose           log everything, debug messages included\n" +
  "  -h, --help              display help for command\n";

/** The TCP side of the broker: the Transport the core writes to, and the select loop. */
class Server {
  readonly listener: TcpSocket;
  broker!: Broker;
  readonly log: Log;
  peers: Peer[] = [];
  /** $SYS period in ms (0 = off) and the start time for the uptime figure. */
  sysMs = 0;
  startedAt = 0;
  readonly bySlot = new LuaMap<number, Peer>();
  readonly bySocket = new LuaMap<TcpSocket, Peer>();
  someDead = false;

  constructor(listener: TcpSocket, log: Log) {
    this.listener = listener;
    this.log = log;
  }

  transport(): Transport {
    return {
      write: (conn: number, data: Bytes): void => {
        const peer = this.bySlot.get(conn);
        if (peer === undefined) return;
        const s = data as unknown as string;
        peer.parts.push(s);
        peer.queued += s.length;
      },
      pending: (conn: number): number => {
        const peer = this.bySlot.get(conn);
        return peer === undefined ? 0 : peer.buf.length - peer.bufPos + 1 + peer.queued;
      },
      close: (conn: number): void => {
        const peer = this.bySlot.get(conn);
        if (peer === undefined) return;
        this.bySlot.delete(conn);
        peer.slot = -1;
        peer.closing = true;
        peer.closeBy = nowMs() + CLOSE_GRACE_MS;
        // Flushed, shut down and closed at the end of this turn (flushAll).
      },
    };
  }

  private accept(): void {
    for (let n = 0; n < ACCEPTS_PER_TURN; n++) {
      const [client] = this.listener.accept();
      if (client === undefined) return;
      client.settimeout(0);
      if (client.getfd() > MAX_FD) {
        this.log.log(LogLevel.WARNING, "Connection refused: socket descriptor " + client.getfd() + " is above select()'s limit (" + MAX_FD + ").");
        client.close();
        continue;
      }
      client.setoption("tcp-nodelay", true);
      const [ip, port] = client.getpeername();
      const peerName = (ip === undefined ? "unknown" : ip) + ":" + (port === undefined ? 0 : Math.floor(port));
      const slot = brokerOpen(this.broker, peerName);
      if (slot < 0) {
        client.close();
        continue;
      }
      const peer: Peer = {
        sock: client,
        slot: slot,
        parts: [],
        queued: 0,
        buf: "",
        bufPos: 1,
        closing: false,
        shutdownSent: false,
        closeBy: 0,
        dead: false,
        backlog: false,
      };
      this.peers.push(peer);
      this.bySlot.set(slot, peer);
      this.bySocket.set(client, peer);
    }
  }

  /** The socket is finished: close it, and if the broker still had the connection, say so. */
  private drop(peer: Peer): void {
    if (peer.dead) return;
    peer.dead = true;
    this.someDead = true;
    peer.sock.close();
    this.bySocket.delete(peer.sock);
    peer.parts = [];
    peer.queued = 0;
    peer.buf = "";
    peer.bufPos = 1;
    const slot = peer.slot;
    if (slot >= 0) {
      peer.slot = -1;
      this.bySlot.delete(slot);
      brokerClosed(this.broker, slot); // may write to other peers (wills)
    }
  }

  private readable(peer: Peer): void {
    peer.backlog = false;
    for (let round = 0; round < RECV_ROUNDS; round++) {
      if (peer.dead) return;
      const [data, err, partial] = peer.sock.receive(RECV_SIZE);
      const chunk = data !== undefined ? data : partial;
      if (chunk !== undefined && chunk.length > 0 && peer.slot >= 0) {
        brokerData(this.broker, peer.slot, chunk as unknown as Bytes);
      }
      if (data !== undefined) continue; // a full read: there may be more
      if (err !== "timeout") this.drop(peer); // "closed" or a socket error
      return;
    }
    // RECV_ROUNDS full reads: let the others have a turn, and come back without waiting.
    if (!peer.dead) peer.backlog = true;
  }

  /** Sends what is queued until done or the socket would block; handles closing peers. */
  private flush(peer: Peer): void {
    for (;;) {
      this.send(peer);
      // All sent (or the socket would block, or is gone): a retained replay may go on
      // (brokerDrained), and what it writes goes out in this same loop.
      if (peer.dead || peer.slot < 0 || peer.queued > 0 || peer.bufPos <= peer.buf.length) break;
      brokerDrained(this.broker, peer.slot);
      if (peer.queued === 0) break;
    }
    if (peer.closing && !peer.dead && !peer.shutdownSent && peer.queued === 0 && peer.bufPos > peer.buf.length) {
      // Everything is sent: FIN, then wait for the peer to close (or CLOSE_GRACE_MS).
      peer.shutdownSent = true;
      peer.sock.shutdown("send");
    }
  }

  /** Sends what is queued until done or the socket would block (or fails: dropped). */
  private send(peer: Peer): void {
    while (!peer.dead && (peer.queued > 0 || peer.bufPos <= peer.buf.length)) {
      if (peer.bufPos > peer.buf.length) {
        peer.buf = peer.parts.length === 1 ? peer.parts[0] : peer.parts.join("");
        peer.bufPos = 1;
        peer.parts = [];
        peer.queued = 0;
      }
      const [last, err, lastSent] = peer.sock.send(peer.buf, peer.bufPos);
      if (last !== undefined) {
        peer.buf = "";
        peer.bufPos = 1;
        continue;
      }
      if (err === "timeout") {
        if (lastSent !== undefined) peer.bufPos = lastSent + 1;
        return; // select reports it writable later
      }
      this.drop(peer);
      return;
    }
  }

  private flushAll(): void {
    // drop() can publish wills, which writes to peers earlier in the list: go round until quiet.
    for (let pass = 0; pass < 4; pass++) {
      let busy = false;
      for (let i = 0; i < this.peers.length; i++) {
        const peer = this.peers[i];
        if (peer.dead) continue;
        if (peer.queued > 0 || (peer.closing && !peer.shutdownSent)) {
          this.flush(peer);
          busy = true;
        }
      }
      if (!busy) return;
    }
  }

  private expire(now: number): void {
    for (let i = 0; i < this.peers.length; i++) {
      const peer = this.peers[i];
      if (peer.closing && !peer.dead && now > peer.closeBy) this.drop(peer);
    }
  }

  private sweep(): void {
    if (!this.someDead) return;
    this.someDead = false;
    const live: Peer[] = [];
    for (let i = 0; i < this.peers.length; i++) if (!this.peers[i].dead) live.push(this.peers[i]);
    this.peers = live;
  }

  run(): void {
    let nextTick = nowMs() + TICK_MS;
    let nextSys = this.startedAt + this.sysMs;
    for (;;) {
      const recv: TcpSocket[] = [this.listener];
      const send: TcpSocket[] = [];
      let backlog = false;
      for (let i = 0; i < this.peers.length; i++) {
        const peer = this.peers[i];
        recv.push(peer.sock);
        if (peer.bufPos <= peer.buf.length) send.push(peer.sock);
        if (!peer.backlog && peer.sock.dirty()) peer.backlog = true;
        if (peer.backlog) backlog = true;
      }
      let wait = (nextTick - nowMs()) / 1000;
      if (wait < 0 || backlog) wait = 0;
      if (wait > TICK_MS / 1000) wait = TICK_MS / 1000;
      const [readable, writable] = socket.select(recv, send, wait);
      const turnStart = nowMs();
      for (let i = 0; i < readable.length; i++) {
        const s = readable[i];
        if (s === this.listener) {
          this.accept();
        } else {
          const peer = this.bySocket.get(s);
          if (peer !== undefined) this.readable(peer);
        }
      }
      if (backlog) {
        for (let i = 0; i < this.peers.length; i++) {
          const peer = this.peers[i];
          if (peer.backlog && !peer.dead) this.readable(peer);
        }
      }
      for (let i = 0; i < writable.length; i++) {
        const peer = this.bySocket.get(writable[i]);
        if (peer !== undefined) this.flush(peer);
      }
      const now = nowMs();
      if (now >= nextTick) {
        brokerTick(this.broker);
        this.expire(now);
        nextTick = now + TICK_MS;
        if (this.sysMs > 0 && now >= nextSys) {
          brokerSysPublish(this.broker, VERSION, (now - this.startedAt) / 1000);
          nextSys = now + this.sysMs;
        }
      }
      this.flushAll();
      this.sweep();
      const took = nowMs() - turnStart;
      if (took > SLOW_TURN_MS) {
        this.log.log(LogLevel.DEBUG, "Slow event loop turn: " + Math.floor(took) + " ms for " + readable.length + " readable and " + writable.length + " writable sockets, " + this.peers.length + " open.");
      }
    }
  }
}

function main(): void {
  const arg = _G.arg;
  const args: string[] = [];
  if (arg !== undefined) for (let i = 1; i <= arg.length(); i++) args.push(arg.get(i));
  const parsed = parseArgs(args);
  if (!parsed.ok) fatal(parsed.error);
  const cli = parsed.value;
  if (cli.help) {
    io.stdout.write(USAGE);
    return;
  }
  if (cli.version) {
    io.stdout.write(VERSION + "\n");
    return;
  }
  const loaded = loadConfig(cli, files);
  if (!loaded.ok) fatal(loaded.error);
  const config: Config = loaded.value;
  const log = createLogger(config.log);

  log.log(LogLevel.NOTICE, "midge version " + VERSION + " starting");
  log.log(LogLevel.NOTICE, config.configFile === "" ? "Using default config." : "Config loaded from " + config.configFile + ".");
  for (let i = 0; i < config.warnings.length; i++) log.log(LogLevel.WARNING, "Warning: " + config.warnings[i]);
  let l: Limits = config.limits;
  // Session timers are MQTT 5.0's: a board without mqtt5 would never expire anything.
  if (l.persistentClientExpiration > 0 && !config.board.features.mqtt5) fatal("persistent_client_expiration: board " + config.board.name + " has the mqtt5 feature off, whose session timers it needs");
  if (l.maxConnections > MAX_CONNECTIONS) {
    // Also keeps the preallocated connection table at a size this shell can use.
    log.log(LogLevel.INFO, "max_connections " + l.maxConnections + " capped at " + MAX_CONNECTIONS + " (select() watches at most 1024 descriptors).");
    l = mergeLimits(l, { maxConnections: MAX_CONNECTIONS });
  }
  log.log(
    LogLevel.INFO,
    "Board " + config.board.name + ": " + l.maxConnections + " connections, " + l.maxSessions + " sessions, " +
      l.maxSubscriptions + " subscriptions, " + l.maxRetained + " retained, packets up to " + l.maxPacketSize + " bytes",
  );

  const [listener, err] = socket.bind(config.host, config.port, 128);
  if (listener === undefined) return fatal("cannot listen on " + config.host + ":" + config.port + ": " + (err === undefined ? "unknown error" : err));
  listener.settimeout(0);
  const [, boundPort] = listener.getsockname();
  const server = new Server(listener, log);
  math.randomseed(Math.floor(socket.gettime() * 1000) % 2147483647); // Lua 5.1 and LuaJIT start from a fixed seed
  // The board's features, read by the core as the global MIDGE_FEATURES (src/features.ts).
  (globalThis as unknown as { MIDGE_FEATURES: Features }).MIDGE_FEATURES = config.board.features;
  server.broker = createBroker(l, server.transport(), clock, log);
  // Routing through a topic tree, as on the Node target: cost grows with topic depth, not with
  // the number of subscriptions.
  brokerSetSubscriptionIndex(server.broker, createTopicTree());
  server.sysMs = config.sysInterval * 1000;
  server.startedAt = nowMs();
  if (server.sysMs > 0) brokerSysPublish(server.broker, VERSION, 0);
  const family = config.host.indexOf(":") >= 0 ? "ipv6" : "ipv4";
  log.log(LogLevel.NOTICE, "Opening " + family + " listen socket on port " + Math.floor(boundPort === undefined ? config.port : boundPort) + ".");
  log.log(LogLevel.NOTICE, "midge version " + VERSION + " running");
  const startKb = Math.floor(collectgarbage("count"));
  log.log(LogLevel.DEBUG, "Lua heap after start-up: " + startKb + " KB.");
  server.run();
  // Not reached: the loop ends with the process (SIGTERM / SIGINT end Lua at once).
  const s = brokerStats(server.broker);
  log.log(LogLevel.DEBUG, "Stats: " + s.connections + " connections");
}

main();
