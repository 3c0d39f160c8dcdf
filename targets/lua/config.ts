/**
 * Configuration of the Lua target: command-line flags, then the shared mosquitto.conf parser
 * (src/config/parse.ts) with what the Lua build lacks refused honestly (one listener, no TLS,
 * WebSockets, authentication, persistence or bridges), and board profiles: the ones of
 * boards/ baked in at build time (bakedBoards.d.ts), a profile given by path read with a small
 * JSON reader; both validated by src/config/profile.ts.
 */
import { ParseState, ParseTarget, TargetOption, applyCoreOption, isWholeNumber, parseConfigText, DEFAULT_SYS_INTERVAL, ParsedConfig } from "../../src/config/parse";
import { Profile, ProfileResult, defaultProfile, isBoardName, isBoardPath, validateProfile } from "../../src/config/profile";
import { Limits, mergeLimits } from "../../src/limits";
import { BAKED_BOARDS } from "./bakedBoards";
import { jsonPlain, parseJson } from "./json";

declare function tonumber(this: void, text: string): number | undefined;

export const DEFAULT_PORT = 1883;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_BOARD = "host";
export { DEFAULT_SYS_INTERVAL };

export type Board = Profile;
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

function dirOf(path: string): string {
  for (let i = path.length - 1; i >= 0; i--) if (path.charCodeAt(i) === 47) return i === 0 ? "/" : path.substring(0, i);
  return ".";
}

function joinPath(dir: string, ref: string): string {
  if (ref.charCodeAt(0) === 47 || dir === "") return ref;
  return dir + "/" + ref;
}

/** Names of the baked profiles, sorted. */
export function boardNames(): string[] {
  const out: string[] = [];
  for (let i = 0; i < BAKED_BOARDS.length; i++) out.push(BAKED_BOARDS[i].name);
  return out;
}

function boardFailed(error: string): ProfileResult {
  return { ok: false, profile: defaultProfile(""), error: error };
}

/**
 * A board by name (one of the baked boards/ profiles) or by path (contains '/' or ends in
 * .json, relative to baseDir): the same references and messages as the Node target.
 */
export function loadBoard(ref: string, baseDir: string, files: FileReader): ProfileResult {
  if (!isBoardPath(ref)) {
    if (!isBoardName(ref)) return boardFailed("invalid board name '" + ref + "'");
    for (let i = 0; i < BAKED_BOARDS.length; i++) {
      if (BAKED_BOARDS[i].name === ref) return validateProfile(BAKED_BOARDS[i].profile, ref, true);
    }
    return boardFailed("unknown board '" + ref + "' (known: " + boardNames().join(", ") + ")");
  }
  const file = joinPath(baseDir, ref);
  const r = files.read(file);
  if (!r.ok) return boardFailed("cannot read board profile " + file + ": " + r.error);
  const parsed = parseJson(r.text);
  if (!parsed.ok) return boardFailed("board profile " + file + " is not valid JSON: " + parsed.error);
  return validateProfile(jsonPlain(parsed.value), file, false);
}

/** Options the Lua build narrows: the values that need what it lacks are refused. */
function luaOptions(target: ParseTarget<number>): TargetOption<number>[] {
  const refuse = (value: string, lacking: string) => (s: ParseState, _c: number, option: string, args: string[]): string => {
    if (args[0] === value) return "'" + option + " " + value + "': " + lacking + " not available on " + target.label;
    return applyCoreOption(s, target, option, args);
  };
  return [
    { name: "allow_anonymous", min: 1, max: 1, apply: refuse("false", "authentication is") },
    { name: "persistence", min: 1, max: 1, apply: refuse("true", "persistence is") },
    { name: "protocol", min: 1, max: 1, apply: refuse("websockets", "WebSockets are") },
  ];
}

/** The Lua target's parser setup: one listener, boards baked in or read by path. */
export function luaParseTarget(files: FileReader): ParseTarget<number> {
  const target: ParseTarget<number> = {
    id: "lua",
    label: "the Lua target",
    options: [],
    ctx: 0,
    maxListeners: 1,
    loadBoard: (ref: string, baseDir: string): ProfileResult => loadBoard(ref, baseDir, files),
  };
  target.options = luaOptions(target);
  return target;
}

/** Defaults, then the config file, then command-line flags (flags win), as in the Node target. */
export function loadConfig(cli: CliOptions, files: FileReader): Outcome<Config> {
  const log = defaultLogOptions();
  const placeholder: Config = {
    sysInterval: DEFAULT_SYS_INTERVAL,
    port: DEFAULT_PORT,
    host: DEFAULT_HOST,
    board: defaultProfile(DEFAULT_BOARD),
    limits: defaultProfile(DEFAULT_BOARD).limits,
    log: log,
    configFile: "",
    warnings: [],
  };
  let file: ParsedConfig | undefined = undefined;
  if (cli.config !== "") {
    const r = files.read(cli.config);
    if (!r.ok) return failed("cannot read config file " + cli.config + ": " + r.error, placeholder);
    const parsed = parseConfigText(r.text, cli.config, dirOf(cli.config), luaParseTarget(files));
    if (!parsed.ok) return failed(parsed.error, placeholder);
    file = parsed.config;
  }
  let board: Board;
  if (cli.board !== "") {
    const r = loadBoard(cli.board, ".", files);
    if (!r.ok) return failed("--board: " + r.error, placeholder);
    board = r.profile;
  } else if (file !== undefined && file.boardSet) {
    board = file.board;
  } else {
    const r = loadBoard(DEFAULT_BOARD, ".", files);
    if (!r.ok) return failed(r.error, placeholder);
    board = r.profile;
  }
  if (file !== undefined) {
    if (file.logLevelsSet) log.levels = file.logLevels;
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
  const limits: Partial<Limits> = file === undefined ? {} : file.limits;
  return {
    ok: true,
    value: {
      sysInterval: file !== undefined ? file.sysInterval : DEFAULT_SYS_INTERVAL,
      port: port,
      host: host,
      board: board,
      limits: mergeLimits(board.limits, limits),
      log: log,
      configFile: cli.config,
      warnings: file === undefined ? [] : file.warnings,
    },
    error: "",
  };
}
