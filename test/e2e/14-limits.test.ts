/**
 * Table-full answers and configured limits (SRV-CON-7, SRV-IMPL-1, SRV-IMPL-2, SRV-IMPL-5, SRV-IMPL-9, SRV-IMPL-10, SRV-IMPL-19, SRV-IMPL-21, SRV-SUB-2),
 * set through mosquitto.conf options or a board profile (JSON in a temp dir; keys are the
 * fields of Limits in src/limits.ts). Each test checks that the log says why.
 */
import { describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, Harness, RawClient, TEST_TIMEOUT, connackHex, decodePublish, frame, mqttString, pk, publish, sharedBrokers, toHex, u16, describeOn } from "./helpers";
import { selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

/**
 * Brokers shared by groups of tests whose limits do not get in each other's way (each test
 * uses its own client ids and topics); the other tests start their own.
 */
const shared = sharedBrokers();
/** In-flight window 1, queue 2, packets up to 100 bytes (all payloads here are small). */
const G1 = { configLines: ["max_inflight_messages 1", "max_queued_messages 2", "max_packet_size 100"] };
/** Payloads up to 10 bytes, no retained messages. */
const G2 = { configLines: ["message_size_limit 10", "retain_available false"] };
/** Small per-client tables; every client id in these tests has at most 5 bytes. */
const G3 = { boardLimits: { maxSubscriptionsPerClient: 2, maxInboundQos2: 2, maxTopicLength: 8, maxClientIdLength: 5 } };

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    const board = target.features.board ? test : test.skip;

    describeOn(target)("14-limits", { timeout: TEST_TIMEOUT }, () => {
      test("[SRV-CON-7][SRV-IMPL-19] max_connections 2: a third connection is closed without CONNACK 0, the log says why, and a freed slot is reused", async (ctx) => {
        const h = await Harness.start(target, ctx, { configLines: ["max_connections 2"] });
        const mark = h.mark();
        const a = await h.rawConnected({ clientId: "mc-a" });
        await h.rawConnected({ clientId: "mc-b" });
        const c = await h.raw();
        c.send(pk.connect({ clientId: "mc-c" }));
        await c.expectClosed(3000, "third connection with max_connections 2");
        // Either refused at accept (nothing) or CONNACK 3 (server unavailable); never accepted.
        expect(["", "20 02 00 03"]).toContain(toHex(c.unread()));
        await h.waitLogAbout({ clientId: "mc-c", raw: c }, /max_connections|connection limit|too many connections/i, mark);
        a.send(pk.disconnect());
        await a.expectClosed();
        await h.rawConnected({ clientId: "mc-d" });
      });

      board("[SRV-CON-7][SRV-IMPL-19] board maxSessions 2: a third client gets CONNACK 3 and is closed; stored sessions count; known ids still connect", async (ctx) => {
        const h = await Harness.start(target, ctx, { boardLimits: { maxSessions: 2 } });
        const mark = h.mark();
        const s1 = await h.raw();
        s1.send(pk.connect({ clientId: "s1", clean: false }));
        await s1.expectPacket(connackHex(false, 0));
        s1.send(pk.disconnect()); // the session stays stored (offline)
        await s1.expectClosed();
        const s2 = await h.rawConnected({ clientId: "s2" });
        const s3 = await h.raw();
        s3.send(pk.connect({ clientId: "s3" }));
        await s3.expectPacket("20 02 00 03");
        await s3.expectClosedWithoutReply();
        await h.waitLogAbout({ clientId: "s3" }, /session/i, mark);
        // The stored session's owner is not a new session.
        const back = await h.raw();
        back.send(pk.connect({ clientId: "s1", clean: false }));
        await back.expectPacket(connackHex(true, 0));
        // A CleanSession 1 session ends with its connection and frees its slot.
        s2.send(pk.disconnect());
        await s2.expectClosed();
        await h.rawConnected({ clientId: "s3" });
      });

      board("[SRV-SUB-2][SRV-IMPL-19] board maxSubscriptionsPerClient 2: the third filter gets 0x80, replacing an existing filter still works", async (ctx) => {
        const h = await shared.harness(target, ctx, G3);
        const mark = h.mark();
        const c = await h.rawConnected({ clientId: "spc" });
        c.send(pk.subscribe(1, [["f/1", 0], ["f/2", 1], ["f/3", 2]]));
        await c.expectPacket("90 05 00 01 00 01 80");
        await h.waitLogAbout({ clientId: "spc" }, /subscription/i, mark);
        c.send(pk.subscribe(2, [["f/1", 2]])); // identical filter: a replacement, not a new one
        await c.expectPacket("90 03 00 02 02");
        c.send(pk.unsubscribe(3, ["f/2"]));
        await c.expectPacket("b0 02 00 03");
        c.send(pk.subscribe(4, [["f/3", 1]]));
        await c.expectPacket("90 03 00 04 01");
        // The limit is per client.
        const other = await h.rawConnected({ clientId: "spc2" });
        other.send(pk.subscribe(1, [["g/1", 0], ["g/2", 0]]));
        await other.expectPacket("90 04 00 01 00 00");
      });

      board("[SRV-SUB-2][SRV-IMPL-19] board maxSubscriptions 3: the fourth subscription across all clients gets 0x80", async (ctx) => {
        const h = await Harness.start(target, ctx, { boardLimits: { maxSubscriptions: 3 } });
        const mark = h.mark();
        const a = await h.rawConnected({ clientId: "ta" });
        a.send(pk.subscribe(1, [["t/1", 0], ["t/2", 0]]));
        await a.expectPacket("90 04 00 01 00 00");
        const b = await h.rawConnected({ clientId: "tb" });
        b.send(pk.subscribe(1, [["t/3", 1], ["t/4", 1]]));
        await b.expectPacket("90 04 00 01 01 80");
        await h.waitLogAbout({ clientId: "tb" }, /subscription/i, mark);
      });

      test("[SRV-IMPL-21][SRV-OPS-11] max_inflight_messages 1: the next QoS 1 message waits for the PUBACK, order kept", async (ctx) => {
        const h = await shared.harness(target, ctx, G1);
        const c = await h.rawConnected({ clientId: "win" });
        await c.subscribe(1, [["win/t", 1]]);
        const pub = await h.mqtt();
        for (const p of ["a", "b", "c"]) await publish(pub, "win/t", p, 1);
        const got: string[] = [];
        for (let i = 0; i < 3; i++) {
          const m = await c.nextPublish();
          got.push(m.payload.toString());
          await c.expectNothingBeforePingresp("nothing past the window of 1"); // all three were acknowledged to the publisher
          c.send(pk.puback(m.id));
        }
        expect(got).toEqual(["a", "b", "c"]);
      });

      test("[SRV-IMPL-10] max_queued_messages 2: an offline session keeps the 2 newest QoS 1 messages, and the log says it dropped", async (ctx) => {
        const h = await shared.harness(target, ctx, G1);
        const mark = h.mark();
        const c = await h.raw();
        c.send(pk.connect({ clientId: "mq", clean: false }));
        await c.expectPacket(connackHex(false, 0));
        await c.subscribe(1, [["mq/t", 1]]);
        c.send(pk.disconnect());
        await c.expectClosed();
        const pub = await h.mqtt();
        for (let i = 1; i <= 5; i++) await publish(pub, "mq/t", `m${i}`, 1);
        await h.waitLogAbout({ clientId: "mq" }, /queue|drop/i, mark);
        const again = await h.raw();
        again.send(pk.connect({ clientId: "mq", clean: false }));
        await again.expectPacket(connackHex(true, 0));
        const got: string[] = [];
        for (;;) {
          try {
            const m = await again.nextPublish(500);
            got.push(m.payload.toString());
            again.send(pk.puback(m.id));
          } catch {
            break;
          }
        }
        expect(got).toEqual(["m4", "m5"]);
      });

      test("[SRV-IMPL-2] message_size_limit 10: an 11-byte payload is acknowledged and dropped (logged), 10 bytes pass", async (ctx) => {
        const h = await shared.harness(target, ctx, G2);
        const mark = h.mark();
        const sub = await h.subscriber({ "ms/#": 1 });
        const c = await h.rawConnected({ clientId: "msl" });
        c.send(pk.publish({ topic: "ms/big", payload: "0123456789A", qos: 1, id: 1 }));
        await c.expectPacket("40 02 00 01");
        await h.waitLogAbout({ clientId: "msl" }, /message_size_limit|too large|size/i, mark);
        c.send(pk.publish({ topic: "ms/ok", payload: "0123456789", qos: 1, id: 2 }));
        await c.expectPacket("40 02 00 02");
        await sub.inbox.waitTopic("ms/ok");
        expect(sub.inbox.topics()).toEqual(["ms/ok"]);
      });

      test("[SRV-IMPL-1][SRV-ENC-6] max_packet_size 100: a 100-byte packet (fixed header included) passes, a 101-byte one closes the connection", async (ctx) => {
        const h = await shared.harness(target, ctx, G1);
        const mark = h.mark();
        const sub = await h.rawConnected({ clientId: "mps-sub" });
        await sub.subscribe(1, [["p/t", 0]]);
        const c = await h.rawConnected({ clientId: "mps" });
        const exact = frame(0x30, mqttString("p/t"), Buffer.alloc(93, 0x61));
        expect(exact.length).toBe(100);
        c.send(exact);
        await sub.expectPacket(toHex(exact));
        const over = frame(0x30, mqttString("p/t"), Buffer.alloc(94, 0x62));
        expect(over.length).toBe(101);
        c.send(over);
        await c.expectClosedWithoutReply(3000, "101-byte packet with max_packet_size 100");
        await h.waitLogAbout({ clientId: "mps" }, /size|large|limit|exceed|max/i, mark);
        // The over-size packet was not routed: a marker published after the close comes first.
        const after = await h.rawConnected({ clientId: "mps-end" });
        after.send(pk.publish({ topic: "p/t", payload: "end" }));
        await sub.expectMarker("p/t", "end", "the 101-byte packet was not routed");
      });

      test("[SRV-IMPL-9] retain_available false: a PUBLISH with RETAIN=1 closes the connection; RETAIN=0 still works", async (ctx) => {
        const h = await shared.harness(target, ctx, G2);
        const mark = h.mark();
        const sub = await h.subscriber({ "ra/#": 1 });
        const c = await h.rawConnected({ clientId: "ra" });
        c.send(pk.publish({ topic: "ra/r", payload: "x", qos: 1, id: 1, retain: true }));
        await c.expectClosedWithoutReply(3000, "RETAIN=1 with retain_available false");
        await h.waitLogAbout({ clientId: "ra" }, /retain/i, mark);
        const ok = await h.rawConnected({ clientId: "ra2" });
        ok.send(pk.publish({ topic: "ra/n", payload: "y", qos: 1, id: 1 }));
        await ok.expectPacket("40 02 00 01");
        await sub.inbox.waitTopic("ra/n");
        expect(sub.inbox.topics()).toEqual(["ra/n"]);
      });

      board("[SRV-IMPL-2] board maxInboundQos2 2: a third inbound QoS 2 flow awaiting PUBREL closes the connection", async (ctx) => {
        const h = await shared.harness(target, ctx, G3);
        const mark = h.mark();
        const c = await h.rawConnected({ clientId: "iq2" });
        for (const id of [1, 2]) {
          c.send(pk.publish({ topic: "iq/t", payload: "x", qos: 2, id }));
          await c.expectPacket(`50 02 ${toHex(u16(id))}`);
        }
        c.send(pk.publish({ topic: "iq/t", payload: "x", qos: 2, id: 3 }));
        await c.expectClosedWithoutReply(3000, "third unreleased QoS 2 flow");
        await h.waitLogAbout({ clientId: "iq2" }, /QoS 2|PUBREL/i, mark);
      });

      board("[SRV-IMPL-9] board maxRetained 1: a retained message that does not fit is delivered but not retained (logged)", async (ctx) => {
        // $SYS is on (default sys_interval): the broker's own retained $SYS topics must not take the only slot.
        const h = await Harness.start(target, ctx, { boardLimits: { maxRetained: 1 } });
        const mark = h.mark();
        const live = await h.subscriber({ "rt/#": 1 });
        const pub = await h.mqtt({ clientId: "rtpub" });
        await publish(pub, "rt/a", "a", 1, true);
        await publish(pub, "rt/b", "b", 1, true);
        await live.inbox.waitCount(2);
        await h.waitLogAbout({ clientId: "rt/b" }, /retain/i, mark);
        const late = await h.rawConnected();
        await late.subscribe(1, [["rt/#", 1]]);
        await publish(pub, "rt/sentinel", "s", 1);
        const seen: string[] = [];
        for (;;) {
          const m = await late.nextPublish();
          late.send(pk.puback(m.id));
          if (m.topic === "rt/sentinel") break;
          seen.push(`${m.topic}:${m.retain}`);
        }
        expect(seen).toEqual(["rt/a:true"]);
      });

      (target.features.sendBuffer === false ? test.skip : board)("[SRV-OPS-12][SRV-IMPL-7] board maxPendingBytes 64 KiB: QoS 0 messages to a subscriber that stops reading are dropped (logged); broker and other clients carry on", async (ctx) => {
        const h = await Harness.start(target, ctx, { boardLimits: { maxPendingBytes: 65536 } });
        const mark = h.mark();
        const slow = await h.rawConnected({ clientId: "slowpoke" });
        await slow.subscribe(1, [["slow/t", 1]]);
        slow.socket.pause(); // stop reading: the broker's writes back up
        const other = await h.subscriber({ "slow/t": 1 });
        const pub = await h.mqtt();
        const payload = Buffer.alloc(10 * 1024, 0x5a);
        // 20 MB at QoS 0: more than the loopback socket buffers can absorb for the paused
        // reader. (A loaded machine may make the other subscriber lag too: its QoS 0 copies
        // may then be dropped as well, so only its QoS 1 message is checked.)
        for (let i = 0; i < 2000; i++) pub.client.publish("slow/t", payload, { qos: 0 });
        await publish(pub, "slow/t", "last", 1);
        await other.inbox.waitTopic("slow/t", 10000);
        await other.inbox.waitFor((m) => m.payload.toString() === "last", 10000, "the QoS 1 message");
        await h.waitLogAbout({ clientId: "slowpoke" }, /not reading|slow|drop/i, mark, 5000);
        expect(h.broker.alive()).toBe(true);
        slow.socket.resume();
        slow.send("c0 00");
        // Still connected: what was queued arrives, then the PINGRESP; some QoS 0 were dropped.
        // Only QoS 0 is dropped: the QoS 1 "last" still arrives.
        let delivered = 0;
        let sawLast = false;
        for (;;) {
          const p = await slow.nextPacket(5000);
          if (p.type === 13) break;
          const m = decodePublish(p);
          if (m.qos === 1 && m.payload.toString() === "last") sawLast = true;
          delivered++;
        }
        expect(delivered).toBeLessThan(2001);
        expect(sawLast, "the QoS 1 message to the slow subscriber was dropped").toBe(true);
      });

      board("[MQTT-3.1.3-9][SRV-IMPL-5] board maxClientIdLength 5: a 6-byte client id gets CONNACK 2, a 5-byte one is accepted", async (ctx) => {
        const h = await shared.harness(target, ctx, G3);
        const c = await h.raw();
        c.send(pk.connect({ clientId: "abcdef" }));
        await c.expectPacket("20 02 00 02");
        await c.expectClosedWithoutReply();
        await h.rawConnected({ clientId: "abcde" });
      });

      board("[SRV-IMPL-2][MQTT-4.7.3-3] board maxTopicLength 8: SUBSCRIBE to a 9-byte filter gets 0x80, 8 bytes are granted", async (ctx) => {
        const h = await shared.harness(target, ctx, G3);
        const c: RawClient = await h.rawConnected({ clientId: "tl" });
        c.send(pk.subscribe(1, [["12345678", 1], ["123456789", 1]]));
        await c.expectPacket("90 04 00 01 01 80");
      });
    });
  });
}
