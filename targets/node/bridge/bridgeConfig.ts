import { hostname } from "node:os";
import { BridgeConfig, newBridgeConfig } from "../../../src/bridge/bridge";
import { Direction, TOPIC_LINE_ERRORS, TopicLineStatus, bridgeTopicInit, newBridgeTopic } from "../../../src/bridge/topicMap";
import { isValidTopicName } from "../../../src/topics/topic";

/**
 * The bridge part of mosquitto.conf: `connection NAME` opens a section and the bridge options
 * after it apply to that bridge (mosquitto.conf(5), "Configuring Bridges"). config.ts merges
 * these options into its table; errors come back without the "file:line: " prefix, which
 * config.ts adds.
 */

/** One `connection` section. */
export interface BridgeSection {
  config: BridgeConfig;
  /** Line of the `connection` option. */
  line: number;
  /** bridge_max_queued_messages; -1 = not set (max_queued_messages applies). */
  maxQueued: number;
  clientIdSet: boolean;
  addressSet: boolean;
  passwordLine: number;
}

/** What a bridge option needs from the parser's state. */
export interface BridgeParseContext {
  bridges: BridgeSection[];
  line: number;
  fileName: string;
  warnings: string[];
}

export interface BridgeOptionSpec<S> {
  min: number;
  max: number;
  apply: (s: S, option: string, args: string[]) => string;
}

type Apply = (section: BridgeSection, option: string, args: string[], ctx: BridgeParseContext) => string;

const SPECS: Record<string, { min: number; max: number; apply: Apply }> = {
  address: { min: 1, max: 8, apply: applyAddress },
  addresses: { min: 1, max: 8, apply: applyAddress },
  topic: { min: 1, max: 5, apply: applyTopic },
  remote_clientid: { min: 1, max: 1, apply: applyClientId },
  clientid: { min: 1, max: 1, apply: applyClientId },
  remote_username: { min: 1, max: 1, apply: (b, _o, a) => set(() => { b.config.hasUsername = true; b.config.username = a[0]; }) },
  username: { min: 1, max: 1, apply: (b, _o, a) => set(() => { b.config.hasUsername = true; b.config.username = a[0]; }) },
  remote_password: { min: 1, max: 1, apply: applyPassword },
  password: { min: 1, max: 1, apply: applyPassword },
  cleansession: { min: 1, max: 1, apply: (b, o, a) => bool(o, a[0], (v) => (b.config.cleanSession = v)) },
  keepalive_interval: { min: 1, max: 1, apply: (b, o, a) => int(o, a[0], 5, 65535, (n) => (b.config.keepAlive = n)) },
  restart_timeout: { min: 1, max: 2, apply: applyRestartTimeout },
  notifications: { min: 1, max: 1, apply: (b, o, a) => bool(o, a[0], (v) => (b.config.notifications = v)) },
  notifications_local_only: { min: 1, max: 1, apply: (b, o, a) => bool(o, a[0], (v) => (b.config.notificationsLocalOnly = v)) },
  notification_topic: {
    min: 1,
    max: 1,
    apply: (b, o, a) => {
      if (!isValidTopicName(a[0])) return `'${o}' must be a topic name (no + or #), got '${a[0]}'`;
      b.config.notificationTopic = a[0];
      return "";
    },
  },
  try_private: { min: 1, max: 1, apply: (b, o, a) => bool(o, a[0], (v) => (b.config.tryPrivate = v)) },
  bridge_protocol_version: {
    min: 1,
    max: 1,
    apply: (b, o, a) => {
      if (a[0] === "mqttv311") b.config.protocolLevel = 4;
      else if (a[0] === "mqttv31") b.config.protocolLevel = 3;
      else if (a[0] === "mqttv50") b.config.protocolLevel = 5; // config.ts checks the board has mqtt5
      else return `'${o}' must be mqttv50, mqttv311 or mqttv31, got '${a[0]}'`;
      return "";
    },
  },
  // mosquitto 2.1's options for MQTT 5.0 bridges.
  bridge_session_expiry_interval: { min: 1, max: 1, apply: (b, o, a) => int(o, a[0], 0, 4294967295, (n) => (b.config.sessionExpiry = n)) },
  bridge_receive_maximum: { min: 1, max: 1, apply: (b, o, a) => int(o, a[0], 1, 65535, (n) => (b.config.receiveMaximum = n)) },
  bridge_outgoing_retain: { min: 1, max: 1, apply: (b, o, a) => bool(o, a[0], (v) => (b.config.outgoingRetain = v)) },
  bridge_attempt_unsubscribe: { min: 1, max: 1, apply: (b, o, a) => bool(o, a[0], (v) => (b.config.attemptUnsubscribe = v)) },
  start_type: {
    min: 1,
    max: 1,
    apply: (b, o, a) => {
      if (a[0] === "automatic") b.config.restart = true;
      else if (a[0] === "once") b.config.restart = false;
      else if (a[0] === "lazy") return `'${o}' lazy is not supported by Midge: use automatic or once`;
      else return `'${o}' must be automatic or once, got '${a[0]}'`;
      return "";
    },
  },
  bridge_max_queued_messages: { min: 1, max: 1, apply: (b, o, a) => int(o, a[0], 0, Number.MAX_SAFE_INTEGER, (n) => (b.maxQueued = n)) },
  // mosquitto's bridge has a local client of its own; Midge's bridge is inside the broker.
  local_clientid: { min: 1, max: 1, apply: noEffect("Midge's bridge has no local client connection") },
  local_username: { min: 1, max: 1, apply: noEffect("Midge's bridge has no local client connection") },
  local_password: { min: 1, max: 1, apply: noEffect("Midge's bridge has no local client connection") },
  local_cleansession: { min: 1, max: 1, apply: noEffect("Midge's bridge has no local client connection") },
  idle_timeout: { min: 1, max: 1, apply: noEffect("it only applies to start_type lazy") },
  threshold: { min: 1, max: 1, apply: noEffect("it only applies to start_type lazy") },
};

