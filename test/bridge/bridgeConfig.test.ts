// The bridge part of mosquitto.conf, parsed by the Node target (targets/node/config.ts with
// targets/node/bridge/bridgeConfig.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { Direction } from "../../src/bridge/topicMap";
import { loadConfig, parseConfig } from "../../targets/node/config";

function parse(lines: string[]) {
  return parseConfig(lines.join("\n") + "\n", "edge.conf", "/tmp");
}

function ok(lines: string[]) {
  const r = parse(lines);
  if (!r.ok) throw new Error(r.error);
  return r.file;
}

function error(lines: string[]): string {
  const r = parse(lines);
  if (r.ok) throw new Error("parsed without error");
  return r.error;
}

describe("connection sections", () => {
  test("every supported option", () => {
    const f = ok([
      "listener 1883",
      "connection central",
      "address mqtt.example.com:8883",
      "remote_clientid pi-kitchen",
      "remote_username edge",
      "remote_password s3cret",
      "cleansession true",
      "keepalive_interval 30",
      "restart_timeout 2 20",
      "notifications true",
      "notifications_local_only false",
      "notification_topic edge/pi-kitchen/state",
      "try_private false",
      "bridge_protocol_version mqttv31",
      "bridge_outgoing_retain false",
      "bridge_attempt_unsubscribe false",
      "start_type once",
      "bridge_max_queued_messages 50",
      "topic sensors/# out 1 \"\" site1/",
      "topic cmd/# in 2 local/ site1/",
      "topic chat/# both",
      "topic \"\" out 0 status/local status/remote",
      "connection second",
      "address 10.0.0.2",
      "topic # in",
    ]);
    expect(f.bridges.length).toBe(2);
    const b = f.bridges[0];
    const c = b.config;
    expect([c.name, c.host, c.port, c.clientId]).toEqual(["central", "mqtt.example.com", 8883, "pi-kitchen"]);
    expect([c.hasUsername, c.username, c.hasPassword, c.password]).toEqual([true, "edge", true, "s3cret"]);
    expect([c.cleanSession, c.keepAlive, c.restartBase, c.restartCap]).toEqual([true, 30, 2, 20]);
    expect([c.notifications, c.notificationsLocalOnly, c.notificationTopic, c.tryPrivate]).toEqual([true, false, "edge/pi-kitchen/state", false]);
    expect([c.protocolLevel, c.outgoingRetain, c.attemptUnsubscribe, c.restart, b.maxQueued]).toEqual([3, false, false, false, 50]);
    expect(c.topics.slice(0, c.topicCount).map((t) => [t.direction, t.qos, t.localTopic, t.remoteTopic])).toEqual([
      [Direction.OUT, 1, "sensors/#", "site1/sensors/#"],
      [Direction.IN, 2, "local/cmd/#", "site1/cmd/#"],
      [Direction.BOTH, 0, "chat/#", "chat/#"],
      [Direction.OUT, 0, "status/local", "status/remote"],
    ]);
    // mosquitto's defaults: port 1883, client id hostname.name, clean session false, keep alive 60, restart 5..30.
    const d = f.bridges[1].config;
    expect([d.host, d.port, d.clientId, d.cleanSession, d.keepAlive, d.restartBase, d.restartCap]).toEqual(["10.0.0.2", 1883, `${hostname()}.second`, false, 60, 5, 30]);
    expect([d.notifications, d.tryPrivate, d.protocolLevel, d.restart, f.bridges[1].maxQueued]).toEqual([true, true, 4, true, -1]);
    expect(d.topics[0].direction).toBe(Direction.IN);
  });

  test("bridge_protocol_version mqttv50 with mosquitto 2.1's bridge_session_expiry_interval and bridge_receive_maximum", () => {
    const c = ok(["connection a", "address h", "topic x", "bridge_protocol_version mqttv50", "bridge_session_expiry_interval 3600", "bridge_receive_maximum 10"]).bridges[0].config;
    expect([c.protocolLevel, c.sessionExpiry, c.receiveMaximum]).toEqual([5, 3600, 10]);
    const d = ok(["connection a", "address h", "topic x", "bridge_protocol_version mqttv50"]).bridges[0].config;
    expect([d.sessionExpiry, d.receiveMaximum]).toEqual([-1, 0]); // by cleansession; maxInboundQos2
  });

  test("mqttv50 on a board without the mqtt5 feature is a configuration error", () => {
    const dir = mkdtempSync(join(tmpdir(), "midge-bridge5-"));
    try {
      writeFileSync(join(dir, "no5.json"), JSON.stringify({ board: "no5", features: { mqtt5: false }, limits: {} }));
      writeFileSync(join(dir, "edge.conf"), "board no5.json\nconnection central\naddress h\ntopic x\nbridge_protocol_version mqttv50\n");
      expect(loadConfig({ config: "edge.conf" }, dir)).toEqual({ ok: false, error: "connection central: bridge_protocol_version mqttv50 needs MQTT 5.0, and board no5 has the mqtt5 feature off" });
      writeFileSync(join(dir, "edge4.conf"), "board no5.json\nconnection central\naddress h\ntopic x\n");
      expect(loadConfig({ config: "edge4.conf" }, dir).ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("restart_timeout with one value is a constant delay", () => {
    const c = ok(["connection a", "address h", "topic x", "restart_timeout 7"]).bridges[0].config;
    expect([c.restartBase, c.restartCap]).toEqual([7, 0]);
  });

  test("IPv6 addresses: [addr]:port, or addr:port", () => {
    expect(ok(["connection a", "address [::1]:1884", "topic x"]).bridges[0].config.host).toBe("::1");
    const c = ok(["connection a", "address fe80::1:1885", "topic x"]).bridges[0].config;
    expect([c.host, c.port]).toEqual(["fe80::1", 1885]);
  });

  test("options of mosquitto's local bridge client are accepted with a warning", () => {
    const f = ok(["connection a", "address h", "topic x", "local_clientid me"]);
    expect(f.warnings).toEqual(["edge.conf:4: 'local_clientid' has no effect: Midge's bridge has no local client connection; ignored"]);
  });
});

describe("errors name the file and line", () => {
  const CASES: Array<[string, string[], string]> = [
    ["an unknown option in a section", ["connection a", "address h", "topic x", "bridge_colour blue"], "edge.conf:4: unknown option 'bridge_colour'"],
    ["a bridge option before any connection", ["address h"], "edge.conf:1: 'address' is a bridge option: it must follow a 'connection' line"],
    ["a bad direction", ["connection a", "address h", "topic x sideways"], "edge.conf:3: 'topic' direction must be in, out or both, got 'sideways'"],
    ["a bad QoS", ["connection a", "address h", "topic x in 3"], "edge.conf:3: 'topic' QoS must be 0, 1 or 2, got '3'"],
    ["an empty pattern without both prefixes", ["connection a", "address h", 'topic "" out 0 local'], "edge.conf:3: 'topic' \"\" out 0 local: an empty topic pattern needs both a local and a remote prefix"],
    ["a wildcard in a prefix", ["connection a", "address h", "topic x out 0 a/+/ b/"], "edge.conf:3: 'topic' x out 0 a/+/ b/: the local prefix must be a topic name (no + or #)"],
    ["no address", ["connection a", "topic x"], "edge.conf:1: connection a has no 'address'"],
    ["no topic", ["connection a", "address h"], "edge.conf:1: connection a has no 'topic' line: it would bridge nothing"],
    ["a password without a user name", ["connection a", "address h", "topic x", "remote_password p"], "edge.conf:4: 'remote_password' needs 'remote_username' in connection a"],
    ["two addresses", ["connection a", "address h1 h2"], "edge.conf:2: 'address': Midge bridges connect to one address, got 2"],
    ["a bad port", ["connection a", "address h:70000"], "edge.conf:2: 'address' port must be between 1 and 65535 in 'h:70000'"],
    ["a repeated connection name", ["connection a", "address h", "topic x", "connection a"], "edge.conf:4: 'connection' a repeats the connection on line 1"],
    ["TLS to the upstream", ["connection a", "address h", "bridge_cafile /etc/ca.pem"], "edge.conf:3: option 'bridge_cafile' is not supported by Midge"],
    ["start_type lazy", ["connection a", "start_type lazy"], "edge.conf:2: 'start_type' lazy is not supported by Midge: use automatic or once"],
    ["an unknown protocol version", ["connection a", "bridge_protocol_version mqttv6"], "edge.conf:2: 'bridge_protocol_version' must be mqttv50, mqttv311 or mqttv31, got 'mqttv6'"],
    ["a Receive Maximum of 0", ["connection a", "bridge_receive_maximum 0"], "edge.conf:2: 'bridge_receive_maximum' must be a whole number between 1 and 65535, got '0'"],
    ["a Session Expiry Interval past 32 bits", ["connection a", "bridge_session_expiry_interval 4294967296"], "edge.conf:2: 'bridge_session_expiry_interval' must be a whole number between 0 and 4294967295, got '4294967296'"],
    ["a keep alive below 5 s", ["connection a", "keepalive_interval 2"], "edge.conf:2: 'keepalive_interval' must be a whole number between 5 and 65535, got '2'"],
    ["a restart cap below the base", ["connection a", "restart_timeout 10 5"], "edge.conf:2: 'restart_timeout' cap (5) must not be below the base (10)"],
    ["a comment after a value", ["connection a", "cleansession true # no"], "edge.conf:2: 'cleansession': a comment must be on a line of its own"],
  ];
  for (const [what, lines, message] of CASES) {
    test(what, () => expect(error(lines)).toBe(message));
  }

  test("'topic #' is a pattern, not a comment", () => {
    expect(ok(["connection a", "address h", "topic # both 2"]).bridges[0].config.topics[0].localTopic).toBe("#");
  });
});

test("deploy/bridge.conf (the Raspberry Pi example) is valid", () => {
  const root = join(__dirname, "..", "..");
  const r = parseConfig(readFileSync(join(root, "deploy", "bridge.conf"), "utf8"), "bridge.conf", join(root, "deploy"));
  if (!r.ok) throw new Error(r.error);
  expect(r.file.warnings).toEqual([]);
  const c = r.file.bridges[0].config;
  expect([c.name, c.host, c.port, c.clientId, c.topicCount]).toEqual(["central", "mqtt.example.com", 1883, "pi-greenhouse", 3]);
});
