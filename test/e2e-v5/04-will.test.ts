/**
 * MQTT 5.0 Will messages with MQTT.js: Will Delay Interval (published after the delay,
 * cancelled by a reconnect within it), DISCONNECT 0x04 (publish the Will) and 0x00 (do not),
 * and the Will's properties travelling with it. An observer subscribes at QoS 1 to the will
 * topics; "nothing arrived" is checked with a marker published after the cause.
 *
 * The delay tests wait 1-2.5 s: the delay is their subject.
 */
import { expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, TEST_TIMEOUT, sharedBrokers, sleep } from "../e2e/helpers";
import { selectedTargets } from "../e2e/targets";
import { describeV5, mqtt5, publish5, v5Options } from "./v5";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeV5(target)(target.name, () => {
    describeV5(target)("e2e-v5/04-will", { timeout: TEST_TIMEOUT }, () => {
      const sharedV5 = (ctx: Parameters<typeof shared.harness>[1]) => shared.harness(target, ctx, v5Options(target));

      test("[MQTT-3.1.2-8, SRV5-CON-18, SRV5-CON-5] a Will with Will Delay Interval 1 is published about 1 s after the connection drops, not before", async (ctx) => {
        const h = await sharedV5(ctx);
        const obs = await mqtt5(h);
        await obs.client.subscribeAsync({ "wd1/#": { qos: 1 } });
        const c = await mqtt5(h, {
          clientId: "wd1",
          properties: { sessionExpiryInterval: 30 },
          will: { topic: "wd1/status", payload: Buffer.from("offline"), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
        });
        const dropped = Date.now();
        c.kill();
        const m = await obs.inbox.waitTopic("wd1/status", 4000);
        const after = m.at - dropped;
        expect(after, `published ${after} ms after the drop`).toBeGreaterThanOrEqual(900);
        expect(after).toBeLessThan(3500);
        expect(m.payload.toString()).toBe("offline");
      });

      test("[MQTT-3.1.3-9, MQTT-3.1.2-8, MQTT-3.1.2-10] a reconnect within the Will Delay Interval cancels the Will", async (ctx) => {
        const h = await sharedV5(ctx);
        const obs = await mqtt5(h);
        await obs.client.subscribeAsync({ "wd2/#": { qos: 1 } });
        const opts = {
          clientId: "wd2",
          clean: false,
          properties: { sessionExpiryInterval: 30 },
          will: { topic: "wd2/status", payload: Buffer.from("offline"), qos: 1 as const, retain: false, properties: { willDelayInterval: 2 } },
        };
        const c = await mqtt5(h, opts);
        c.kill();
        await sleep(300);
        const back = await mqtt5(h, { ...opts, will: undefined });
        expect(back.connack.sessionPresent).toBe(true);
        await sleep(2500); // past the delay: the subject of the test
        const pub = await mqtt5(h);
        await publish5(pub, "wd2/marker", "m", { qos: 1 });
        expect((await obs.inbox.before("m")).map((m) => m.topic)).toEqual([]);
      });

      test("[MQTT-3.1.2-8, SRV5-CON-18, MQTT-4.1.0-2] a Will whose delay is longer than the session is published when the session ends", async (ctx) => {
        const h = await sharedV5(ctx);
        const obs = await mqtt5(h);
        await obs.client.subscribeAsync({ "wd3/#": { qos: 1 } });
        const c = await mqtt5(h, {
          clientId: "wd3",
          properties: { sessionExpiryInterval: 1 },
          will: { topic: "wd3/status", payload: Buffer.from("offline"), qos: 1, retain: false, properties: { willDelayInterval: 60 } },
        });
        const dropped = Date.now();
        c.kill();
        const m = await obs.inbox.waitTopic("wd3/status", 5000);
        expect(m.at - dropped, "at the session's end, 1 s after the drop").toBeGreaterThanOrEqual(900);
      });

      test("[SRV5-DIS-4, SRV5-CON-5, MQTT-3.1.2-8] DISCONNECT with reason code 0x04 publishes the Will", async (ctx) => {
        const h = await sharedV5(ctx);
        const obs = await mqtt5(h);
        await obs.client.subscribeAsync({ "wd4/#": { qos: 1 } });
        const c = await mqtt5(h, { clientId: "wd4", will: { topic: "wd4/status", payload: Buffer.from("bye with will"), qos: 1, retain: false } });
        await c.end(0x04);
        const m = await obs.inbox.waitTopic("wd4/status");
        expect(m.payload.toString()).toBe("bye with will");
      });

      test("[MQTT-3.14.4-3, MQTT-3.1.2-10, MQTT-3.1.2-8] DISCONNECT with reason code 0x00 removes the Will without publishing it", async (ctx) => {
        const h = await sharedV5(ctx);
        const obs = await mqtt5(h);
        await obs.client.subscribeAsync({ "wd5/#": { qos: 1 } });
        const c = await mqtt5(h, { clientId: "wd5", will: { topic: "wd5/status", payload: Buffer.from("should not"), qos: 1, retain: false } });
        await c.end(0x00);
        expect(await c.waitClosed()).toBe(true);
        const pub = await mqtt5(h);
        await publish5(pub, "wd5/marker", "m", { qos: 1 });
        expect((await obs.inbox.before("m")).map((m) => m.topic)).toEqual([]);
      });

      test("[SRV5-CON-20, SRV5-CON-22, MQTT-3.1.3-10, MQTT-3.1.2-15, SRV5-V311-7] the Will's properties travel with it and a retained Will is retained", async (ctx) => {
        const h = await sharedV5(ctx);
        const obs = await mqtt5(h);
        await obs.client.subscribeAsync({ "wd6/#": { qos: 1, rap: true } });
        const c = await mqtt5(h, {
          clientId: "wd6",
          will: {
            topic: "wd6/status",
            payload: Buffer.from('{"state":"offline"}'),
            qos: 1,
            retain: true,
            properties: {
              payloadFormatIndicator: true,
              contentType: "application/json",
              responseTopic: "wd6/reply",
              correlationData: Buffer.from("corr"),
              userProperties: { first: "1", second: "2" },
            },
          },
        });
        c.kill();
        const m = await obs.inbox.waitTopic("wd6/status");
        expect(m.retain, "Retain As Published: the Will was published retained").toBe(true);
        expect(m.properties.payloadFormatIndicator).toBe(true);
        expect(m.properties.contentType).toBe("application/json");
        expect(m.properties.responseTopic).toBe("wd6/reply");
        expect(Buffer.from(m.properties.correlationData as Buffer).toString()).toBe("corr");
        expect(Object.entries(m.properties.userProperties ?? {})).toEqual([
          ["first", "1"],
          ["second", "2"],
        ]);
        const late = await mqtt5(h);
        await late.client.subscribeAsync({ "wd6/status": { qos: 1 } });
        const r = await late.inbox.waitTopic("wd6/status");
        expect([r.retain, r.payload.toString(), r.properties.contentType]).toEqual([true, '{"state":"offline"}', "application/json"]);
        const pub = await mqtt5(h);
        await publish5(pub, "wd6/status", "", { qos: 1, retain: true });
      });
    });
  });
}
