import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Limits, mergeLimits } from "../../src/limits";
import { LogLevel } from "../../src/platform";
import { Board, DEFAULT_BOARD, loadBoard } from "./boards";
import { LogOptions, defaultLogOptions } from "./logger";

export const DEFAULT_PORT = 1883;
export const DEFAULT_HOST = "0.0.0.0";

/** Largest Remaining Length (268,435,455) plus the biggest fixed header (5 bytes). */
const MAX_PACKET_SIZE = 268435460;
/** mosquitto rejects max_packet_size below 20. */
const MIN_PACKET_SIZE = 20;
const MAX_MESSAGE_SIZE = 268435455;

/** What one configuration file says; unset values stay at their sentinel. */
export interface ConfigFile {
  /** -1 = not set. */
  port: number;
  /** "" = not set. */
  host: string;
  board: Board | null;
  /** Limits set by options, laid over the board's. */
  limits: Partial<Limits>;
  /** null = no log_type line (mosquitto's default set applies). */
  logLevels: boolean[] | null;
  /** null = no log_dest line (stderr). */
  logDest: { stdout: boolean; stderr: boolean } | null;
  connectionMessages: boolean;
  /** "file:line: message" for accepted lines that do nothing in Midge. */
  warnings: string[];
}

export type ParseResult = { ok: true; file: ConfigFile } | { ok: false; error: string };

/** The command-line options that take part in configuration. */
export interface CliOptions {
  port?: number;
  host?: string;
  config?: string;
  board?: string;
  verbose?: boolean;
}

/** Everything the Node target needs to start. */
export interface Config {
  port: number;
  host: string;
  board: Board;
  limits: Limits;
  log: LogOptions;
  /** Path of the file read, or "" for defaults only. */
  configFile: string;
  warnings: string[];
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; error: string };

interface LineState {
  file: ConfigFile;
  fileName: string;
  baseDir: string;
  /** The line being parsed (1-based). */
  line: number;
  /** Line of the `listener` option, and of a `port` / `bind_address` option (0 = none). */
  listenerLine: number;
  portLine: number;
}

type Apply = (s: LineState, option: string, args: string[]) => string;

interface OptionSpec {
  /** Number of values: exactly `min`, or min..max. */
  min: number;
  max: number;
  apply: Apply;
}

/**
 * The mosquitto.conf options Midge understands. Each handler returns "" or an error message
 * (without the "file:line: " prefix, which the caller adds).
 */
const OPTIONS: Record<string, OptionSpec> = {
  listener: { min: 1, max: 2, apply: applyListener },
  port: { min: 1, max: 1, apply: applyPort },
  bind_address: { min: 1, max: 1, apply: applyBindAddress },
  max_connections: {
    min: 1,
    max: 1,
    apply: (s, o, a) => intOption(o, a[0], -1, Number.MAX_SAFE_INTEGER, (n) => {
      if (n === 0) return "must be -1 (the board's table size) or at least 1";
      if (n > 0) s.file.limits.maxConnections = n;
      return "";
    }),
  },
  max_inflight_messages: {
    min: 1,
    max: 1,
    // 65535 packet ids exist; mosquitto's 0 ("no limit") means the board's table size here.
    apply: (s, o, a) => intOption(o, a[0], 0, 65535, (n) => setIfPositive(s, "maxInflight", n)),
  },
  max_queued_messages: {
    min: 1,
    max: 1,
    apply: (s, o, a) => intOption(o, a[0], 0, Number.MAX_SAFE_INTEGER, (n) => setIfPositive(s, "maxQueued", n)),
  },
  message_size_limit: {
    min: 1,
    max: 1,
    apply: (s, o, a) => intOption(o, a[0], 0, MAX_MESSAGE_SIZE, (n) => {
      s.file.limits.messageSizeLimit = n;
      return "";
    }),
  },
  max_packet_size: {
    min: 1,
    max: 1,
    apply: (s, o, a) => intOption(o, a[0], 0, MAX_PACKET_SIZE, (n) => {
      if (n > 0 && n < MIN_PACKET_SIZE) return `must be 0 (the board's limit) or at least ${MIN_PACKET_SIZE}, got ${n}`;
      return setIfPositive(s, "maxPacketSize", n);
    }),
  },
  retain_available: {
    min: 1,
    max: 1,
    apply: (s, o, a) => boolOption(o, a[0], (v) => {
      s.file.limits.retainAvailable = v;
    }),
  },
  connection_messages: {
    min: 1,
    max: 1,
    apply: (s, o, a) => boolOption(o, a[0], (v) => {
      s.file.connectionMessages = v;
    }),
  },
  board: {
    min: 1,
    max: 1,
    apply: (s, _o, a) => {
      const r = loadBoard(a[0], s.baseDir);
      if (!r.ok) return r.error;
      s.file.board = r.board;
      return "";
    },
  },
  log_type: { min: 1, max: 1, apply: applyLogType },
  log_dest: { min: 1, max: 1, apply: applyLogDest },
};

