/**
 * Keep alive and PINGREQ/PINGRESP (MQTT-3.1.2-24, SRV-CON-5, MQTT-3.12.4-1, SRV-IMPL-11:
 * close when idle > 1.5 × keep alive, checked at least once per second).
 */
import { describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, Harness, TEST_TIMEOUT, pk, sharedBrokers, sleep, describeOn } from "./helpers";
import { selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

/** Pause between two packets of a paced client: the traffic under test, not a wait for an event. */
const PACE_MS = 700;

/**
 * Runs `step` every PACE_MS until `totalMs` have passed. Each idle gap (from the end of one step
 * to the start of the next) must stay under 1.5 s of keep alive 1, or the run proves nothing:
 * on a stalled machine the test fails saying so instead of blaming the broker.
 */
async function pacedFor(totalMs: number, step: () => Promise<void>): Promise<void> {
  const start = Date.now();
  let last = start;
  while (Date.now() - start < totalMs) {
    await sleep(PACE_MS);
    const gap = Date.now() - last;
    expect(gap, `the test machine stalled: ${gap} ms between two packets, over 1.5 × keep alive`).toBeLessThan(1400);
    await step();
    last = Date.now();
  }
}

/** Connects a silent client with this keep alive and waits (with a deadline) until the broker closes it. */
async function controlClosed(h: Harness, keepalive: number): Promise<void> {
  const control = await h.rawConnected({ keepalive });
  await control.expectClosed(keepalive * 1500 + 3000, `control client with keep alive ${keepalive} s`);
}

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
        // Marker on the same connection: a fourth PINGRESP would come before this PUBACK.
        c.send(pk.publish({ topic: "ka1/marker", qos: 1, id: 7 }));
        await c.expectPacket("40 02 00 07");
      });

      test("[MQTT-3.1.2-24] a silent client with keep alive 1 s is closed after 1.5 s (window 1.4–3.5 s), without any reply", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        // The broker's clock starts at CONNECT, which it cannot read before we send it.
        const start = Date.now();
        await c.handshake({ keepalive: 1 });
        await c.expectClosedWithoutReply(4000, "keep alive 1 s");
        expect(c.closedAt - start).toBeGreaterThanOrEqual(1400);
        expect(c.closedAt - start).toBeLessThanOrEqual(3500);
      });

      test("[MQTT-3.1.2-24] keep alive 2 s: not closed before 2.9 s (1.5 × 2 s), closed before 5 s", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        const start = Date.now();
        await c.handshake({ keepalive: 2 });
        await c.expectClosed(5000 - (Date.now() - start), "keep alive 2 s");
        expect(c.closedAt - start, "closed before 1.5 × keep alive").toBeGreaterThanOrEqual(2900);
      });

      test("[MQTT-3.1.2-24][SRV-OPS-1] PINGREQ every 0.7 s keeps a keep-alive-1 connection open", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ keepalive: 1 });
        const start = Date.now();
        await pacedFor(3500, async () => {
          c.send("c0 00");
          await c.expectPacket("d0 00");
        });
        expect(Date.now() - start, "open for over 3 × 1.5 s of keep alive").toBeGreaterThanOrEqual(3500);
        expect(c.closed).toBe(false);
      });

      test("[MQTT-3.1.2-24] any complete packet restarts the timer, not only PINGREQ (QoS 0 PUBLISH every 0.7 s)", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.rawConnected({ keepalive: 1 });
        const start = Date.now();
        await pacedFor(3500, async () => c.send("30 04 00 01 6b 78")); // "k" "x"
        expect(Date.now() - start).toBeGreaterThanOrEqual(3500);
        // Still open, and nothing came back for the PUBLISHes before this PINGRESP.
        c.send("c0 00");
        await c.expectPacket("d0 00");
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
        // A keep-alive-2 client connected after it is closed at 1.5 × 2 s: by then the broker's
        // keep-alive checks have seen the first one idle for over 3 s.
        await controlClosed(h, 2);
        expect(c.closed, "keep alive 0 closed by the keep-alive check").toBe(false);
        c.send("c0 00");
        await c.expectPacket("d0 00");
      });

      test("[MQTT-3.1.2-24] MQTT.js with keepalive 1 s stays connected through its own PINGREQs", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.mqtt({ keepalive: 1 });
        let pingresps = 0;
        c.client.on("packetreceive", (p) => {
          if (p.cmd === "pingresp") pingresps++;
        });
        // Over 3 s, twice 1.5 × keep alive, measured by the broker closing a silent keep-alive-2 client.
        await controlClosed(h, 2);
        expect(c.isClosed()).toBe(false);
        expect(pingresps, "PINGRESPs to MQTT.js's PINGREQs").toBeGreaterThanOrEqual(2);
      });
    });
  });
}
