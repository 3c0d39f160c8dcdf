import { request } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { brokerStats } from "../../src/broker/broker";
import { DEFAULT_LIMITS, Limits, mergeLimits } from "../../src/limits";
import { Log } from "../../src/platform";
import { ListenerConfig, listenerConfig } from "../../targets/node/config";
import { RunningServer, startServer } from "../../targets/node/server";
import { RawClient, connackHex, pk, toHex, waitUntil } from "../e2e/helpers";
import { WAIT_MS, closeAllClients, connectRefused, connectUrl } from "./fixtures/clients";
import { Pki, makePki } from "./fixtures/pki";
import { WsClient } from "./fixtures/wsClient";

// MQTT over WebSocket (§6 of the standard; spec §2.17): MQTT.js over ws and wss, the mqtt
// subprotocol, packets spanning frames, text frames refused, any path, one connection table
// for every listener.

const TEST_TIMEOUT = 30000;
const HOST = "127.0.0.1";

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki?.remove());

const lines: string[] = [];
const log: Log = { log: (_level, message) => lines.push(message) };

let server: RunningServer | null = null;
const sockets: WebSocket[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  closeAllClients();
  for (const s of sockets) s.terminate();
  sockets.length = 0;
  for (const r of raws) r.destroy();
  raws.length = 0;
  if (server !== null) await server.stop();
  server = null;
  lines.length = 0;
});

async function start(listeners: ListenerConfig[], limits: Partial<Limits> = {}): Promise<number[]> {
  server = await startServer(mergeLimits(DEFAULT_LIMITS, limits), listeners, log);
  return server.listeners.map((l) => l.address.port);
}

function ws(): ListenerConfig {
  return listenerConfig(0, HOST, { protocol: "websockets" });
}

function wss(extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return listenerConfig(0, HOST, { protocol: "websockets", certfile: pki.serverCert, keyfile: pki.serverKey, ...extra });
}

describe("MQTT.js over WebSocket", () => {
  test("ws://.../mqtt exchanges messages with a plain TCP client through the same broker", { timeout: TEST_TIMEOUT }, async () => {
    const [tcpPort, wsPort] = await start([listenerConfig(0, HOST), ws()]);
    const web = await connectUrl(`ws://${HOST}:${wsPort}/mqtt`);
    const tcp = await connectUrl(`mqtt://${HOST}:${tcpPort}`);
    await web.subscribe("ws/in");
    await tcp.subscribe("ws/out");
    await tcp.publish("ws/in", "from tcp");
    expect((await web.message("ws/in")).payload).toBe("from tcp");
    await web.publish("ws/out", "from ws");
    expect((await tcp.message("ws/out")).payload).toBe("from ws");
    expect(lines.some((l) => /^New client connected from 127\.0\.0\.1:\d+ as /.test(l))).toBe(true);
  });

  test("a large message (200 kB) crosses the WebSocket listener", { timeout: TEST_TIMEOUT }, async () => {
    const [wsPort] = await start([ws()]);
    const a = await connectUrl(`ws://${HOST}:${wsPort}/mqtt`);
    const b = await connectUrl(`ws://${HOST}:${wsPort}/mqtt`);
    await b.subscribe("big");
    const payload = "x".repeat(200000);
    await a.publish("big", payload);
    expect((await b.message("big")).payload.length).toBe(payload.length);
  });

  test("wss:// (secure WebSocket) with the server checked against the test CA", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([wss()]);
    const c = await connectUrl(`wss://${HOST}:${port}/mqtt`, { ca: pki.read(pki.caCert) });
    await c.subscribe("wss/t");
    await c.publish("wss/t", "secure");
    expect((await c.message("wss/t")).payload).toBe("secure");
    await connectRefused(`wss://${HOST}:${port}/mqtt`, { ca: pki.read(pki.rogueCaCert) });
  });

  test("wss:// with require_certificate: the test CA's client certificate is accepted, another CA's refused", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([wss({ cafile: pki.caCert, requireCertificate: true })]);
    const ok = await connectUrl(`wss://${HOST}:${port}/mqtt`, {
      ca: pki.read(pki.caCert),
      cert: pki.read(pki.aliceCert),
      key: pki.read(pki.aliceKey),
    });
    await ok.end();
    await connectRefused(`wss://${HOST}:${port}/mqtt`, {
      ca: pki.read(pki.caCert),
      cert: pki.read(pki.rogueCert),
      key: pki.read(pki.rogueKey),
    });
  });
});

