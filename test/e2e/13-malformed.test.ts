/**
 * Bad input (spec §1.1 table, §1.2–§1.5, MQTT-4.8.0-1, SRV-OPS-12). One broker per group and
 * a well-behaved MQTT.js "bystander" that publishes to itself every 25 ms for the whole group:
 * each offender must be disconnected without a reply, the log must say why, and the bystander
 * must keep publishing and receiving throughout. Bytes are typed by hand from the spec.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import type { TestContext } from "vitest";
import { E2E_CONCURRENCY, Harness, MqttConn, TEST_TIMEOUT, hex, mqttConnect, sharedBrokers, sleep, waitUntil, describeOn, fits } from "./helpers";
import { BrokerHandle, selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

interface Case {
  name: string;
  /** Sent after a valid CONNECT (pre = false) or as the first bytes (pre = true). */
  bytes: string;
  /** What the log line about this client must say. */
  why: RegExp;
  pre?: boolean;
}

const CASES: Case[] = [
  { name: "[SRV-FH-2][MQTT-4.8.0-1] packet type 0 (00 00)", bytes: "00 00", why: /reserved|type/i },
  { name: "[SRV-FH-2] packet type 15 (f0 00)", bytes: "f0 00", why: /reserved|type/i },
  { name: "[SRV-FH-3] client sends CONNACK", bytes: "20 02 00 00", why: /CONNACK|server/i },
  { name: "[SRV-FH-3] client sends SUBACK", bytes: "90 03 00 01 00", why: /SUBACK|server/i },
  { name: "[SRV-FH-3] client sends UNSUBACK", bytes: "b0 02 00 01", why: /UNSUBACK|server/i },
  { name: "[SRV-FH-3] client sends PINGRESP", bytes: "d0 00", why: /PINGRESP|server/i },
  { name: "[MQTT-3.3.1-4] PUBLISH with QoS 3", bytes: "36 07 00 03 61 2f 62 00 01", why: /qos/i },
  { name: "[MQTT-2.2.2-2][SRV-PUB-7] PUBACK with flags 0001", bytes: "41 02 00 01", why: /flag/i },
  { name: "[MQTT-2.2.2-2][SRV-PUB-7] PUBREC with flags 0010", bytes: "52 02 00 01", why: /flag/i },
  { name: "[MQTT-2.2.2-2][SRV-PUB-7] PUBCOMP with flags 1000", bytes: "78 02 00 01", why: /flag/i },
  { name: "[MQTT-3.6.1-1] PUBREL with flags 0000", bytes: "60 02 00 01", why: /flag/i },
  { name: "[MQTT-3.8.1-1] SUBSCRIBE with flags 0000", bytes: "80 08 00 01 00 03 61 2f 62 00", why: /flag/i },
  { name: "[MQTT-3.8.1-1] SUBSCRIBE with flags 1010 from a 3.1.1 client (only 3.1 may send them)", bytes: "8a 08 00 01 00 03 61 2f 62 00", why: /flag/i },
  { name: "[MQTT-3.6.1-1] PUBREL with flags 1010 from a 3.1.1 client", bytes: "6a 02 00 01", why: /flag/i },
  { name: "[MQTT-3.10.1-1] UNSUBSCRIBE with flags 0000", bytes: "a0 07 00 01 00 03 61 2f 62", why: /flag/i },
  { name: "[MQTT-2.2.2-2] PINGREQ with flags 0001", bytes: "c1 00", why: /flag/i },
  { name: "[MQTT-3.14.1-1] DISCONNECT with flags 0001", bytes: "e1 00", why: /flag/i },
  { name: "[MQTT-3.8.3-4] SUBSCRIBE requesting QoS 3", bytes: "82 08 00 01 00 03 61 2f 62 03", why: /qos/i },
  { name: "[MQTT-3.8.3-4] SUBSCRIBE with a reserved bit set in the QoS byte", bytes: "82 08 00 01 00 03 61 2f 62 04", why: /reserved|qos/i },
  { name: "[MQTT-3.8.3-3] SUBSCRIBE without any filter", bytes: "82 02 00 01", why: /filter/i },
  { name: "[MQTT-3.10.3-2] UNSUBSCRIBE without any filter", bytes: "a2 02 00 01", why: /filter/i },
  { name: "[MQTT-1.5.3-1] PUBLISH topic with byte ff", bytes: "30 05 00 03 61 ff 62", why: /utf-?8/i },
  { name: "[MQTT-1.5.3-1] PUBLISH topic with an encoded surrogate (ed a0 80)", bytes: "30 05 00 03 ed a0 80", why: /utf-?8/i },
  { name: "[MQTT-1.5.3-1] PUBLISH topic with an over-long encoding (c0 af)", bytes: "30 04 00 02 c0 af", why: /utf-?8/i },
  { name: "[MQTT-1.5.3-1] PUBLISH topic ending inside a sequence (e2 82)", bytes: "30 04 00 02 e2 82", why: /utf-?8/i },
  { name: "[MQTT-1.5.3-1] PUBLISH topic with a code point above U+10FFFF (f4 90 80 80)", bytes: "30 06 00 04 f4 90 80 80", why: /utf-?8/i },
  { name: "[MQTT-3.8.3-1][MQTT-1.5.3-1] SUBSCRIBE filter with invalid UTF-8", bytes: "82 08 00 01 00 03 61 c0 af 00", why: /utf-?8/i },
  { name: "[MQTT-3.10.3-1][MQTT-1.5.3-1] UNSUBSCRIBE filter with invalid UTF-8", bytes: "a2 07 00 01 00 03 61 ff 62", why: /utf-?8/i },
  { name: "[MQTT-1.5.3-2][MQTT-4.7.3-2] PUBLISH topic containing U+0000", bytes: "30 05 00 03 61 00 62", why: /U\+0000|nul/i },
  { name: "[SRV-ENC-3] Remaining Length with a 5th byte", bytes: "30 ff ff ff ff 01", why: /remaining length/i },
  { name: "[SRV-ENC-5][SRV-IMPL-3] Remaining Length not in its shortest form (c0 80 00)", bytes: "c0 80 00", why: /remaining length|shortest/i },
  { name: "[SRV-FH-4] PUBACK with Remaining Length 3", bytes: "40 03 00 01 00", why: /length/i },
  { name: "[SRV-FH-4] PUBREL with Remaining Length 1", bytes: "62 01 00", why: /length/i },
  { name: "[SRV-FH-4] PINGREQ with Remaining Length 1", bytes: "c0 01 00", why: /length/i },
  { name: "[SRV-FH-4] DISCONNECT with Remaining Length 1", bytes: "e0 01 00", why: /length/i },
  { name: "[SRV-FH-4][MQTT-3.3.2-1] PUBLISH whose topic length points past the packet", bytes: "30 04 00 05 61 62", why: /malformed|length|short/i },
  { name: "[MQTT-3.3.2-1] PUBLISH too short to hold a topic length", bytes: "30 01 00", why: /malformed|length|short/i },
  { name: "[SRV-FH-4] SUBSCRIBE whose filter has no QoS byte", bytes: "82 07 00 01 00 03 61 2f 62", why: /malformed|length|short|qos/i },
  { name: "[MQTT-2.3.1-1] PUBLISH QoS 1 with packet id 0", bytes: "32 07 00 03 61 2f 62 00 00", why: /identifier|packet id/i },
  { name: "[MQTT-2.3.1-1] SUBSCRIBE with packet id 0", bytes: "82 08 00 00 00 03 61 2f 62 00", why: /identifier|packet id/i },
  { name: "[MQTT-2.3.1-1] UNSUBSCRIBE with packet id 0", bytes: "a2 07 00 00 00 03 61 2f 62", why: /identifier|packet id/i },
  { name: "[MQTT-3.3.2-2][MQTT-4.7.1-1] PUBLISH to topic a/+", bytes: "30 05 00 03 61 2f 2b", why: /wildcard/i },
  { name: "[MQTT-3.3.2-2][MQTT-4.7.1-1] PUBLISH to topic #", bytes: "30 03 00 01 23", why: /wildcard/i },
  { name: "[MQTT-3.3.2-2] PUBLISH to topic a#b", bytes: "30 05 00 03 61 23 62", why: /wildcard/i },
  { name: "[SRV-PUB-12][MQTT-4.7.3-1] PUBLISH with an empty topic", bytes: "30 02 00 00", why: /empty/i },
  { name: "[MQTT-3.3.1-2][SRV-IMPL-3] QoS 0 PUBLISH with DUP=1", bytes: "38 05 00 03 61 2f 62", why: /DUP/i },
  { name: "[MQTT-3.1.0-2] a second CONNECT", bytes: "10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 63 30 31", why: /CONNECT\b/ },
  { name: "[MQTT-3.1.0-1] PINGREQ as the first packet", bytes: "c0 00", why: /CONNECT\b/, pre: true },
  { name: "[MQTT-3.1.0-1] SUBSCRIBE as the first packet", bytes: "82 08 00 01 00 03 61 2f 62 00", why: /CONNECT\b/, pre: true },
  { name: "[SRV-FH-2][MQTT-3.1.0-1] packet type 0 as the first packet", bytes: "00 00", why: /reserved|type|CONNECT\b/, pre: true },
];

