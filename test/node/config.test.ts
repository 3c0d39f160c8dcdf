import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { DEFAULT_LIMITS } from "../../src/limits";
import { LogLevel } from "../../src/platform";
import { FEATURE_NAMES, allFeatures } from "../../src/features";
import { validateProfile } from "../../src/config/profile";
import { boardNames, loadBoard } from "../../targets/node/boards";
import { ConfigFile, loadConfig, parseConfig } from "../../targets/node/config";

const dir = mkdtempSync(join(tmpdir(), "midge-config-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Parses lines as midge.conf in the temp dir; fails the test on a parse error. */
function parse(...lines: string[]): ConfigFile {
  const r = parseConfig(lines.join("\n"), "midge.conf", dir);
  if (!r.ok) throw new Error("unexpected parse error: " + r.error);
  return r.file;
}

/** The error message for lines (the test fails if they parse). */
function parseError(...lines: string[]): string {
  const r = parseConfig(lines.join("\n"), "midge.conf", dir);
  if (r.ok) throw new Error("expected a parse error for: " + lines.join(" | "));
  return r.error;
}

function writeFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("board profiles", () => {
  test("boards/host.json holds exactly DEFAULT_LIMITS", () => {
    const r = loadBoard("host", dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.board.name).toBe("host");
    expect(r.board.limits).toEqual(DEFAULT_LIMITS);
  });

  test("host.json names every Limits field (no field falls back silently)", () => {
    const json = JSON.parse(readFileSync(new URL("../../boards/host.json", import.meta.url), "utf8"));
    expect(Object.keys(json.limits).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
  });

  test("every profile in boards/ loads", () => {
    expect(boardNames()).toContain("host");
    for (const name of boardNames()) expect(loadBoard(name, dir)).toMatchObject({ ok: true });
  });

  test("a profile by path may leave limits out: they come from DEFAULT_LIMITS", () => {
    writeFile("tiny.json", JSON.stringify({ board: "tiny", limits: { maxConnections: 4, retainAvailable: false } }));
    const r = loadBoard("tiny.json", dir);
    expect(r).toMatchObject({ ok: true, board: { name: "tiny" } });
    if (!r.ok) return;
    expect(r.board.limits).toEqual({ ...DEFAULT_LIMITS, maxConnections: 4, retainAvailable: false });
  });

  test.each([
    ["not json", "{", "is not valid JSON"],
    ["no board name", JSON.stringify({ limits: {} }), '"board" must be a non-empty string'],
    ["no limits", JSON.stringify({ board: "x" }), '"limits" must be an object'],
    ["unknown limit", JSON.stringify({ board: "x", limits: { maxClients: 4 } }), 'unknown limit "maxClients"'],
    ["negative number", JSON.stringify({ board: "x", limits: { maxInflight: -1 } }), '"maxInflight" must be a whole number >= 0'],
    ["fraction", JSON.stringify({ board: "x", limits: { maxQueued: 1.5 } }), '"maxQueued" must be a whole number >= 0'],
    ["string for a boolean", JSON.stringify({ board: "x", limits: { retainAvailable: "no" } }), '"retainAvailable" must be true or false'],
  ])("a bad profile is refused: %s", (_name, text, message) => {
    const file = writeFile("bad.json", text);
    const r = loadBoard(file, "/");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });

  test("features: missing = all on; listed ones set; unknown names and non-booleans refused", () => {
    writeFile("feat.json", JSON.stringify({ board: "feat", limits: {}, features: { qos2: false, sys: true } }));
    const r = loadBoard("feat.json", dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.board.features).toEqual({ ...allFeatures(), qos2: false });
    const host = loadBoard("host", dir);
    // The host board leaves MQTT 5 off until the broker serves it (the codec has it already).
    expect(host.ok && host.board.features).toEqual(allFeatures());
    for (const name of FEATURE_NAMES) expect(typeof allFeatures()[name as keyof ReturnType<typeof allFeatures>]).toBe("boolean");
    writeFile("feat.json", JSON.stringify({ board: "feat", limits: {}, features: { turbo: true } }));
    expect(loadBoard("feat.json", dir)).toMatchObject({ ok: false, error: expect.stringContaining('unknown feature "turbo"') });
    writeFile("feat.json", JSON.stringify({ board: "feat", limits: {}, features: { will: "yes" } }));
    expect(loadBoard("feat.json", dir)).toMatchObject({ ok: false, error: expect.stringContaining('feature "will" must be true or false') });
  });

  test("a profile in boards/ must name every limit", () => {
    const json = JSON.parse(readFileSync(new URL("../../boards/host.json", import.meta.url), "utf8"));
    delete json.limits.maxQueued;
    expect(validateProfile(json, "host", true)).toMatchObject({ ok: false, error: expect.stringContaining('limit "maxQueued" missing') });
    expect(validateProfile(json, "host.json", false).ok).toBe(true);
  });

  test("a profile in boards/ must name every feature (the Espruino and Lua builds check them with the same validator)", () => {
    const json = JSON.parse(readFileSync(new URL("../../boards/esp32.json", import.meta.url), "utf8"));
    delete json.features.will;
    expect(validateProfile(json, "esp32", true)).toMatchObject({ ok: false, error: expect.stringContaining('feature "will" missing') });
    expect(validateProfile(json, "esp32.json", false).ok).toBe(true);
    delete json.features;
    expect(validateProfile(json, "esp32", true)).toMatchObject({ ok: false, error: expect.stringContaining('"features" must name every feature') });
  });

  test("an unknown board name lists the known ones", () => {
    const r = loadBoard("esp9000", dir);
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/^unknown board 'esp9000' \(known: .*host/) });
  });
});

describe("parseConfig", () => {
  test("an empty file sets nothing", () => {
    const f = parse("");
    expect(f).toMatchObject({ port: -1, host: "", board: null, limits: {}, logLevels: null, logDest: null, connectionMessages: true });
  });

  test("comments, blank lines, indentation, tabs and CRLF line ends", () => {
    const f = parse("# Midge test config", "", "   ", "  # indented comment", "\tport\t1884\r", "max_connections   7  ", "");
    expect(f.port).toBe(1884);
    expect(f.limits).toEqual({ maxConnections: 7 });
  });

  test("listener PORT and listener PORT ADDRESS", () => {
    expect(parse("listener 1885")).toMatchObject({ port: 1885, host: "" });
    expect(parse("listener 0 127.0.0.1")).toMatchObject({ port: 0, host: "127.0.0.1" });
  });

  test("port and bind_address (the deprecated pair)", () => {
    expect(parse("port 1886", "bind_address ::1")).toMatchObject({ port: 1886, host: "::1" });
  });

  test("max_connections: a number, or -1 for the board's table size", () => {
    expect(parse("max_connections 12").limits).toEqual({ maxConnections: 12 });
    expect(parse("max_connections -1").limits).toEqual({});
  });

  test("max_inflight_messages, max_queued_messages, max_packet_size: 0 keeps the board's value", () => {
    expect(parse("max_inflight_messages 1", "max_queued_messages 50", "max_packet_size 4096").limits).toEqual({
      maxInflight: 1,
      maxQueued: 50,
      maxPacketSize: 4096,
    });
    expect(parse("max_inflight_messages 0", "max_queued_messages 0", "max_packet_size 0").limits).toEqual({});
  });

  test("message_size_limit, 0 included (no limit)", () => {
    expect(parse("message_size_limit 1000").limits).toEqual({ messageSizeLimit: 1000 });
    expect(parse("message_size_limit 0").limits).toEqual({ messageSizeLimit: 0 });
  });

  test("retain_available and connection_messages take true / false", () => {
    expect(parse("retain_available false").limits).toEqual({ retainAvailable: false });
    expect(parse("retain_available true").limits).toEqual({ retainAvailable: true });
    expect(parse("connection_messages false").connectionMessages).toBe(false);
  });

  test("max_keepalive, max_topic_alias and persistent_client_expiration (mosquitto's forms) set their limits", () => {
    expect(parse("max_keepalive 120", "max_topic_alias 0").limits).toEqual({ maxKeepAlive: 120, maxTopicAlias: 0 });
    expect(parse("persistent_client_expiration 2d").limits).toEqual({ persistentClientExpiration: 172800 });
    expect(parse("persistent_client_expiration 1h").limits).toEqual({ persistentClientExpiration: 3600 });
    expect(parse("persistent_client_expiration 3w").limits).toEqual({ persistentClientExpiration: 1814400 });
    expect(parse("persistent_client_expiration 1y").limits).toEqual({ persistentClientExpiration: 31536000 });
  });

  test("persistent_client_expiration on a board without mqtt5 is refused (its session timers are MQTT 5.0's)", () => {
    writeFile("nov5.json", JSON.stringify({ board: "nov5", limits: {}, features: { mqtt5: false } }));
    const file = writeFile("pce.conf", "persistent_client_expiration 1d\nboard ./nov5.json\n");
    const r = loadConfig({ config: file }, dir);
    expect(r).toMatchObject({ ok: false, error: expect.stringContaining("persistent_client_expiration: board nov5 has the mqtt5 feature off") });
  });

  test("the last value of a repeated option wins", () => {
    expect(parse("max_queued_messages 5", "max_queued_messages 6").limits).toEqual({ maxQueued: 6 });
  });

  test("board by name, and by a path relative to the config file's directory", () => {
    expect(parse("board host").board?.name).toBe("host");
    writeFile("small.json", JSON.stringify({ board: "small", limits: { maxSessions: 3 } }));
    const f = parse("board ./small.json");
    expect(f.board?.name).toBe("small");
    expect(f.board?.limits.maxSessions).toBe(3);
  });

  test("log_type lines add up; all and none set everything", () => {
    expect(parse("log_type error", "log_type debug").logLevels).toEqual([true, false, false, false, true]);
    expect(parse("log_type all").logLevels).toEqual([true, true, true, true, true]);
    expect(parse("log_type all", "log_type none").logLevels).toEqual([false, false, false, false, false]);
    expect(parse("log_type warning", "log_type notice", "log_type information").logLevels).toEqual([false, true, true, true, false]);
  });

  test("log_type subscribe is accepted with a warning (no such messages in Midge)", () => {
    const f = parse("", "log_type subscribe");
    expect(f.warnings).toEqual(["midge.conf:2: log_type 'subscribe' has no messages in Midge; ignored"]);
  });

  test("log_dest lines add up; none turns output off", () => {
    expect(parse("log_dest stdout").logDest).toEqual({ stdout: true, stderr: false });
    expect(parse("log_dest stdout", "log_dest stderr").logDest).toEqual({ stdout: true, stderr: true });
    expect(parse("log_dest stderr", "log_dest none").logDest).toEqual({ stdout: false, stderr: false });
  });

  // Every error names the file and the line of the offending option.
  test.each([
    [["", "# c", "frobnicate 3"], "midge.conf:3: unknown option 'frobnicate'"],
    [["max_qos 1"], "midge.conf:1: option 'max_qos' is not supported by Midge"],
    [["max_keepalive 5"], "midge.conf:1: 'max_keepalive' must be between 10 and 65535, got 5"],
    [["max_topic_alias 70000"], "midge.conf:1: 'max_topic_alias' must be between 0 and 65535, got 70000"],
    [["persistent_client_expiration 5"], "midge.conf:1: 'persistent_client_expiration' must be a whole number and a unit (h, d, w, m or y), got '5'"],
    [["persistent_client_expiration 2x"], "midge.conf:1: 'persistent_client_expiration' must be a whole number and a unit (h, d, w, m or y), got '2x'"],
    [["persistent_client_expiration 0d"], "midge.conf:1: 'persistent_client_expiration' must be at least 1d and at most 136y, got '0d'"],
    [["persistence maybe"], "midge.conf:1: 'persistence' must be true or false, got 'maybe'"],
    [["persistence_mode fast"], "midge.conf:1: 'persistence_mode' must be durable or relaxed, got 'fast'"],
    [["persistence_file a/b.db"], "midge.conf:1: 'persistence_file' is a file name; put the directory in persistence_location"],
    [["autosave_interval 0"], "midge.conf:1: 'autosave_interval' must be between 1 and 86400, got 0"],
    [["sys_interval -1"], "midge.conf:1: 'sys_interval' must be between 0 and 86400, got -1"],
    [["password_file /nonexistent/pw"], "midge.conf:1: cannot read password_file /nonexistent/pw: ENOENT"],
    [["allow_anonymous yes"], "midge.conf:1: 'allow_anonymous' must be true or false, got 'yes'"],
    [["Port 1883"], "midge.conf:1: unknown option 'Port'"],
    [["port"], "midge.conf:1: 'port' needs a value"],
    [["", "listener"], "midge.conf:2: 'listener' needs a value"],
    [["port 1883 1884"], "midge.conf:1: 'port' takes one value, got 2"],
    [["listener 1883 127.0.0.1 extra"], "midge.conf:1: 'listener' takes at most 2 values, got 3"],
    [["port 1883 # the default"], "midge.conf:1: 'port': a comment must be on a line of its own"],
    [["port abc"], "midge.conf:1: 'port' must be a whole number, got 'abc'"],
    [["port 1883.5"], "midge.conf:1: 'port' must be a whole number, got '1883.5'"],
    [["port 65536"], "midge.conf:1: 'port' must be between 0 and 65535, got 65536"],
    [["port -1"], "midge.conf:1: 'port' must be between 0 and 65535, got -1"],
    [["listener 99999"], "midge.conf:1: 'listener' must be between 0 and 65535, got 99999"],
    [["max_connections 0"], "midge.conf:1: 'max_connections' must be -1 (the board's table size) or at least 1"],
    [["max_connections -2"], "midge.conf:1: 'max_connections' must be at least -1, got -2"],
    [["max_connections 99999999999999999999"], "midge.conf:1: 'max_connections' must be at least -1, got 99999999999999999999"],
    [["max_inflight_messages 65536"], "midge.conf:1: 'max_inflight_messages' must be between 0 and 65535, got 65536"],
    [["max_queued_messages -1"], "midge.conf:1: 'max_queued_messages' must be at least 0, got -1"],
    [["message_size_limit 268435456"], "midge.conf:1: 'message_size_limit' must be between 0 and 268435455, got 268435456"],
    [["max_packet_size 10"], "midge.conf:1: 'max_packet_size' must be 0 (the board's limit) or at least 20, got 10"],
    [["max_packet_size 268435461"], "midge.conf:1: 'max_packet_size' must be between 0 and 268435460, got 268435461"],
    [["retain_available yes"], "midge.conf:1: 'retain_available' must be true or false, got 'yes'"],
    [["connection_messages 1"], "midge.conf:1: 'connection_messages' must be true or false, got '1'"],
    [["log_dest file"], "midge.conf:1: log_dest 'file' is not supported (use stdout, stderr or none)"],
    [["log_dest syslog"], "midge.conf:1: log_dest 'syslog' is not supported (use stdout, stderr or none)"],
    [["log_type verbose"], "midge.conf:1: unknown log_type 'verbose' (use error, warning, notice, information, debug, all or none)"],
    [["board Host"], "midge.conf:1: invalid board name 'Host'"],
    [["listener 1883", "listener 1883"], "midge.conf:2: 'listener' 1883 repeats the listener on line 1"],
    [["port 1883", "", "listener 1884"], "midge.conf:3: 'listener' and 'port'/'bind_address' (line 1) both set the listener; keep one"],
    [["listener 1884", "bind_address 127.0.0.1"], "midge.conf:2: 'listener' (line 1) and 'bind_address' both set the listener; keep one"],
  ])("%j is refused", (lines, message) => {
    expect(parseError(...lines)).toBe(message);
  });

  test("board errors carry the line number", () => {
    expect(parseError("", "board nosuchboard")).toMatch(/^midge\.conf:2: unknown board 'nosuchboard' \(known: /);
    expect(parseError("board ./missing.json")).toMatch(/^midge\.conf:1: cannot read board profile .*missing\.json/);
    writeFile("broken.json", JSON.stringify({ board: "b", limits: { maxPacketSize: "big" } }));
    expect(parseError("# x", "board broken.json")).toMatch(/^midge\.conf:2: board profile .*broken\.json: "maxPacketSize" must be a whole number >= 0$/);
  });
});

describe("loadConfig", () => {
  test("no config file: port 1883 on 0.0.0.0, the host board, mosquitto's default log set on stderr", () => {
    const r = loadConfig({}, dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({ port: 1883, host: "0.0.0.0", configFile: "", warnings: [] });
    expect(r.config.board.name).toBe("host");
    expect(r.config.limits).toEqual(DEFAULT_LIMITS);
    expect(r.config.log).toEqual({ levels: [true, true, true, true, false], stdout: false, stderr: true, connectionMessages: true });
  });

  test("the config file's limits are laid over its board's", () => {
    writeFile("b4.json", JSON.stringify({ board: "b4", limits: { maxConnections: 4, maxInflight: 2 } }));
    const file = writeFile("a.conf", "board b4.json\nmax_inflight_messages 3\nlistener 1999 127.0.0.1\nlog_type error\nlog_dest stdout\n");
    const r = loadConfig({ config: file }, "/");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({ port: 1999, host: "127.0.0.1", configFile: file });
    expect(r.config.limits).toEqual({ ...DEFAULT_LIMITS, maxConnections: 4, maxInflight: 3 });
    expect(r.config.log).toMatchObject({ levels: [true, false, false, false, false], stdout: true, stderr: false });
  });

  test("command-line flags win over the file; --verbose turns every level on", () => {
    writeFile("b2.json", JSON.stringify({ board: "b2", limits: { maxSessions: 2 } }));
    const file = writeFile("b.conf", "listener 1999 127.0.0.1\nboard host\nlog_type none\n");
    const r = loadConfig({ config: file, port: 0, host: "::1", board: "b2.json", verbose: true }, dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({ port: 0, host: "::1" });
    expect(r.config.board.name).toBe("b2");
    expect(r.config.limits.maxSessions).toBe(2);
    expect(r.config.log.levels).toEqual([true, true, true, true, true]);
  });

  test("connection_messages false reaches the log options", () => {
    const file = writeFile("c.conf", "connection_messages false\n");
    const r = loadConfig({ config: file }, dir);
    expect(r.ok && r.config.log.connectionMessages).toBe(false);
    expect(r.ok && r.config.log.levels[LogLevel.INFO]).toBe(true);
  });

  test("a missing config file is an error", () => {
    expect(loadConfig({ config: "nope.conf" }, dir)).toEqual({ ok: false, error: "cannot read config file nope.conf: ENOENT" });
  });

  test("a parse error names the file as given on the command line", () => {
    writeFile("bad.conf", "port 1883\nbogus 1\n");
    expect(loadConfig({ config: "bad.conf" }, dir)).toEqual({ ok: false, error: "bad.conf:2: unknown option 'bogus'" });
  });

  test("an unknown --board is an error", () => {
    const r = loadConfig({ board: "nosuchboard" }, dir);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^--board: unknown board 'nosuchboard'/);
  });
});

describe("security, persistence and $SYS options", () => {
  test("are read into their sections, with defaults when absent", () => {
    const r = parseConfig("allow_anonymous false\npersistence true\npersistence_location data\npersistence_file m.db\npersistence_mode relaxed\nautosave_interval 5\nsys_interval 0\n", "midge.conf", "/etc/midge");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.file.security).toEqual({ allowAnonymous: false, passwordFile: "", aclFile: "" });
    expect(r.file.persistence).toEqual({ enabled: true, location: "/etc/midge/data", file: "m.db", mode: "relaxed", autosaveInterval: 5 });
    expect(r.file.sysInterval).toBe(0);
    const d = parseConfig("", "midge.conf", "/");
    expect(d.ok && d.file.persistence).toEqual({ enabled: false, location: "", file: "midge.db", mode: "durable", autosaveInterval: 1 });
    expect(d.ok && d.file.sysInterval).toBe(10);
  });
});