describe("the WebSocket handshake", () => {
  test("[MQTT-6.0.0-4] the server selects the subprotocol mqtt", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    expect((await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`, ["mqtt"])).socket.protocol).toBe("mqtt");
    expect((await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`, ["mqttv3.1", "mqtt"])).socket.protocol).toBe("mqtt");
  });

  test("[SRV-IMPL-20] the old name mqttv3.1 is accepted too", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`, ["mqttv3.1"]);
    expect(c.socket.protocol).toBe("mqttv3.1");
    c.send(pk.connect({ clientId: "old-name" }));
    expect(await c.nextPacket()).toBe(connackHex(false, 0));
  });

  test("a client offering only other subprotocols is refused with 400; one offering none is accepted", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    await expect(WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`, ["chat", "stomp"])).rejects.toThrow(/HTTP 400/);
    expect(lines.some((l) => /WebSocket connection from 127\.0\.0\.1:\d+ refused: subprotocols offered \(chat, stomp\)/.test(l))).toBe(true);
    const none = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`, []);
    expect(none.socket.protocol).toBe("");
    none.send(pk.connect({ clientId: "no-subprotocol" }));
    expect(await none.nextPacket()).toBe(connackHex(false, 0));
  });

  test("any path is accepted (/mqtt is only customary)", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    for (const path of ["/", "/mqtt", "/some/where?x=1"]) {
      const c = await WsClient.open(sockets, `ws://${HOST}:${port}${path}`);
      c.send(pk.connect({ clientId: "path" + path.length }));
      expect(await c.nextPacket()).toBe(connackHex(false, 0));
    }
  });

  test("a plain HTTP request gets 426 Upgrade Required", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: HOST, port: port, path: "/mqtt", timeout: WAIT_MS }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.end();
    });
    expect(status).toBe(426);
  });
});

