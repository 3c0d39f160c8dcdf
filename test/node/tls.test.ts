import { ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { DEFAULT_LIMITS, Limits, mergeLimits } from "../../src/limits";
import { Log, Policy } from "../../src/platform";
import { ListenerConfig, listenerConfig, parseConfig } from "../../targets/node/config";
import { RunningServer, startServer } from "../../targets/node/server";
import { Proc, mosquittoArgs } from "../e2e/helpers";
import { WAIT_MS, closeAllClients, connectRefused, connectUrl } from "./fixtures/clients";
import { Pki, makePki } from "./fixtures/pki";

// TLS listeners (mqtts): a test CA made with openssl at test time, server certificates, client
// certificates (require_certificate), a certificate from another CA that must be refused,
// mosquitto_pub / mosquitto_sub as TLS clients, the configuration options, and the midge
// command with several listeners.

const TEST_TIMEOUT = 30000;
const HOST = "127.0.0.1";

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki?.remove());

const lines: string[] = [];
const log: Log = { log: (_level, message) => { lines.push(message); if (process.env.MIDGE_TEST_LOG) console.log(message); } };

let server: RunningServer | null = null;
afterEach(async () => {
  closeAllClients();
  if (server !== null) await server.stop();
  server = null;
  lines.length = 0;
});

async function start(listeners: ListenerConfig[], limits: Partial<Limits> = {}, policy?: Policy): Promise<number[]> {
  server = await startServer(mergeLimits(DEFAULT_LIMITS, limits), listeners, log, policy);
  return server.listeners.map((l) => l.address.port);
}

function plain(): ListenerConfig {
  return listenerConfig(0, HOST);
}

function tls(extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return listenerConfig(0, HOST, { certfile: pki.serverCert, keyfile: pki.serverKey, ...extra });
}

function mtls(extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return tls({ cafile: pki.caCert, requireCertificate: true, ...extra });
}

function waitForLog(re: RegExp, ms = WAIT_MS): Promise<string> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const line = lines.find((l) => re.test(l));
      if (line !== undefined) return resolve(line);
      if (Date.now() > end) return reject(new Error(`no log line ${re} within ${ms} ms; log:\n${lines.join("\n")}`));
      setTimeout(check, 20);
    };
    check();
  });
}

describe("TLS listener (mqtts)", () => {
  test("MQTT.js over TLS, checking the server against the test CA, talks with a plain TCP client through the same broker", { timeout: TEST_TIMEOUT }, async () => {
    const [tcpPort, tlsPort] = await start([plain(), tls()]);
    const secure = await connectUrl(`mqtts://${HOST}:${tlsPort}`, { ca: pki.read(pki.caCert) });
    expect((secure.client.stream as unknown as { encrypted?: boolean }).encrypted).toBe(true);
    const clear = await connectUrl(`mqtt://${HOST}:${tcpPort}`);
    await secure.subscribe("tls/in");
    await clear.subscribe("tls/out");
    await clear.publish("tls/in", "over tcp");
    expect((await secure.message("tls/in")).payload).toBe("over tcp");
    await secure.publish("tls/out", "over tls");
    expect((await clear.message("tls/out")).payload).toBe("over tls");
  });

  test("a client that does not trust the server's certificate (other CA) refuses to connect", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([tls()]);
    const why = await connectRefused(`mqtts://${HOST}:${port}`, { ca: pki.read(pki.rogueCaCert) });
    expect(why).toMatch(/certificate/i);
  });

  test("plain MQTT sent to a TLS port gets no CONNACK; the failed handshake is logged", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([tls()]);
    const socket = createConnection({ host: HOST, port: port });
    const received: Buffer[] = [];
    socket.on("data", (d: Buffer) => received.push(d));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    // CONNECT, client id "x", clean session, keep alive 60.
    socket.write(Buffer.from("100d00044d5154540402003c000178", "hex"));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the TLS listener did not close the plain connection")), WAIT_MS);
      socket.once("close", () => {
        clearTimeout(t);
        resolve();
      });
    });
    // Whatever came back is a TLS alert, never a CONNACK (20 02 ...).
    const all = Buffer.concat(received);
    expect(all.length === 0 || all[0] !== 0x20).toBe(true);
    await waitForLog(/^TLS handshake with 127\.0\.0\.1:\d+ failed/);
  });
});