/**
 * mosquitto options that Midge does not implement. They get their own message so that a
 * mosquitto.conf fails with "not supported" rather than "unknown".
 */
const MOSQUITTO_ONLY = [
  "acl_file", "allow_anonymous", "allow_duplicate_messages", "allow_zero_length_clientid",
  "auth_plugin", "auto_id_prefix", "autosave_interval", "autosave_on_changes", "cafile",
  "capath", "certfile", "check_retain_source", "clientid_prefixes", "connection",
  "include_dir", "keyfile", "log_facility", "log_timestamp", "log_timestamp_format",
  "max_keepalive", "max_qos", "max_queued_bytes", "memory_limit", "password_file",
  "per_listener_settings", "persistence", "persistence_file", "persistence_location",
  "persistent_client_expiration", "pid_file", "plugin", "protocol", "psk_file",
  "queue_qos0_messages", "require_certificate", "set_tcp_nodelay", "socket_domain",
  "sys_interval", "upgrade_outgoing_qos", "use_identity_as_username", "user",
  "websockets_log_level",
];

/**
 * Parses mosquitto.conf syntax: one "option value..." per line, values separated by spaces or
 * tabs, '#' starting a comment line, blank lines ignored. `fileName` appears in messages;
 * relative board paths resolve against `baseDir` (the file's directory).
 */
export function parseConfig(text: string, fileName: string, baseDir: string): ParseResult {
  const file: ConfigFile = {
    port: -1,
    host: "",
    board: null,
    limits: {},
    logLevels: null,
    logDest: null,
    connectionMessages: true,
    warnings: [],
  };
  const state: LineState = { file: file, fileName: fileName, baseDir: baseDir, line: 0, listenerLine: 0, portLine: 0 };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.charAt(0) === "#") continue;
    state.line = i + 1;
    const where = `${fileName}:${state.line}: `;
    const words = line.split(/[ \t]+/);
    const option = words[0];
    const args = words.slice(1);
    const spec = Object.prototype.hasOwnProperty.call(OPTIONS, option) ? OPTIONS[option] : null;
    if (spec === null) {
      if (MOSQUITTO_ONLY.indexOf(option) >= 0) return fail(where + `option '${option}' is not supported by Midge`);
      return fail(where + `unknown option '${option}'`);
    }
    // A '#' word where a value is required is reported by the option as a bad value.
    const comment = args.findIndex((w) => w.charAt(0) === "#");
    if (comment >= spec.min) {
      return fail(where + `'${option}': a comment must be on a line of its own`);
    }
    if (args.length < spec.min) return fail(where + `'${option}' needs a value`);
    if (args.length > spec.max) {
      return fail(where + `'${option}' takes ${spec.max === 1 ? "one value" : "at most " + spec.max + " values"}, got ${args.length}`);
    }
    const error = spec.apply(state, option, args);
    if (error !== "") return fail(where + error);
  }
  return { ok: true, file: file };
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error: error };
}

function applyListener(s: LineState, option: string, args: string[]): string {
  if (s.listenerLine > 0) return `only one listener is supported (the first is on line ${s.listenerLine})`;
  if (s.portLine > 0) return `'listener' and 'port'/'bind_address' (line ${s.portLine}) both set the listener; keep one`;
  s.listenerLine = s.line;
  const error = intOption(option, args[0], 0, 65535, (n) => {
    s.file.port = n;
    return "";
  });
  if (error !== "") return error;
  if (args.length > 1) s.file.host = args[1];
  return "";
}

function applyPort(s: LineState, option: string, args: string[]): string {
  if (s.listenerLine > 0) return `'listener' (line ${s.listenerLine}) and '${option}' both set the listener; keep one`;
  s.portLine = s.line;
  return intOption(option, args[0], 0, 65535, (n) => {
    s.file.port = n;
    return "";
  });
}

