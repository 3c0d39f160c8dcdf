/**
 * Sessions: Session Present, CleanSession 0/1, offline queues, redelivery with DUP and the
 * original packet id, QoS 2 exactly once across reconnects (spec §2.4, §2.12, §2.13).
 * Subscribers that must withhold acknowledgements are raw clients. The tests share one broker;
 * each uses its own client ids and topics.
 */
import { describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, Harness, RawClient, TEST_TIMEOUT, connackHex, idHex, pk, publish, sharedBrokers, describeOn, fits } from "./helpers";
import { selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    describeOn(target)("05-session", { timeout: TEST_TIMEOUT }, () => {
      /** Raw client connected with CleanSession 0 and the expected Session Present. */
      async function persistent(h: Harness, clientId: string, sessionPresent: boolean): Promise<RawClient> {
        const c = await h.raw();
        c.send(pk.connect({ clientId, clean: false }));
        await c.expectPacket(connackHex(sessionPresent, 0));
        return c;
      }

      async function disconnect(c: RawClient): Promise<void> {
        c.send(pk.disconnect());
        await c.expectClosed();
      }

      test("[MQTT-3.2.2-3] CleanSession 0 without a stored session gets 20 02 00 00", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send("10 0f 00 04 4d 51 54 54 04 00 00 3c 00 03 73 70 33"); // clean 0, id "sp3"
        await c.expectPacket("20 02 00 00");
      });

      test("[MQTT-3.2.2-2][SRV-CON-10][MQTT-3.1.2-4] CleanSession 0 with a stored (empty) session gets 20 02 01 00", async (ctx) => {
        const h = await shared.harness(target, ctx);
        await disconnect(await persistent(h, "sp2", false));
        const c = await h.raw();
        c.send("10 0f 00 04 4d 51 54 54 04 00 00 3c 00 03 73 70 32");
        await c.expectPacket("20 02 01 00");
      });

      test("[MQTT-3.2.2-1][MQTT-3.1.2-6] CleanSession 1 gets Session Present 0 and discards the stored session", async (ctx) => {
        const h = await shared.harness(target, ctx);
        await disconnect(await persistent(h, "sp1", false));
        const c = await h.raw();
        c.send("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 73 70 31"); // clean 1
        await c.expectPacket("20 02 00 00");
        await disconnect(c);
        // Nothing is kept after a CleanSession 1 connection.
        await persistent(h, "sp1", false);
      });

      test("[MQTT-3.1.2-4][SRV-SUB-4] subscriptions of a CleanSession 0 session survive a disconnect", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "keep", false);
        await c.subscribe(1, [["ks/t", 0]]);
        await disconnect(c);
        const again = await persistent(h, "keep", true);
        const pub = await h.mqtt();
        await publish(pub, "ks/t", "x", 0);
        await again.expectPacket("30 07 00 04 6b 73 2f 74 78");
      });

      test("[MQTT-3.1.2-6][SRV-SUB-4] subscriptions of a CleanSession 1 session die with the connection", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ clientId: "gone", clean: true });
        await c.subscribe(1, [["gs/t", 0]]);
        await disconnect(c);
        const again = await persistent(h, "gone", false);
        await again.subscribe(2, [["gs/sentinel", 0]]);
        const pub = await h.mqtt();
        await publish(pub, "gs/t", "x", 0);
        await publish(pub, "gs/sentinel", "s", 0);
        const m = await again.nextPublish();
        expect(m.topic).toBe("gs/sentinel");
      });

      test.skipIf(!fits(target, { maxInflight: 3 }))("[MQTT-3.1.2-5][MQTT-3.2.0-1][SRV-OPS-8] QoS 1/2 messages published while offline arrive after CONNACK, in order, DUP=0", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "off", false);
        await c.subscribe(1, [["off/t", 2]]);
        await disconnect(c);
        const pub = await h.mqtt();
        await publish(pub, "off/t", "1", 1);
        await publish(pub, "off/t", "2", 2);
        await publish(pub, "off/t", "3", 1);
        const again = await h.raw();
        again.send(pk.connect({ clientId: "off", clean: false }));
        await again.expectPacket("20 02 01 00"); // the first packet is the CONNACK
        // All three may be sent before any acknowledgement (in-flight window), so read them first.
        const msgs = [await again.nextPublish(), await again.nextPublish(), await again.nextPublish()];
        const got = msgs.map((m) => [m.payload.toString(), m.qos, m.dup]);
        for (const m of msgs) {
          if (m.qos === 1) again.send(pk.puback(m.id));
          if (m.qos === 2) {
            again.send(pk.pubrec(m.id));
            await again.expectPacket("62 02 " + idHex(m.id));
            again.send(pk.pubcomp(m.id));
          }
        }
        expect(got).toEqual([
          ["1", 1, false],
          ["2", 2, false],
          ["3", 1, false],
        ]);
        await again.expectNothingBeforePingresp("nothing more resent or queued");
      });

      test("[MQTT-3.3.1-9] a retained message queued for an offline subscription is delivered with RETAIN=0 on reconnect", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "offret", false);
        await c.subscribe(1, [["or/t", 1]]);
        await disconnect(c);
        const pub = await h.mqtt();
        await publish(pub, "or/t", "r", 1, true);
        const again = await persistent(h, "offret", true);
        const m = await again.nextPublish();
        expect(m.packet.first, "matched an existing subscription: RETAIN must be 0").toBe(0x32);
        again.send(pk.puback(m.id));
      });

      test("[SRV-IMPL-7] QoS 0 messages are not queued for an offline session (default)", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "offq0", false);
        await c.subscribe(1, [["oq/t", 1]]);
        await disconnect(c);
        const pub = await h.mqtt();
        await publish(pub, "oq/t", "zero", 0);
        await publish(pub, "oq/t", "one", 1);
        const again = await persistent(h, "offq0", true);
        const m = await again.nextPublish();
        expect([m.payload.toString(), m.qos]).toEqual(["one", 1]);
        again.send(pk.puback(m.id));
        await again.expectNothingBeforePingresp("nothing more resent or queued");
      });

      test("[MQTT-4.4.0-1][MQTT-3.3.1-1] an unacknowledged QoS 1 PUBLISH is resent on reconnect with DUP=1 and the same id", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "r1", false);
        await c.subscribe(1, [["r1/t", 1]]);
        const pub = await h.mqtt();
        await publish(pub, "r1/t", "unacked", 1);
        const first = await c.nextPublish();
        expect(first.packet.first).toBe(0x32);
        c.destroy(); // no PUBACK, no DISCONNECT
        await c.waitClosed();
        const again = await persistent(h, "r1", true);
        const resent = await again.nextPublish();
        expect(resent.packet.first, "QoS 1 resend must have DUP=1 (0x3a)").toBe(0x3a);
        expect(resent.id).toBe(first.id);
        expect(resent.topic).toBe("r1/t");
        expect(resent.payload.toString()).toBe("unacked");
        again.send(pk.puback(resent.id));
        await again.expectNothingBeforePingresp("nothing more resent or queued");
      });

      test.skipIf(!fits(target, { maxInflight: 3 }))("[MQTT-4.4.0-1][MQTT-4.6.0-1] several unacknowledged messages are resent in their original order with their ids", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "r3", false);
        await c.subscribe(1, [["r3/t", 1]]);
        const pub = await h.mqtt();
        for (const p of ["a", "b", "c"]) await publish(pub, "r3/t", p, 1);
        const firsts = [await c.nextPublish(), await c.nextPublish(), await c.nextPublish()];
        c.destroy();
        await c.waitClosed();
        const again = await persistent(h, "r3", true);
        const resent = [await again.nextPublish(), await again.nextPublish(), await again.nextPublish()];
        expect(resent.map((m) => [m.payload.toString(), m.id, m.dup])).toEqual(firsts.map((m) => [m.payload.toString(), m.id, true]));
        expect(resent.map((m) => m.payload.toString())).toEqual(["a", "b", "c"]);
        for (const m of resent) again.send(pk.puback(m.id));
        await again.expectNothingBeforePingresp("nothing more resent or queued");
      });

      test("[MQTT-4.4.0-1][MQTT-4.3.3-1] QoS 2 exactly once: subscriber drops after PUBREC, on reconnect the PUBREL is resent with the same id and the PUBLISH is not", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "x2", false);
        await c.subscribe(1, [["x2/t", 2]]);
        const pub = await h.mqtt();
        await publish(pub, "x2/t", "once", 2);
        const m = await c.nextPublish();
        expect(m.packet.first).toBe(0x34);
        c.send(pk.pubrec(m.id));
        await c.expectPacket("62 02 " + idHex(m.id));
        c.destroy(); // before PUBCOMP
        await c.waitClosed();
        const again = await h.raw();
        again.send(pk.connect({ clientId: "x2", clean: false }));
        await again.expectPacket("20 02 01 00");
        await again.expectPacket("62 02 " + idHex(m.id));
        again.send(pk.pubcomp(m.id));
        // The next PUBLISH is the next message, not "once" again.
        await publish(pub, "x2/t", "second", 2);
        const next = await again.nextPublish();
        expect([next.payload.toString(), next.dup, next.qos]).toEqual(["second", false, 2]);
        again.send(pk.pubrec(next.id));
        await again.expectPacket("62 02 " + idHex(next.id));
        again.send(pk.pubcomp(next.id));
        await again.expectNothingBeforePingresp("nothing more resent or queued");
      });

      test("[MQTT-4.4.0-1][MQTT-3.3.1-1] a QoS 2 PUBLISH not yet PUBREC'd is resent with DUP=1 and the same id, then completes once", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "y2", false);
        await c.subscribe(1, [["y2/t", 2]]);
        const pub = await h.mqtt();
        await publish(pub, "y2/t", "pending", 2);
        const m = await c.nextPublish();
        c.destroy(); // before PUBREC
        await c.waitClosed();
        const again = await persistent(h, "y2", true);
        const resent = await again.nextPublish();
        expect(resent.packet.first, "QoS 2 resend must have DUP=1 (0x3c)").toBe(0x3c);
        expect(resent.id).toBe(m.id);
        expect(resent.payload.toString()).toBe("pending");
        again.send(pk.pubrec(resent.id));
        await again.expectPacket("62 02 " + idHex(resent.id));
        again.send(pk.pubcomp(resent.id));
        await again.expectNothingBeforePingresp("nothing more resent or queued");
      });

      test("[SRV-OPS-7][MQTT-4.3.3-2] a publisher's QoS 2 id awaiting PUBREL survives its reconnect: the resent PUBLISH is not routed again", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "in/#": 2 });
        const p = await persistent(h, "p2", false);
        p.send("34 09 00 04 69 6e 2f 74 00 05 78"); // QoS 2 id 5 "in/t" "x"
        await p.expectPacket("50 02 00 05");
        p.destroy();
        await p.waitClosed();
        const again = await persistent(h, "p2", true);
        again.send("3c 09 00 04 69 6e 2f 74 00 05 78"); // resent, DUP=1
        await again.expectPacket("50 02 00 05");
        again.send("62 02 00 05");
        await again.expectPacket("70 02 00 05");
        const other = await h.mqtt();
        await publish(other, "in/s", "sentinel", 2);
        await sub.inbox.waitTopic("in/s");
        expect(sub.inbox.topics()).toEqual(["in/t", "in/s"]);
      });

      test("[MQTT-3.1.2-6] a CleanSession 1 connect discards the messages queued for the stored session", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "drop", false);
        await c.subscribe(1, [["dq/t", 1]]);
        await disconnect(c);
        const pub = await h.mqtt();
        await publish(pub, "dq/t", "queued", 1);
        const clean = await h.rawConnected({ clientId: "drop", clean: true });
        await clean.expectNothingBeforePingresp("the stored session's queue was discarded");
        await disconnect(clean);
        const again = await persistent(h, "drop", false);
        await again.expectNothingBeforePingresp("nothing more resent or queued");
      });

      test("[MQTT-3.1.4-2][MQTT-4.4.0-1] a takeover with CleanSession 0 gets the old connection's unacknowledged messages resent", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const a = await persistent(h, "tk", false);
        await a.subscribe(1, [["tk/t", 1]]);
        const pub = await h.mqtt();
        await publish(pub, "tk/t", "inflight", 1);
        const m = await a.nextPublish();
        const b = await h.raw();
        b.send(pk.connect({ clientId: "tk", clean: false }));
        await b.expectPacket("20 02 01 00");
        await a.expectClosed();
        const resent = await b.nextPublish();
        expect([resent.packet.first, resent.id, resent.payload.toString()]).toEqual([0x3a, m.id, "inflight"]);
      });

      test("[MQTT-3.10.4-3] a QoS 1 message in flight when its subscription is removed is still resent on reconnect", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await persistent(h, "us", false);
        await c.subscribe(1, [["us/t", 1]]);
        const pub = await h.mqtt();
        await publish(pub, "us/t", "inflight", 1);
        const m = await c.nextPublish();
        c.send(pk.unsubscribe(2, ["us/t"]));
        await c.expectPacket("b0 02 00 02");
        c.destroy();
        await c.waitClosed();
        const again = await persistent(h, "us", true);
        const resent = await again.nextPublish();
        expect([resent.packet.first, resent.id, resent.payload.toString()]).toEqual([0x3a, m.id, "inflight"]);
        again.send(pk.puback(resent.id));
        await again.subscribe(3, [["us/end", 0]]);
        await publish(pub, "us/t", "after", 1);
        // "after" would reach the session before this marker from the same publisher.
        await publish(pub, "us/end", "end", 0);
        await again.expectMarker("us/end", "end", "us/t was unsubscribed");
      });

      // Three messages kept for an offline session: a board keeps the newest maxQueued.
      test.skipIf(!fits(target, { maxQueued: 3 }))("[MQTT-3.1.2-4][MQTT-3.1.2-5] MQTT.js with clean=false gets the messages queued while it was offline", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "js/t": 1 }, { clientId: "jsq", clean: false });
        await sub.end();
        const pub = await h.mqtt();
        for (const p of ["a", "b", "c"]) await publish(pub, "js/t", p, 1);
        const again = await h.mqtt({ clientId: "jsq", clean: false });
        expect(again.connack.sessionPresent).toBe(true);
        await again.inbox.waitCount(3);
        expect(again.inbox.msgs.map((m) => m.payload.toString())).toEqual(["a", "b", "c"]);
      });
    });
  });
}