/** Small seeded PRNG (mulberry32) so the garbage is the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) % 4294967296;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function garbage(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/**
 * A client that publishes QoS 1 to itself every 25 ms and checks it gets everything, in order.
 * `holdBack`: send only once the previous message came back, for a board whose window and
 * queue (2 + 4 on the ESP32) would drop the oldest of a burst that a stall piles up (by design).
 */
class Bystander {
  conn!: MqttConn;
  sent = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  errors: string[] = [];

  async start(port: number, holdBack: boolean): Promise<void> {
    this.conn = await mqttConnect(port, { clientId: "bystander", keepalive: 5 });
    await this.conn.client.subscribeAsync({ "by/t": { qos: 1 } });
    this.timer = setInterval(() => {
      if (holdBack && this.received() < this.sent) return;
      const n = this.sent++;
      this.conn.client.publish("by/t", String(n), { qos: 1 }, (err) => {
        if (err) this.errors.push(`publish ${n}: ${err.message}`);
      });
    }, 25);
  }

  received(): number {
    return this.conn.inbox.msgs.length;
  }

  /** Waits until `more` further messages arrived. */
  async flowing(more = 3): Promise<void> {
    const target = this.received() + more;
    await waitUntil(() => this.received() >= target || this.conn.isClosed(), 3000, `bystander to receive ${more} more messages`);
    expect(this.conn.isClosed(), "the bystander was disconnected").toBe(false);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.conn?.end();
  }
}

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    describe.sequential("13-malformed with a bystander (default limits)", { timeout: TEST_TIMEOUT }, () => {
      let broker: BrokerHandle;
      const by = new Bystander();
      let seq = 0;

      beforeAll(async () => {
        broker = await target.start({});
        await by.start(broker.port, target.limits !== undefined);
      });
      afterAll(async () => {
        await by.stop();
        await broker?.stop();
      });

      // The offenders run concurrently; the bystander check below runs after all of them.
      describeOn(target)("offenders", () => {
        for (const cs of CASES) {
          test(`${cs.name}: closed without reply, the log says why, the bystander keeps going`, async (ctx: TestContext) => {
            const h = Harness.attach(target, broker, ctx);
            const mark = h.mark();
            const clientId = cs.pre ? "" : `bad-${++seq}`;
            const c = cs.pre ? await h.raw() : await h.rawConnected({ clientId });
            c.sendRaw(hex(cs.bytes));
            await c.expectClosedWithoutReply();
            await h.waitLogAbout({ clientId, raw: c }, cs.why, mark);
            expect(broker.alive()).toBe(true);
            await by.flowing();
          });
        }

        test("[SRV-ENC-6][SRV-IMPL-1] a header announcing 10 MB (over the default 1 MiB) is closed at once, without waiting for the body", async (ctx) => {
          const h = Harness.attach(target, broker, ctx);
          const mark = h.mark();
          const c = await h.rawConnected({ clientId: "huge" });
          const t0 = Date.now();
          c.sendRaw("30 80 80 80 05"); // PUBLISH, Remaining Length 5 × 128³ = 10,485,760
          // Keep alive is 60 s and nothing more is sent: a close within 5 s can only come from
          // checking the announced length (bound generous for loaded machines).
          await c.expectClosedWithoutReply(5000, "10 MB announced, nothing sent");
          expect(Date.now() - t0).toBeLessThan(5000);
          await h.waitLogAbout({ clientId: "huge" }, /size|large|limit|exceed|max/i, mark);
          await by.flowing();
        });

        test("[MQTT-3.1.2-8][SRV-FH-1] a truncated packet followed by the client closing is a network failure: the Will is published", async (ctx) => {
          const h = Harness.attach(target, broker, ctx);
          const obs = await h.subscriber({ "trunc/will": 1 });
          const c = await h.rawConnected({ clientId: "trunc", will: { topic: "trunc/will", payload: "cut", qos: 1 } });
          await c.sendFlushed("30 0a 00 03 61"); // 5 of 12 bytes
          c.end();
          const m = await obs.inbox.waitTopic("trunc/will");
          expect(m.payload.toString()).toBe("cut");
          expect(broker.alive()).toBe(true);
          await by.flowing();
        });

        test("[SRV-FH-1] a valid PUBLISH written one byte at a time is reassembled and delivered", async (ctx) => {
          const h = Harness.attach(target, broker, ctx);
          const obs = await h.rawConnected();
          await obs.subscribe(1, [["drip/t", 0]]);
          const c = await h.rawConnected();
          const bytes = hex("30 0b 00 06 64 72 69 70 2f 74 6f 6b 21"); // "drip/t" "ok!"
          for (const b of bytes) {
            c.sendRaw(Buffer.from([b]));
            await sleep(5); // the pacing is the input under test: one byte per read, not a wait for anything
          }
          await obs.expectPacket("30 0b 00 06 64 72 69 70 2f 74 6f 6b 21");
        });

        test("[MQTT-3.1.0-1][SRV-OPS-12] a flood of garbage from 8 sockets without CONNECT: each is closed, logged, and the bystander keeps going", async (ctx) => {
          const h = Harness.attach(target, broker, ctx);
          const mark = h.mark();
          const rand = prng(1883);
          const floods = await Promise.all(Array.from({ length: 8 }, () => h.raw()));
          for (const f of floods) {
            let b = garbage(rand, 2 * 1024 * 1024); // larger than any packet the broker accepts
            if (b[0] >= 0x10 && b[0] < 0x20) b[0] = 0x00; // not even a CONNECT header
            f.sendRaw(b);
          }
          for (const f of floods) await f.expectClosedWithoutReply(5000, "garbage flood");
          for (const f of floods) await h.waitLogAbout({ raw: f }, /CONNECT\b|reserved|malformed|type|large|size|limit/i, mark);
          expect(broker.alive()).toBe(true);
          await by.flowing();
        });

        test("[MQTT-4.8.0-1][SRV-OPS-12] a flood of garbage after a valid CONNECT is closed and logged; the bystander keeps going", async (ctx) => {
          const h = Harness.attach(target, broker, ctx);
          const mark = h.mark();
          const c = await h.rawConnected({ clientId: "flooder" });
          const b = garbage(prng(8883), 2 * 1024 * 1024);
          c.sendRaw(b);
          await c.expectClosedWithoutReply(5000, "garbage after CONNECT");
          await h.waitLogAbout({ clientId: "flooder" }, /malformed|reserved|type|large|size|limit|flag|qos|length|protocol|server/i, mark);
          await by.flowing();
        });

        test.skipIf(!fits(target, { maxConnections: 122 }))("[SRV-OPS-12][MQTT-4.8.0-2] 120 connections each sending random bytes after CONNECT never take the broker down", async (ctx) => {
          const h = Harness.attach(target, broker, ctx);
          const rand = prng(42);
          for (let batch = 0; batch < 6; batch++) {
            const conns = await Promise.all(Array.from({ length: 20 }, (_, i) => h.rawConnected({ clientId: `fuzz-${batch}-${i}` })));
            // Each garbage write reaches the kernel before its socket is destroyed.
            await Promise.all(conns.map((c) => c.sendFlushed(garbage(rand, 1 + Math.floor(rand() * 64)))));
            for (const c of conns) c.destroy();
          }
          expect(broker.alive()).toBe(true);
          await by.flowing();
        });
      });

      test("[SRV-OPS-12] the bystander was never disconnected and received all its messages, in order", async () => {
        await by.flowing();
        const n = by.received();
        expect(by.conn.isClosed()).toBe(false);
        expect(by.errors).toEqual([]);
        expect(n).toBeGreaterThan(20);
        const got = by.conn.inbox.msgs.map((m) => Number(m.payload.toString()));
        expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
      });
    });

    describeOn(target)("13-malformed with max_packet_size 1024", { timeout: TEST_TIMEOUT }, () => {
      test("[SRV-ENC-6][SRV-IMPL-1] a header announcing 10 MB is closed at once, the log says why, and another client keeps working", async (ctx) => {
        const h = await shared.harness(target, ctx, { configLines: ["max_packet_size 1024"] });
        const other = await h.subscriber({ "ok/t": 1 });
        const mark = h.mark();
        const c = await h.rawConnected({ clientId: "big" });
        const t0 = Date.now();
        c.sendRaw("30 80 80 80 05");
        await c.expectClosedWithoutReply(5000, "10 MB announced with max_packet_size 1024");
        expect(Date.now() - t0).toBeLessThan(5000);
        await h.waitLogAbout({ clientId: "big" }, /size|large|limit|exceed|max/i, mark);
        const pub = await h.mqtt();
        await pub.client.publishAsync("ok/t", "fine", { qos: 1 });
        expect((await other.inbox.waitTopic("ok/t")).payload.toString()).toBe("fine");
      });

      test("[SRV-ENC-6][SRV-IMPL-1] before CONNECT too: a 10 MB header as the first bytes is closed at once", async (ctx) => {
        const h = await shared.harness(target, ctx, { configLines: ["max_packet_size 1024"] });
        const c = await h.raw();
        c.sendRaw("10 80 80 80 05"); // a CONNECT header announcing 10 MB
        // The CONNECT timeout is 10 s: a close within 5 s comes from the length check.
        await c.expectClosedWithoutReply(5000, "10 MB CONNECT announced");
        expect(c.closedAt - c.openedAt).toBeLessThan(5000);
      });

      test("[MQTT-1.5.3-1] PUBLISH payload is not checked as UTF-8 (control: invalid UTF-8 in the payload is delivered)", async (ctx) => {
        const h = await shared.harness(target, ctx, { configLines: ["max_packet_size 1024"] });
        const obs = await h.rawConnected();
        await obs.subscribe(1, [["bin/t", 0]]);
        const c = await h.rawConnected();
        c.send("30 0b 00 05 62 69 6e 2f 74 ff c0 00 ed"); // payload ff c0 00 ed
        await obs.expectPacket("30 0b 00 05 62 69 6e 2f 74 ff c0 00 ed");
      });
    });
  });
}
