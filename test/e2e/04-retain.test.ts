/**
 * Retained messages (spec §2.5 RETAIN, SRV-PUB-2, SRV-PUB-3, SRV-PUB-4, SRV-PUB-5, MQTT-4.7.2-1 for $ topics). The tests share
 * one broker (each uses its own topics) except the one that subscribes to "#".
 */
import { describe, expect, test, vi } from "vitest";
import { readFileSync } from "node:fs";
import { E2E_CONCURRENCY, Harness, RawClient, TEST_TIMEOUT, decodePublish, idHex, pk, publish, sharedBrokers, describeOn } from "./helpers";
import type { StartOptions, Target } from "./targets";
import { selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

/** Collects PUBLISHes on a raw subscriber until one on `sentinel` arrives (acking QoS 1). */
async function untilSentinel(c: RawClient, sentinel: string): Promise<Array<{ topic: string; payload: string; qos: number; retain: boolean }>> {
  const out: Array<{ topic: string; payload: string; qos: number; retain: boolean }> = [];
  for (;;) {
    const p = await c.nextPacket();
    if (p.type === 6) {
      c.send(pk.pubcomp(p.body.readUInt16BE(0)));
      continue;
    }
    const m = decodePublish(p);
    if (m.qos === 1) c.send(pk.puback(m.id));
    if (m.qos === 2) c.send(pk.pubrec(m.id));
    if (m.topic === sentinel) return out;
    out.push({ topic: m.topic, payload: m.payload.toString(), qos: m.qos, retain: m.retain });
  }
}

const shared = sharedBrokers();

/** Retained messages a host-limited broker is filled with for the full-table tests. */
const HOST_RETAINED = 400;

/**
 * Fills a broker's retained table (its profile's maxRetained messages, sized to share out its
 * maxRetainedBytes within maxPacketSize; HOST_RETAINED where it is host-sized), subscribes `#`
 * with MQTT.js at `qos` and expects every message once, with RETAIN=1, and no drop in the log.
 */
async function fullTableReplay(target: Target, ctx: Parameters<typeof Harness.start>[1], qos: 0 | 1, opts: StartOptions | undefined, limits: Record<string, number | boolean> | undefined): Promise<void> {
  const h = await Harness.start(target, ctx, opts);
  const n = limits === undefined ? HOST_RETAINED : Number(limits.maxRetained);
  const bytes = limits === undefined ? 100 : Math.min(Math.floor(Number(limits.maxRetainedBytes) / n), Number(limits.maxPacketSize) - 16, 100);
  const pub = await h.mqtt();
  const expected = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const topic = `f/${i}`;
    const payload = `${i}:`.padEnd(bytes - topic.length, "x");
    expected.set(topic, payload);
    await publish(pub, topic, payload, (i % 2) as 0 | 1, true);
  }
  const mark = h.mark();
  const sub = await h.subscriber({ "#": qos });
  await sub.inbox.waitCount(n, 15000);
  // Nothing more: a marker published now comes after any further message.
  await publish(pub, "f-end", "end", 1);
  await sub.inbox.waitTopic("f-end", 5000);
  const got = sub.inbox.msgs.filter((m) => m.topic !== "f-end");
  expect(got.length, "each retained message once").toBe(n);
  expect(new Set(got.map((m) => m.topic)).size).toBe(n);
  for (const m of got) {
    expect([m.payload.toString(), m.retain], m.topic).toEqual([expected.get(m.topic), true]);
    expect(m.qos).toBe(Math.min(qos, Number(m.topic.slice(2)) % 2));
  }
  expect(h.logsSince(mark)).not.toMatch(/queue of client .* is full|is not reading|\{2[34]\|/);
}

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    describeOn(target)("04-retain", { timeout: TEST_TIMEOUT }, () => {
      test("[MQTT-3.3.1-5][MQTT-3.3.1-6][MQTT-3.3.1-8] a retained message is stored and sent to a new subscriber with RETAIN=1", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.rawConnected();
        pub.send("33 0c 00 05 72 2f 6f 6e 65 00 01 76 31 21"); // QoS 1 RETAIN id 1 "r/one" "v1!"
        await pub.expectPacket("40 02 00 01");
        const c = await h.rawConnected();
        c.send(pk.subscribe(1, [["r/one", 1]]));
        const got = [await c.nextPacket(), await c.nextPacket()];
        const suback = got.find((p) => p.type === 9);
        expect(suback?.hex).toBe("90 03 00 01 01");
        const p = got.find((x) => x.type === 3)!;
        expect(p, "no retained PUBLISH").toBeDefined();
        expect(p.first).toBe(0x33); // QoS 1, RETAIN 1, DUP 0
        expect(p.body.subarray(0, 7).toString("latin1")).toBe("\x00\x05r/one");
        expect(p.body.subarray(9).toString()).toBe("v1!");
      });

      test("[MQTT-3.3.1-9] a retained PUBLISH reaches existing subscribers with RETAIN=0", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        await c.subscribe(1, [["r/live", 0]]);
        const pub = await h.rawConnected();
        pub.send("31 09 00 06 72 2f 6c 69 76 65 78"); // QoS 0 RETAIN "r/live" "x"
        await c.expectPacket("30 09 00 06 72 2f 6c 69 76 65 78");
      });

      test("[MQTT-3.3.1-10][MQTT-3.3.1-11] a zero-length retained PUBLISH is delivered to current subscribers and deletes the retained message", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt();
        await publish(pub, "z/del", "old", 1, true);
        await publish(pub, "z/keep", "kept", 1, true);
        const live = await h.rawConnected();
        live.send(pk.subscribe(1, [["z/del", 0]]));
        // SUBACK and the retained "old" (RETAIN=1), in either order
        const first = [await live.nextPacket(), await live.nextPacket()].map((p) => p.hex).sort();
        expect(first).toEqual(["31 0a 00 05 7a 2f 64 65 6c 6f 6c 64", "90 03 00 01 00"]);
        await publish(pub, "z/del", "", 1, true);
        await live.expectPacket("30 07 00 05 7a 2f 64 65 6c"); // delivered, empty, RETAIN=0
        const late = await h.rawConnected();
        await late.subscribe(1, [["z/#", 1]]);
        await publish(pub, "z/sentinel", "s", 1);
        const seen = await untilSentinel(late, "z/sentinel");
        expect(seen).toEqual([{ topic: "z/keep", payload: "kept", qos: 1, retain: true }]);
      });

      test("[MQTT-3.3.1-10] a zero-length retained PUBLISH on a topic with nothing retained is not an error", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        c.send("33 07 00 03 6e 2f 72 00 01"); // QoS 1 RETAIN "n/r", empty
        await c.expectPacket("40 02 00 01");
        c.send("c0 00");
        await c.expectPacket("d0 00");
      });

      test("[MQTT-3.3.1-12] a PUBLISH with RETAIN=0 neither replaces nor deletes the retained message", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt();
        await publish(pub, "k/t", "retained", 1, true);
        await publish(pub, "k/t", "plain", 1, false);
        await publish(pub, "k/t", "", 1, false);
        const c = await h.rawConnected();
        await c.subscribe(1, [["k/#", 1]]);
        await publish(pub, "k/sentinel", "s", 1);
        expect(await untilSentinel(c, "k/sentinel")).toEqual([{ topic: "k/t", payload: "retained", qos: 1, retain: true }]);
      });

      test("[MQTT-3.3.1-5] a new retained message replaces the previous one: one per topic", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt();
        await publish(pub, "v/t", "v1", 1, true);
        await publish(pub, "v/t", "v2", 1, true);
        const c = await h.rawConnected();
        await c.subscribe(1, [["v/#", 1]]);
        await publish(pub, "v/sentinel", "s", 1);
        expect(await untilSentinel(c, "v/sentinel")).toEqual([{ topic: "v/t", payload: "v2", qos: 1, retain: true }]);
      });

      test("[MQTT-3.3.1-5][MQTT-4.7.3-4] topics that differ only beyond U+00FF keep separate retained messages, sent under their own bytes", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.rawConnected();
        pub.send("31 0b 00 08 6e 62 2f e6 b8 a9 2f 78 31"); // retained "nb/\u6e29/x" payload "1"
        pub.send("31 09 00 06 6e 62 2f 29 2f 78 32"); // retained "nb/)/x" payload "2"
        pub.send("31 0a 00 07 6e 62 2f c4 a9 2f 78 33"); // retained "nb/\u0129/x" payload "3"
        pub.send("c0 00"); // PINGREQ: its PINGRESP comes after the three are stored
        await pub.expectPacket("d0 00");
        const c = await h.rawConnected();
        await c.subscribe(1, [["nb/+/x", 0]]);
        const got: string[] = [];
        for (let i = 0; i < 3; i++) got.push((await c.nextPacket()).raw.toString("hex"));
        expect(got.sort()).toEqual(["310900066e622f292f7832", "310a00076e622fc4a92f7833", "310b00086e622fe6b8a92f7831"]);
        // The retained messages went out with the SUBSCRIBE; a fourth would come before this marker.
        pub.send("30 09 00 06 6e 62 2f 65 2f 78 65"); // "nb/e/x" payload "e", not retained
        await c.expectMarker("nb/e/x", "e", "three retained messages, no more");
      });

      test("[MQTT-3.3.1-6] a wildcard subscription gets the retained message of every matching topic", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt();
        for (const t of ["w/a", "w/b/c", "w/d", "x/e"]) await publish(pub, t, t, 0, true);
        const sub = await h.subscriber({ "w/#": 0 });
        // The retained messages went out with the SUBSCRIBE: any other would come before this marker.
        await publish(pub, "w/end", "end", 0);
        await sub.inbox.waitTopic("w/end");
        const before = sub.inbox.msgs.slice(0, sub.inbox.topics().indexOf("w/end"));
        expect(before.map((m) => m.topic).sort()).toEqual(["w/a", "w/b/c", "w/d"]);
        for (const m of before) {
          expect(m.retain).toBe(true);
          expect(m.payload.toString()).toBe(m.topic);
        }
      });

      for (const [stored, granted, expected] of [
        [2, 1, 1],
        [1, 2, 1],
        [2, 0, 0],
        [0, 2, 0],
      ] as const) {
        test(`[SRV-PUB-4][MQTT-3.8.4-6][MQTT-3.3.1-5] retained at QoS ${stored}, subscription granted QoS ${granted}: delivered at QoS ${expected}`, async (ctx) => {
          const h = await shared.harness(target, ctx);
          const pub = await h.mqtt();
          const topic = `q${stored}${granted}/t`;
          await publish(pub, topic, "m", stored, true);
          const c = await h.rawConnected();
          c.send(pk.subscribe(1, [[topic, granted]]));
          const got = [await c.nextPacket(), await c.nextPacket()];
          expect(got.find((p) => p.type === 9)?.hex).toBe(`90 03 00 01 0${granted}`);
          const p = got.find((x) => x.type === 3)!;
          expect(p.first).toBe(0x31 + expected * 2);
        });
      }

      test("[MQTT-3.3.1-7] a retained QoS 0 message is kept (the SHOULD path) and replaces a retained QoS 1 one", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt();
        await publish(pub, "q0/t", "one", 1, true);
        await publish(pub, "q0/t", "zero", 0, true);
        const c = await h.rawConnected();
        await c.subscribe(1, [["q0/#", 2]]);
        await publish(pub, "q0/sentinel", "s", 1);
        expect(await untilSentinel(c, "q0/sentinel")).toEqual([{ topic: "q0/t", payload: "zero", qos: 0, retain: true }]);
      });

      test("[MQTT-3.8.4-3] subscribing again to an identical filter sends the retained messages again with RETAIN=1", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt();
        await publish(pub, "re/t", "again", 0, true);
        const c = await h.rawConnected();
        for (const id of [1, 2]) {
          c.send(pk.subscribe(id, [["re/t", 0]]));
          const got = [await c.nextPacket(), await c.nextPacket()].map((p) => p.hex).sort();
          expect(got).toEqual(["31 0b 00 04 72 65 2f 74 61 67 61 69 6e", `90 03 ${idHex(id)} 00`]);
        }
      });

      test("[MQTT-3.1.2-7][SRV-PUB-2] retained messages survive the publisher's disconnect and session end", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt({ clientId: "rpub", clean: true });
        await publish(pub, "s/t", "survives", 1, true);
        await pub.end();
        const again = await h.mqtt({ clientId: "rpub", clean: true });
        await again.end();
        const sub = await h.subscriber({ "s/t": 1 });
        const m = await sub.inbox.waitTopic("s/t");
        expect([m.payload.toString(), m.retain]).toEqual(["survives", true]);
      });

      test("[MQTT-4.7.2-1][MQTT-3.3.1-6] # does not return retained $-topic messages; $test/# does", async (ctx) => {
        const h = await Harness.start(target, ctx); // own broker: subscribes to #
        const pub = await h.mqtt();
        await publish(pub, "$test/r", "dollar", 1, true);
        await publish(pub, "plain/r", "plain", 1, true);
        const all = await h.rawConnected();
        await all.subscribe(1, [["#", 1]]);
        await publish(pub, "sentinel", "s", 1);
        expect(await untilSentinel(all, "sentinel")).toEqual([{ topic: "plain/r", payload: "plain", qos: 1, retain: true }]);
        const dollar = await h.subscriber({ "$test/#": 1 });
        const m = await dollar.inbox.waitTopic("$test/r");
        expect([m.payload.toString(), m.retain]).toEqual(["dollar", true]);
      });

      for (const qos of [0, 1] as const) {
        test(`[MQTT-3.3.1-6][MQTT-3.3.1-8] a full retained table (the profile's maxRetained) to a # subscriber at QoS ${qos}: every message once`, { timeout: 60000 }, async (ctx) => {
          await fullTableReplay(target, ctx, qos, undefined, target.limits);
        });

        // The ESP32 profile's tables (window 2, queue 4, 512 bytes of send buffer) on a target
        // that runs at the host's: the replay is paced by the real transport (drain events).
        test.skipIf(!target.features.board || target.limits !== undefined)(`[MQTT-3.3.1-6][MQTT-3.3.1-8] under the esp32 profile, its full retained table to a # subscriber at QoS ${qos}: every message once`, { timeout: 60000 }, async (ctx) => {
          const esp32 = JSON.parse(readFileSync(new URL("../../boards/esp32.json", import.meta.url), "utf8")) as { limits: Record<string, number | boolean> };
          await fullTableReplay(target, ctx, qos, { board: "esp32" }, esp32.limits);
        });
      }

      test("[SRV-PUB-3] a subscriber that subscribes right after the publisher's PUBACK sees the new retained message", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt();
        for (let i = 0; i < 5; i++) {
          await publish(pub, "fast/t", `v${i}`, 1, true);
          const c = await h.rawConnected();
          c.send(pk.subscribe(1, [["fast/t", 1]]));
          const got = [await c.nextPacket(), await c.nextPacket()];
          const p = got.find((x) => x.type === 3)!;
          expect(p.body.subarray(10).toString()).toBe(`v${i}`);
          c.destroy();
        }
      });
    });
  });
}
