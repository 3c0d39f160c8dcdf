import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { DEFAULT_SYS_INTERVAL, ListenerSpec, ParseState, ParseTarget, TargetOption, boolValue, intValue, parseConfigText } from "../../src/config/parse";
import { Limits, mergeLimits } from "../../src/limits";
import { Board, DEFAULT_BOARD, loadBoard } from "./boards";
import { ProfileResult, defaultProfile } from "../../src/config/profile";
import { LogOptions, defaultLogOptions } from "./logger";
import { BridgeSection, bridgeOptions, checkBridges } from "./bridge/bridgeConfig";

export const DEFAULT_PORT = 1883;
export const DEFAULT_HOST = "0.0.0.0";


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

export { DEFAULT_SYS_INTERVAL };

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

/** What the Node-only options write while the core parser reads the file. */
interface NodeContext {
  /** TLS settings per listener, same index as the core's listeners (filled on first use). */
  listeners: ListenerConfig[];
  security: SecurityConfig;
  persistence: PersistenceConfig;
  bridges: BridgeSection[];
}

type NodeApply = (s: ParseState, ctx: NodeContext, option: string, args: string[]) => string;

function one(name: string, apply: NodeApply): TargetOption<NodeContext> {
  return { name: name, min: 1, max: 1, apply: apply };
}

/** The listener a per-listener option applies to (the core picked it: s.listener). */
function tlsOf(s: ParseState, ctx: NodeContext): ListenerConfig {
  while (ctx.listeners.length <= s.listener) ctx.listeners.push(listenerConfig(-1, ""));
  return ctx.listeners[s.listener];
}

function boolInto(option: string, text: string, use: (v: boolean) => void): string {
  const v = [false];
  const error = boolValue(option, text, v);
  if (error === "") use(v[0]);
  return error;
}

/**
 * The options only the Node target has (src/config/options.ts lists them with target "node"):
 * files for authentication, persistence and TLS, and bridge sections. The shared options are
 * the core's (src/config/parse.ts).
 */
function nodeOptions(): TargetOption<NodeContext>[] {
  const list: TargetOption<NodeContext>[] = [
    one("password_file", (s, c, o, a) => readablePath(o, a[0], s, (p) => (c.security.passwordFile = p))),
    one("acl_file", (s, c, o, a) => readablePath(o, a[0], s, (p) => (c.security.aclFile = p))),
    one("persistence_location", (s, c, _o, a) => {
      c.persistence.location = resolve(s.baseDir, a[0]);
      return "";
    }),
    one("persistence_file", (_s, c, o, a) => {
      if (a[0].indexOf("/") >= 0) return `'${o}' is a file name; put the directory in persistence_location`;
      c.persistence.file = a[0];
      return "";
    }),
    one("persistence_mode", (_s, c, o, a) => {
      if (a[0] !== "durable" && a[0] !== "relaxed") return `'${o}' must be durable or relaxed, got '${a[0]}'`;
      c.persistence.mode = a[0];
      return "";
    }),
    one("autosave_interval", (_s, c, o, a) => {
      const n = [0];
      const error = intValue(o, a[0], 1, 86400, n);
      if (error === "") c.persistence.autosaveInterval = n[0];
      return error;
    }),
    one("certfile", (s, c, o, a) => readablePath(o, a[0], s, (p) => (tlsOf(s, c).certfile = p))),
    one("keyfile", (s, c, o, a) => readablePath(o, a[0], s, (p) => (tlsOf(s, c).keyfile = p))),
    one("cafile", (s, c, o, a) => readablePath(o, a[0], s, (p) => (tlsOf(s, c).cafile = p))),
    one("require_certificate", (s, c, o, a) => boolInto(o, a[0], (v) => (tlsOf(s, c).requireCertificate = v))),
    one("use_identity_as_username", (s, c, o, a) => boolInto(o, a[0], (v) => (tlsOf(s, c).useIdentityAsUsername = v))),
  ];
  // Bridges: `connection NAME` and the options of its section.
  type BridgeState = { s: ParseState; c: NodeContext };
  const bridge = bridgeOptions((b: BridgeState) => ({ bridges: b.c.bridges, line: b.s.line, fileName: b.s.fileName, warnings: b.s.config.warnings }));
  for (const name of Object.keys(bridge)) {
    const spec = bridge[name];
    list.push({ name: name, min: spec.min, max: spec.max, apply: (s, c, o, a) => spec.apply({ s: s, c: c }, o, a) });
  }
  return list;
}

