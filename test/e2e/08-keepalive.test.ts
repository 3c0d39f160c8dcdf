/**
 * Keep alive and PINGREQ/PINGRESP (MQTT-3.1.2-24, SRV-CON-5, MQTT-3.12.4-1, SRV-IMPL-11:
 * close when idle > 1.5 × keep alive, checked at least once per second).
 */
import { describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, TEST_TIMEOUT, sharedBrokers, sleep, describeOn } from "./helpers";
import { selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    describeOn(target)("08-keepalive", { timeout: TEST_TIMEOUT }, () => {
      test("[MQTT-3.12.4-1][SRV-OPS-1] every PINGREQ gets exactly d0 00", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected();
        c.send("c0 00 c0 00 c0 00");
        await c.expectPacket("d0 00");
        await c.expectPacket("d0 00");
        await c.expectPacket("d0 00");
        await c.expectSilence(200);
      });

      test("[MQTT-3.1.2-24] a silent client with keep alive 1 s is closed after 1.5 s (window 1.4–3.5 s), without any reply", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ keepalive: 1 });
        const start = Date.now();
        await c.expectClosedWithoutReply(4000, "keep alive 1 s");
        expect(c.closedAt - start).toBeGreaterThanOrEqual(1400);
        expect(c.closedAt - start).toBeLessThanOrEqual(3500);
      });

      test("[MQTT-3.1.2-24] keep alive 2 s: still open at 2.4 s (under 1.5 × 2 s), closed before 5 s", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ keepalive: 2 });
        const start = Date.now();
        await sleep(2400);
        expect(c.closed, "closed before 1.5 × keep alive").toBe(false);
        await c.expectClosed(5000 - (Date.now() - start), "keep alive 2 s");
        expect(c.closedAt - start).toBeGreaterThanOrEqual(2900);
      });

      test("[MQTT-3.1.2-24][SRV-OPS-1] PINGREQ every 0.7 s keeps a keep-alive-1 connection open", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ keepalive: 1 });
        for (let i = 0; i < 5; i++) {
          await sleep(700);
          c.send("c0 00");
          await c.expectPacket("d0 00");
        }
        expect(c.closed).toBe(false);
      });

      test("[MQTT-3.1.2-24] any complete packet restarts the timer, not only PINGREQ (QoS 0 PUBLISH every 0.7 s)", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ keepalive: 1 });
        for (let i = 0; i < 5; i++) {
          await sleep(700);
          c.send("30 04 00 01 6b 78"); // "k" "x"
        }
        await c.expectSilence(100);
      });

      test("[MQTT-3.1.2-24] fragments of a packet do not restart the timer (our reading: complete packets only)", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ keepalive: 1 });
        const start = Date.now();
        // A 100-byte PUBLISH dribbled one byte every 300 ms never completes in time.
        const bytes = Buffer.concat([Buffer.from([0x30, 0x64, 0x00, 0x01, 0x66]), Buffer.alloc(97, 0x61)]);
        let i = 0;
        const timer = setInterval(() => {
          if (i < bytes.length) c.sendRaw(bytes.subarray(i, i + 1));
          i++;
        }, 300);
        try {
          await c.expectClosed(4000, "keep alive 1 s with only fragments arriving");
        } finally {
          clearInterval(timer);
        }
        expect(c.closedAt - start).toBeLessThanOrEqual(3500);
      });

      test("[SRV-CON-5] keep alive 0 turns the timeout off: a silent client stays connected", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ keepalive: 0 });
        await sleep(3500);
        expect(c.closed).toBe(false);
        c.send("c0 00");
        await c.expectPacket("d0 00");
      });

      test("[MQTT-3.1.2-24] MQTT.js with keepalive 1 s stays connected through its own PINGREQs", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.mqtt({ keepalive: 1 });
        await sleep(3500);
        expect(c.isClosed()).toBe(false);
      });
    });
  });
}
