/**
 * Will messages (spec §2.2 Will bits, MQTT-3.1.2-8 to MQTT-3.1.2-17 (each named by its test), MQTT-3.14.4-3, SRV-CON-3, SRV-IMPL-22).
 * An MQTT.js observer subscribes to the will topics; the client that dies is a raw client. The
 * tests share one broker, each with its own topic prefix (will1/, will2/, ...).
 */
import { describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, Harness, MqttConn, RawClient, TEST_TIMEOUT, WillSpec, pk, publish, sharedBrokers, describeOn } from "./helpers";
import { selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    describeOn(target)("07-will", { timeout: TEST_TIMEOUT }, () => {
      async function withWill(h: Harness, clientId: string, will: WillSpec, keepalive = 60): Promise<RawClient> {
        return h.rawConnected({ clientId, will, keepalive });
      }

      /**
       * Publishes a sentinel and asserts the observer got exactly `topics` before it. Call it once
       * the broker has handled the cause (its log line, or the close it made): a Will goes out in
       * the same step, so it is queued to the observer before the sentinel is even published. The
       * observer subscribes at QoS 1 or less (Inbox.expectOnlyBefore).
       */
      async function onlyBeforeSentinel(h: Harness, observer: MqttConn, sentinel: string, topics: string[]): Promise<void> {
        const pub = await h.mqtt();
        await publish(pub, sentinel, "s", 1);
        await observer.inbox.expectOnlyBefore(sentinel, topics);
      }

      test("[MQTT-3.1.2-8] the Will is published when the socket is destroyed without DISCONNECT", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will1/#": 2 });
        const c = await withWill(h, "w1", { topic: "will1/a", payload: "gone", qos: 1 });
        c.destroy();
        const m = await obs.inbox.waitTopic("will1/a");
        expect([m.payload.toString(), m.qos, m.retain]).toEqual(["gone", 1, false]);
      });

      test("[MQTT-3.1.2-8] the Will is published when the client half-closes (FIN) without DISCONNECT", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will2/#": 2 });
        const c = await withWill(h, "wfin", { topic: "will2/fin", payload: "fin", qos: 0 });
        c.end();
        const m = await obs.inbox.waitTopic("will2/fin");
        expect(m.payload.toString()).toBe("fin");
      });

      test("[MQTT-3.1.2-24][MQTT-3.1.2-8][MQTT-3.1.2-10] keep alive 1 s expiry closes after 1.5 s (window 1.4–3.5 s) and publishes the Will exactly once", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will3/#": 2 });
        // A second copy at QoS 2 would show in obs only on its PUBREL, maybe after the sentinel:
        // this observer takes the Will at QoS 1, where MQTT.js reports each copy as it arrives.
        const once = await h.subscriber({ "will3/#": 1 });
        const c = await withWill(h, "wka", { topic: "will3/ka", payload: "timeout", qos: 2 }, 1);
        const start = Date.now();
        await c.expectClosed(4000, "keep alive 1 s");
        const after = c.closedAt - start;
        expect(after).toBeGreaterThanOrEqual(1400);
        expect(after).toBeLessThanOrEqual(3500);
        const m = await obs.inbox.waitTopic("will3/ka");
        expect([m.payload.toString(), m.qos]).toEqual(["timeout", 2]);
        await onlyBeforeSentinel(h, once, "will3/sentinel", ["will3/ka"]);
        expect(obs.inbox.topics().filter((t) => t === "will3/ka")).toEqual(["will3/ka"]);
      });

      test("[MQTT-3.1.2-10][MQTT-3.14.4-3] no Will after a DISCONNECT", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will4/#": 1 });
        const c = await withWill(h, "wd", { topic: "will4/d", payload: "no", qos: 1 });
        const mark = h.mark();
        c.send("e0 00");
        await c.expectClosedWithoutReply();
        await h.waitLogAbout({ clientId: "wd" }, /disconnected/, mark);
        await onlyBeforeSentinel(h, obs, "will4/sentinel", []);
      });

      test("[MQTT-3.1.2-12] no Will is published for a client without the Will flag", async (ctx) => {
        const h = await Harness.start(target, ctx); // own broker: subscribes to #
        const obs = await h.subscriber({ "#": 1 });
        const c = await h.rawConnected({ clientId: "nowill" });
        const mark = h.mark();
        c.destroy();
        // The broker has handled the close (a Will would go out in the same step).
        await h.waitLogAbout({ clientId: "nowill" }, /disconnected/, mark);
        await onlyBeforeSentinel(h, obs, "will5/sentinel", []);
      });

      test("[MQTT-3.1.2-17][MQTT-3.3.1-9] a Will with Will Retain 1 is stored as retained (existing subscribers get RETAIN=0)", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will6/#": 1 });
        const c = await withWill(h, "wr", { topic: "will6/r", payload: "last", qos: 1, retain: true });
        c.destroy();
        const live = await obs.inbox.waitTopic("will6/r");
        expect([live.payload.toString(), live.retain]).toEqual(["last", false]);
        const late = await h.subscriber({ "will6/r": 1 });
        const m = await late.inbox.waitTopic("will6/r");
        expect([m.payload.toString(), m.retain, m.qos]).toEqual(["last", true, 1]);
      });

      test("[MQTT-3.1.2-16] a Will with Will Retain 0 is not stored as retained", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will7/#": 1 });
        const c = await withWill(h, "wnr", { topic: "will7/nr", payload: "x", qos: 1, retain: false });
        c.destroy();
        await obs.inbox.waitTopic("will7/nr");
        const late = await h.subscriber({ "will7/#": 1 });
        await onlyBeforeSentinel(h, late, "will7/sentinel", []);
      });

      test("[MQTT-3.1.2-17][MQTT-3.3.1-10] a zero-length retained Will deletes the retained message of its topic", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mqtt();
        await publish(pub, "will8/z", "old", 1, true);
        const c = await withWill(h, "wz", { topic: "will8/z", payload: "", qos: 1, retain: true });
        const obs = await h.subscriber({ "will8/z": 1 });
        await obs.inbox.waitTopic("will8/z"); // the old retained message
        c.destroy();
        const empty = await obs.inbox.waitFor((m) => m.payload.length === 0, 3000, "the empty Will");
        expect(empty.retain).toBe(false);
        const late = await h.subscriber({ "will8/#": 1 });
        await onlyBeforeSentinel(h, late, "will8/sentinel", []);
      });

      test("[MQTT-3.1.0-2][MQTT-3.1.2-8] a second CONNECT closes the connection and the Will is published", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will9/#": 1 });
        const c = await withWill(h, "w2c", { topic: "will9/2c", payload: "second connect", qos: 1 });
        c.send(pk.connect({ clientId: "w2c" }));
        await c.expectClosedWithoutReply();
        expect((await obs.inbox.waitTopic("will9/2c")).payload.toString()).toBe("second connect");
      });

      test("[MQTT-4.8.0-1][MQTT-3.1.2-8] a protocol violation (PUBLISH with QoS 3) closes the connection and the Will is published", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will10/#": 1 });
        const c = await withWill(h, "wq3", { topic: "will10/q3", payload: "violation", qos: 1 });
        c.send("36 07 00 03 61 2f 62 00 01");
        await c.expectClosedWithoutReply();
        expect((await obs.inbox.waitTopic("will10/q3")).payload.toString()).toBe("violation");
      });

      test("[MQTT-3.14.1-1][MQTT-3.1.2-8] DISCONNECT with reserved flags (e1 00) closes and the Will IS published", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will11/#": 1 });
        const c = await withWill(h, "wbd", { topic: "will11/bd", payload: "bad disconnect", qos: 1 });
        c.send("e1 00");
        await c.expectClosedWithoutReply();
        expect((await obs.inbox.waitTopic("will11/bd")).payload.toString()).toBe("bad disconnect");
      });

      test("[MQTT-3.1.4-2][SRV-IMPL-22] on session takeover the old connection's Will is published", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will12/#": 1 });
        const a = await withWill(h, "wtk", { topic: "will12/tk", payload: "taken over", qos: 1 });
        const b = await h.raw();
        b.send(pk.connect({ clientId: "wtk" }));
        await b.expectPacket("20 02 00 00");
        await a.expectClosed();
        expect((await obs.inbox.waitTopic("will12/tk")).payload.toString()).toBe("taken over");
        // The new connection has no Will: its clean DISCONNECT publishes nothing more.
        b.send("e0 00");
        await b.expectClosed();
        await onlyBeforeSentinel(h, obs, "will12/sentinel", ["will12/tk"]);
      });

      for (const [willQos, granted, expected] of [
        [2, 1, 1],
        [0, 2, 0],
      ] as const) {
        test(`[SRV-CON-3][MQTT-3.8.4-6] a Will with QoS ${willQos} reaches a QoS ${granted} subscription at QoS ${expected}`, async (ctx) => {
          const h = await shared.harness(target, ctx);
          const obs = await h.rawConnected();
          await obs.subscribe(1, [[`will13/q${willQos}`, granted]]);
          const c = await withWill(h, `wqos${willQos}`, { topic: `will13/q${willQos}`, payload: "q", qos: willQos });
          c.destroy();
          const m = await obs.nextPublish();
          expect([m.topic, m.qos, m.retain, m.dup]).toEqual([`will13/q${willQos}`, expected, false, false]);
        });
      }

      test("[MQTT-4.5.0-1][MQTT-3.1.2-5] a QoS 1 Will is queued for an offline CleanSession 0 subscriber", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.raw();
        sub.send(pk.connect({ clientId: "willq", clean: false }));
        await sub.expectPacket("20 02 00 00");
        await sub.subscribe(1, [["will15/q", 1]]);
        sub.send("e0 00");
        await sub.expectClosed();
        const c = await withWill(h, "wq15", { topic: "will15/q", payload: "queued will", qos: 1 });
        c.destroy();
        await c.waitClosed();
        const again = await h.raw();
        again.send(pk.connect({ clientId: "willq", clean: false }));
        await again.expectPacket("20 02 01 00");
        const m = await again.nextPublish(3000);
        expect([m.topic, m.payload.toString(), m.qos]).toEqual(["will15/q", "queued will", 1]);
      });

      test("[MQTT-3.1.2-8] MQTT.js will: killing the client's socket publishes its Will", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will14/#": 1 });
        const c = await h.mqtt({ clientId: "jswill", will: { topic: "will14/js", payload: "js gone", qos: 1 } });
        c.kill();
        expect((await obs.inbox.waitTopic("will14/js")).payload.toString()).toBe("js gone");
      });
    });
  });
}
