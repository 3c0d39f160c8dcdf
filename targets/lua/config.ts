/**
 * Configuration of the Lua target: command-line flags, the mosquitto.conf options the Node
 * target understands (same names, ranges and messages, see targets/node/config.ts), and board
 * profiles read with a small JSON reader. No regular expressions (typescript-to-lua has none):
 * words and numbers are checked by hand.
 */
import { DEFAULT_LIMITS, Limits, mergeLimits } from "../../src/limits";
import { LogLevel } from "../../src/platform";
import { JsonKind, jsonGet, parseJson } from "./json";

declare function tonumber(this: void, text: string): number | undefined;

export const DEFAULT_PORT = 1883;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_BOARD = "host";

/** Largest Remaining Length (268,435,455) plus the biggest fixed header (5 bytes). */
const MAX_PACKET_SIZE = 268435460;
const MIN_PACKET_SIZE = 20;
const MAX_MESSAGE_SIZE = 268435455;
/** Number.MAX_SAFE_INTEGER; exact in doubles and in Lua 5.3+ integers. */
const MAX_SAFE = 9007199254740991;

export interface Board {
  name: string;
  limits: Limits;
}

export interface LogOptions {
  /** Indexed by LogLevel. */
  levels: boolean[];
  stdout: boolean;
  stderr: boolean;
  connectionMessages: boolean;
}

export interface Config {
  /** $SYS publication period in seconds; 0 = off (sys_interval). */
  sysInterval: number;
  port: number;
  host: string;
  board: Board;
  limits: Limits;
  log: LogOptions;
  configFile: string;
  warnings: string[];
}

/** Reads a whole file; ok false with the system's message when it cannot. */
export interface FileReader {
  read(path: string): { ok: boolean; text: string; error: string };
}

export interface CliOptions {
  /** -1 = not given. */
  port: number;
  host: string;
  config: string;
  board: string;
  verbose: boolean;
  help: boolean;
  version: boolean;
}

export interface Outcome<T> {
  ok: boolean;
  value: T;
  error: string;
}

function failed<T>(error: string, placeholder: T): Outcome<T> {
  return { ok: false, value: placeholder, error: error };
}

export function defaultLogOptions(): LogOptions {
  return { levels: [true, true, true, true, false], stdout: false, stderr: true, connectionMessages: true };
}

