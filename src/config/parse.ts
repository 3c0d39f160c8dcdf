/**
 * The mosquitto.conf parser of every target: one "option value..." per line, values separated
 * by spaces or tabs, '#' starting a comment line, blank lines ignored, CRLF accepted. Errors come
 * back as "file:line: message" in ParseResult.error (no exceptions); notes on accepted lines
 * that do nothing go to warnings.
 *
 * The core applies the options marked core in options.ts. A target passes a ParseTarget: its
 * own option handlers (consulted first, so a target may also narrow a core option, as the Lua
 * target does for `allow_anonymous false`), a context object those handlers write to, the
 * number of listeners it can open and the way it loads a board profile. Portable: no regular
 * expressions, no exceptions, no Map/Set.
 */
import { LogLevel } from "../platform";
import { Limits } from "../limits";
import { MOSQUITTO_ONLY, OptionInfo, optionInfo, optionOn } from "./options";
import { MAX_SAFE, Profile, ProfileResult, defaultProfile } from "./profile";

/** Largest Remaining Length (268,435,455) plus the biggest fixed header (5 bytes). */
export const MAX_PACKET_SIZE = 268435460;
/** mosquitto rejects max_packet_size below 20. */
export const MIN_PACKET_SIZE = 20;
export const MAX_MESSAGE_SIZE = 268435455;
/** $SYS updates every 10 s unless sys_interval says otherwise (mosquitto's default). */
export const DEFAULT_SYS_INTERVAL = 10;

/** One listener: a `listener` line, or the default listener (port / bind_address / per-listener options before any `listener`). */
export interface ListenerSpec {
  /** -1 = not set. */
  port: number;
  /** "" = not set. */
  host: string;
  /** "mqtt" or "websockets". */
  protocol: string;
  /** Line that opened the listener (0 = none). */
  line: number;
  /** Per-listener option name → line it was last set on. */
  optionLines: { [option: string]: number };
}

/** What a configuration file says; unset values keep their sentinel. */
export interface ParsedConfig {
  /** The first listener's port (-1 = not set) and address ("" = not set). */
  port: number;
  host: string;
  /** Every listener, in file order. */
  listeners: ListenerSpec[];
  /** The `board` option's profile; boardSet false = no `board` line. */
  board: Profile;
  boardSet: boolean;
  /** Limits set by options, laid over the board's. */
  limits: Partial<Limits>;
  /** Indexed by LogLevel; logLevelsSet false = no log_type line. */
  logLevels: boolean[];
  logLevelsSet: boolean;
  /** logDestSet false = no log_dest line (stderr). */
  logStdout: boolean;
  logStderr: boolean;
  logDestSet: boolean;
  connectionMessages: boolean;
  allowAnonymous: boolean;
  persistence: boolean;
  /** Seconds between $SYS updates; 0 = none. */
  sysInterval: number;
  /** "file:line: message" for accepted lines that do nothing in Midge. */
  warnings: string[];
}

/** The parser's position, passed to every option handler. */
export interface ParseState {
  config: ParsedConfig;
  fileName: string;
  /** The file's directory: relative paths resolve against it. */
  baseDir: string;
  /** The line being parsed (1-based). */
  line: number;
  /** Line of the first `listener` option, and of a `port` / `bind_address` option (0 = none). */
  listenerLine: number;
  portLine: number;
  /** First per-listener option before any `listener` line, and its line (0 = none). */
  defaultOption: string;
  defaultOptionLine: number;
  /** Index in config.listeners of the listener a per-listener option applies to (-1 outside one). */
  listener: number;
}

/** A target's option: returns "" or the message (without "file:line: "). */
export interface TargetOption<T> {
  name: string;
  min: number;
  max: number;
  apply: (this: void, s: ParseState, ctx: T, option: string, args: string[]) => string;
}

export interface ParseTarget<T> {
  /** "node" or "lua": the column of options.ts. */
  id: string;
  /** In messages: "the Lua target". */
  label: string;
  options: TargetOption<T>[];
  ctx: T;
  /** Listeners the target can open; 0 = any number. */
  maxListeners: number;
  /** Loads a board by name or path (relative to baseDir); the error is the whole message. */
  loadBoard: (this: void, ref: string, baseDir: string) => ProfileResult;
}

export interface ParseResult {
  ok: boolean;
  config: ParsedConfig;
  error: string;
}