describe("require_certificate true: client certificates signed by cafile", () => {
  test("a client certificate from the test CA is accepted", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([mtls()]);
    const c = await connectUrl(`mqtts://${HOST}:${port}`, {
      ca: pki.read(pki.caCert),
      cert: pki.read(pki.aliceCert),
      key: pki.read(pki.aliceKey),
    });
    await c.subscribe("m/#");
    await c.publish("m/1", "hello");
    expect((await c.message("m/1")).payload).toBe("hello");
  });

  test("a client certificate from another CA (the wrong certificate) is refused in the handshake", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([mtls()]);
    await connectRefused(`mqtts://${HOST}:${port}`, {
      ca: pki.read(pki.caCert),
      cert: pki.read(pki.rogueCert),
      key: pki.read(pki.rogueKey),
    });
    await waitForLog(/^TLS handshake with 127\.0\.0\.1:\d+ failed: client certificate refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    expect(server!.transport.openCount()).toBe(0);
  });

  test("a client without a certificate is refused", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([mtls()]);
    await connectRefused(`mqtts://${HOST}:${port}`, { ca: pki.read(pki.caCert) });
    await waitForLog(/^TLS handshake with 127\.0\.0\.1:\d+ failed/);
  });

  test("the other listeners of the broker are not affected: plain TCP still needs no certificate", { timeout: TEST_TIMEOUT }, async () => {
    const [tcpPort] = await start([plain(), mtls()]);
    const c = await connectUrl(`mqtt://${HOST}:${tcpPort}`);
    await c.end();
  });
});

describe("mosquitto_pub / mosquitto_sub over TLS", () => {
  function sub(port: number, args: string[]): Proc {
    // stdbuf -oL: mosquitto_sub buffers a pipe fully, so the debug lines would show only at exit.
    return new Proc("stdbuf", ["-oL", "mosquitto_sub", ...mosquittoArgs(port, ["-d", "-C", "1", "-W", "10", ...args])], 15000);
  }

  function pub(port: number, args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Proc("mosquitto_pub", mosquittoArgs(port, args), 10000).done;
  }

  test("server certificate checked with --cafile", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([tls()]);
    const s = sub(port, ["--cafile", pki.caCert, "-t", "mosq/tls", "-q", "1"]);
    try {
      await s.waitStdout(/Subscribed \(mid/, 8000);
      const p = await pub(port, ["--cafile", pki.caCert, "-t", "mosq/tls", "-q", "1", "-m", "hello over tls"]);
      expect(p.code, p.stderr).toBe(0);
      const r = await s.done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("hello over tls");
    } finally {
      s.kill();
    }
  });

  test("client certificates: the test CA's is accepted, another CA's is refused", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([mtls()]);
    const alice = ["--cafile", pki.caCert, "--cert", pki.aliceCert, "--key", pki.aliceKey];
    const s = sub(port, [...alice, "-t", "mosq/mtls"]);
    try {
      await s.waitStdout(/Subscribed \(mid/, 8000);
      const ok = await pub(port, [...alice, "-t", "mosq/mtls", "-m", "with a client certificate"]);
      expect(ok.code, ok.stderr).toBe(0);
      const r = await s.done;
      expect(r.stdout).toContain("with a client certificate");
    } finally {
      s.kill();
    }
    const wrong = await pub(port, ["--cafile", pki.caCert, "--cert", pki.rogueCert, "--key", pki.rogueKey, "-t", "mosq/mtls", "-m", "x"]);
    expect(wrong.code).not.toBe(0);
    const none = await pub(port, ["--cafile", pki.caCert, "-t", "mosq/mtls", "-m", "x"]);
    expect(none.code).not.toBe(0);
  });
});