/** True when text is an optional '-' then digits only. */
function isWholeNumber(text: string): boolean {
  const start = text.charCodeAt(0) === 45 ? 1 : 0;
  if (text.length <= start) return false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Command-line flags, like the Node target's (`-p/--port`, `--host`, `-c/--config`, `-b/--board`, `-v/--verbose`). */
export function parseArgs(args: string[]): Outcome<CliOptions> {
  const cli: CliOptions = { port: -1, host: "", config: "", board: "", verbose: false, help: false, version: false };
  let i = 0;
  while (i < args.length) {
    const a = args[i];
    i++;
    if (a === "-h" || a === "--help") {
      cli.help = true;
      continue;
    }
    if (a === "-V" || a === "--version") {
      cli.version = true;
      continue;
    }
    if (a === "-v" || a === "--verbose") {
      cli.verbose = true;
      continue;
    }
    const takesValue = a === "-p" || a === "--port" || a === "--host" || a === "-c" || a === "--config" || a === "-b" || a === "--board";
    if (!takesValue) return failed("unknown option '" + a + "'", cli);
    if (i >= args.length) return failed("option '" + a + "' needs a value", cli);
    const v = args[i];
    i++;
    if (a === "-p" || a === "--port") {
      const n = isWholeNumber(v) && v.charCodeAt(0) !== 45 ? tonumber(v) : undefined;
      if (n === undefined || n > 65535) return failed("option '" + a + " <port>' argument '" + v + "' is invalid. expected a port number from 0 to 65535.", cli);
      cli.port = n;
    } else if (a === "--host") {
      cli.host = v;
    } else if (a === "-c" || a === "--config") {
      cli.config = v;
    } else {
      cli.board = v;
    }
  }
  return { ok: true, value: cli, error: "" };
}

/** Splits on spaces and tabs, dropping empty words. */
function words(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const c = i < line.length ? line.charCodeAt(i) : 32;
    const space = c === 32 || c === 9;
    if (space) {
      if (start >= 0) out.push(line.substring(start, i));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  return out;
}

function trim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  return s.substring(a, b);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** $SYS every 10 s unless sys_interval says otherwise (mosquitto's default, as in the Node target). */
export const DEFAULT_SYS_INTERVAL = 10;

/** What the file sets; unset values keep their sentinel. */
interface ConfigFile {
  /** -1 = not set. */
  sysInterval: number;
  port: number;
  host: string;
  board: Board | undefined;
  limits: Partial<Limits>;
  logLevels: boolean[] | undefined;
  /** True once a log_dest line was seen (then only the named destinations are used). */
  logDestSet: boolean;
  logStdout: boolean;
  logStderr: boolean;
  connectionMessages: boolean;
  warnings: string[];
}

const MOSQUITTO_ONLY = [
  "allow_duplicate_messages", "allow_zero_length_clientid", "auth_plugin", "auto_id_prefix",
  "autosave_on_changes", "capath", "check_retain_source", "clientid_prefixes", "connection",
  "include_dir", "log_facility", "log_timestamp", "log_timestamp_format", "max_keepalive",
  "max_qos", "max_queued_bytes", "memory_limit", "per_listener_settings",
  "persistent_client_expiration", "pid_file", "plugin", "psk_file", "set_tcp_nodelay",
  "socket_domain", "upgrade_outgoing_qos", "user", "websockets_log_level",
];

/**
 * Options of the Node target that the Lua build does not implement (no TLS, WebSockets,
 * persistence or authentication here): refused with a message that says so.
 */
const NODE_ONLY = [
  "acl_file", "password_file", "persistence_file", "persistence_location", "persistence_mode",
  "autosave_interval", "cafile", "certfile", "keyfile", "require_certificate", "use_identity_as_username",
];

/** Returns "" and stores the number, or the error message (without "file:line: "). */
function intOption(option: string, text: string, min: number, max: number, out: number[]): string {
  if (!isWholeNumber(text)) return "'" + option + "' must be a whole number, got '" + text + "'";
  const n = tonumber(text);
  if (n === undefined || n < -MAX_SAFE || n > MAX_SAFE || n < min || n > max) {
    const range = max === MAX_SAFE ? "at least " + min : "between " + min + " and " + max;
    return "'" + option + "' must be " + range + ", got " + text;
  }
  out[0] = n;
  return "";
}

function boolOption(option: string, text: string, out: boolean[]): string {
  if (text === "true") out[0] = true;
  else if (text === "false") out[0] = false;
  else return "'" + option + "' must be true or false, got '" + text + "'";
  return "";
}

function dirOf(path: string): string {
  for (let i = path.length - 1; i >= 0; i--) if (path.charCodeAt(i) === 47) return i === 0 ? "/" : path.substring(0, i);
  return ".";
}

function joinPath(dir: string, ref: string): string {
  if (ref.charCodeAt(0) === 47 || dir === "") return ref;
  return dir + "/" + ref;
}

function validBoardName(ref: string): boolean {
  if (ref.length === 0) return false;
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (i > 0 && (c === 95 || c === 46 || c === 45));
    if (!ok) return false;
  }
  return true;
}

const LIMIT_KEYS = [
  "maxConnections", "maxSessions", "maxSubscriptions", "maxSubscriptionsPerClient", "maxInflight",
  "maxQueued", "maxInboundQos2", "maxRetained", "maxRetainedBytes", "maxPacketSize",
  "messageSizeLimit", "maxClientIdLength", "maxTopicLength", "connectTimeoutMs", "maxPendingBytes",
  "retainAvailable",
];

/** Validates a board profile's JSON text, as targets/node/boards.ts does. */
export function parseBoard(text: string, source: string): Outcome<Board> {
  const placeholder: Board = { name: "", limits: DEFAULT_LIMITS };
  const parsed = parseJson(text);
  if (!parsed.ok) return failed("board profile " + source + " is not valid JSON: " + parsed.error, placeholder);
  const json = parsed.value;
  if (json.kind !== JsonKind.OBJECT) return failed("board profile " + source + ": expected a JSON object", placeholder);
  const name = jsonGet(json, "board");
  if (name === undefined || name.kind !== JsonKind.STRING || name.str === "") {
    return failed("board profile " + source + ': "board" must be a non-empty string', placeholder);
  }
  const limits = jsonGet(json, "limits");
  if (limits === undefined || limits.kind !== JsonKind.OBJECT) return failed("board profile " + source + ': "limits" must be an object', placeholder);
  const overrides: { [key: string]: number | boolean } = {};
  for (let i = 0; i < limits.keys.length; i++) {
    const key = limits.keys[i];
    const value = limits.items[i];
    if (LIMIT_KEYS.indexOf(key) < 0) return failed("board profile " + source + ': unknown limit "' + key + '"', placeholder);
    if (key === "retainAvailable") {
      if (value.kind !== JsonKind.BOOLEAN) return failed("board profile " + source + ': "' + key + '" must be true or false', placeholder);
      overrides[key] = value.bool;
    } else {
      const n = value.num;
      if (value.kind !== JsonKind.NUMBER || n < 0 || n > MAX_SAFE || Math.floor(n) !== n) {
        return failed("board profile " + source + ': "' + key + '" must be a whole number >= 0', placeholder);
      }
      overrides[key] = Math.floor(n); // an integer in Lua 5.3+, so it prints without ".0"
    }
  }
  return { ok: true, value: { name: name.str, limits: mergeLimits(DEFAULT_LIMITS, overrides as Partial<Limits>) }, error: "" };
}

/**
 * A board by name (boardsDir/<name>.json) or by path (contains '/' or ends in .json, relative
 * to baseDir). "host" needs no file: its limits are DEFAULT_LIMITS, built in.
 */
export function loadBoard(ref: string, baseDir: string, boardsDir: string, files: FileReader): Outcome<Board> {
  const placeholder: Board = { name: "", limits: DEFAULT_LIMITS };
  const isPath = ref.indexOf("/") >= 0 || ref.endsWith(".json");
  if (!isPath && !validBoardName(ref)) return failed("invalid board name '" + ref + "'", placeholder);
  const file = isPath ? joinPath(baseDir, ref) : joinPath(boardsDir, ref + ".json");
  const r = files.read(file);
  if (!r.ok) {
    if (!isPath && ref === DEFAULT_BOARD) return { ok: true, value: { name: DEFAULT_BOARD, limits: DEFAULT_LIMITS }, error: "" };
    if (!isPath) return failed("unknown board '" + ref + "' (no " + file + ")", placeholder);
    return failed("cannot read board profile " + file + ": " + r.error, placeholder);
  }
  return parseBoard(r.text, isPath ? file : ref);
}

interface LineContext {
  file: ConfigFile;
  fileName: string;
  baseDir: string;
  boardsDir: string;
  files: FileReader;
  line: number;
  listenerLine: number;
  portLine: number;
}

/** Applies one option; returns "" or the error (without "file:line: "). */
function applyOption(s: LineContext, option: string, args: string[]): string {
  const f = s.file;
  const n: number[] = [0];
  const v: boolean[] = [false];
  let error = "";
  switch (option) {
    case "listener":
      if (s.listenerLine > 0) return "only one listener is supported (the first is on line " + s.listenerLine + ")";
      if (s.portLine > 0) return "'listener' and 'port'/'bind_address' (line " + s.portLine + ") both set the listener; keep one";
      s.listenerLine = s.line;
      error = intOption("listener", args[0], 0, 65535, n);
      if (error !== "") return error;
      f.port = n[0];
      if (args.length > 1) f.host = args[1];
      return "";
    case "port":
      if (s.listenerLine > 0) return "'listener' (line " + s.listenerLine + ") and '" + option + "' both set the listener; keep one";
      s.portLine = s.line;
      error = intOption(option, args[0], 0, 65535, n);
      if (error === "") f.port = n[0];
      return error;
    case "bind_address":
      if (s.listenerLine > 0) return "'listener' (line " + s.listenerLine + ") and '" + option + "' both set the listener; keep one";
      s.portLine = s.line;
      f.host = args[0];
      return "";
    case "max_connections":
      error = intOption(option, args[0], -1, MAX_SAFE, n);
      if (error !== "") return error;
      if (n[0] === 0) return "'" + option + "' must be -1 (the board's table size) or at least 1";
      if (n[0] > 0) f.limits.maxConnections = n[0];
      return "";
    case "max_inflight_messages":
      error = intOption(option, args[0], 0, 65535, n);
      if (error === "" && n[0] > 0) f.limits.maxInflight = n[0];
      return error;
    case "max_queued_messages":
      error = intOption(option, args[0], 0, MAX_SAFE, n);
      if (error === "" && n[0] > 0) f.limits.maxQueued = n[0];
      return error;
    case "message_size_limit":
      error = intOption(option, args[0], 0, MAX_MESSAGE_SIZE, n);
      if (error === "") f.limits.messageSizeLimit = n[0];
      return error;
    case "max_packet_size":
      error = intOption(option, args[0], 0, MAX_PACKET_SIZE, n);
      if (error !== "") return error;
      if (n[0] > 0 && n[0] < MIN_PACKET_SIZE) return "'" + option + "' must be 0 (the board's limit) or at least " + MIN_PACKET_SIZE + ", got " + n[0];
      if (n[0] > 0) f.limits.maxPacketSize = n[0];
      return "";
    case "retain_available":
      error = boolOption(option, args[0], v);
      if (error === "") f.limits.retainAvailable = v[0];
      return error;
    case "connection_messages":
      error = boolOption(option, args[0], v);
      if (error === "") f.connectionMessages = v[0];
      return error;
    case "board": {
      const r = loadBoard(args[0], s.baseDir, s.boardsDir, s.files);
      if (!r.ok) return r.error;
      f.board = r.value;
      return "";
    }
    case "sys_interval":
      error = intOption(option, args[0], 0, 86400, n);
      if (error === "") f.sysInterval = n[0];
      return error;
    case "allow_anonymous":
      error = boolOption(option, args[0], v);
      if (error === "" && !v[0]) return "'" + option + " false' is not supported by the Lua build (it has no authentication)";
      return error;
    case "persistence":
      error = boolOption(option, args[0], v);
      if (error === "" && v[0]) return "'" + option + " true' is not supported by the Lua build (it keeps state in memory only)";
      return error;
    case "protocol":
      if (args[0] === "mqtt") return "";
      if (args[0] === "websockets") return "'" + option + " websockets' is not supported by the Lua build (plain MQTT over TCP only)";
      return "'" + option + "' must be mqtt or websockets, got '" + args[0] + "'";
    case "log_type":
      return applyLogType(s, option, args[0]);
    case "log_dest":
      return applyLogDest(s, option, args[0]);
  }
  return "?";
}

function applyLogType(s: LineContext, option: string, value: string): string {
  if (s.file.logLevels === undefined) s.file.logLevels = [false, false, false, false, false];
  const levels = s.file.logLevels;
  switch (value) {
    case "error": levels[LogLevel.ERROR] = true; return "";
    case "warning": levels[LogLevel.WARNING] = true; return "";
    case "notice": levels[LogLevel.NOTICE] = true; return "";
    case "information": levels[LogLevel.INFO] = true; return "";
    case "debug": levels[LogLevel.DEBUG] = true; return "";
    case "all": for (let i = 0; i < levels.length; i++) levels[i] = true; return "";
    case "none": for (let i = 0; i < levels.length; i++) levels[i] = false; return "";
    case "subscribe":
    case "unsubscribe":
    case "websockets":
      s.file.warnings.push(s.fileName + ":" + s.line + ": " + option + " '" + value + "' has no messages in Midge; ignored");
      return "";
  }
  return "unknown " + option + " '" + value + "' (use error, warning, notice, information, debug, all or none)";
}

function applyLogDest(s: LineContext, option: string, value: string): string {
  s.file.logDestSet = true;
  switch (value) {
    case "stdout": s.file.logStdout = true; return "";
    case "stderr": s.file.logStderr = true; return "";
    case "none": s.file.logStdout = false; s.file.logStderr = false; return "";
  }
  return option + " '" + value + "' is not supported (use stdout, stderr or none)";
}

/** Number of values each option takes: [min, max]. */
function arity(option: string): number[] | undefined {
  switch (option) {
    case "listener":
      return [1, 2];
    case "port":
    case "bind_address":
    case "max_connections":
    case "max_inflight_messages":
    case "max_queued_messages":
    case "message_size_limit":
    case "max_packet_size":
    case "retain_available":
    case "connection_messages":
    case "board":
    case "log_type":
    case "log_dest":
    case "sys_interval":
    case "allow_anonymous":
    case "persistence":
    case "protocol":
      return [1, 1];
  }
  return undefined;
}

function parseConfigText(text: string, fileName: string, baseDir: string, boardsDir: string, files: FileReader): Outcome<ConfigFile> {
  const file: ConfigFile = {
    sysInterval: -1,
    port: -1,
    host: "",
    board: undefined,
    limits: {},
    logLevels: undefined,
    logDestSet: false,
    logStdout: false,
    logStderr: false,
    connectionMessages: true,
    warnings: [],
  };
  const s: LineContext = { file: file, fileName: fileName, baseDir: baseDir, boardsDir: boardsDir, files: files, line: 0, listenerLine: 0, portLine: 0 };
  let lineStart = 0;
  let lineNo = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = trim(text.substring(lineStart, lineEnd));
    lineStart = lineEnd + 1;
    lineNo++;
    if (line === "" || line.charCodeAt(0) === 35) continue;
    s.line = lineNo;
    const where = fileName + ":" + lineNo + ": ";
    const w = words(line);
    const option = w[0];
    const args = w.slice(1);
    const range = arity(option);
    if (range === undefined) {
      if (NODE_ONLY.indexOf(option) >= 0) return failed(where + "option '" + option + "' is not supported by the Lua build of Midge (use the Node target)", file);
      if (MOSQUITTO_ONLY.indexOf(option) >= 0) return failed(where + "option '" + option + "' is not supported by Midge", file);
      return failed(where + "unknown option '" + option + "'", file);
    }
    let comment = -1;
    for (let i = 0; i < args.length; i++) {
      if (args[i].charCodeAt(0) === 35) {
        comment = i;
        break;
      }
    }
    if (comment >= 0 && comment >= range[0]) return failed(where + "'" + option + "': a comment must be on a line of its own", file);
    if (args.length < range[0]) return failed(where + "'" + option + "' needs a value", file);
    if (args.length > range[1]) {
      return failed(where + "'" + option + "' takes " + (range[1] === 1 ? "one value" : "at most " + range[1] + " values") + ", got " + args.length, file);
    }
    const error = applyOption(s, option, args);
    if (error !== "") return failed(where + error, file);
  }
  return { ok: true, value: file, error: "" };
}

/** Defaults, then the config file, then command-line flags (flags win), as in the Node target. */
export function loadConfig(cli: CliOptions, boardsDir: string, files: FileReader): Outcome<Config> {
  const log = defaultLogOptions();
  const placeholder: Config = {
    sysInterval: DEFAULT_SYS_INTERVAL,
    port: DEFAULT_PORT,
    host: DEFAULT_HOST,
    board: { name: DEFAULT_BOARD, limits: DEFAULT_LIMITS },
    limits: DEFAULT_LIMITS,
    log: log,
    configFile: "",
    warnings: [],
  };
  let file: ConfigFile | undefined = undefined;
  if (cli.config !== "") {
    const r = files.read(cli.config);
    if (!r.ok) return failed("cannot read config file " + cli.config + ": " + r.error, placeholder);
    const parsed = parseConfigText(r.text, cli.config, dirOf(cli.config), boardsDir, files);
    if (!parsed.ok) return failed(parsed.error, placeholder);
    file = parsed.value;
  }
  let board: Board;
  if (cli.board !== "") {
    const r = loadBoard(cli.board, ".", boardsDir, files);
    if (!r.ok) return failed("--board: " + r.error, placeholder);
    board = r.value;
  } else if (file !== undefined && file.board !== undefined) {
    board = file.board;
  } else {
    const r = loadBoard(DEFAULT_BOARD, ".", boardsDir, files);
    if (!r.ok) return failed(r.error, placeholder);
    board = r.value;
  }
  if (file !== undefined) {
    if (file.logLevels !== undefined) log.levels = file.logLevels;
    if (file.logDestSet) {
      log.stdout = file.logStdout;
      log.stderr = file.logStderr;
    }
    log.connectionMessages = file.connectionMessages;
  }
  if (cli.verbose) for (let i = 0; i < log.levels.length; i++) log.levels[i] = true;
  let port = DEFAULT_PORT;
  let host = DEFAULT_HOST;
  if (file !== undefined && file.port >= 0) port = file.port;
  if (file !== undefined && file.host !== "") host = file.host;
  if (cli.port >= 0) port = cli.port;
  if (cli.host !== "") host = cli.host;
  return {
    ok: true,
    value: {
      sysInterval: file !== undefined && file.sysInterval >= 0 ? file.sysInterval : DEFAULT_SYS_INTERVAL,
      port: port,
      host: host,
      board: board,
      limits: mergeLimits(board.limits, file === undefined ? {} : file.limits),
      log: log,
      configFile: cli.config,
      warnings: file === undefined ? [] : file.warnings,
    },
    error: "",
  };
}