/**
 * mosquitto bridge options Midge refuses rather than ignores: the TLS ones above all (ignoring
 * them would send credentials in clear text).
 */
const UNSUPPORTED = [
  "bridge_alpn", "bridge_bind_address", "bridge_cafile", "bridge_capath", "bridge_certfile",
  "bridge_identity", "bridge_insecure", "bridge_keyfile", "bridge_max_packet_size", "bridge_psk",
  "bridge_require_ocsp", "bridge_tls_version", "round_robin",
];

function set(f: () => void): string {
  f();
  return "";
}

function noEffect(why: string): Apply {
  return (_b, option, _a, ctx) => {
    ctx.warnings.push(`${ctx.fileName}:${ctx.line}: '${option}' has no effect: ${why}; ignored`);
    return "";
  };
}

function bool(option: string, text: string, use: (v: boolean) => void): string {
  if (text === "true") use(true);
  else if (text === "false") use(false);
  else return `'${option}' must be true or false, got '${text}'`;
  return "";
}

function int(option: string, text: string, min: number, max: number, use: (n: number) => void): string {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    return `'${option}' must be a whole number ${range}, got '${text}'`;
  }
  use(n);
  return "";
}

/** `address host[:port]`; IPv6 as [addr]:port or addr:port (the port is then required, as in mosquitto). */
function applyAddress(b: BridgeSection, option: string, args: string[]): string {
  if (args.length > 1) return `'${option}': Midge bridges connect to one address, got ${args.length}`;
  const text = args[0];
  let host = text;
  let portText = "";
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket !== null) {
    host = bracket[1];
    portText = bracket[2] ?? "";
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0) {
      host = text.substring(0, colon);
      portText = text.substring(colon + 1);
    }
  }
  if (host === "") return `'${option}' needs a host name or address, got '${text}'`;
  if (portText !== "" || text.endsWith(":")) {
    const e = int(option + "' port '", portText, 1, 65535, (n) => (b.config.port = n));
    if (e !== "") return `'${option}' port must be between 1 and 65535 in '${text}'`;
  }
  b.config.host = host;
  b.addressSet = true;
  return "";
}