// use_identity_as_username: the listener hands the certificate's CN to brokerOpen(b, peer, identity).
describe("use_identity_as_username", () => {
  /** A policy that refuses every user name / password login and records who asked for what. */
  function recordingPolicy(seen: string[]): Policy {
    return {
      authenticate: () => 5,
      allow: (_clientId, hasUsername, username, topic) => {
        seen.push(`${hasUsername ? username : "(none)"} ${topic}`);
        return true;
      },
    };
  }

  test("the certificate's CN is the user name, whatever the CONNECT says; the certificate stands in for the password", { timeout: TEST_TIMEOUT }, async () => {
    const seen: string[] = [];
    const [port] = await start([mtls({ useIdentityAsUsername: true })], {}, recordingPolicy(seen));
    const c = await connectUrl(`mqtts://${HOST}:${port}`, {
      ca: pki.read(pki.caCert),
      cert: pki.read(pki.aliceCert),
      key: pki.read(pki.aliceKey),
      username: "mallory",
      password: "whatever",
    });
    await c.subscribe("id/#");
    expect(seen).toContain("alice id/#");
    expect(seen.some((s) => s.startsWith("mallory"))).toBe(false);
  });

  test("the same over secure WebSocket (wss)", { timeout: TEST_TIMEOUT }, async () => {
    const seen: string[] = [];
    const [port] = await start([mtls({ protocol: "websockets", useIdentityAsUsername: true })], {}, recordingPolicy(seen));
    const c = await connectUrl(`wss://${HOST}:${port}/mqtt`, {
      ca: pki.read(pki.caCert),
      cert: pki.read(pki.aliceCert),
      key: pki.read(pki.aliceKey),
      username: "mallory",
    });
    await c.subscribe("wss-id/#");
    expect(seen).toContain("alice wss-id/#");
  });

  test("a client certificate without a CN is refused", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([mtls({ useIdentityAsUsername: true })]);
    await connectRefused(`mqtts://${HOST}:${port}`, {
      ca: pki.read(pki.caCert),
      cert: pki.read(pki.noCnCert),
      key: pki.read(pki.noCnKey),
    });
    await waitForLog(/client certificate without a Common Name/);
  });

  test("the same policy still refuses a password login on a listener without use_identity_as_username", { timeout: TEST_TIMEOUT }, async () => {
    const seen: string[] = [];
    const [port] = await start([mtls()], {}, recordingPolicy(seen));
    const why = await connectRefused(`mqtts://${HOST}:${port}`, {
      ca: pki.read(pki.caCert),
      cert: pki.read(pki.aliceCert),
      key: pki.read(pki.aliceKey),
      username: "alice",
      password: "whatever",
    });
    expect(why).toMatch(/Not authorized/i);
  });
});

