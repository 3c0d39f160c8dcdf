/**
 * MQTT 5.0 over every listener kind of the Node target: plain TCP, WebSocket and TLS (mqtts and
 * wss) in one broker, MQTT.js clients at protocol version 5 exchanging messages whose
 * properties arrive unchanged whatever listener each side uses. In-process (startServer), as
 * test/node/websocket.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { connect } from "mqtt";
import type { IClientOptions, IPublishPacket, MqttClient } from "mqtt";
import { DEFAULT_LIMITS } from "../../src/limits";
import { listenerConfig } from "../../targets/node/config";
import { RunningServer, startServer } from "../../targets/node/server";
import { Pki, makePki } from "../node/fixtures/pki";
import { TEST_TIMEOUT, waitUntil } from "../e2e/helpers";

const HOST = "127.0.0.1";
let pki: Pki;
let server: RunningServer | undefined;
const clients: MqttClient[] = [];
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki?.remove());
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  if (server) await server.stop();
  server = undefined;
});

function v5(url: string, extra: IClientOptions = {}): Promise<{ client: MqttClient; got: IPublishPacket[] }> {
  return new Promise((resolve, reject) => {
    const client = connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000, ca: pki.read(pki.caCert), rejectUnauthorized: true, ...extra });
    clients.push(client);
    const got: IPublishPacket[] = [];
    client.on("message", (_t, _p, packet) => got.push(packet));
    client.once("connect", () => resolve({ client, got }));
    client.once("error", reject);
  });
}

describe("MQTT 5.0 on every listener of the Node target", () => {
  test("[MQTT-3.3.2-17, MQTT-3.3.2-20, SRV5-WS-1] TCP, WebSocket, mqtts and wss clients exchange 5.0 messages with their properties", { timeout: TEST_TIMEOUT }, async () => {
    const tls = { certfile: pki.serverCert, keyfile: pki.serverKey };
    server = await startServer(DEFAULT_LIMITS, [listenerConfig(0, HOST), listenerConfig(0, HOST, { protocol: "websockets" }), listenerConfig(0, HOST, tls), listenerConfig(0, HOST, { protocol: "websockets", ...tls })], { log: () => {} });
    const [tcp, ws, mqtts, wss] = server.listeners.map((l) => l.address.port);
    const urls = [`mqtt://${HOST}:${tcp}`, `ws://${HOST}:${ws}/mqtt`, `mqtts://${HOST}:${mqtts}`, `wss://${HOST}:${wss}/mqtt`];
    const sides = [];
    for (const url of urls) {
      const c = await v5(url);
      await c.client.subscribeAsync({ "l/#": { qos: 1 } });
      sides.push(c);
    }
    for (let i = 0; i < sides.length; i++) {
      await sides[i].client.publishAsync(`l/${i}`, `from ${i}`, { qos: 1, properties: { contentType: "text/plain", userProperties: { side: String(i) } } });
    }
    for (const s of sides) {
      await waitUntil(() => s.got.length === sides.length, 3000, "every side's message");
      const seen = s.got.map((p) => `${p.topic}|${p.payload.toString()}|${p.properties?.contentType}|${JSON.stringify(p.properties?.userProperties)}`).sort();
      expect(seen).toEqual(urls.map((_u, i) => `l/${i}|from ${i}|text/plain|{"side":"${i}"}`));
    }
  });
});