describe("MQTT in WebSocket frames", () => {
  test("[MQTT-6.0.0-2] packets split across frames and several packets in one frame", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    const connect = pk.connect({ clientId: "frames" });
    const subscribe = pk.subscribe(1, [["f/#", 0]]);
    const publish = pk.publish({ topic: "f/1", payload: "spanning" });
    // CONNECT in three frames; then PINGREQ + the first half of SUBSCRIBE; then the rest of
    // SUBSCRIBE + PUBLISH + PINGREQ in one frame.
    c.send(connect.subarray(0, 1));
    c.send(connect.subarray(1, 7));
    c.send(connect.subarray(7));
    c.send(Buffer.concat([pk.pingreq(), subscribe.subarray(0, 5)]));
    c.send(Buffer.concat([subscribe.subarray(5), publish, pk.pingreq()]));
    expect(await c.nextPacket()).toBe(connackHex(false, 0));
    expect(await c.nextPacket()).toBe("d0 00");
    expect(await c.nextPacket()).toBe("90 03 00 01 00");
    expect(await c.nextPacket()).toBe(toHex(publish));
    expect(await c.nextPacket()).toBe("d0 00");
  });

  test("[MQTT-6.0.0-1] a text frame closes the connection (1003), as a network failure: the will is published", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const watcher = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    watcher.send(Buffer.concat([pk.connect({ clientId: "watcher" }), pk.subscribe(1, [["will/#", 0]])]));
    expect(await watcher.nextPacket()).toBe(connackHex(false, 0));
    expect(await watcher.nextPacket()).toBe("90 03 00 01 00");
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    c.send(pk.connect({ clientId: "texter", will: { topic: "will/texter", payload: "gone" } }));
    expect(await c.nextPacket()).toBe(connackHex(false, 0));
    c.socket.send("c000", { binary: false });
    expect(await c.closed()).toBe(1003);
    expect(await watcher.nextPacket()).toBe(toHex(pk.publish({ topic: "will/texter", payload: "gone" })));
    expect(lines.some((l) => /^Closing WebSocket connection from 127\.0\.0\.1:\d+: text frame received/.test(l))).toBe(true);
    await waitUntil(() => brokerStats(server!.broker).connections === 1, WAIT_MS, "the broker to drop the connection");
  });

  test("a close by the broker sends what was written first: CONNACK 1, then a normal close frame", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    c.send(pk.connect({ clientId: "v5", protocolLevel: 6 }));
    expect(await c.nextPacket()).toBe(connackHex(false, 1));
    expect(await c.closed()).toBe(1000);
  });

  test("a WebSocket message larger than the board's packet size limit closes the connection (1009)", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()], { maxPacketSize: 1024 });
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    c.send(pk.connect({ clientId: "big" }));
    expect(await c.nextPacket()).toBe(connackHex(false, 0));
    c.send(pk.publish({ topic: "t", payload: Buffer.alloc(2000) }));
    expect(await c.closed()).toBe(1009);
    await waitUntil(() => brokerStats(server!.broker).connections === 0, WAIT_MS, "the broker to drop the connection");
  });

  test("a client that vanishes is reported to the broker once", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    c.send(pk.connect({ clientId: "vanisher" }));
    expect(await c.nextPacket()).toBe(connackHex(false, 0));
    c.socket.terminate();
    await waitUntil(() => brokerStats(server!.broker).connections === 0, WAIT_MS, "the broker to see the close");
    await waitUntil(() => server!.transport.openCount() === 0, WAIT_MS, "the transport to forget the stream");
    expect(lines.filter((l) => l.startsWith("Client vanisher disconnected")).length).toBe(1);
  });
});

describe("one broker, several listeners", () => {
  test("all listeners share one connection table (max_connections)", { timeout: TEST_TIMEOUT }, async () => {
    const [tcpPort, wsPort] = await start([listenerConfig(0, HOST), ws()], { maxConnections: 2 });
    const raw = await RawClient.open(tcpPort);
    raws.push(raw);
    await raw.handshake({ clientId: "tcp-1" });
    const web = await WsClient.open(sockets, `ws://${HOST}:${wsPort}/mqtt`);
    web.send(pk.connect({ clientId: "ws-1" }));
    expect(await web.nextPacket()).toBe(connackHex(false, 0));
    // The third connection, on either listener, finds the table full.
    const third = await WsClient.open(sockets, `ws://${HOST}:${wsPort}/mqtt`);
    await third.closed();
    const fourth = await RawClient.open(tcpPort);
    raws.push(fourth);
    await fourth.expectClosedWithoutReply();
    expect(lines.filter((l) => l.includes("max_connections")).length).toBe(2);
    // A slot freed on one listener is usable from the other.
    raw.send(pk.disconnect());
    await raw.expectClosed();
    await waitUntil(() => brokerStats(server!.broker).connections === 1, WAIT_MS, "the slot to be freed");
    const again = await WsClient.open(sockets, `ws://${HOST}:${wsPort}/mqtt`);
    again.send(pk.connect({ clientId: "ws-2" }));
    expect(await again.nextPacket()).toBe(connackHex(false, 0));
  });

  test("stop() closes WebSocket connections too", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    c.send(pk.connect({ clientId: "stopper" }));
    expect(await c.nextPacket()).toBe(connackHex(false, 0));
    await server!.stop();
    await c.closed();
    expect(server!.transport.openCount()).toBe(0);
  });
});