describe("configuration: per-listener options", () => {
  const parse = (...text: string[]) => parseConfig(text.join("\n"), "midge.conf", pki.dir);

  test("options after a listener line apply to it; relative paths resolve against the config file's directory", () => {
    const r = parse(
      "listener 1883 127.0.0.1",
      "listener 8883",
      "certfile server.pem",
      "keyfile server.key",
      "listener 8884",
      "certfile server.pem",
      "keyfile server.key",
      "cafile ca.pem",
      "require_certificate true",
      "use_identity_as_username true",
      "listener 8080",
      "protocol websockets",
      "listener 8081 ::1",
      "protocol websockets",
      "certfile server.pem",
      "keyfile server.key",
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.file.port).toBe(1883);
    expect(r.file.host).toBe("127.0.0.1");
    const base = { cafile: "", requireCertificate: false, useIdentityAsUsername: false };
    expect(r.file.listeners).toEqual([
      { ...base, port: 1883, host: "127.0.0.1", protocol: "mqtt", certfile: "", keyfile: "", line: 1 },
      { ...base, port: 8883, host: "", protocol: "mqtt", certfile: pki.serverCert, keyfile: pki.serverKey, line: 2 },
      {
        port: 8884, host: "", protocol: "mqtt", certfile: pki.serverCert, keyfile: pki.serverKey,
        cafile: pki.caCert, requireCertificate: true, useIdentityAsUsername: true, line: 5,
      },
      { ...base, port: 8080, host: "", protocol: "websockets", certfile: "", keyfile: "", line: 11 },
      { ...base, port: 8081, host: "::1", protocol: "websockets", certfile: pki.serverCert, keyfile: pki.serverKey, line: 13 },
    ]);
  });

  test("options before any listener line apply to the default listener (port / bind_address)", () => {
    const r = parse("port 8883", "certfile server.pem", "keyfile server.key");
    if (!r.ok) throw new Error(r.error);
    expect(r.file.listeners).toMatchObject([{ port: 8883, host: "", certfile: pki.serverCert, keyfile: pki.serverKey }]);
    const ws = parse("protocol websockets");
    if (!ws.ok) throw new Error(ws.error);
    expect(ws.file.listeners).toMatchObject([{ port: -1, host: "", protocol: "websockets" }]);
  });

  test.each([
    [["listener 1883", "protocol mqtts"], "midge.conf:2: 'protocol' must be mqtt or websockets, got 'mqtts'"],
    [["listener 8883", "certfile server.pem"], "midge.conf:2: 'certfile' needs 'keyfile' in the same listener"],
    [["listener 8883", "keyfile server.key", "listener 1883"], "midge.conf:2: 'keyfile' needs 'certfile' in the same listener"],
    [["listener 8883", "certfile server.pem", "listener 8884", "keyfile server.key"], "midge.conf:2: 'certfile' needs 'keyfile' in the same listener"],
    [["listener 1883", "cafile ca.pem"], "midge.conf:2: 'cafile' needs 'certfile' and 'keyfile' in the same listener (TLS)"],
    [["listener 1883", "", "require_certificate true"], "midge.conf:3: 'require_certificate' needs 'certfile' and 'keyfile' in the same listener (TLS)"],
    [["listener 8883", "certfile server.pem", "keyfile server.key", "require_certificate true"], "midge.conf:4: 'require_certificate true' needs 'cafile' (the CA that signs client certificates)"],
    [["listener 8883", "certfile server.pem", "keyfile server.key", "use_identity_as_username true"], "midge.conf:4: 'use_identity_as_username true' needs 'require_certificate true'"],
    [["listener 8883", "require_certificate yes"], "midge.conf:2: 'require_certificate' must be true or false, got 'yes'"],
    [["certfile server.pem", "keyfile server.key", "listener 8883"], "midge.conf:3: 'certfile' (line 1) comes before any 'listener' line; put it after the 'listener' it belongs to"],
    [["listener 8883", "certfile server.pem", "keyfile alice.key"], "midge.conf:3: keyfile KEYFILE does not go with certfile CERTFILE"],
    [["listener 8883", "certfile server.key", "keyfile server.key"], "midge.conf:2: certfile CERTFILE is not a PEM certificate"],
    [["listener 8883", "certfile server.pem", "keyfile server.pem"], "midge.conf:3: keyfile KEYFILE is not a usable PEM private key"],
    [["listener 8883", "cafile no-such.pem"], "midge.conf:2: cannot read cafile DIR/no-such.pem: ENOENT"],
  ])("%j is refused", (text, message) => {
    const r = parse(...text);
    expect(r.ok).toBe(false);
    const error = r.ok ? "" : r.error;
    const expected = message.replace("DIR", pki.dir).replace("KEYFILE", join(pki.dir, text[2]?.split(" ")[1] ?? "")).replace("CERTFILE", join(pki.dir, text[1]?.split(" ")[1] ?? ""));
    expect(error.startsWith(expected), `${error}\ndoes not start with\n${expected}`).toBe(true);
  });
});

