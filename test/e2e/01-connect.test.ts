/**
 * CONNECT / CONNACK over real TCP (spec §2.1–§2.4). Packets are typed by hand from the spec's
 * layouts. Tests share one broker per group (unique client ids and topics); a test that needs
 * its own configuration starts its own.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, Harness, TEST_TIMEOUT, connackHex, pk, publish, sharedBrokers, sleep, typed, describeOn, fits } from "./helpers";
import { BrokerHandle, selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    describeOn(target)("01-connect", { timeout: TEST_TIMEOUT }, () => {
      test("[MQTT-3.1.4-4][MQTT-3.2.2-1][SRV-CON-9] a valid CONNECT gets exactly 20 02 00 00 and the connection works", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        // CONNECT: "MQTT", level 4, flags 02 (clean), keep alive 60, client id "c01"
        c.send(typed("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 63 30 31"));
        await c.expectPacket("20 02 00 00");
        c.send("c0 00");
        await c.expectPacket("d0 00");
      });

      for (const level of [3, 0, 255]) {
        test(`[MQTT-3.1.2-2] protocol name MQTT with level ${level} gets CONNACK 0x01 and is closed`, async (ctx) => {
          const h = await shared.harness(target, ctx);
          const c = await h.raw();
          const lv = level.toString(16).padStart(2, "0");
          c.send(typed(`10 0f 00 04 4d 51 54 54 ${lv} 02 00 3c 00 03 6c ${lv} 78`)); // client id "l?x"
          await c.expectPacket("20 02 00 01");
          await c.expectClosedWithoutReply();
        });
      }

      // A board without the mqtt5 feature (with it: test/e2e-v5). Node and Lua take one at
      // start-up; an Espruino bundle has its features built in; mosquitto speaks 5.0.
      const noMqtt5 = target.name !== "mosquitto" && target.builtFeatures?.mqtt5 !== true;
      test.skipIf(!noMqtt5)("[MQTT-3.1.2-2][SRV-CON-8] a board without MQTT 5: a 5.0 CONNECT (level 5, with properties) gets CONNACK 0x01 and is closed", async (ctx) => {
        const h = target.builtFeatures !== undefined ? await shared.harness(target, ctx) : await Harness.start(target, ctx, { boardFeatures: { mqtt5: false } });
        const c = await h.raw();
        // level 5, flags 02, keep alive 60, properties length 0, client id "c03"
        c.send(typed("10 10 00 04 4d 51 54 54 05 02 00 3c 00 00 03 63 30 33"));
        await c.expectPacket("20 02 00 01");
        await c.expectClosedWithoutReply();
      });

      test("[SRV-V31-1] an MQTT 3.1 CONNECT (MQIsdp, level 3) is accepted with 20 02 00 00", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send(typed("10 11 00 06 4d 51 49 73 64 70 03 02 00 3c 00 03 63 30 34"));
        await c.expectPacket("20 02 00 00");
        c.send("c0 00");
        await c.expectPacket("d0 00");
      });

      test("[SRV-V31-1] MQIsdp with level 4 gets CONNACK 0x01 and is closed", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send(typed("10 11 00 06 4d 51 49 73 64 70 04 02 00 3c 00 03 63 30 35"));
        await c.expectPacket("20 02 00 01");
        await c.expectClosedWithoutReply();
      });

      test("[SRV-V31-2] MQIsdp with an empty client id gets CONNACK 0x02 even with clean session 1", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send(typed("10 0e 00 06 4d 51 49 73 64 70 03 02 00 3c 00 00"));
        await c.expectPacket("20 02 00 02");
        await c.expectClosedWithoutReply();
      });

      test("[SRV-V31-3][SRV-V31-6][SRV-V31-5] MQTT 3.1: CONNACK never sets Session Present, SUBSCRIBE flags 1010 accepted, invalid filter gets 0x80", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const a = await h.raw();
        // MQIsdp level 3, clean session 0, id "v31s"
        a.send(typed("10 12 00 06 4d 51 49 73 64 70 03 00 00 3c 00 04 76 33 31 73"));
        await a.expectPacket("20 02 00 00");
        a.send("8a 0a 00 01 00 05 76 33 31 2f 74 01"); // SUBSCRIBE with the 3.1 DUP-style flags 1010, "v31/t" QoS 1
        await a.expectPacket("90 03 00 01 01");
        a.send("82 0a 00 02 00 05 61 2f 23 2f 62 00"); // "a/#/b"
        await a.expectPacket("90 03 00 02 80");
        a.send("e0 00");
        await a.expectClosed();
        const b = await h.raw();
        b.send(typed("10 12 00 06 4d 51 49 73 64 70 03 00 00 3c 00 04 76 33 31 73"));
        await b.expectPacket("20 02 00 00"); // session restored, but 3.1 has no Session Present bit
      });

      test("[SRV-V31-1][SRV-V31-10] mosquitto_pub -V mqttv31 publishes to an MQTT 3.1.1 subscriber", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "v31/t": 1 });
        const r = await h.mosquittoPub(["-V", "mqttv31", "-i", "v31pub", "-t", "v31/t", "-m", "from-3.1", "-q", "1"]);
        expect(r.code, r.stderr).toBe(0);
        const m = await sub.inbox.waitTopic("v31/t");
        expect(m.payload.toString()).toBe("from-3.1");
        expect(m.qos).toBe(1);
      });

      test("[MQTT-3.1.3-8] empty client id with clean session 0 gets CONNACK 2 and is closed", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        // flags 00: clean session 0; client id length 0
        c.send(typed("10 0c 00 04 4d 51 54 54 04 00 00 3c 00 00"));
        await c.expectPacket("20 02 00 02");
        await c.expectClosedWithoutReply();
      });

      test("[MQTT-3.1.3-6][SRV-IMPL-6] empty client ids with clean session 1 are accepted, each under its own generated id", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const a = await h.raw();
        a.send(typed("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00"));
        await a.expectPacket("20 02 00 00");
        const b = await h.raw();
        b.send(typed("10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00"));
        await b.expectPacket("20 02 00 00");
        // Unique ids: the second connection did not take over the first.
        // SUBSCRIBE id 1, "e/1" QoS 0
        a.send(typed("82 08 00 01 00 03 65 2f 31 00"));
        await a.expectPacket("90 03 00 01 00");
        // PUBLISH QoS 0 "e/1" payload "hi"
        b.send(typed("30 07 00 03 65 2f 31 68 69"));
        await a.expectPacket("30 07 00 03 65 2f 31 68 69");
        expect(a.closed).toBe(false);
        expect(b.closed).toBe(false);
      });

      test("[MQTT-3.1.3-5] a 23-character alphanumeric client id is accepted", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send(pk.connect({ clientId: "aZ09bY18cX27dW36eV45fU5" }));
        await c.expectPacket("20 02 00 00");
      });

      test.skipIf(!fits(target, { maxClientIdLength: 1000, maxPacketSize: 1100 }))("[MQTT-3.1.3-5][SRV-IMPL-5] a 1,000-byte client id with non-alphanumeric characters is accepted (default policy: anything encodable)", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send(pk.connect({ clientId: "id-\u00e9/\u20ac +#" + "x".repeat(990) }));
        await c.expectPacket("20 02 00 00");
      });

      test("[MQTT-3.1.2-21][MQTT-3.1.3-11] user name and password are accepted when no authentication is configured", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        // flags c2: user name, password, clean; id "c06", user "u", password 00 ff (binary)
        c.send(typed("10 16 00 04 4d 51 54 54 04 c2 00 3c 00 03 63 30 36 00 01 75 00 02 00 ff"));
        await c.expectPacket("20 02 00 00");
      });

      test("[MQTT-3.1.0-2] a second CONNECT on an accepted connection closes it", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send(typed("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 63 30 37"));
        await c.expectPacket("20 02 00 00");
        c.send(typed("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 63 30 37"));
        await c.expectClosedWithoutReply();
      });

      test("[MQTT-3.1.0-1] PINGREQ before CONNECT closes the connection without PINGRESP", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send("c0 00");
        await c.expectClosedWithoutReply();
      });

      test("[MQTT-3.1.0-1][MQTT-4.8.0-1] PUBLISH before CONNECT closes the connection and is not routed", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "p/#": 0 });
        const c = await h.raw();
        c.send(typed("30 07 00 03 70 2f 31 68 69")); // PUBLISH "p/1" "hi"
        await c.expectClosedWithoutReply();
        const pub = await h.mqtt();
        await publish(pub, "p/sentinel", "s");
        await sub.inbox.waitTopic("p/sentinel");
        expect(sub.inbox.topics()).toEqual(["p/sentinel"]);
      });

      test("[SRV-CON-2] packets pipelined after CONNECT in the same TCP write are processed in order", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const c = await h.raw();
        c.send(
          Buffer.concat([
            typed("10 10 00 04 4d 51 54 54 04 02 00 3c 00 04 70 69 70 65"), // CONNECT id "pipe"
            typed("82 0b 00 01 00 06 70 69 70 65 2f 74 01"), // SUBSCRIBE id 1 "pipe/t" QoS 1
            typed("32 0b 00 06 70 69 70 65 2f 74 00 07 78"), // PUBLISH QoS 1 id 7 "pipe/t" "x"
            typed("c0 00"), // PINGREQ
          ]),
        );
        await c.expectPacket("20 02 00 00");
        await c.expectPacket("90 03 00 01 01");
        const rest = [await c.nextPacket(), await c.nextPacket(), await c.nextPacket()];
        const kinds = rest.map((p) => p.type);
        expect(kinds.slice().sort((x, y) => x - y)).toEqual([3, 4, 13]);
        expect(rest.find((p) => p.type === 4)!.hex).toBe("40 02 00 07");
        const delivered = rest.find((p) => p.type === 3)!;
        expect(delivered.first).toBe(0x32);
        expect(delivered.body.subarray(0, 8).toString("latin1")).toBe("\x00\x06pipe/t");
        expect(delivered.body.subarray(10).toString()).toBe("x");
        // PINGRESP answers the last packet, so it comes after the PUBACK.
        expect(kinds.indexOf(13)).toBeGreaterThan(kinds.indexOf(4));
      });

      test("[MQTT-3.1.4-5] packets pipelined after a rejected CONNECT are not acted on", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.subscriber({ "rej/#": 0 });
        const c = await h.raw();
        c.send(
          Buffer.concat([
            typed("10 0c 00 04 4d 51 54 54 04 00 00 3c 00 00"), // clean 0 + empty id → CONNACK 2
            typed("31 0a 00 05 72 65 6a 2f 78 62 61 64"), // PUBLISH retained "rej/x" "bad"
          ]),
        );
        await c.expectPacket("20 02 00 02");
        await c.expectClosedWithoutReply();
        const pub = await h.mqtt();
        await publish(pub, "rej/s", "s");
        await sub.inbox.waitTopic("rej/s");
        expect(sub.inbox.topics()).toEqual(["rej/s"]);
        // Nothing was retained either.
        const late = await h.subscriber({ "rej/#": 0 });
        await publish(pub, "rej/s2", "s");
        await late.inbox.waitTopic("rej/s2");
        expect(late.inbox.topics()).toEqual(["rej/s2"]);
      });

      test("[MQTT-3.1.4-2] a new connection with the same client id closes the old one (session takeover)", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const a = await h.raw();
        a.send(pk.connect({ clientId: "twin" }));
        await a.expectPacket("20 02 00 00");
        const b = await h.raw();
        b.send(pk.connect({ clientId: "twin" }));
        await b.expectPacket("20 02 00 00");
        await a.expectClosedWithoutReply();
        b.send("c0 00");
        await b.expectPacket("d0 00");
      });

      test("[MQTT-3.1.4-2][MQTT-3.2.2-2] takeover with clean session 0 keeps the session of the old connection", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const a = await h.raw();
        a.send(pk.connect({ clientId: "twin0", clean: false }));
        await a.expectPacket(connackHex(false, 0));
        await a.subscribe(1, [["tk/t", 1]]);
        const b = await h.raw();
        b.send(pk.connect({ clientId: "twin0", clean: false }));
        await b.expectPacket(connackHex(true, 0));
        await a.expectClosed();
        const pub = await h.mqtt();
        await publish(pub, "tk/t", "still subscribed", 1);
        const m = await b.nextPublish();
        expect(m.topic).toBe("tk/t");
        expect(m.payload.toString()).toBe("still subscribed");
      });

      test("[MQTT-3.2.2-4][MQTT-3.2.2-5] a refused CONNECT gets Session Present 0 even when a session is stored", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const a = await h.raw();
        a.send(pk.connect({ clientId: "sp4", clean: false }));
        await a.expectPacket(connackHex(false, 0));
        a.send(pk.disconnect());
        await a.expectClosed();
        const b = await h.raw();
        b.send(pk.connect({ clientId: "sp4", clean: false, protocolLevel: 3 }));
        await b.expectPacket("20 02 00 01");
        await b.expectClosedWithoutReply();
      });

      if (target.features.board) {
        test("[SRV-CON-1][SRV-IMPL-12] a socket that never completes CONNECT is closed at connectTimeoutMs (board profile: 1000 ms)", async (ctx) => {
          const h = await Harness.start(target, ctx, { boardLimits: { connectTimeoutMs: 1000 } });
          const silent = await h.raw();
          const partial = await h.raw();
          // A CONNECT dribbled one byte every 300 ms (complete only after 5 s): the timer runs
          // from accept, so bytes arriving must not keep the connection open.
          const connect = typed("10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 63 30 38");
          let i = 0;
          const timer = setInterval(() => {
            if (i < connect.length) partial.sendRaw(connect.subarray(i, i + 1));
            i++;
          }, 300);
          let closedSilent: boolean;
          let closedPartial: boolean;
          try {
            closedSilent = await silent.waitClosed(4000);
            closedPartial = await partial.waitClosed(4000);
          } finally {
            clearInterval(timer);
          }
          expect(closedSilent, "silent socket still open after 4 s").toBe(true);
          expect(closedPartial, "socket with half a CONNECT still open after 4 s").toBe(true);
          expect(silent.closedAt - silent.openedAt).toBeGreaterThanOrEqual(800);
          expect(silent.closedAt - silent.openedAt).toBeLessThan(4000);
          expect(partial.closedAt - partial.openedAt).toBeLessThan(4000);
          expect(silent.received.length).toBe(0);
          expect(partial.received.length).toBe(0);
        });
      }

      // 10 s of waiting: the files run one after another on 2 cores, so this one only runs with
      // MIDGE_E2E_SLOW=1. The board test above covers the timer; this checks the default value.
      test.runIf(process.env.MIDGE_E2E_SLOW === "1")("[SRV-CON-1][SRV-IMPL-12] with the default settings a silent socket is closed after about 10 s", { timeout: 25000 }, async (ctx) => {
        const h = await shared.harness(target, ctx);
        const silent = await h.raw();
        const closed = await silent.waitClosed(15000);
        expect(closed, "silent socket still open after 15 s").toBe(true);
        const after = silent.closedAt - silent.openedAt;
        expect(after).toBeGreaterThanOrEqual(9000);
        expect(after).toBeLessThan(13000);
        expect(silent.received.length).toBe(0);
      });
    });

    /**
     * Malformed CONNECTs: close without CONNACK (MQTT-3.1.4-1). One broker for the group, plus
     * a well-behaved client that must keep working.
     */
    describeOn(target)("01-connect invalid CONNECT", { timeout: TEST_TIMEOUT }, () => {
      let broker: BrokerHandle;
      beforeAll(async () => {
        broker = await target.start({});
      });
      afterAll(async () => {
        await broker?.stop();
      });

      const cases: Array<[string, string]> = [
        ["[MQTT-3.1.2-1] protocol name MQTX", "10 0f 00 04 4d 51 54 58 04 02 00 3c 00 03 63 30 31"],
        ["[MQTT-3.1.2-1] protocol name in lower case (mqtt)", "10 0f 00 04 6d 71 74 74 04 02 00 3c 00 03 63 30 31"],
        ["[MQTT-3.1.2-3] reserved connect flag bit 0 set", "10 0f 00 04 4d 51 54 54 04 03 00 3c 00 03 63 30 31"],
        ["[MQTT-3.1.2-11][MQTT-3.1.2-13] will flag 0 with will QoS 1", "10 0f 00 04 4d 51 54 54 04 0a 00 3c 00 03 63 30 31"],
        ["[MQTT-3.1.2-15] will flag 0 with will retain 1", "10 0f 00 04 4d 51 54 54 04 22 00 3c 00 03 63 30 31"],
        ["[MQTT-3.1.2-14] will QoS 3", "10 15 00 04 4d 51 54 54 04 1e 00 3c 00 03 63 30 31 00 01 77 00 01 78"],
        ["[MQTT-3.1.2-22] password flag without user name flag", "10 13 00 04 4d 51 54 54 04 42 00 3c 00 03 63 30 31 00 02 70 77"],
        ["[MQTT-3.1.2-9] will flag set but the will message is missing", "10 12 00 04 4d 51 54 54 04 06 00 3c 00 03 63 30 31 00 01 77"],
        ["[MQTT-3.1.2-19] user name flag set but the user name is missing", "10 0f 00 04 4d 51 54 54 04 82 00 3c 00 03 63 30 31"],
        ["[MQTT-3.1.3-3] no client id field at all", "10 0a 00 04 4d 51 54 54 04 02 00 3c"],
        ["[SRV-CON-4][SRV-IMPL-3] a byte after the last field", "10 10 00 04 4d 51 54 54 04 02 00 3c 00 03 63 30 31 00"],
        ["[MQTT-3.1.3-4][MQTT-1.5.3-1] client id with an invalid UTF-8 byte (ff)", "10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 63 ff 31"],
        ["[MQTT-1.5.3-2] client id containing U+0000", "10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 63 00 31"],
        ["[SRV-CON-3][MQTT-4.7.1-1] will topic with a wildcard (w/#)", "10 17 00 04 4d 51 54 54 04 06 00 3c 00 03 63 30 31 00 03 77 2f 23 00 01 78"],
        ["[MQTT-3.1.3-10][MQTT-1.5.3-1] will topic with invalid UTF-8 (c3 28)", "10 16 00 04 4d 51 54 54 04 06 00 3c 00 03 63 30 31 00 02 c3 28 00 01 78"],
        ["[MQTT-3.1.3-11][MQTT-1.5.3-1] user name with an encoded surrogate (ed a0 80)", "10 14 00 04 4d 51 54 54 04 82 00 3c 00 03 63 30 31 00 03 ed a0 80"],
        ["[MQTT-2.2.2-2] CONNECT with fixed header flags 0001", "11 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 63 30 31"],
      ];
      for (const [name, bytes] of cases) {
        test(`${name}: closed without CONNACK`, async (ctx) => {
          const h = Harness.attach(target, broker, ctx);
          const c = await h.raw();
          c.send(typed(bytes));
          await c.expectClosedWithoutReply();
          expect(broker.alive()).toBe(true);
          // The broker still serves others.
          const ok = await h.raw();
          ok.send(pk.connect({ clientId: "ok" + Math.random().toString(16).slice(2, 8) }));
          await ok.expectPacket("20 02 00 00");
        });
      }
    });
  });
}
