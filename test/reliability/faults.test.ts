// Fault tests (issue 9): clients killed in the middle of a QoS 2 flow, consumers that stop
// reading, connections beyond max_connections, partial packets that never complete, 1,000
// clients connecting at once, and packets over max_packet_size. Each runs against every target
// in MIDGE_TARGETS (default "node"), on loopback, with every wait bounded.
import { afterAll, describe, expect, test } from "vitest";
import { Harness, RawClient, connackHex, fits, idHex, pk, sleep, toHex, mqttString, vbi, waitUntil } from "../e2e/helpers";
import { selectedTargets } from "../e2e/targets";
import { mb, pidOfListeningPort, rssBytes } from "../../tools/lib/proc.mjs";
import { countFaults, countInputs, reportInputs } from "./inputs";

const MB = 1024 * 1024;

/** Broker RSS in bytes (0 when its process cannot be found: memory checks are then skipped). */
function brokerRss(port: number): { pid: number; rss: () => number } {
  const pid = pidOfListeningPort(port);
  return { pid, rss: () => rssBytes(pid) };
}

function id(prefix: string): string {
  return prefix + "-" + Math.random().toString(16).slice(2, 10);
}

for (const target of selectedTargets()) {
  describe(`faults [${target.name}]`, () => {
    afterAll(() => reportInputs(`fault tests [${target.name}]`));

    describe("a client killed in the middle of a QoS 2 flow, then reconnecting (CleanSession 0)", () => {
      test("[MQTT-4.4.0-1][MQTT-3.3.1-1][MQTT-4.3.3-2] subscriber killed after PUBLISH, before PUBREC: the PUBLISH is resent with DUP, same id, and the message is delivered once", async (ctx) => {
        const h = await Harness.start(target, ctx);
        const cid = id("q2sub");
        const sub = await h.rawConnected({ clientId: cid, clean: false, keepalive: 0 });
        await sub.subscribe(1, [["fault/q2", 2]]);
        const pub = await h.rawConnected({ clientId: id("q2pub"), keepalive: 0 });
        pub.send(pk.publish({ topic: "fault/q2", payload: "m1", qos: 2, id: 10 }));
        await pub.expectPacket("50 02 00 0a");
        pub.send(pk.pubrel(10));
        await pub.expectPacket("70 02 00 0a");
        const first = await sub.nextPublish();
        expect(first.qos).toBe(2);
        expect(first.dup).toBe(false);
        expect(first.payload.toString()).toBe("m1");
        // Killed before PUBREC. A second message is published once the broker has seen it go.
        const gone = h.mark();
        sub.destroy();
        countFaults("client kills", 1);
        await h.waitLogAbout({ clientId: cid }, /disconnected/, gone);
        pub.send(pk.publish({ topic: "fault/q2", payload: "m2", qos: 2, id: 11 }));
        await pub.expectPacket("50 02 00 0b");
        pub.send(pk.pubrel(11));
        await pub.expectPacket("70 02 00 0b");

        const again = await h.rawConnected({ clientId: cid, clean: false, keepalive: 0 }, true);
        // First the unacknowledged flow is resent, then the message queued while offline (SRV-OPS-8).
        const resent = await again.nextPublish();
        expect(resent.id, "resent with its original packet id").toBe(first.id);
        expect(resent.dup, "DUP set on the resend").toBe(true);
        expect(resent.payload.toString()).toBe("m1");
        // The client side of exactly once: it had not acknowledged m1, so it delivers it now, once.
        // With an in-flight window of 1 (the ESP32 profile) the queued message waits for that.
        const windowOfOne = Number(target.limits?.maxInflight ?? 20) < 2;
        if (windowOfOne) {
          again.send(pk.pubrec(resent.id));
          await again.expectPacket(`62 02 ${idHex(resent.id)}`);
          again.send(pk.pubcomp(resent.id));
        }
        const queued = await again.nextPublish();
        expect(queued.payload.toString()).toBe("m2");
        expect(queued.dup).toBe(false);
        if (!windowOfOne) expect(queued.id).not.toBe(resent.id);
        for (const m of windowOfOne ? [queued] : [resent, queued]) {
          again.send(pk.pubrec(m.id));
          await again.expectPacket(`62 02 ${idHex(m.id)}`);
          again.send(pk.pubcomp(m.id));
        }
        // Nothing else: no third copy of either message before a marker from the same publisher.
        pub.send(pk.publish({ topic: "fault/q2", payload: "end" }));
        await again.expectMarker("fault/q2", "end", "no third copy");
      });

      test("[MQTT-4.4.0-1][MQTT-4.3.3-1] subscriber killed after PUBREC, before PUBCOMP: the PUBREL is resent, never the PUBLISH", async (ctx) => {
        const h = await Harness.start(target, ctx);
        const cid = id("q2sub");
        const sub = await h.rawConnected({ clientId: cid, clean: false, keepalive: 0 });
        await sub.subscribe(1, [["fault/q2b", 2]]);
        const pub = await h.rawConnected({ clientId: id("q2pub"), keepalive: 0 });
        pub.send(pk.publish({ topic: "fault/q2b", payload: "once", qos: 2, id: 20 }));
        await pub.expectPacket("50 02 00 14");
        const m = await sub.nextPublish();
        sub.send(pk.pubrec(m.id));
        await sub.expectPacket(`62 02 ${idHex(m.id)}`);
        const gone = h.mark();
        sub.destroy(); // killed before PUBCOMP
        countFaults("client kills", 1);
        await h.waitLogAbout({ clientId: cid }, /disconnected/, gone);
        const again = await h.rawConnected({ clientId: cid, clean: false, keepalive: 0 }, true);
        await again.expectPacket(`62 02 ${idHex(m.id)}`);
        again.send(pk.pubcomp(m.id));
        // No PUBLISH of "once" again before a marker from the same publisher.
        pub.send(pk.publish({ topic: "fault/q2b", payload: "end" }));
        await again.expectMarker("fault/q2b", "end", "the PUBLISH is never resent after PUBREC");
      });

      test("[MQTT-4.3.3-2][SRV-OPS-7] publisher killed after PUBLISH, before PUBREL: its resent PUBLISH (DUP) gets PUBREC and is not routed again", async (ctx) => {
        const h = await Harness.start(target, ctx);
        const sub = await h.rawConnected({ clientId: id("q2s"), keepalive: 0 });
        await sub.subscribe(1, [["fault/q2c", 2]]);
        const pid = id("q2p");
        const pub = await h.rawConnected({ clientId: pid, clean: false, keepalive: 0 });
        pub.send(pk.publish({ topic: "fault/q2c", payload: "exactly-once", qos: 2, id: 7 }));
        await pub.expectPacket("50 02 00 07");
        pub.destroy(); // killed before it could send PUBREL
        countFaults("client kills", 1);
        const m = await sub.nextPublish();
        expect(m.payload.toString()).toBe("exactly-once");
        sub.send(pk.pubrec(m.id));
        await sub.expectPacket(`62 02 ${idHex(m.id)}`);
        sub.send(pk.pubcomp(m.id));

        const again = await h.rawConnected({ clientId: pid, clean: false, keepalive: 0 }, true);
        // It does not know whether the PUBREC arrived, so it resends the PUBLISH with DUP.
        again.send(pk.publish({ topic: "fault/q2c", payload: "exactly-once", qos: 2, id: 7, dup: true }));
        await again.expectPacket("50 02 00 07");
        again.send(pk.pubrel(7));
        await again.expectPacket("70 02 00 07");
        // A second routing of the DUP would reach sub before this marker from the same connection.
        again.send(pk.publish({ topic: "fault/q2c", payload: "end" }));
        await sub.expectMarker("fault/q2c", "end", "the DUP PUBLISH is not routed again");
      });

      test("[MQTT-4.3.3-2] publisher killed after PUBREL was sent: resending PUBREL gets PUBCOMP, the message went out once", async (ctx) => {
        const h = await Harness.start(target, ctx);
        const sub = await h.rawConnected({ clientId: id("q2s"), keepalive: 0 });
        await sub.subscribe(1, [["fault/q2d", 1]]);
        const pid = id("q2p");
        const pub = await h.rawConnected({ clientId: pid, clean: false, keepalive: 0 });
        pub.send(pk.publish({ topic: "fault/q2d", payload: "x", qos: 2, id: 9 }));
        await pub.expectPacket("50 02 00 09");
        pub.send(pk.pubrel(9));
        pub.destroy(); // the PUBCOMP may or may not have been sent: the client cannot know
        countFaults("client kills", 1);
        const m = await sub.nextPublish();
        sub.send(pk.puback(m.id));
        const again = await h.rawConnected({ clientId: pid, clean: false, keepalive: 0 }, true);
        again.send(pk.pubrel(9));
        await again.expectPacket("70 02 00 09");
        again.send(pk.publish({ topic: "fault/q2d", payload: "end" }));
        await sub.expectMarker("fault/q2d", "end", "the message went out once");
      });
    });

    describe("a consumer that stops reading its socket", () => {
      test.skipIf(!target.features.board || !fits(target, { maxPacketSize: 8300 }))(
        "[SRV-IMPL-7] QoS 0 to a subscriber that never reads: broker memory stays bounded, the policy is logged, a reading subscriber gets everything",
        { timeout: 60000 },
        async (ctx) => {
          const h = await Harness.start(target, ctx, { boardLimits: { maxPendingBytes: 256 * 1024 } });
          const mem = brokerRss(h.port);
          const stuck = await h.rawConnected({ clientId: id("stuck"), keepalive: 0 });
          // flood-end at QoS 1: the marker that ends what was kept for it (QoS 0 may be dropped).
          await stuck.subscribe(1, [["flood/#", 0], ["flood-end", 1]]);
          stuck.socket.pause(); // stops reading: the kernel buffers fill, then the broker's
          // The reading subscriber counts bytes on a plain socket (no buffering in the test).
          const reader = await h.rawConnected({ clientId: id("reader"), keepalive: 0 });
          await reader.subscribe(1, [["flood/#", 0]]);
          let readerBytes = 0;
          reader.socket.removeAllListeners("data");
          reader.socket.on("data", (d: Buffer) => {
            readerBytes += d.length;
          });
          const pub = await h.rawConnected({ clientId: id("flood"), keepalive: 0 });
          const before = mem.rss();
          let peak = before;
          const payload = Buffer.alloc(8 * 1024, 0x61);
          const count = 3000; // 24 MB in all, 96 times maxPendingBytes
          const packet = pk.publish({ topic: "flood/a", payload });
          // Batches of 20 (160 KB, under maxPendingBytes), each sent once the reader has the
          // previous ones: the reader never falls behind, so the slow-consumer policy must
          // never apply to it, only to the stuck subscriber.
          const batchSize = 20;
          const batch = Buffer.concat(Array.from({ length: batchSize }, () => packet));
          for (let i = 0; i < count; i += batchSize) {
            if (!pub.socket.write(batch)) await new Promise((r) => pub.socket.once("drain", r));
            await waitUntil(
              () => {
                peak = Math.max(peak, mem.rss());
                return readerBytes >= (i + batchSize) * packet.length;
              },
              10000,
              `the reading subscriber to get message ${i + batchSize}`,
            );
          }
          countInputs("slow-consumer messages", count);
          expect(readerBytes).toBe(count * packet.length);
          await h.waitLog(/is not reading: dropping QoS 0 messages/, 5000);
          // Bounded: the stuck subscriber, reading again, finds only what was buffered for it
          // (maxPendingBytes in the broker plus the kernel's socket buffers), not 24 MB.
          let stuckBytes = 0;
          let tail = Buffer.alloc(0);
          let markerSeen = false;
          stuck.socket.removeAllListeners("data");
          stuck.socket.on("data", (d: Buffer) => {
            stuckBytes += d.length;
            tail = Buffer.concat([tail, d]).subarray(-64);
            if (tail.includes("flood-end")) markerSeen = true;
          });
          stuck.socket.resume();
          // A marker published now is queued behind everything kept for the stuck subscriber.
          pub.send(pk.publish({ topic: "flood-end", payload: "end", qos: 1, id: 1 }));
          await waitUntil(() => markerSeen, 15000, "the marker after what was kept for the stuck subscriber");
          expect(h.broker.alive()).toBe(true);
          console.log(`[reliability] slow QoS 0 consumer: 24 MB published, the stuck subscriber got ${mb(stuckBytes)} MB once it read again; broker RSS ${mb(before)} MB → peak ${mb(peak)} MB`);
          expect(stuckBytes, "bytes kept for a subscriber that did not read").toBeLessThan(12 * MB);
          if (mem.pid > 0) expect(peak - before, `broker RSS grew ${mb(peak - before)} MB`).toBeLessThan(96 * MB);
        },
      );

      test.skipIf(!target.features.board || !fits(target, { maxPacketSize: 1100 }))(
        "[SRV-IMPL-10][SRV-OPS-11] QoS 1 to a subscriber that never acknowledges nor reads: in-flight window plus a bounded queue, overflow logged",
        { timeout: 30000 },
        async (ctx) => {
          const h = await Harness.start(target, ctx, { boardLimits: { maxInflight: 5, maxQueued: 50 } });
          const stuck = await h.rawConnected({ clientId: id("stuckq1"), keepalive: 0 });
          await stuck.subscribe(1, [["flood/#", 1]]);
          stuck.socket.pause();
          const pub = await h.rawConnected({ clientId: id("flood1"), keepalive: 0 });
          const n = 500;
          const parts: Buffer[] = [];
          for (let i = 1; i <= n; i++) parts.push(pk.publish({ topic: "flood/q1", payload: Buffer.alloc(1024, 0x62), qos: 1, id: i }));
          pub.sendRaw(Buffer.concat(parts));
          countInputs("slow-consumer messages", n);
          // Every PUBLISH is acknowledged (the broker took ownership), whatever the stuck subscriber does.
          await waitUntil(() => pub.unread().length >= 4 * n, 10000, "500 PUBACKs");
          await h.waitLog(/Outgoing queue of client stuckq1-\w+ is full \(50 messages\)/, 5000);
          // The stuck client now reads: it gets the in-flight window, then the queue, nothing more.
          stuck.socket.resume();
          const ids: number[] = [];
          for (let i = 0; i < 5; i++) {
            const m = await stuck.nextPublish();
            ids.push(m.id);
          }
          // With the window full nothing more may come before the answer to this PINGREQ.
          stuck.send(pk.pingreq());
          await stuck.expectPacket("d0 00");
          for (const i of ids) stuck.send(pk.puback(i));
          let received = 5;
          for (;;) {
            const p = await stuck.nextPacket(2000).catch(() => null);
            if (p === null) break;
            if (p.type === 3) {
              received++;
              stuck.send(pk.puback(p.body.readUInt16BE(2 + p.body.readUInt16BE(0))));
            }
          }
          expect(received, "in-flight window (5) + queue (50)").toBe(55);
        },
      );

      test.skipIf(!target.features.board)(
        "a client that sends requests but never reads the replies (PINGREQ flood): the broker's memory stays bounded",
        { timeout: 90000 },
        async (ctx) => {
          // Each PINGREQ is answered with a PINGRESP that the client never reads. The answers
          // cannot be dropped like QoS 0 messages; past maxPendingBytes the broker has to stop
          // reading from that client (back-pressure) or close it.
          const h = await Harness.start(target, ctx, { boardLimits: { maxPendingBytes: 256 * 1024 } });
          const mem = brokerRss(h.port);
          const c = await h.rawConnected({ clientId: id("noread"), keepalive: 0 });
          c.socket.pause();
          const before = mem.rss();
          let peak = before;
          const chunk = Buffer.alloc(2 * 50000).fill(Buffer.from([0xc0, 0x00]));
          // Batches of 50,000 PINGREQs (100 KB), up to 24 MB. The kernel buffers of both sides
          // absorb the first few MB of PINGRESP (some 3,500,000 of them on this machine kind);
          // after that, without back-pressure, every further PINGRESP waits in the broker (the
          // unbounded case: 715 MB at 2,750,000 PINGREQs, 1.5 GB at 5,000,000). With
          // back-pressure the broker stops reading and our writes stop draining for good.
          // Answering what the kernel absorbs still costs a transient heap peak (one small
          // allocation per reply: about 370 MB with back-pressure in place, Node 20), hence
          // the 512 MB bound.
          const limit = 512 * MB;
          let sent = 0;
          let blocked = false;
          const end = Date.now() + 40000;
          while (sent < 240 && !c.closed && Date.now() < end && peak - before < limit) {
            sent++;
            if (!c.socket.write(chunk)) {
              // A busy broker (garbage collection) may stop reading for a few seconds; one that
              // applies back-pressure stops for good.
              const drained = await Promise.race([new Promise((r) => c.socket.once("drain", () => r(true))), sleep(8000).then(() => false)]);
              if (!drained) {
                blocked = true;
                break;
              }
            }
            peak = Math.max(peak, mem.rss());
          }
          // One more sample once the broker has answered another client (its loop has come round).
          const probe = await h.rawConnected({ clientId: id("probe"), keepalive: 0 }).catch(() => null);
          if (probe !== null) {
            probe.send(pk.pingreq());
            await probe.expectPacket("d0 00", 10000);
          }
          peak = Math.max(peak, mem.rss());
          countFaults("unread PINGREQs", sent * 50000);
          expect(h.broker.alive()).toBe(true);
          if (mem.pid > 0) {
            console.log(`[reliability] PINGREQ flood, replies unread: ${sent * 50000} sent${blocked ? " (our writes stopped draining)" : c.closed ? " (broker closed)" : ""}, broker RSS ${mb(before)} MB → peak ${mb(peak)} MB`);
            expect(peak - before, `broker RSS grew ${mb(peak - before)} MB for a client that does not read its replies (${sent * 50000} PINGREQs)`).toBeLessThan(limit);
          }
        },
      );
    });

    describe("connections beyond max_connections", () => {
      test("[SRV-IMPL-19] with max_connections 5 the 6th connection is refused cleanly (closed, nothing sent), logged, and slots come back", { timeout: 30000 }, async (ctx) => {
        const h = await Harness.start(target, ctx, { configLines: ["max_connections 5"] });
        const ok: RawClient[] = [];
        const slotIds = Array.from({ length: 5 }, (_, i) => id("slot" + i));
        for (const clientId of slotIds) ok.push(await h.rawConnected({ clientId, keepalive: 0 }));
        const mark = h.mark();
        // 50 refused attempts: each is closed with nothing sent, and none of them leaks a slot.
        for (let i = 0; i < 50; i++) {
          const extra = await RawClient.open(h.port).catch(() => null);
          if (extra === null) continue; // refused at the TCP level: also clean
          h.defer(() => extra.destroy());
          extra.send(pk.connect({ clientId: id("extra"), keepalive: 0 }));
          await extra.expectClosed(3000, "connection over max_connections");
          expect(toHex(extra.received), "a refused connection gets no bytes").toBe("");
        }
        countFaults("refused connections", 50);
        await h.waitLog(/refused: max_connections \(5\) reached/, 3000, mark);
        // The five are unaffected.
        for (const c of ok) {
          c.send(pk.pingreq());
          await c.expectPacket("d0 00");
        }
        // A slot freed (the broker logged the disconnect) is usable again.
        const freed = h.mark();
        ok[0].send(pk.disconnect());
        await ok[0].expectClosed();
        await h.waitLogAbout({ clientId: slotIds[0] }, /disconnected/, freed);
        await h.rawConnected({ clientId: id("again"), keepalive: 0 });
      });
    });

    describe("partial packets that never complete", () => {
      test.skipIf(!target.features.board)("[SRV-CON-1][SRV-IMPL-12] a partial CONNECT is closed at connectTimeoutMs (1000 ms), without CONNACK", async (ctx) => {
        const h = await Harness.start(target, ctx, { boardLimits: { connectTimeoutMs: 1000 } });
        const c = await h.raw();
        c.sendRaw("10 10 00 04 4d 51"); // CONNECT announcing 16 bytes, 4 sent
        await c.expectClosedWithoutReply(3500, "partial CONNECT");
        const took = c.closedAt - c.openedAt;
        expect(took).toBeGreaterThanOrEqual(900);
        countFaults("partial packets", 1);
      });

      test("[MQTT-3.1.2-24] connected with keep alive 1 s, a partial PUBLISH is closed at 1.5 × keep alive", async (ctx) => {
        const h = await Harness.start(target, ctx);
        const c = await h.rawConnected({ clientId: id("partka"), keepalive: 1 });
        c.sendRaw("30 0a 00 03 61"); // PUBLISH announcing 10 bytes, 3 sent
        await c.expectClosed(4000, "partial PUBLISH with keep alive 1");
        countFaults("partial packets", 1);
      });

      // Gap found by this suite (issue 9): with keep alive 0 nothing bounds how long a started
      // packet may take, so a client can hold a connection slot and up to max_packet_size of
      // buffer for ever by never finishing a packet (slowloris). Expected: the partial packet
      // is timed from its first byte and the connection closed after connectTimeoutMs.
      test.skipIf(!target.features.board)("connected with keep alive 0, a partial PUBLISH that never completes is closed after the timeout (connectTimeoutMs, 1000 ms)", { timeout: 15000 }, async (ctx) => {
        const h = await Harness.start(target, ctx, { boardLimits: { connectTimeoutMs: 1000 } });
        const c = await h.rawConnected({ clientId: id("partk0"), keepalive: 0 });
        await sleep(300); // idle before the packet starts: part of the input (timed from its first byte)
        const started = Date.now();
        c.sendRaw("30 0a 00 03 61"); // PUBLISH announcing 10 bytes, 3 sent, never the rest
        countFaults("partial packets", 1);
        await c.expectClosed(5000, "a partial packet with keep alive 0 (no timeout bounds it today)");
        expect(c.closedAt - started, "closed before connectTimeoutMs from the packet's first byte").toBeGreaterThanOrEqual(900);
      });

      test.skipIf(!target.features.board)("connected with keep alive 0, a packet trickled one byte every 200 ms (slowloris) is closed after the timeout", { timeout: 15000 }, async (ctx) => {
        const h = await Harness.start(target, ctx, { boardLimits: { connectTimeoutMs: 1000 } });
        const c = await h.rawConnected({ clientId: id("trickle"), keepalive: 0 });
        c.sendRaw(Buffer.concat([Buffer.from([0x30]), vbi(60000)]));
        countFaults("partial packets", 1);
        const end = Date.now() + 5000;
        while (!c.closed && Date.now() < end) {
          c.sendRaw("61");
          await sleep(200); // the trickle's pace is the input under test
        }
        expect(c.closed, "broker still waiting for the packet after 5 s").toBe(true);
      });
    });

    describe("1,000 clients connecting at once", () => {
      test.skipIf(target.name !== "node")("[SRV-OPS-12] 1,000 simultaneous CONNECTs all get CONNACK 0; twice (every slot is freed); the broker still routes", { timeout: 90000 }, async (ctx) => {
        const h = await Harness.start(target, ctx, { verbose: false });
        const mem = brokerRss(h.port);
        const before = mem.rss();
        for (let wave = 0; wave < 2; wave++) {
          const clients = await Promise.all(Array.from({ length: 1000 }, () => RawClient.open(h.port, 20000)));
          for (const c of clients) h.defer(() => c.destroy());
          for (let i = 0; i < clients.length; i++) clients[i].send(pk.connect({ clientId: `k${wave}-${i}`, keepalive: 0 }));
          const results = await Promise.all(clients.map((c) => c.expectPacket(connackHex(false, 0), 20000).then(() => true, () => false)));
          expect(results.filter((r) => !r).length, `wave ${wave}: clients without CONNACK 0`).toBe(0);
          countInputs("simultaneous connections", 1000);
          // Half leave cleanly, half drop (network failure).
          for (let i = 0; i < clients.length; i++) {
            if (i % 2 === 0) clients[i].send(pk.disconnect());
            else clients[i].destroy();
          }
          await Promise.all(clients.map((c) => c.waitClosed(10000)));
        }
        const sub = await h.rawConnected({ clientId: id("after"), keepalive: 0 });
        await sub.subscribe(1, [["after/1000", 1]]);
        const pub = await h.rawConnected({ clientId: id("afterp"), keepalive: 0 });
        pub.send(pk.publish({ topic: "after/1000", payload: "ok", qos: 1, id: 1 }));
        await pub.expectPacket("40 02 00 01");
        expect((await sub.nextPublish()).payload.toString()).toBe("ok");
        if (mem.pid > 0) console.log(`[reliability] 2 × 1,000 clients: broker RSS ${mb(before)} MB → ${mb(mem.rss())} MB`);
      });
    });

    describe("a publish flood while the subscription table is large", () => {
      // Found by `npm run fuzz -- --seconds 120 --seed 77 --concurrency 48` (inputs 5138-5283:
      // malformed packets not closed within 3 s): subscription floods had filled the table, and
      // every PUBLISH was matched by scanning all of it, so publish floods stalled the broker
      // for seconds. Measured on 2 cores with the scan: 20,000 subscriptions and 1,500 QoS 0
      // PUBLISH = 3.4 s without an answer to anyone (50,000 and 800 = 4.0 s). With the topic
      // tree index the Node target installs (commit 8183171): about 20 ms.
      test.skipIf(target.name !== "node")(
        "[SRV-OPS-12] with 20,000 subscriptions (20 clients × 1,000) a burst of 1,500 PUBLISH does not keep another client's PINGREQ waiting over 1 s",
        { timeout: 60000 },
        async (ctx) => {
          const h = await Harness.start(target, ctx, { verbose: false });
          for (let c = 0; c < 20; c++) {
            const s = await h.rawConnected({ clientId: id("many" + c), keepalive: 0 });
            const entries: Array<[string, number]> = [];
            for (let i = 0; i < 1000; i++) entries.push([`scan/s${c}-${i}/#`, 0]);
            s.send(pk.subscribe(1, entries));
            const suback = await s.nextPacket(20000, "SUBACK of 1,000 filters");
            expect(suback.type).toBe(9);
          }
          const pinger = await h.rawConnected({ clientId: id("pinger"), keepalive: 0 });
          const flood = await h.rawConnected({ clientId: id("burst"), keepalive: 0 });
          const burst = Buffer.concat(Array.from({ length: 1500 }, () => pk.publish({ topic: "scan/a/b", payload: Buffer.alloc(50, 0x66) })));
          await flood.sendFlushed(burst); // the burst is in the kernel before the PINGREQ
          const t0 = Date.now();
          pinger.send(pk.pingreq());
          await pinger.expectPacket("d0 00", 20000);
          const waited = Date.now() - t0;
          countFaults("publish bursts over a full subscription table", 1);
          console.log(`[reliability] 20,000 subscriptions, 1,500-PUBLISH burst: PINGRESP after ${waited} ms`);
          expect(waited, "PINGREQ answered while the broker matched the burst against every subscription").toBeLessThan(1000);
        },
      );
    });

    describe("packets over max_packet_size", () => {
      test("[SRV-ENC-6][SRV-IMPL-1] max_packet_size 64 KB: a 256 KB PUBLISH is refused from its header, before any of the body is sent", async (ctx) => {
        const h = await Harness.start(target, ctx, { configLines: ["max_packet_size 65536"] });
        const sub = await h.rawConnected({ clientId: id("bigsub"), keepalive: 0 });
        await sub.subscribe(1, [["big/#", 0]]);
        const mark = h.mark();
        const pub = await h.rawConnected({ clientId: id("bigpub"), keepalive: 0 });
        const topic = mqttString("big/a");
        const bodyLength = topic.length + 256 * 1024;
        // Only the fixed header and the topic: the broker must not wait for the 256 KB body.
        pub.sendRaw(Buffer.concat([Buffer.from([0x30]), vbi(bodyLength), topic]));
        await pub.expectClosed(2000, "PUBLISH of 256 KB over a 64 KB limit");
        await h.waitLog(/larger than the maximum packet size/, 2000, mark);
        // Nothing of big/a reached the subscriber before a marker published after the close.
        const after = await h.rawConnected({ clientId: id("bigend"), keepalive: 0 });
        after.send(pk.publish({ topic: "big/end", payload: "end" }));
        await sub.expectMarker("big/end", "end", "the refused PUBLISH was not routed");
        countFaults("oversized packets", 1);
      });

      test.skipIf(!target.features.board)("[SRV-ENC-6] a publisher of 256 KB payloads (64 KB limit) is closed each time; memory stays flat; 60 KB payloads still pass", { timeout: 60000 }, async (ctx) => {
        const h = await Harness.start(target, ctx, { boardLimits: { maxPacketSize: 65536 } });
        const mem = brokerRss(h.port);
        const sub = await h.rawConnected({ clientId: id("bigsub"), keepalive: 0 });
        await sub.subscribe(1, [["big/#", 1]]);
        const before = mem.rss();
        let peak = before;
        const big = pk.publish({ topic: "big/b", payload: Buffer.alloc(256 * 1024, 0x42), qos: 1, id: 1 });
        for (let i = 0; i < 40; i++) {
          const c = await h.rawConnected({ clientId: id("big"), keepalive: 0 });
          c.sendRaw(big);
          await c.expectClosed(3000, "256 KB PUBLISH");
          expect(toHex(c.unread()), "no PUBACK for a refused packet").toBe("");
          c.destroy();
          peak = Math.max(peak, mem.rss());
        }
        countFaults("oversized packets", 40);
        // The next message sub gets must be this one: none of the 40 refused ones was routed.
        const ok = await h.rawConnected({ clientId: id("okpub"), keepalive: 0 });
        ok.send(pk.publish({ topic: "big/ok", payload: Buffer.alloc(60 * 1024, 0x43), qos: 1, id: 2 }));
        await ok.expectPacket("40 02 00 02");
        const m = await sub.nextPublish();
        expect(m.payload.length).toBe(60 * 1024);
        if (mem.pid > 0) {
          console.log(`[reliability] 40 × 256 KB refused: broker RSS ${mb(before)} MB → peak ${mb(peak)} MB`);
          expect(peak - before).toBeLessThan(32 * MB);
        }
      });
    });
  });
}