describe("deploy/: the systemd unit and the example configuration", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));

  test("deploy/midge.conf parses, and so does every commented-out listener in it", () => {
    const text = readFileSync(join(root, "deploy", "midge.conf"), "utf8");
    const r = parseConfig(text, "midge.conf", "/etc/midge");
    if (!r.ok) throw new Error(r.error);
    expect(r.file.listeners.map((l) => [l.port, l.protocol])).toEqual([[1883, "mqtt"], [8080, "websockets"]]);
    // Uncomment the option lines ("#word value"), with the test PKI as /etc/midge/certs.
    const certs = join(pki.dir, "etc-midge", "certs");
    mkdirSync(certs, { recursive: true });
    copyFileSync(pki.serverCert, join(certs, "server.pem"));
    copyFileSync(pki.serverKey, join(certs, "server.key"));
    copyFileSync(pki.caCert, join(certs, "ca.pem"));
    const all = text.replace(/^#([a-z_]+ \S+.*)$/gm, "$1");
    const full = parseConfig(all, "midge.conf", join(pki.dir, "etc-midge"));
    if (!full.ok) throw new Error(full.error);
    expect(full.file.listeners.map((l) => [l.port, l.protocol, l.certfile !== "", l.requireCertificate, l.useIdentityAsUsername])).toEqual([
      [1883, "mqtt", false, false, false],
      [8080, "websockets", false, false, false],
      [8883, "mqtt", true, false, false],
      [8081, "websockets", true, false, false],
      [8884, "mqtt", true, true, true],
    ]);
  });

  test("deploy/midge.service runs bin/midge.js with /etc/midge/midge.conf, restarts on failure, logs to the journal", () => {
    const unit = readFileSync(join(root, "deploy", "midge.service"), "utf8");
    expect(unit).toMatch(/^ExecStart=\S*node \/opt\/midge\/bin\/midge\.js --config \/etc\/midge\/midge\.conf$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^StandardError=journal$/m);
    expect(unit).toMatch(/^User=midge$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });
});

describe("the midge command with several listeners", () => {
  const BIN = fileURLToPath(new URL("../../bin/midge.js", import.meta.url));

  test("opens a TCP, a TLS and a WebSocket listener from one config file and serves them all", { timeout: TEST_TIMEOUT }, async () => {
    const conf = join(pki.dir, "three.conf");
    writeFileSync(conf, [
      "listener 0 127.0.0.1",
      "listener 0 127.0.0.1",
      "certfile server.pem",
      "keyfile server.key",
      "listener 0 127.0.0.1",
      "protocol websockets",
      "",
    ].join("\n"));
    const child: ChildProcess = spawn(process.execPath, [BIN, "-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const end = Date.now() + 8000;
      while (!/ running/.test(out)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`midge did not start; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const ports = [...out.matchAll(/Opening (ipv4|websockets) listen socket on port (\d+)\.(.*)/g)].map((m) => [m[1], Number(m[2]), m[3]]);
      expect(ports.map((p) => [p[0], p[2]])).toEqual([["ipv4", ""], ["ipv4", " (TLS)"], ["websockets", ""]]);
      const tcp = await connectUrl(`mqtt://${HOST}:${ports[0][1]}`);
      const secure = await connectUrl(`mqtts://${HOST}:${ports[1][1]}`, { ca: pki.read(pki.caCert) });
      const web = await connectUrl(`ws://${HOST}:${ports[2][1]}/mqtt`);
      await web.subscribe("three/#");
      await tcp.publish("three/tcp", "1");
      await secure.publish("three/tls", "2");
      expect((await web.message("three/tcp")).payload).toBe("1");
      expect((await web.message("three/tls")).payload).toBe("2");
    } finally {
      closeAllClients();
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
  });

  test("a TLS listener whose key does not match its certificate stops start-up with file:line", { timeout: TEST_TIMEOUT }, async () => {
    const conf = join(pki.dir, "bad.conf");
    writeFileSync(conf, ["listener 0 127.0.0.1", "certfile server.pem", "keyfile alice.key", ""].join("\n"));
    const child = spawn(process.execPath, [BIN, "-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => child.kill("SIGKILL"), 8000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    clearTimeout(t);
    expect(code).toBe(1);
    expect(err).toMatch(new RegExp(`^Error: ${conf.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: keyfile .*alice\\.key does not go with certfile`));
  });
});
