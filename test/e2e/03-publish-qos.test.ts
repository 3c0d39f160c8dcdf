/**
 * PUBLISH and the QoS 0/1/2 flows in both directions (spec §2.5, §2.6, §2.13, §2.14). The tests
 * share one broker; each uses its own topics.
 */
import { describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, TEST_TIMEOUT, WAIT_MS, idHex, pk, publish, sharedBrokers, sleep, describeOn, fits } from "./helpers";
import { selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    describeOn(target)("03-publish-qos", { timeout: TEST_TIMEOUT }, () => {
      for (const qos of [0, 1, 2] as const) {
        test(`[MQTT-4.3.${qos + 1}-1][SRV-PUB-6] QoS ${qos} round trip with MQTT.js delivers the payload byte for byte at QoS ${qos}`, async (ctx) => {
          const h = await shared.harness(target, ctx);
          const sub = await h.subscriber({ [`rt${qos}/#`]: 2 });
          const pub = await h.mqtt();
          const payload = Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x41, 0xc3, 0x28]); // not UTF-8: opaque
          await publish(pub, `rt${qos}/x`, payload, qos);
          const m = await sub.inbox.waitTopic(`rt${qos}/x`);
          expect(m.payload.equals(payload)).toBe(true);
          expect(m.qos).toBe(qos);
          expect(m.retain).toBe(false);
          expect(m.dup).toBe(false);
        });
      }

      test("[MQTT-3.3.4-1][MQTT-4.3.2-2][MQTT-2.3.1-6] inbound QoS 1 PUBLISH is answered with PUBACK 40 02 + its id", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        c.send("32 09 00 03 71 2f 31 be ef 68 69"); // QoS 1 id 0xbeef "q/1" "hi"
        await c.expectPacket("40 02 be ef");
      });

      test("[MQTT-3.3.4-1][MQTT-4.3.3-2][SRV-PUB-10] inbound QoS 2: PUBREC 50 02 id, then PUBREL 62 → PUBCOMP 70 02 id", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        c.send("34 09 00 03 71 2f 32 00 05 68 69"); // QoS 2 id 5
        await c.expectPacket("50 02 00 05");
        c.send("62 02 00 05");
        await c.expectPacket("70 02 00 05");
      });

      test("[MQTT-4.3.3-2][SRV-PUB-1] a QoS 2 PUBLISH resent (DUP=1) before PUBREL gets PUBREC again and is delivered once", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "q2/#": 2 });
        const c = await h.rawConnected();
        c.send("34 0b 00 04 71 32 2f 61 00 09 6f 6e 65"); // QoS 2 id 9 "q2/a" "one"
        await c.expectPacket("50 02 00 09");
        c.send("3c 0b 00 04 71 32 2f 61 00 09 6f 6e 65"); // same, DUP=1
        await c.expectPacket("50 02 00 09");
        c.send("62 02 00 09");
        await c.expectPacket("70 02 00 09");
        const pub = await h.mqtt();
        await publish(pub, "q2/sentinel", "s", 2);
        await sub.inbox.waitTopic("q2/sentinel");
        expect(sub.inbox.topics()).toEqual(["q2/a", "q2/sentinel"]);
      });

      test("[SRV-IMPL-14][SRV-OPS-6] inbound QoS 2 is routed at PUBLISH time (method A): delivered before the PUBREL", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "ma/t": 2 });
        const c = await h.rawConnected();
        c.send(pk.publish({ topic: "ma/t", payload: "early", qos: 2, id: 77 }));
        await c.expectPacket("50 02 00 4d");
        const m = await sub.inbox.waitTopic("ma/t"); // no PUBREL sent yet
        expect([m.payload.toString(), m.qos]).toEqual(["early", 2]);
        c.send("62 02 00 4d");
        await c.expectPacket("70 02 00 4d");
      });

      test.skipIf(!fits(target, { maxPacketSize: 600 * 1024 + 100 }))("[SRV-FH-1][SRV-IMPL-1] a 600 KB payload (under the default 1 MiB limit) round-trips byte for byte", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "big/t": 1 });
        const pub = await h.mqtt();
        const payload = Buffer.alloc(600 * 1024);
        for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) % 256;
        await publish(pub, "big/t", payload, 1);
        const m = await sub.inbox.waitTopic("big/t", 5000);
        expect(m.payload.length).toBe(payload.length);
        expect(m.payload.equals(payload)).toBe(true);
      });

      test("[SRV-PUB-10] PUBREL for an unknown packet id still gets PUBCOMP", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        c.send("62 02 12 34");
        await c.expectPacket("70 02 12 34");
      });

      test("[MQTT-4.3.3-2] after PUBCOMP, a PUBLISH with the same id is a new message", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "n2/#": 2 });
        const c = await h.rawConnected();
        for (const p of ["61", "62"]) {
          c.send(`34 08 00 03 6e 32 2f 00 03 ${p}`); // QoS 2 id 3 "n2/" payload a / b
          await c.expectPacket("50 02 00 03");
          c.send("62 02 00 03");
          await c.expectPacket("70 02 00 03");
        }
        await sub.inbox.waitCount(2);
        expect(sub.inbox.msgs.map((m) => m.payload.toString())).toEqual(["a", "b"]);
      });

      test("[MQTT-4.3.2-2] after PUBACK, a QoS 1 PUBLISH with the same id (even DUP=1) is a new message", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "n1/#": 1 });
        const c = await h.rawConnected();
        c.send("32 08 00 03 6e 31 2f 00 04 61");
        await c.expectPacket("40 02 00 04");
        c.send("3a 08 00 03 6e 31 2f 00 04 61");
        await c.expectPacket("40 02 00 04");
        await sub.inbox.waitCount(2);
        expect(sub.inbox.msgs.map((m) => m.payload.toString())).toEqual(["a", "a"]);
      });

      test("[MQTT-3.3.1-3] the publisher's DUP bit is not passed on: first delivery has DUP=0", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.rawConnected();
        await sub.subscribe(1, [["dp/t", 1]]);
        const c = await h.rawConnected();
        c.send("3a 09 00 04 64 70 2f 74 00 01 78"); // QoS 1 DUP=1 id 1 "dp/t" "x"
        await c.expectPacket("40 02 00 01");
        const m = await sub.nextPublish();
        expect(m.packet.first).toBe(0x32);
        expect(m.payload.toString()).toBe("x");
      });

      // Two unacknowledged at once: a board with a window of 1 holds the second back until the PUBACK.
      test.skipIf(!fits(target, { maxInflight: 2 }))("[MQTT-4.3.2-1][MQTT-2.3.1-4] outbound QoS 1: DUP=0, non-zero ids, distinct while unacknowledged", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        await c.subscribe(1, [["o1/t", 1]]);
        const pub = await h.mqtt();
        await publish(pub, "o1/t", "a", 1);
        await publish(pub, "o1/t", "b", 1);
        const a = await c.nextPublish();
        const b = await c.nextPublish();
        expect([a.packet.first, b.packet.first]).toEqual([0x32, 0x32]);
        expect(a.id).toBeGreaterThan(0);
        expect(b.id).toBeGreaterThan(0);
        expect(a.id).not.toBe(b.id);
        expect([a.payload.toString(), b.payload.toString()]).toEqual(["a", "b"]);
        c.send(pk.puback(a.id));
        c.send(pk.puback(b.id));
        c.send("c0 00");
        await c.expectPacket("d0 00");
      });

      test("[MQTT-4.3.3-1][MQTT-3.6.1-1] outbound QoS 2: PUBLISH DUP=0, PUBREC → PUBREL 62 02 id, PUBCOMP ends it", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        await c.subscribe(1, [["o2/t", 2]]);
        const pub = await h.mqtt();
        await publish(pub, "o2/t", "m", 2);
        const m = await c.nextPublish();
        expect(m.packet.first).toBe(0x34);
        expect(m.id).toBeGreaterThan(0);
        c.send(pk.pubrec(m.id));
        await c.expectPacket("62 02 " + idHex(m.id));
        // A duplicate PUBREC gets the PUBREL again (SRV-PUB-9).
        c.send(pk.pubrec(m.id));
        await c.expectPacket("62 02 " + idHex(m.id));
        c.send(pk.pubcomp(m.id));
        await c.expectNothingBeforePingresp("the flow ended at PUBCOMP");
      });

      test.skipIf(!fits(target, { maxInflight: 20, maxQueued: 5 }))("[SRV-IMPL-21][MQTT-2.3.1-4] default in-flight window 20: 25 unacknowledged QoS 1 messages, 20 sent with distinct ids, the rest after PUBACKs", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        await c.subscribe(1, [["win20/t", 1]]);
        const pub = await h.mqtt();
        for (let i = 0; i < 25; i++) await publish(pub, "win20/t", String(i), 1);
        const first = [];
        for (let i = 0; i < 20; i++) first.push(await c.nextPublish());
        // All 25 were acknowledged to the publisher already: a 21st would come before this answer.
        await c.expectNothingBeforePingresp("in-flight window of 20");
        expect(first.map((m) => m.payload.toString())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
        expect(new Set(first.map((m) => m.id)).size).toBe(20);
        for (const m of first.slice(0, 5)) c.send(pk.puback(m.id));
        const rest = [];
        for (let i = 0; i < 5; i++) rest.push(await c.nextPublish());
        expect(rest.map((m) => m.payload.toString())).toEqual(["20", "21", "22", "23", "24"]);
        const inUse = new Set(first.slice(5).map((m) => m.id));
        for (const m of rest) {
          expect(m.id).toBeGreaterThan(0);
          expect(inUse.has(m.id), `id ${m.id} reused while still in flight`).toBe(false);
          inUse.add(m.id);
        }
      });

      test("[SRV-ENC-13] PUBACK / PUBREC / PUBCOMP for an unknown id are ignored, the connection stays", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        c.send("40 02 00 63");
        c.send("70 02 00 64");
        c.send("c0 00");
        await c.expectPacket("d0 00");
      });

      test("[SRV-OPS-9] a publisher with a matching subscription receives its own message", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        await c.subscribe(1, [["self/t", 0]]);
        c.send("30 08 00 06 73 65 6c 66 2f 74");
        await c.expectPacket("30 08 00 06 73 65 6c 66 2f 74");
      });

      test("[SRV-PUB-6] a zero-length payload is delivered as zero bytes", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        await c.subscribe(1, [["e/t", 0]]);
        const pub = await h.rawConnected();
        pub.send("30 05 00 03 65 2f 74");
        await c.expectPacket("30 05 00 03 65 2f 74");
      });

      for (const qos of [0, 1, 2] as const) {
        // The publisher does not wait for the subscriber: the window and queue must hold the stream.
        test.skipIf(!fits(target, { maxQueued: 200 }))(`[MQTT-4.6.0-6][MQTT-4.6.0-5] a stream of 200 QoS ${qos} messages arrives in publish order`, async (ctx) => {
          const h = await shared.harness(target, ctx);
          const sub = await h.subscriber({ [`ord${qos}/t`]: 2 });
          const pub = await h.mqtt();
          // At most 10 unacknowledged at a time: the broker may bound inbound QoS 2 flows per
          // client (maxInboundQos2) and MQTT.js has no in-flight window of its own.
          let window: Array<Promise<unknown>> = [];
          for (let i = 0; i < 200; i++) {
            window.push(pub.client.publishAsync(`ord${qos}/t`, String(i), { qos }));
            if (window.length === 10) {
              await Promise.race([Promise.all(window), sleep(WAIT_MS).then(() => Promise.reject(new Error(`publish ${i} not acknowledged`)))]);
              window = [];
            }
          }
          await Promise.all(window);
          await sub.inbox.waitCount(200, 8000);
          expect(sub.inbox.msgs.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: 200 }, (_, i) => i));
          for (const m of sub.inbox.msgs) expect(m.qos).toBe(qos);
        });
      }

      // Two inbound QoS 2 ids awaiting PUBREL at once: over maxInboundQos2 the connection is closed.
      test.skipIf(!fits(target, { maxInboundQos2: 2 }))("[MQTT-4.6.0-2][MQTT-4.6.0-3] PUBACKs and PUBRECs are sent in the order the PUBLISHes arrived", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        c.send(
          "32 06 00 01 78 00 07 61" + // QoS 1 id 7
            " 34 06 00 01 78 00 03 62" + // QoS 2 id 3
            " 32 06 00 01 78 00 05 63" + // QoS 1 id 5
            " 34 06 00 01 78 00 01 64", // QoS 2 id 1
        );
        await c.expectPacket("40 02 00 07");
        await c.expectPacket("50 02 00 03");
        await c.expectPacket("40 02 00 05");
        await c.expectPacket("50 02 00 01");
      });

      test("[SRV-IMPL-18][SRV-TOP-2] a client PUBLISH to $SYS/... is acknowledged and dropped", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "$SYS/e2e/#": 1, sentinel: 1 });
        const c = await h.rawConnected();
        c.send("32 0d 00 08 24 53 59 53 2f 65 32 65 00 0b 78"); // QoS 1 id 11 "$SYS/e2e" "x"
        await c.expectPacket("40 02 00 0b");
        c.send("32 0e 00 08 73 65 6e 74 69 6e 65 6c 00 0c 73 73"); // "sentinel" "ss"
        await c.expectPacket("40 02 00 0c");
        await sub.inbox.waitTopic("sentinel");
        expect(sub.inbox.topics()).toEqual(["sentinel"]);
      });
    });
  });
}
