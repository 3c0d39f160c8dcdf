import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { Limits, mergeLimits } from "../../src/limits";
import { LogLevel } from "../../src/platform";
import { Board, DEFAULT_BOARD, loadBoard } from "./boards";
import { LogOptions, defaultLogOptions } from "./logger";
import { BridgeSection, bridgeOptions, checkBridges } from "./bridge/bridgeConfig";

export const DEFAULT_PORT = 1883;
export const DEFAULT_HOST = "0.0.0.0";

/** Largest Remaining Length (268,435,455) plus the biggest fixed header (5 bytes). */
const MAX_PACKET_SIZE = 268435460;
/** mosquitto rejects max_packet_size below 20. */
const MIN_PACKET_SIZE = 20;
const MAX_MESSAGE_SIZE = 268435455;

/**
 * One listener: a `listener` line and the options that follow it (mosquitto's per-listener
 * options), or the default listener (`port` / `bind_address`, or per-listener options before
 * any `listener` line).
 */
export interface ListenerConfig {
  /** -1 = not set (1883, or --port for the first listener). */
  port: number;
  /** "" = not set (0.0.0.0, or --host for the first listener). */
  host: string;
  /** "mqtt" (MQTT over TCP) or "websockets" (MQTT over WebSocket). */
  protocol: string;
  /** Absolute paths, "" = not set. certfile and keyfile together make the listener TLS. */
  certfile: string;
  keyfile: string;
  cafile: string;
  /** Clients must present a certificate signed by cafile. */
  requireCertificate: boolean;
  /** The client certificate's Common Name becomes the MQTT user name. */
  useIdentityAsUsername: boolean;
  /** Line that opened the listener in the config file (0 = none). */
  line: number;
}

/** A plain MQTT listener; `overrides` sets the other fields. */
export function listenerConfig(port: number, host: string, overrides?: Partial<ListenerConfig>): ListenerConfig {
  const l: ListenerConfig = {
    port: port,
    host: host,
    protocol: "mqtt",
    certfile: "",
    keyfile: "",
    cafile: "",
    requireCertificate: false,
    useIdentityAsUsername: false,
    line: 0,
  };
  return overrides === undefined ? l : { ...l, ...overrides };
}

/** What one configuration file says; unset values stay at their sentinel. */
export interface ConfigFile {
  /** The first listener's port; -1 = not set. */
  port: number;
  /** The first listener's address; "" = not set. */
  host: string;
  /** Every listener, in file order (the first one's port and host are also port and host above). */
  listeners: ListenerConfig[];
  board: Board | null;
  /** Limits set by options, laid over the board's. */
  limits: Partial<Limits>;
  /** null = no log_type line (mosquitto's default set applies). */
  logLevels: boolean[] | null;
  /** null = no log_dest line (stderr). */
  logDest: { stdout: boolean; stderr: boolean } | null;
  connectionMessages: boolean;
  security: SecurityConfig;
  persistence: PersistenceConfig;
  /** Seconds between $SYS updates; 0 = none. */
  sysInterval: number;
  /** `connection` sections, in file order. */
  bridges: BridgeSection[];
  /** "file:line: message" for accepted lines that do nothing in Midge. */
  warnings: string[];
}

/** allow_anonymous, password_file, acl_file. Paths are absolute; "" = not set. */
export interface SecurityConfig {
  allowAnonymous: boolean;
  passwordFile: string;
  aclFile: string;
}

/** persistence, persistence_location, persistence_file, persistence_mode, autosave_interval. */
export interface PersistenceConfig {
  enabled: boolean;
  /** Directory of the store; "" = the current directory. */
  location: string;
  file: string;
  mode: "durable" | "relaxed";
  /** Relaxed mode: seconds between commits. */
  autosaveInterval: number;
}

/** $SYS updates every 10 s unless sys_interval says otherwise (mosquitto's default). */
export const DEFAULT_SYS_INTERVAL = 10;

export function defaultSecurity(): SecurityConfig {
  return { allowAnonymous: true, passwordFile: "", aclFile: "" };
}

