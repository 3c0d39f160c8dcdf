/**
 * MQTT 5.0 PUBLISH: message properties forwarded unchanged at QoS 0, 1 and 2, Message Expiry
 * Interval (expired copies dropped, forwarded values reduced by the wait), topic aliases from
 * the client, and the limits a client announces to the server (Topic Alias Maximum, Maximum
 * Packet Size, Receive Maximum).
 *
 * Expiry tests wait 2.2 s for a 1 s interval to pass: the timing is their subject.
 */
import { expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, TEST_TIMEOUT, fits, sharedBrokers, sleep } from "../e2e/helpers";
import { selectedTargets } from "../e2e/targets";
import { decodePublish5, describeV5, mqtt5, pk5, publish5, rawConnect5, startV5, v5Options } from "./v5";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeV5(target)(target.name, () => {
    describeV5(target)("e2e-v5/02-publish", { timeout: TEST_TIMEOUT }, () => {
      const sharedV5 = (ctx: Parameters<typeof shared.harness>[1]) => shared.harness(target, ctx, v5Options(target));

      for (const qos of [0, 1, 2] as const) {
        test(`[MQTT-3.3.2-4, MQTT-3.3.2-15, MQTT-3.3.2-16, MQTT-3.3.2-17, MQTT-3.3.2-20, SRV5-OPS-13, SRV5-V311-17, SRV5-PUB-11, MQTT-3.3.4-1] QoS ${qos}: Payload Format Indicator, Content Type, Response Topic, Correlation Data and User Properties reach the subscriber unchanged`, async (ctx) => {
          const h = await sharedV5(ctx);
          const sub = await mqtt5(h);
          await sub.client.subscribeAsync({ [`props${qos}/#`]: { qos: 2 } });
          const pub = await mqtt5(h);
          const properties = {
            payloadFormatIndicator: true,
            contentType: "application/json; charset=utf-8",
            responseTopic: `props${qos}/reply/ü`,
            correlationData: Buffer.from([0, 1, 2, 0xfe, 0xff]),
            userProperties: { zeta: "1", alpha: ["2", "3"], "": "empty key" },
          };
          const payload = JSON.stringify({ q: qos, text: "größe" });
          const ack = (await publish5(pub, `props${qos}/a`, payload, { qos, properties })) as { reasonCode?: number } | undefined;
          if (qos > 0) expect(ack?.reasonCode ?? 0, "PUBACK / PUBREC reason code (0x10 allowed: no subscribers)").toBe(0);
          const m = await sub.inbox.waitTopic(`props${qos}/a`);
          expect(m.payload.toString()).toBe(payload);
          expect(m.qos).toBe(qos);
          expect(m.properties.payloadFormatIndicator).toBe(true);
          expect(m.properties.contentType).toBe(properties.contentType);
          expect(m.properties.responseTopic).toBe(properties.responseTopic);
          expect(Buffer.from(m.properties.correlationData as Buffer).toString("hex")).toBe("000102feff");
          expect(Object.entries(m.properties.userProperties ?? {})).toEqual([
            ["zeta", "1"],
            ["alpha", ["2", "3"]],
            ["", "empty key"],
          ]);
          expect(m.properties.messageExpiryInterval, "SRV5-PUB-7: no expiry given, none forwarded").toBeUndefined();
          expect(m.properties.topicAlias, "MQTT-3.1.2-27: no aliases to a client that allowed none").toBeUndefined();
        });
      }

      test("[MQTT-3.3.2-17, MQTT-3.3.2-18] User Properties keep their order, repeated keys interleaved (raw publisher and subscriber)", async (ctx) => {
        const h = await sharedV5(ctx);
        const sub = await rawConnect5(h);
        sub.c.send(pk5.subscribe(1, [["order/t", 1]]));
        expect((await sub.c.nextPacket(3000, "SUBACK")).type).toBe(9);
        const pub = await rawConnect5(h);
        const pairs: Array<[string, string]> = [
          ["k", "1"],
          ["j", "2"],
          ["k", "3"],
          ["k", "1"],
        ];
        pub.c.send(pk5.publish({ topic: "order/t", payload: "x", qos: 1, id: 7, props: pairs.map((p) => ["userProperty", p]) }));
        expect((await pub.c.nextPacket(3000, "PUBACK")).type).toBe(4);
        const m = decodePublish5(await sub.c.nextPacket(3000, "the PUBLISH"));
        expect(m.props.userProperty).toEqual(pairs);
        sub.c.send(pk5.puback(m.id));
      });

      test("[MQTT-3.3.2-6] a live message's Message Expiry Interval is forwarded, reduced by at most the time it waited", async (ctx) => {
        const h = await sharedV5(ctx);
        const sub = await mqtt5(h);
        await sub.client.subscribeAsync({ "expl/t": { qos: 1 } });
        const pub = await mqtt5(h);
        await publish5(pub, "expl/t", "live", { qos: 1, properties: { messageExpiryInterval: 100 } });
        const m = await sub.inbox.waitTopic("expl/t");
        expect(m.properties.messageExpiryInterval).toBeGreaterThanOrEqual(98);
        expect(m.properties.messageExpiryInterval).toBeLessThanOrEqual(100);
      });

      test("[MQTT-3.3.2-5, MQTT-3.3.2-6, SRV5-V311-16] an offline session's queued message whose expiry passed is not delivered; another is delivered with its interval reduced by the wait", async (ctx) => {
        const h = await sharedV5(ctx);
        const s = await mqtt5(h, { clientId: "exq5", clean: true, properties: { sessionExpiryInterval: 60 } });
        await s.client.subscribeAsync({ "exq/t": { qos: 1 } });
        await s.end();
        const pub = await mqtt5(h);
        await publish5(pub, "exq/t", "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
        await publish5(pub, "exq/t", "long", { qos: 1, properties: { messageExpiryInterval: 30 } });
        await publish5(pub, "exq/t", "forever", { qos: 1 });
        await sleep(2200); // the expiry is the subject
        const back = await mqtt5(h, { clientId: "exq5", clean: false, properties: { sessionExpiryInterval: 60 } });
        expect(back.connack.sessionPresent).toBe(true);
        await back.inbox.waitFor((m) => m.payload.toString() === "forever");
        expect(back.inbox.msgs.map((m) => m.payload.toString())).toEqual(["long", "forever"]);
        const left = back.inbox.msgs[0].properties.messageExpiryInterval as number;
        expect(left, "30 s less the 2.2 s it waited").toBeGreaterThanOrEqual(25);
        expect(left).toBeLessThanOrEqual(28);
        expect(back.inbox.msgs[1].properties.messageExpiryInterval, "SRV5-PUB-7").toBeUndefined();
      });

      test("[SRV5-PUB-2, SRV5-PUB-3, MQTT-3.3.2-6, SRV5-V311-16] a retained message whose expiry passed is not sent to a new subscriber; a live one is, with its interval reduced", async (ctx) => {
        const h = await sharedV5(ctx);
        const pub = await mqtt5(h);
        await publish5(pub, "exr/short", "short", { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
        await publish5(pub, "exr/long", "long", { qos: 1, retain: true, properties: { messageExpiryInterval: 30, contentType: "text/plain" } });
        await sleep(2200); // the expiry is the subject
        const sub = await mqtt5(h);
        await sub.client.subscribeAsync({ "exr/#": { qos: 1 } });
        await publish5(pub, "exr/marker", "m", { qos: 1 });
        const before = await sub.inbox.before("m");
        expect(before.map((m) => m.topic)).toEqual(["exr/long"]);
        expect(before[0].retain).toBe(true);
        expect(before[0].properties.contentType, "SRV5-PUB-3: the retained copy keeps its properties").toBe("text/plain");
        expect(before[0].properties.messageExpiryInterval).toBeGreaterThanOrEqual(25);
        expect(before[0].properties.messageExpiryInterval).toBeLessThanOrEqual(28);
      });

      test("[MQTT-3.3.2-12, SRV5-PUB-8, SRV5-V311-15, MQTT-3.3.2-3] topic aliases from MQTT.js: a name mapped to alias 1, then sent as alias only, then re-mapped; subscribers get full names and no alias", async (ctx) => {
        const h = await sharedV5(ctx);
        const pub = await mqtt5(h);
        const max = pub.connack.properties?.topicAliasMaximum ?? 0;
        if (max < 1) ctx.skip(); // the server takes no aliases: 03-errors checks that any alias is refused
        const sub = await mqtt5(h);
        await sub.client.subscribeAsync({ "alias/#": { qos: 1 } });
        await publish5(pub, "alias/x", "1", { qos: 1, properties: { topicAlias: 1 } });
        await publish5(pub, "", "2", { qos: 1, properties: { topicAlias: 1 } });
        await publish5(pub, "alias/y", "3", { qos: 1, properties: { topicAlias: 1 } });
        await publish5(pub, "", "4", { qos: 0, properties: { topicAlias: 1 } });
        if (max >= 2) {
          await publish5(pub, "alias/z", "5", { qos: 1, properties: { topicAlias: max } });
          await publish5(pub, "", "6", { qos: 1, properties: { topicAlias: max } });
        }
        await publish5(pub, "alias/marker", "m", { qos: 1 });
        const got = (await sub.inbox.before("m")).map((m) => `${m.topic}=${m.payload}`);
        expect(got).toEqual(["alias/x=1", "alias/x=2", "alias/y=3", "alias/y=4", ...(max >= 2 ? ["alias/z=5", "alias/z=6"] : [])]);
        for (const m of sub.inbox.msgs) expect(m.properties.topicAlias, "no alias forwarded").toBeUndefined();
      });

      test("[MQTT-3.1.2-26, MQTT-3.3.2-11, MQTT-3.3.2-3, MQTT-3.3.2-8] a subscriber with Topic Alias Maximum 2 never gets an alias above 2 (or 0), and every name resolves", async (ctx) => {
        const h = await sharedV5(ctx);
        const sub = await rawConnect5(h, { props: [["topicAliasMaximum", 2]] });
        sub.c.send(pk5.subscribe(1, [["tam/#", 0]]));
        expect((await sub.c.nextPacket(3000, "SUBACK")).type).toBe(9);
        const pub = await mqtt5(h);
        const topics = ["tam/a", "tam/b", "tam/c", "tam/a", "tam/b", "tam/c", "tam/a"];
        for (const [i, t] of topics.entries()) await publish5(pub, t, String(i), { qos: 1 });
        const aliases = new Map<number, string>();
        for (const [i, t] of topics.entries()) {
          const m = decodePublish5(await sub.c.nextPacket(3000, `message ${i}`));
          const alias = m.props.topicAlias as number | undefined;
          let name = m.topic;
          if (alias !== undefined) {
            expect(alias, "alias in 1..2").toBeGreaterThanOrEqual(1);
            expect(alias).toBeLessThanOrEqual(2);
            if (name !== "") aliases.set(alias, name);
            else name = aliases.get(alias) ?? "(unmapped alias)";
          }
          expect([name, m.payload.toString()]).toEqual([t, String(i)]);
        }
      });

      test("[MQTT-3.1.2-27] a subscriber that sent no Topic Alias Maximum gets full topic names and no alias", async (ctx) => {
        const h = await sharedV5(ctx);
        const sub = await rawConnect5(h);
        sub.c.send(pk5.subscribe(1, [["tam0/#", 0]]));
        expect((await sub.c.nextPacket(3000, "SUBACK")).type).toBe(9);
        const pub = await mqtt5(h);
        for (let i = 0; i < 3; i++) await publish5(pub, "tam0/same", String(i), { qos: 1 });
        for (let i = 0; i < 3; i++) {
          const m = decodePublish5(await sub.c.nextPacket(3000, `message ${i}`));
          expect([m.topic, m.props.topicAlias]).toEqual(["tam0/same", undefined]);
        }
      });

      test.skipIf(!fits(target, { maxPacketSize: 400 }))("[MQTT-3.1.2-24, MQTT-3.1.2-25, SRV5-V311-14] a message larger than the subscriber's Maximum Packet Size is not sent to it; the next one is", async (ctx) => {
        const h = await sharedV5(ctx);
        const sub = await rawConnect5(h, { props: [["maximumPacketSize", 128]] });
        sub.c.send(pk5.subscribe(1, [["mps/#", 1]]));
        expect((await sub.c.nextPacket(3000, "SUBACK")).type).toBe(9);
        const pub = await mqtt5(h);
        await publish5(pub, "mps/big", "x".repeat(300), { qos: 1 });
        await publish5(pub, "mps/big0", "y".repeat(300), { qos: 0 });
        await publish5(pub, "mps/small", "fits", { qos: 1 });
        const p = await sub.c.nextPacket(3000, "the small message");
        expect(p.raw.length).toBeLessThanOrEqual(128);
        const m = decodePublish5(p);
        expect([m.topic, m.payload.toString()]).toEqual(["mps/small", "fits"]);
        sub.c.send(pk5.puback(m.id));
        await sub.c.expectNothingBeforePingresp("the big messages are dropped, not resent");
      });

      // mosquitto 2.0.11 keeps to the quota until the first PUBACK, then sends two more (three
      // unacknowledged with Receive Maximum 2): a mosquitto bug, so the check skips there.
      test.skipIf(target.name === "mosquitto")("[MQTT-3.3.4-9, MQTT-4.9.0-2, MQTT-4.9.0-3, MQTT-3.3.4-10, SRV5-OPS-10, SRV5-OPS-11] a subscriber with Receive Maximum 2 has at most 2 unacknowledged QoS 1 messages; PINGRESP is not held back; each PUBACK lets one more go", async (ctx) => {
        const h = await startV5(target, ctx);
        const sub = await rawConnect5(h, { props: [["receiveMaximum", 2]] });
        sub.c.send(pk5.subscribe(1, [["rm/#", 1]]));
        expect((await sub.c.nextPacket(3000, "SUBACK")).type).toBe(9);
        const pub = await mqtt5(h);
        for (let i = 1; i <= 4; i++) await publish5(pub, "rm/t", `m${i}`, { qos: 1 });
        const first = decodePublish5(await sub.c.nextPacket(3000, "m1"));
        const second = decodePublish5(await sub.c.nextPacket(3000, "m2"));
        expect([first.payload.toString(), second.payload.toString()]).toEqual(["m1", "m2"]);
        await sub.c.expectNothingBeforePingresp("quota used up: no third PUBLISH, but the PINGRESP");
        sub.c.send(pk5.puback(first.id));
        const third = decodePublish5(await sub.c.nextPacket(3000, "m3"));
        expect(third.payload.toString()).toBe("m3");
        await sub.c.expectNothingBeforePingresp("one unit came back and was used");
        sub.c.send(pk5.puback(second.id));
        sub.c.send(pk5.puback(third.id));
        const fourth = decodePublish5(await sub.c.nextPacket(3000, "m4"));
        expect(fourth.payload.toString()).toBe("m4");
        sub.c.send(pk5.puback(fourth.id));
      });
    });
  });
}
