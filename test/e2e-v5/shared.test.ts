/**
 * MQTT 5.0 shared subscriptions end to end (OASIS MQTT 5.0 §4.8.2): real MQTT.js clients speaking
 * 5.0 over TCP to a broker process. Three members of one group at QoS 1 receive 30 messages
 * between them, each exactly once. Runs on the targets whose build has MQTT 5 (the Espruino
 * bundles do not: they skip).
 */
import { describe, expect, test } from "vitest";
import { connect as mqttjsConnect } from "mqtt";
import type { IConnackPacket, MqttClient } from "mqtt";
import { HOST, TEST_TIMEOUT, WAIT_MS, sleep, waitUntil } from "../e2e/helpers";
import { Harness } from "../e2e/helpers";
import { Target, selectedTargets } from "../e2e/targets";

/** Targets built with MQTT 5.0: the Node and Lua brokers (host profile) and mosquitto. */
function hasMqtt5(t: Target): boolean {
  return t.name === "node" || t.name === "mosquitto" || t.name.startsWith("lua");
}

interface V5Client {
  client: MqttClient;
  connack: IConnackPacket;
  got: string[];
}

/** An MQTT.js client speaking 5.0 (no automatic reconnect), once its CONNACK arrived. */
function connect5(h: Harness, clientId: string): Promise<V5Client> {
  const client = mqttjsConnect({ host: HOST, port: h.port, protocol: "mqtt", protocolVersion: 5, clientId, clean: true, reconnectPeriod: 0, connectTimeout: WAIT_MS });
  h.defer(() => client.end(true));
  const got: string[] = [];
  client.on("message", (_topic, payload) => got.push(payload.toString()));
  client.on("error", () => {
    // reported through the connect promise or a failed expectation
  });
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${clientId}: no CONNACK within ${WAIT_MS} ms`)), WAIT_MS + 500);
    client.once("connect", (connack: IConnackPacket) => {
      clearTimeout(t);
      res({ client, connack, got });
    });
    client.once("error", (e) => {
      clearTimeout(t);
      rej(new Error(`${clientId}: ${e.message}`));
    });
  });
}

for (const target of selectedTargets()) {
  describe(target.name, () => {
    describe("e2e-v5 shared subscriptions", { timeout: TEST_TIMEOUT }, () => {
      test.skipIf(!hasMqtt5(target))("[SRV5-SHR-2, MQTT-4.8.2-3] three MQTT.js 5.0 members of $share/workers at QoS 1 receive 30 messages exactly once between them", async (ctx) => {
        const h = await Harness.start(target, ctx);
        const members: V5Client[] = [];
        for (const id of ["shr-a", "shr-b", "shr-c"]) {
          const m = await connect5(h, id);
          // Shared Subscription Available: absent (= 1) or 1, never 0 (§3.2.2.3.15).
          expect(m.connack.properties?.sharedSubscriptionAvailable).not.toBe(false);
          const granted = await m.client.subscribeAsync("$share/workers/e2e/shared/jobs", { qos: 1 });
          expect(granted.map((g) => g.qos)).toEqual([1]);
          members.push(m);
        }
        const pub = await connect5(h, "shr-pub");
        const sent: string[] = [];
        for (let i = 0; i < 30; i++) {
          const payload = "job-" + i;
          sent.push(payload);
          await pub.client.publishAsync("e2e/shared/jobs", payload, { qos: 1 });
        }
        const total = (): number => members.reduce((n, m) => n + m.got.length, 0);
        await waitUntil(() => total() >= 30, WAIT_MS, "30 messages across the group");
        await sleep(300); // room for a duplicate to show up
        const all = members.flatMap((m) => m.got);
        expect(all.length).toBe(30);
        expect(all.slice().sort()).toEqual(sent.slice().sort());
        for (const m of members) expect(m.got.length).toBeGreaterThan(0); // every member had a turn
      });
    });
  });
}