export function newParsedConfig(): ParsedConfig {
  return {
    port: -1,
    host: "",
    listeners: [],
    board: defaultProfile(""),
    boardSet: false,
    limits: {},
    logLevels: [false, false, false, false, false],
    logLevelsSet: false,
    logStdout: false,
    logStderr: false,
    logDestSet: false,
    connectionMessages: true,
    allowAnonymous: true,
    persistence: false,
    sysInterval: DEFAULT_SYS_INTERVAL,
    warnings: [],
  };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** Splits a line on spaces and tabs (and a CR), dropping empty words. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const space = i === line.length || isSpace(line.charCodeAt(i));
    if (space) {
      if (start >= 0) out.push(line.substring(start, i));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  return out;
}

/** True when text is an optional '-' then digits only. */
export function isWholeNumber(text: string): boolean {
  const start = text.charCodeAt(0) === 45 ? 1 : 0;
  if (text.length <= start) return false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Parses a whole number in min..max into out[0]; returns "" or the message. max MAX_SAFE reads "at least min". */
export function intValue(option: string, text: string, min: number, max: number, out: number[]): string {
  if (!isWholeNumber(text)) return "'" + option + "' must be a whole number, got '" + text + "'";
  const n = Number(text);
  if (!(n >= -MAX_SAFE && n <= MAX_SAFE) || n < min || n > max) {
    const range = max === MAX_SAFE ? "at least " + min : "between " + min + " and " + max;
    return "'" + option + "' must be " + range + ", got " + text;
  }
  out[0] = Math.floor(n);
  return "";
}

/** Parses true / false into out[0]; returns "" or the message. */
export function boolValue(option: string, text: string, out: boolean[]): string {
  if (text === "true") out[0] = true;
  else if (text === "false") out[0] = false;
  else return "'" + option + "' must be true or false, got '" + text + "'";
  return "";
}

function newListener(port: number, host: string, line: number): ListenerSpec {
  return { port: port, host: host, protocol: "mqtt", line: line, optionLines: {} };
}

/** The listener options before any `listener` line apply to, created on first use. */
function defaultListener(s: ParseState): ListenerSpec {
  if (s.config.listeners.length === 0) s.config.listeners.push(newListener(-1, "", s.line));
  return s.config.listeners[0];
}

function applyListener(s: ParseState, option: string, args: string[], maxListeners: number, label: string): string {
  const c = s.config;
  if (s.portLine > 0) return "'listener' and 'port'/'bind_address' (line " + s.portLine + ") both set the listener; keep one";
  if (s.defaultOptionLine > 0) {
    return "'" + s.defaultOption + "' (line " + s.defaultOptionLine + ") comes before any 'listener' line; put it after the 'listener' it belongs to";
  }
  if (maxListeners > 0 && c.listeners.length >= maxListeners) {
    return "'listener': " + label + " has " + (maxListeners === 1 ? "one listener" : maxListeners + " listeners") + " (the first is on line " + s.listenerLine + ")";
  }
  const n: number[] = [0];
  const error = intValue(option, args[0], 0, 65535, n);
  if (error !== "") return error;
  const port = n[0];
  const host = args.length > 1 ? args[1] : "";
  for (let i = 0; i < c.listeners.length; i++) {
    const l = c.listeners[i];
    if (port !== 0 && l.port === port && l.host === host) return "'listener' " + args.join(" ") + " repeats the listener on line " + l.line;
  }
  if (s.listenerLine === 0) {
    s.listenerLine = s.line;
    c.port = port;
    c.host = host;
  }
  c.listeners.push(newListener(port, host, s.line));
  return "";
}

function applyLogType(s: ParseState, option: string, value: string): string {
  const c = s.config;
  if (!c.logLevelsSet) {
    c.logLevelsSet = true;
    for (let i = 0; i < c.logLevels.length; i++) c.logLevels[i] = false;
  }
  const levels = c.logLevels;
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
      c.warnings.push(s.fileName + ":" + s.line + ": " + option + " '" + value + "' has no messages in Midge; ignored");
      return "";
  }
  return "unknown " + option + " '" + value + "' (use error, warning, notice, information, debug, all or none)";
}

/** log_dest lines add up; "none" turns output off. Files, syslog and topics are not supported. */
function applyLogDest(s: ParseState, option: string, value: string): string {
  const c = s.config;
  c.logDestSet = true;
  switch (value) {
    case "stdout": c.logStdout = true; return "";
    case "stderr": c.logStderr = true; return "";
    case "none": c.logStdout = false; c.logStderr = false; return "";
  }
  return option + " '" + value + "' is not supported (use stdout, stderr or none)";
}

/** The core options (options.ts, core true). Returns "" or the message. */
function applyCore<T>(s: ParseState, target: ParseTarget<T>, option: string, args: string[]): string {
  const c = s.config;
  const n: number[] = [0];
  const v: boolean[] = [false];
  let error = "";
  switch (option) {
    case "listener":
      return applyListener(s, option, args, target.maxListeners, target.label);
    case "port":
    case "bind_address":
      if (s.listenerLine > 0) return "'listener' (line " + s.listenerLine + ") and '" + option + "' both set the listener; keep one";
      s.portLine = s.line;
      if (option === "bind_address") {
        c.host = args[0];
        defaultListener(s).host = args[0];
        return "";
      }
      error = intValue(option, args[0], 0, 65535, n);
      if (error !== "") return error;
      c.port = n[0];
      defaultListener(s).port = n[0];
      return "";
    case "protocol":
      if (args[0] !== "mqtt" && args[0] !== "websockets") return "'" + option + "' must be mqtt or websockets, got '" + args[0] + "'";
      c.listeners[s.listener].protocol = args[0];
      return "";
    case "max_connections":
      error = intValue(option, args[0], -1, MAX_SAFE, n);
      if (error !== "") return error;
      if (n[0] === 0) return "'" + option + "' must be -1 (the board's table size) or at least 1";
      if (n[0] > 0) c.limits.maxConnections = n[0];
      return "";
    case "max_inflight_messages":
      // 65535 packet ids exist; mosquitto's 0 ("no limit") means the board's table size here.
      error = intValue(option, args[0], 0, 65535, n);
      if (error === "" && n[0] > 0) c.limits.maxInflight = n[0];
      return error;
    case "max_queued_messages":
      error = intValue(option, args[0], 0, MAX_SAFE, n);
      if (error === "" && n[0] > 0) c.limits.maxQueued = n[0];
      return error;
    case "message_size_limit":
      error = intValue(option, args[0], 0, MAX_MESSAGE_SIZE, n);
      if (error === "") c.limits.messageSizeLimit = n[0];
      return error;
    case "max_packet_size":
      error = intValue(option, args[0], 0, MAX_PACKET_SIZE, n);
      if (error !== "") return error;
      if (n[0] > 0 && n[0] < MIN_PACKET_SIZE) return "'" + option + "' must be 0 (the board's limit) or at least " + MIN_PACKET_SIZE + ", got " + n[0];
      if (n[0] > 0) c.limits.maxPacketSize = n[0];
      return "";
    case "max_keepalive":
      // mosquitto's range: 10..65535 seconds.
      error = intValue(option, args[0], 10, 65535, n);
      if (error === "") c.limits.maxKeepAlive = n[0];
      return error;
    case "max_topic_alias":
      error = intValue(option, args[0], 0, 65535, n);
      if (error === "") c.limits.maxTopicAlias = n[0];
      return error;
    case "persistent_client_expiration": {
      // mosquitto's form: a whole number and a unit, h d w m y (a month is 30 days, a year 365).
      const text = args[0];
      const unit = text.length > 1 ? text.charAt(text.length - 1) : "";
      const per = unit === "h" ? 3600 : unit === "d" ? 86400 : unit === "w" ? 604800 : unit === "m" ? 2592000 : unit === "y" ? 31536000 : 0;
      if (per === 0 || !isWholeNumber(text.substring(0, text.length - 1))) return "'" + option + "' must be a whole number and a unit (h, d, w, m or y), got '" + text + "'";
      const count = Number(text.substring(0, text.length - 1));
      if (!(count >= 1 && count * per <= 4294967295)) return "'" + option + "' must be at least 1" + unit + " and at most 136y, got '" + text + "'";
      c.limits.persistentClientExpiration = count * per;
      return "";
    }
    case "retain_available":
      error = boolValue(option, args[0], v);
      if (error === "") c.limits.retainAvailable = v[0];
      return error;
    case "connection_messages":
      error = boolValue(option, args[0], v);
      if (error === "") c.connectionMessages = v[0];
      return error;
    case "allow_anonymous":
      error = boolValue(option, args[0], v);
      if (error === "") c.allowAnonymous = v[0];
      return error;
    case "persistence":
      error = boolValue(option, args[0], v);
      if (error === "") c.persistence = v[0];
      return error;
    case "sys_interval":
      error = intValue(option, args[0], 0, 86400, n);
      if (error === "") c.sysInterval = n[0];
      return error;
    case "board": {
      const r = target.loadBoard(args[0], s.baseDir);
      if (!r.ok) return r.error;
      c.board = r.profile;
      c.boardSet = true;
      return "";
    }
    case "log_type":
      return applyLogType(s, option, args[0]);
    case "log_dest":
      return applyLogDest(s, option, args[0]);
  }
  return "option '" + option + "' has no handler on " + target.label;
}

function findTargetOption<T>(target: ParseTarget<T>, name: string): TargetOption<T> | undefined {
  for (let i = 0; i < target.options.length; i++) if (target.options[i].name === name) return target.options[i];
  return undefined;
}

function fail(config: ParsedConfig, error: string): ParseResult {
  return { ok: false, config: config, error: error };
}

/**
 * Parses a configuration text. `fileName` appears in messages; relative paths (board
 * profiles, files of target options) resolve against `baseDir`.
 */
export function parseConfigText<T>(text: string, fileName: string, baseDir: string, target: ParseTarget<T>): ParseResult {
  const config = newParsedConfig();
  const s: ParseState = {
    config: config,
    fileName: fileName,
    baseDir: baseDir,
    line: 0,
    listenerLine: 0,
    portLine: 0,
    defaultOption: "",
    defaultOptionLine: 0,
    listener: -1,
  };
  let lineStart = 0;
  let lineNo = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const words = splitWords(text.substring(lineStart, lineEnd));
    lineStart = lineEnd + 1;
    lineNo++;
    if (words.length === 0 || words[0].charCodeAt(0) === 35) continue;
    s.line = lineNo;
    const where = fileName + ":" + lineNo + ": ";
    const option = words[0];
    const args = words.slice(1);
    const own = findTargetOption(target, option);
    const info: OptionInfo | undefined = optionInfo(option);
    let min = 0;
    let max = 0;
    if (own !== undefined) {
      min = own.min;
      max = own.max;
    } else if (info !== undefined && optionOn(info, target.id)) {
      min = info.min;
      max = info.max;
    } else if (info !== undefined) {
      return fail(config, where + "option '" + option + "': " + info.lacking + " not available on " + target.label);
    } else if (MOSQUITTO_ONLY.indexOf(option) >= 0) {
      return fail(config, where + "option '" + option + "' is not supported by Midge");
    } else {
      return fail(config, where + "unknown option '" + option + "'");
    }
    // A '#' word where a value is required is reported by the option as a bad value.
    let comment = -1;
    for (let i = 0; i < args.length && comment < 0; i++) if (args[i].charCodeAt(0) === 35) comment = i;
    if (comment >= 0 && comment >= min) return fail(config, where + "'" + option + "': a comment must be on a line of its own");
    if (args.length < min) return fail(config, where + "'" + option + "' needs a value");
    if (args.length > max) {
      return fail(config, where + "'" + option + "' takes " + (max === 1 ? "one value" : "at most " + max + " values") + ", got " + args.length);
    }
    s.listener = -1;
    if (info !== undefined && info.perListener) {
      if (s.listenerLine === 0 && s.defaultOptionLine === 0) {
        s.defaultOption = option;
        s.defaultOptionLine = s.line;
      }
      if (s.listenerLine === 0) defaultListener(s);
      s.listener = config.listeners.length - 1;
      config.listeners[s.listener].optionLines[option] = s.line;
    }
    const error = own !== undefined ? own.apply(s, target.ctx, option, args) : applyCore(s, target, option, args);
    if (error !== "") return fail(config, where + error);
  }
  return { ok: true, config: config, error: "" };
}

/** The core's handler for an option a target narrows (e.g. to refuse one value, then defer). */
export function applyCoreOption<T>(s: ParseState, target: ParseTarget<T>, option: string, args: string[]): string {
  return applyCore(s, target, option, args);
}
