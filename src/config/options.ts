/**
 * Every mosquitto.conf option Midge knows, with the targets that implement it. The core parser
 * (parse.ts) handles the options marked "core"; a target registers handlers for its own
 * options (targets/node/config.ts: TLS, WebSockets, password files, persistence files,
 * bridges) and the parser refuses an option of another target with an honest message.
 * Tests take their option lists from here (optionNames).
 */

/** Where an option is handled: by the core parser for every target, or by the targets listed. */
export interface OptionInfo {
  name: string;
  /** "int", "bool", "string", "path", "enum" or "list": the value's shape, for documentation and tests. */
  type: string;
  /** Number of values on the line: min..max. */
  min: number;
  max: number;
  /** The value when the option is absent, as text ("" = none). */
  def: string;
  /** Targets that accept the option, comma-separated ("node,lua"). */
  targets: string;
  /** True when the core parser applies it; false when the targets listed register a handler. */
  core: boolean;
  /** Applies to the current listener (the default one before any `listener` line). */
  perListener: boolean;
  /** What a target that lacks the option cannot do ("TLS is"): "option 'x': TLS is not available on the Lua target". */
  lacking: string;
}

function opt(name: string, type: string, min: number, max: number, def: string, targets: string, core: boolean, perListener: boolean, lacking: string): OptionInfo {
  return { name: name, type: type, min: min, max: max, def: def, targets: targets, core: core, perListener: perListener, lacking: lacking };
}

export const CONFIG_OPTIONS: OptionInfo[] = [
  opt("listener", "list", 1, 2, "1883", "node,lua", true, false, ""),
  opt("port", "int", 1, 1, "1883", "node,lua", true, false, ""),
  opt("bind_address", "string", 1, 1, "0.0.0.0", "node,lua", true, false, ""),
  opt("protocol", "enum", 1, 1, "mqtt", "node,lua", true, true, ""),
  opt("max_connections", "int", 1, 1, "-1", "node,lua", true, false, ""),
  opt("max_inflight_messages", "int", 1, 1, "0", "node,lua", true, false, ""),
  opt("max_queued_messages", "int", 1, 1, "0", "node,lua", true, false, ""),
  opt("message_size_limit", "int", 1, 1, "0", "node,lua", true, false, ""),
  opt("max_packet_size", "int", 1, 1, "0", "node,lua", true, false, ""),
  opt("retain_available", "bool", 1, 1, "true", "node,lua", true, false, ""),
  opt("max_keepalive", "int", 1, 1, "65535", "node,lua", true, false, ""),
  opt("max_topic_alias", "int", 1, 1, "10", "node,lua", true, false, ""),
  opt("persistent_client_expiration", "string", 1, 1, "", "node,lua", true, false, ""),
  opt("connection_messages", "bool", 1, 1, "true", "node,lua", true, false, ""),
  opt("board", "string", 1, 1, "host", "node,lua", true, false, ""),
  opt("log_type", "enum", 1, 1, "error,warning,notice,information", "node,lua", true, false, ""),
  opt("log_dest", "enum", 1, 1, "stderr", "node,lua", true, false, ""),
  opt("sys_interval", "int", 1, 1, "10", "node,lua", true, false, ""),
  opt("allow_anonymous", "bool", 1, 1, "true", "node,lua", true, false, ""),
  opt("persistence", "bool", 1, 1, "false", "node,lua", true, false, ""),
  opt("password_file", "path", 1, 1, "", "node", false, false, "authentication is"),
  opt("acl_file", "path", 1, 1, "", "node", false, false, "authentication is"),
  opt("persistence_location", "path", 1, 1, "", "node", false, false, "persistence is"),
  opt("persistence_file", "string", 1, 1, "midge.db", "node", false, false, "persistence is"),
  opt("persistence_mode", "enum", 1, 1, "durable", "node", false, false, "persistence is"),
  opt("autosave_interval", "int", 1, 1, "1", "node", false, false, "persistence is"),
  opt("certfile", "path", 1, 1, "", "node", false, true, "TLS is"),
  opt("keyfile", "path", 1, 1, "", "node", false, true, "TLS is"),
  opt("cafile", "path", 1, 1, "", "node", false, true, "TLS is"),
  opt("require_certificate", "bool", 1, 1, "false", "node", false, true, "TLS is"),
  opt("use_identity_as_username", "bool", 1, 1, "false", "node", false, true, "TLS is"),
  // A bridge section: its own options (address, topic, ...) are registered with it by the target.
  opt("connection", "string", 1, 1, "", "node", false, false, "bridges are"),
];

/**
 * mosquitto options that Midge does not implement on any target: refused with "not supported
 * by Midge" rather than "unknown option".
 */
export const MOSQUITTO_ONLY: string[] = [
  "allow_duplicate_messages", "allow_zero_length_clientid", "auth_plugin", "auto_id_prefix",
  "autosave_on_changes", "capath", "check_retain_source", "clientid_prefixes", "include_dir",
  "log_facility", "log_timestamp", "log_timestamp_format", "max_qos",
  "max_queued_bytes", "memory_limit", "per_listener_settings",
  "pid_file", "plugin", "psk_file", "queue_qos0_messages", "set_tcp_nodelay", "socket_domain",
  "upgrade_outgoing_qos", "user", "websockets_log_level",
];

/** The table entry for name, or undefined. */
export function optionInfo(name: string): OptionInfo | undefined {
  for (let i = 0; i < CONFIG_OPTIONS.length; i++) if (CONFIG_OPTIONS[i].name === name) return CONFIG_OPTIONS[i];
  return undefined;
}

/** True when target ("node", "lua") accepts the option. */
export function optionOn(info: OptionInfo, target: string): boolean {
  const list = "," + info.targets + ",";
  return list.indexOf("," + target + ",") >= 0;
}

/** Names of the options target accepts (want true) or refuses (want false), in table order. */
export function optionNames(target: string, want: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < CONFIG_OPTIONS.length; i++) if (optionOn(CONFIG_OPTIONS[i], target) === want) out.push(CONFIG_OPTIONS[i].name);
  return out;
}