export function defaultPersistence(): PersistenceConfig {
  return { enabled: false, location: "", file: "midge.db", mode: "durable", autosaveInterval: 1 };
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
  /** The first listener's port and address (the ones --port and --host set). */
  port: number;
  host: string;
  /** At least one; port and host filled in (no -1, no ""). */
  listeners: ListenerConfig[];
  board: Board;
  limits: Limits;
  log: LogOptions;
  security: SecurityConfig;
  persistence: PersistenceConfig;
  sysInterval: number;
  bridges: BridgeSection[];
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
  /** First per-listener option before any `listener` line, and its line (0 = none). */
  defaultOption: string;
  defaultOptionLine: number;
  /** Per listener (same index as file.listeners): option name → line it was last set on. */
  optionLines: Record<string, number>[];
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
  allow_anonymous: { min: 1, max: 1, apply: (s, o, a) => boolOption(o, a[0], (v) => { s.file.security.allowAnonymous = v; }) },
  password_file: { min: 1, max: 1, apply: (s, o, a) => readablePath(o, a[0], s, (p) => (s.file.security.passwordFile = p)) },
  acl_file: { min: 1, max: 1, apply: (s, o, a) => readablePath(o, a[0], s, (p) => (s.file.security.aclFile = p)) },
  persistence: { min: 1, max: 1, apply: (s, o, a) => boolOption(o, a[0], (v) => { s.file.persistence.enabled = v; }) },
  persistence_location: {
    min: 1,
    max: 1,
    apply: (s, _o, a) => {
      s.file.persistence.location = resolve(s.baseDir, a[0]);
      return "";
    },
  },
  persistence_file: {
    min: 1,
    max: 1,
    apply: (s, o, a) => {
      if (a[0].indexOf("/") >= 0) return `'${o}' is a file name; put the directory in persistence_location`;
      s.file.persistence.file = a[0];
      return "";
    },
  },
  persistence_mode: {
    min: 1,
    max: 1,
    apply: (s, o, a) => {
      if (a[0] !== "durable" && a[0] !== "relaxed") return `'${o}' must be durable or relaxed, got '${a[0]}'`;
      s.file.persistence.mode = a[0];
      return "";
    },
  },
  autosave_interval: {
    min: 1,
    max: 1,
    apply: (s, o, a) => intOption(o, a[0], 1, 86400, (n) => {
      s.file.persistence.autosaveInterval = n;
      return "";
    }),
  },
  sys_interval: {
    min: 1,
    max: 1,
    apply: (s, o, a) => intOption(o, a[0], 0, 86400, (n) => {
      s.file.sysInterval = n;
      return "";
    }),
  },
  log_type: { min: 1, max: 1, apply: applyLogType },
  log_dest: { min: 1, max: 1, apply: applyLogDest },
  // Per-listener options: they apply to the listener opened by the last `listener` line.
  protocol: {
    min: 1,
    max: 1,
    apply: listenerOption((l, option, value) => {
      if (value !== "mqtt" && value !== "websockets") return `'${option}' must be mqtt or websockets, got '${value}'`;
      l.protocol = value;
      return "";
    }),
  },
  certfile: { min: 1, max: 1, apply: listenerOption((l, o, v, s) => readablePath(o, v, s, (p) => (l.certfile = p))) },
  keyfile: { min: 1, max: 1, apply: listenerOption((l, o, v, s) => readablePath(o, v, s, (p) => (l.keyfile = p))) },
  cafile: { min: 1, max: 1, apply: listenerOption((l, o, v, s) => readablePath(o, v, s, (p) => (l.cafile = p))) },
  require_certificate: {
    min: 1,
    max: 1,
    apply: listenerOption((l, o, v) => boolOption(o, v, (b) => {
      l.requireCertificate = b;
    })),
  },
  use_identity_as_username: {
    min: 1,
    max: 1,
    apply: listenerOption((l, o, v) => boolOption(o, v, (b) => {
      l.useIdentityAsUsername = b;
    })),
  },
  // Bridges: `connection NAME` and the options of its section.
  ...bridgeOptions((s: LineState) => ({ bridges: s.file.bridges, line: s.line, fileName: s.fileName, warnings: s.file.warnings })),
};

/**
 * mosquitto options that Midge does not implement. They get their own message so that a
 * mosquitto.conf fails with "not supported" rather than "unknown".
 */