function applyBindAddress(s: LineState, option: string, args: string[]): string {
  if (s.listenerLine > 0) return `'listener' (line ${s.listenerLine}) and '${option}' both set the listener; keep one`;
  s.portLine = s.line;
  s.file.host = args[0];
  return "";
}

/**
 * log_type lines add up, as in mosquitto; "all" and "none" set everything. subscribe,
 * unsubscribe and websockets are mosquitto types with no Midge messages: accepted, warned.
 */
function applyLogType(s: LineState, option: string, args: string[]): string {
  const value = args[0];
  if (s.file.logLevels === null) s.file.logLevels = [false, false, false, false, false];
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
      s.file.warnings.push(`${s.fileName}:${s.line}: ${option} '${value}' has no messages in Midge; ignored`);
      return "";
  }
  return `unknown ${option} '${value}' (use error, warning, notice, information, debug, all or none)`;
}

/** log_dest lines add up; "none" turns output off. Files, syslog and topics are not supported. */
function applyLogDest(s: LineState, option: string, args: string[]): string {
  const value = args[0];
  if (s.file.logDest === null) s.file.logDest = { stdout: false, stderr: false };
  const dest = s.file.logDest;
  switch (value) {
    case "stdout": dest.stdout = true; return "";
    case "stderr": dest.stderr = true; return "";
    case "none": dest.stdout = false; dest.stderr = false; return "";
  }
  return `${option} '${value}' is not supported (use stdout, stderr or none)`;
}

function setIfPositive(s: LineState, key: "maxInflight" | "maxQueued" | "maxPacketSize", n: number): string {
  if (n > 0) s.file.limits[key] = n;
  return "";
}

function intOption(option: string, text: string, min: number, max: number, use: (n: number) => string): string {
  if (!/^-?[0-9]+$/.test(text)) return `'${option}' must be a whole number, got '${text}'`;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    return `'${option}' must be ${range}, got ${text}`;
  }
  const error = use(n);
  return error === "" ? "" : `'${option}' ${error}`;
}

function boolOption(option: string, text: string, use: (v: boolean) => void): string {
  if (text === "true") use(true);
  else if (text === "false") use(false);
  else return `'${option}' must be true or false, got '${text}'`;
  return "";
}

/**
 * Builds the start-up configuration: defaults, then the config file, then command-line flags
 * (flags win). A board named on the command line is resolved against `cwd`.
 */
export function loadConfig(cli: CliOptions, cwd: string): ConfigResult {
  let file: ConfigFile | null = null;
  let configFile = "";
  if (cli.config !== undefined) {
    configFile = resolve(cwd, cli.config);
    let text: string;
    try {
      text = readFileSync(configFile, "utf8");
    } catch (e) {
      return fail(`cannot read config file ${cli.config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const parsed = parseConfig(text, cli.config, dirname(configFile));
    if (!parsed.ok) return parsed;
    file = parsed.file;
  }

  let board: Board;
  if (cli.board !== undefined) {
    const r = loadBoard(cli.board, cwd);
    if (!r.ok) return fail("--board: " + r.error);
    board = r.board;
  } else if (file !== null && file.board !== null) {
    board = file.board;
  } else {
    const r = loadBoard(DEFAULT_BOARD, cwd);
    if (!r.ok) return fail(r.error);
    board = r.board;
  }

  const log = defaultLogOptions();
  if (file !== null) {
    if (file.logLevels !== null) log.levels = file.logLevels.slice();
    if (file.logDest !== null) {
      log.stdout = file.logDest.stdout;
      log.stderr = file.logDest.stderr;
    }
    log.connectionMessages = file.connectionMessages;
  }
  // mosquitto -v: "equivalent to log_type all ... overrides the configuration file".
  if (cli.verbose === true) for (let i = 0; i < log.levels.length; i++) log.levels[i] = true;

  let port = DEFAULT_PORT;
  let host = DEFAULT_HOST;
  if (file !== null && file.port >= 0) port = file.port;
  if (file !== null && file.host !== "") host = file.host;
  if (cli.port !== undefined) port = cli.port;
  if (cli.host !== undefined) host = cli.host;

  return {
    ok: true,
    config: {
      port: port,
      host: host,
      board: board,
      limits: mergeLimits(board.limits, file === null ? {} : file.limits),
      log: log,
      configFile: configFile,
      warnings: file === null ? [] : file.warnings,
    },
  };
}