/** `topic pattern [[[ out | in | both ] qos-level] local-prefix remote-prefix]`; `""` = empty. */
function applyTopic(b: BridgeSection, option: string, args: string[]): string {
  const empty = (w: string): string => (w === '""' ? "" : w);
  const pattern = empty(args[0]);
  let direction = Direction.OUT;
  if (args.length > 1) {
    const d = args[1].toLowerCase();
    if (d === "out") direction = Direction.OUT;
    else if (d === "in") direction = Direction.IN;
    else if (d === "both") direction = Direction.BOTH;
    else return `'${option}' direction must be in, out or both, got '${args[1]}'`;
  }
  let qos = 0;
  if (args.length > 2) {
    if (!/^[012]$/.test(args[2])) return `'${option}' QoS must be 0, 1 or 2, got '${args[2]}'`;
    qos = Number(args[2]);
  }
  const localPrefix = args.length > 3 ? empty(args[3]) : "";
  const remotePrefix = args.length > 4 ? empty(args[4]) : "";
  const t = newBridgeTopic();
  const st = bridgeTopicInit(t, pattern, direction, qos, localPrefix, remotePrefix);
  if (st !== TopicLineStatus.OK) return `'${option}' ${args.join(" ")}: ${TOPIC_LINE_ERRORS[st]}`;
  b.config.topics.push(t);
  b.config.topicCount++;
  return "";
}

function applyClientId(b: BridgeSection, option: string, args: string[]): string {
  if (args[0] === "") return `'${option}' must not be empty`;
  b.config.clientId = args[0];
  b.clientIdSet = true;
  return "";
}

function applyPassword(b: BridgeSection, _option: string, args: string[], ctx: BridgeParseContext): string {
  b.config.hasPassword = true;
  b.config.password = args[0];
  b.passwordLine = ctx.line;
  return "";
}

/** `restart_timeout constant` or `restart_timeout base cap` (seconds). */
function applyRestartTimeout(b: BridgeSection, option: string, args: string[]): string {
  let base = 0;
  let cap = 0;
  let e = int(option, args[0], 1, 86400, (n) => (base = n));
  if (e !== "") return e;
  if (args.length > 1) {
    e = int(option, args[1], 1, 86400, (n) => (cap = n));
    if (e !== "") return e;
    if (cap < base) return `'${option}' cap (${cap}) must not be below the base (${base})`;
  }
  b.config.restartBase = base;
  b.config.restartCap = cap;
  return "";
}

function applyConnection(ctx: BridgeParseContext, option: string, args: string[]): string {
  const name = args[0];
  for (const other of ctx.bridges) {
    if (other.config.name === name) return `'${option}' ${name} repeats the connection on line ${other.line}`;
  }
  ctx.bridges.push({ config: newBridgeConfig(name), line: ctx.line, maxQueued: -1, clientIdSet: false, addressSet: false, passwordLine: 0 });
  return "";
}

/**
 * The bridge options as entries for config.ts's option table. `context` gives the parser state
 * of the line being applied.
 */
export function bridgeOptions<S>(context: (s: S) => BridgeParseContext): Record<string, BridgeOptionSpec<S>> {
  const out: Record<string, BridgeOptionSpec<S>> = {
    connection: { min: 1, max: 1, apply: (s, option, args) => applyConnection(context(s), option, args) },
  };
  for (const name of Object.keys(SPECS)) {
    const spec = SPECS[name];
    out[name] = {
      min: spec.min,
      max: spec.max,
      apply: (s, option, args) => {
        const ctx = context(s);
        if (ctx.bridges.length === 0) return `'${option}' is a bridge option: it must follow a 'connection' line`;
        return spec.apply(ctx.bridges[ctx.bridges.length - 1], option, args, ctx);
      },
    };
  }
  for (const name of UNSUPPORTED) {
    out[name] = { min: 0, max: 100, apply: () => `option '${name}' is not supported by Midge` };
  }
  return out;
}

/**
 * Checks each bridge once the whole file is read and fills in defaults (remote_clientid is
 * hostname.name, as in mosquitto). Returns "" or the full error ("file:line: message").
 */
export function checkBridges(bridges: BridgeSection[], fileName: string): string {
  for (const b of bridges) {
    const at = `${fileName}:${b.line}: `;
    const c = b.config;
    if (!b.addressSet) return at + `connection ${c.name} has no 'address'`;
    if (c.topicCount === 0) return at + `connection ${c.name} has no 'topic' line: it would bridge nothing`;
    if (c.hasPassword && !c.hasUsername) {
      return `${fileName}:${b.passwordLine}: 'remote_password' needs 'remote_username' in connection ${c.name}`;
    }
    if (!b.clientIdSet) c.clientId = `${hostname()}.${c.name}`;
  }
  return "";
}