const MOSQUITTO_ONLY = [
  "allow_duplicate_messages", "allow_zero_length_clientid",
  "auth_plugin", "auto_id_prefix", "autosave_on_changes", "capath",
  "check_retain_source", "clientid_prefixes", "include_dir", "log_facility",
  "log_timestamp", "log_timestamp_format", "max_keepalive", "max_qos", "max_queued_bytes",
  "memory_limit", "per_listener_settings", "persistent_client_expiration", "pid_file",
  "plugin", "psk_file", "queue_qos0_messages", "set_tcp_nodelay", "socket_domain",
  "upgrade_outgoing_qos", "user", "websockets_log_level",
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
    listeners: [],
    board: null,
    limits: {},
    logLevels: null,
    logDest: null,
    connectionMessages: true,
    security: defaultSecurity(),
    persistence: defaultPersistence(),
    sysInterval: DEFAULT_SYS_INTERVAL,
    bridges: [],
    warnings: [],
  };
  const state: LineState = {
    file: file,
    fileName: fileName,
    baseDir: baseDir,
    line: 0,
    listenerLine: 0,
    portLine: 0,
    defaultOption: "",
    defaultOptionLine: 0,
    optionLines: [],
  };
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
  const listenerError = checkListeners(state);
  if (listenerError !== "") return fail(listenerError);
  const bridgeError = checkBridges(file.bridges, fileName);
  if (bridgeError !== "") return fail(bridgeError);
  return { ok: true, file: file };
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error: error };
}

/** `listener PORT [ADDRESS]` opens a listener; the per-listener options after it apply to it. */
function applyListener(s: LineState, option: string, args: string[]): string {
  if (s.portLine > 0) return `'listener' and 'port'/'bind_address' (line ${s.portLine}) both set the listener; keep one`;
  if (s.defaultOptionLine > 0) {
    return `'${s.defaultOption}' (line ${s.defaultOptionLine}) comes before any 'listener' line; put it after the 'listener' it belongs to`;
  }
  let port = -1;
  const error = intOption(option, args[0], 0, 65535, (n) => {
    port = n;
    return "";
  });
  if (error !== "") return error;
  const host = args.length > 1 ? args[1] : "";
  const listeners = s.file.listeners;
  for (let i = 0; i < listeners.length; i++) {
    if (port !== 0 && listeners[i].port === port && listeners[i].host === host) {
      return `'listener' ${args.join(" ")} repeats the listener on line ${listeners[i].line}`;
    }
  }
  if (s.listenerLine === 0) {
    s.listenerLine = s.line;
    s.file.port = port;
    s.file.host = host;
  }
  listeners.push(listenerConfig(port, host, { line: s.line }));
  s.optionLines.push({});
  return "";
}

function applyPort(s: LineState, option: string, args: string[]): string {
  if (s.listenerLine > 0) return `'listener' (line ${s.listenerLine}) and '${option}' both set the listener; keep one`;
  s.portLine = s.line;
  return intOption(option, args[0], 0, 65535, (n) => {
    s.file.port = n;
    defaultListener(s).port = n;
    return "";
  });
}

function applyBindAddress(s: LineState, option: string, args: string[]): string {
  if (s.listenerLine > 0) return `'listener' (line ${s.listenerLine}) and '${option}' both set the listener; keep one`;
  s.portLine = s.line;
  s.file.host = args[0];
  defaultListener(s).host = args[0];
  return "";
}

/** The listener that options before any `listener` line apply to, created on first use. */
function defaultListener(s: LineState): ListenerConfig {
  if (s.file.listeners.length === 0) {
    s.file.listeners.push(listenerConfig(-1, "", { line: s.line }));
    s.optionLines.push({});
  }
  return s.file.listeners[0];
}

/** A per-listener option: `use` gets the current listener (the default one before any `listener` line). */
function listenerOption(use: (l: ListenerConfig, option: string, value: string, s: LineState) => string): Apply {
  return (s, option, args) => {
    if (s.listenerLine === 0 && s.defaultOptionLine === 0) {
      s.defaultOption = option;
      s.defaultOptionLine = s.line;
    }
    const l = s.listenerLine === 0 ? defaultListener(s) : s.file.listeners[s.file.listeners.length - 1];
    s.optionLines[s.file.listeners.length - 1][option] = s.line;
    return use(l, option, args[0], s);
  };
}