const NODE_OPTIONS = nodeOptions();

/**
 * Parses mosquitto.conf syntax with the core parser (src/config/parse.ts) and the Node-only
 * options. `fileName` appears in messages; relative paths resolve against `baseDir` (the
 * file's directory).
 */
export function parseConfig(text: string, fileName: string, baseDir: string): ParseResult {
  const ctx: NodeContext = { listeners: [], security: defaultSecurity(), persistence: defaultPersistence(), bridges: [] };
  const target: ParseTarget<NodeContext> = {
    id: "node",
    label: "the Node target",
    options: NODE_OPTIONS,
    ctx: ctx,
    maxListeners: 0,
    loadBoard: (ref: string, dir: string): ProfileResult => {
      const r = loadBoard(ref, dir);
      return r.ok ? { ok: true, profile: r.board, error: "" } : { ok: false, profile: defaultProfile(""), error: r.error };
    },
  };
  const r = parseConfigText(text, fileName, baseDir, target);
  if (!r.ok) return fail(r.error);
  const c = r.config;
  ctx.security.allowAnonymous = c.allowAnonymous;
  ctx.persistence.enabled = c.persistence;
  const listeners: ListenerConfig[] = [];
  for (let i = 0; i < c.listeners.length; i++) {
    const l: ListenerSpec = c.listeners[i];
    const tls = i < ctx.listeners.length ? ctx.listeners[i] : listenerConfig(-1, "");
    listeners.push(listenerConfig(l.port, l.host, {
      protocol: l.protocol,
      certfile: tls.certfile,
      keyfile: tls.keyfile,
      cafile: tls.cafile,
      requireCertificate: tls.requireCertificate,
      useIdentityAsUsername: tls.useIdentityAsUsername,
      line: l.line,
    }));
  }
  const listenerError = checkListeners(listeners, c.listeners, fileName);
  if (listenerError !== "") return fail(listenerError);
  const bridgeError = checkBridges(ctx.bridges, fileName);
  if (bridgeError !== "") return fail(bridgeError);
  const file: ConfigFile = {
    port: c.port,
    host: c.host,
    listeners: listeners,
    board: c.boardSet ? c.board : null,
    limits: c.limits,
    logLevels: c.logLevelsSet ? c.logLevels : null,
    logDest: c.logDestSet ? { stdout: c.logStdout, stderr: c.logStderr } : null,
    connectionMessages: c.connectionMessages,
    security: ctx.security,
    persistence: ctx.persistence,
    sysInterval: c.sysInterval,
    bridges: ctx.bridges,
    warnings: c.warnings,
  };
  return { ok: true, file: file };
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error: error };
}

/** A file option: resolved against the config file's directory and read once to check it. */
function readablePath(option: string, value: string, s: ParseState, use: (path: string) => void): string {
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
function checkListeners(listeners: ListenerConfig[], specs: ListenerSpec[], fileName: string): string {
  for (let i = 0; i < listeners.length; i++) {
    const l = listeners[i];
    const lines = specs[i].optionLines;
    const at = (option: string): string => `${fileName}:${lines[option] ?? l.line}: `;
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

  // What the config asks for must be in the board's features; a feature that is off and not
  // asked for is simply not there (its absence gets the standard's answer in the core).
  const f = board.features;
  if (file !== null && file.persistence.enabled && !f.persistence) return fail(`persistence true: board ${board.name} has the persistence feature off`);
  if (file !== null && file.bridges.length > 0 && !f.bridge) return fail(`connection ${file.bridges[0].config.name}: board ${board.name} has the bridge feature off`);
  const v5Bridge = file === null ? undefined : file.bridges.find((b) => b.config.protocolLevel === 5);
  if (v5Bridge !== undefined && !f.mqtt5) return fail(`connection ${v5Bridge.config.name}: bridge_protocol_version mqttv50 needs MQTT 5.0, and board ${board.name} has the mqtt5 feature off`);
  if (file !== null && file.limits.retainAvailable === true && !f.retained) return fail(`retain_available true: board ${board.name} has the retained feature off`);
  // Session timers are MQTT 5.0's (Session Expiry Interval): without them nothing would expire.
  if (file !== null && file.limits.persistentClientExpiration !== undefined && !f.mqtt5) return fail(`persistent_client_expiration: board ${board.name} has the mqtt5 feature off, whose session timers it needs`);

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