/** A file option: resolved against the config file's directory and read once to check it. */
function readablePath(option: string, value: string, s: LineState, use: (path: string) => void): string {
  const path = resolve(s.baseDir, value);
  try {
    readFileSync(path);
  } catch (e) {
    return `cannot read ${option} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  use(path);
  return "";
}

/**
 * Checks each listener's options together, once the whole file is read: TLS needs certfile and
 * keyfile, which must be a matching PEM pair; cafile, require_certificate and
 * use_identity_as_username need TLS. Returns "" or the full error ("file:line: message").
 */
function checkListeners(s: LineState): string {
  const listeners = s.file.listeners;
  for (let i = 0; i < listeners.length; i++) {
    const l = listeners[i];
    const lines = s.optionLines[i];
    const at = (option: string): string => `${s.fileName}:${lines[option] ?? l.line}: `;
    const tls = l.certfile !== "" || l.keyfile !== "";
    if (l.certfile !== "" && l.keyfile === "") return at("certfile") + "'certfile' needs 'keyfile' in the same listener";
    if (l.keyfile !== "" && l.certfile === "") return at("keyfile") + "'keyfile' needs 'certfile' in the same listener";
    if (!tls) {
      if (l.cafile !== "") return at("cafile") + "'cafile' needs 'certfile' and 'keyfile' in the same listener (TLS)";
      if (l.requireCertificate) return at("require_certificate") + "'require_certificate' needs 'certfile' and 'keyfile' in the same listener (TLS)";
      if (l.useIdentityAsUsername) return at("use_identity_as_username") + "'use_identity_as_username' needs 'certfile' and 'keyfile' in the same listener (TLS)";
      continue;
    }
    if (l.requireCertificate && l.cafile === "") {
      return at("require_certificate") + "'require_certificate true' needs 'cafile' (the CA that signs client certificates)";
    }
    if (l.useIdentityAsUsername && !l.requireCertificate) {
      return at("use_identity_as_username") + "'use_identity_as_username true' needs 'require_certificate true'";
    }
    const cert = readFileSync(l.certfile);
    const key = readFileSync(l.keyfile);
    try {
      new X509Certificate(cert);
    } catch (e) {
      return at("certfile") + `certfile ${l.certfile} is not a PEM certificate (${(e as Error).message})`;
    }
    try {
      createPrivateKey(key);
    } catch (e) {
      return at("keyfile") + `keyfile ${l.keyfile} is not a usable PEM private key (${(e as Error).message})`;
    }
    let ca: Buffer | undefined = undefined;
    if (l.cafile !== "") {
      ca = readFileSync(l.cafile);
      try {
        new X509Certificate(ca);
      } catch (e) {
        return at("cafile") + `cafile ${l.cafile} is not a PEM certificate (${(e as Error).message})`;
      }
    }
    try {
      createSecureContext({ cert: cert, key: key, ca: ca });
    } catch (e) {
      return at("keyfile") + `keyfile ${l.keyfile} does not go with certfile ${l.certfile} (${(e as Error).message})`;
    }
  }
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

  // --port and --host replace the first listener's port and address; unset ones get defaults.
  const listeners = file === null ? [] : file.listeners.map((l) => listenerConfig(l.port, l.host, l));
  if (listeners.length === 0) listeners.push(listenerConfig(-1, ""));
  if (cli.port !== undefined) listeners[0].port = cli.port;
  if (cli.host !== undefined) listeners[0].host = cli.host;
  for (const l of listeners) {
    if (l.port < 0) l.port = DEFAULT_PORT;
    if (l.host === "") l.host = DEFAULT_HOST;
  }
  const port = listeners[0].port;
  const host = listeners[0].host;

  return {
    ok: true,
    config: {
      port: port,
      host: host,
      listeners: listeners,
      board: board,
      limits: mergeLimits(board.limits, file === null ? {} : file.limits),
      log: log,
      security: file === null ? defaultSecurity() : file.security,
      persistence: file === null ? defaultPersistence() : file.persistence,
      sysInterval: file === null ? DEFAULT_SYS_INTERVAL : file.sysInterval,
      bridges: file === null ? [] : file.bridges,
      configFile: configFile,
      warnings: file === null ? [] : file.warnings,
    },
  };
}
