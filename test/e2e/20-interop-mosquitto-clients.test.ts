/**
 * Interoperability with the mosquitto command-line clients (mosquitto_pub / mosquitto_sub from
 * Debian's mosquitto-clients). mosquitto_sub runs with -d, so its stdout also carries debug
 * lines such as "Client … received PUBLISH (d0, q1, r0, m1, 'a/b', … (5 bytes))", which show
 * the flags the broker sent; subMessageLines() keeps only the message lines.
 */
import { beforeAll, describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, Harness, TEST_TIMEOUT, haveMosquittoClients, publish, sharedBrokers, subMessageLines, describeOn, fits } from "./helpers";
import { selectedTargets } from "./targets";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

for (const target of selectedTargets()) {
  describeOn(target)(target.name, () => {
    describeOn(target)("20-interop-mosquitto-clients", { timeout: TEST_TIMEOUT }, () => {
      beforeAll(async () => {
        if (!(await haveMosquittoClients())) throw new Error("mosquitto_pub / mosquitto_sub not found: apt-get install mosquitto-clients");
      });

      for (const q of [0, 1, 2]) {
        test(`[MQTT-3.3.4-1][MQTT-3.3.1-9] mosquitto_sub -t 'a/#' -q 2 -v gets what mosquitto_pub -q ${q} -r sends, live with RETAIN=0`, async (ctx) => {
          const h = await Harness.start(target, ctx); // own broker: the three tests all use a/#
          const sub = await h.mosquittoSub(["-t", "a/#", "-q", "2", "-v", "-C", "1", "-W", "5", "-i", `isub${q}`]);
          const pub = await h.mosquittoPub(["-t", `a/q${q}`, "-m", `hello ${q}`, "-q", String(q), "-r", "-i", `ipub${q}`]);
          expect(pub.code, pub.stderr).toBe(0);
          const r = await sub.done;
          expect(r.code, r.stderr).toBe(0);
          expect(subMessageLines(r.stdout)).toEqual([`a/q${q} hello ${q}`]);
          expect(r.stdout).toMatch(new RegExp(`received PUBLISH \\(d0, q${q}, r0, m\\d+, 'a/q${q}'`));
        });
      }

      test("[MQTT-3.3.1-5][MQTT-3.3.1-6][MQTT-3.3.1-8] a message retained with mosquitto_pub -r reaches a later mosquitto_sub with RETAIN=1", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const pub = await h.mosquittoPub(["-t", "r/t", "-m", "kept", "-q", "1", "-r"]);
        expect(pub.code, pub.stderr).toBe(0);
        const sub = await h.mosquittoSub(["-t", "r/#", "-q", "1", "-F", "%r %q %t %p", "-C", "1", "-W", "5"], { waitSubscribed: false });
        const r = await sub.done;
        expect(r.code, r.stderr).toBe(0);
        expect(subMessageLines(r.stdout)).toEqual(["1 1 r/t kept"]);
      });

      test("[MQTT-3.3.1-10][MQTT-3.3.1-11] mosquitto_pub -r -n clears the retained message", async (ctx) => {
        const h = await shared.harness(target, ctx);
        expect((await h.mosquittoPub(["-t", "c/t", "-m", "old", "-r"])).code).toBe(0);
        expect((await h.mosquittoPub(["-t", "c/t", "-n", "-r"])).code).toBe(0);
        const sub = await h.mosquittoSub(["-t", "c/#", "-v", "-C", "1", "-W", "5"]);
        expect((await h.mosquittoPub(["-t", "c/sentinel", "-m", "s"])).code).toBe(0);
        const r = await sub.done;
        expect(subMessageLines(r.stdout)).toEqual(["c/sentinel s"]);
      });

      // Three messages kept for an offline session: a board keeps the newest maxQueued.
      test.skipIf(!fits(target, { maxQueued: 3 }))("[MQTT-3.1.2-4][MQTT-3.1.2-5][MQTT-3.2.2-2] mosquitto_sub -c -i id: the persistent session gets the QoS 1 messages queued while it was away", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const first = await h.mosquittoSub(["-c", "-i", "persist", "-t", "p/t", "-q", "1", "-E"], { waitSubscribed: false });
        const r1 = await first.done;
        expect(r1.code, r1.stderr + r1.stdout).toBe(0);
        for (const m of ["one", "two", "three"]) {
          const p = await h.mosquittoPub(["-t", "p/t", "-m", m, "-q", "1"]);
          expect(p.code, p.stderr).toBe(0);
        }
        const again = await h.mosquittoSub(["-c", "-i", "persist", "-t", "p/t", "-q", "1", "-v", "-C", "3", "-W", "5"], { waitSubscribed: false });
        const r2 = await again.done;
        expect(r2.code, r2.stderr).toBe(0);
        expect(r2.stdout).toMatch(/received CONNACK \(0\)/);
        expect(subMessageLines(r2.stdout)).toEqual(["p/t one", "p/t two", "p/t three"]);
      });

      test("[SRV-V31-10] mosquitto_sub -V mqttv31 receives from mosquitto_pub (3.1.1) and the reverse", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub31 = await h.mosquittoSub(["-V", "mqttv31", "-i", "sub31", "-t", "v/#", "-q", "1", "-v", "-C", "1", "-W", "5"]);
        const sub311 = await h.mosquittoSub(["-V", "mqttv311", "-i", "sub311", "-t", "w/#", "-q", "1", "-v", "-C", "1", "-W", "5"]);
        expect((await h.mosquittoPub(["-V", "mqttv311", "-t", "v/x", "-m", "to31", "-q", "1"])).code).toBe(0);
        expect((await h.mosquittoPub(["-V", "mqttv31", "-i", "pub31", "-t", "w/x", "-m", "from31", "-q", "1"])).code).toBe(0);
        expect(subMessageLines((await sub31.done).stdout)).toEqual(["v/x to31"]);
        expect(subMessageLines((await sub311.done).stdout)).toEqual(["w/x from31"]);
      });

      test("[MQTT-3.3.5-1] mosquitto_sub with overlapping -t 'o/#' -t 'o/+' gets one copy", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.mosquittoSub(["-t", "o/#", "-t", "o/+", "-q", "1", "-v", "-C", "2", "-W", "5"]);
        expect((await h.mosquittoPub(["-t", "o/x", "-m", "once", "-q", "1"])).code).toBe(0);
        expect((await h.mosquittoPub(["-t", "o/sentinel", "-m", "s", "-q", "1"])).code).toBe(0);
        expect(subMessageLines((await sub.done).stdout)).toEqual(["o/x once", "o/sentinel s"]);
      });

      test("[MQTT-3.1.2-8] mosquitto_sub --will-topic: killing it publishes its Will to an MQTT.js subscriber", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "will/#": 1 });
        const sub = await h.mosquittoSub(["-t", "x/y", "--will-topic", "will/mosq", "--will-payload", "bye", "--will-qos", "1"]);
        sub.kill(); // SIGKILL: no DISCONNECT
        const m = await obs.inbox.waitTopic("will/mosq");
        expect([m.payload.toString(), m.qos]).toEqual(["bye", 1]);
      });

      // mosquitto_pub -l does not wait for the subscriber: the window and queue must hold the 50.
      test.skipIf(!fits(target, { maxQueued: 50 }))("[MQTT-4.6.0-6] mosquitto_pub -l publishes 50 lines at QoS 1; MQTT.js receives them in order", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const obs = await h.subscriber({ "lines/t": 1 });
        // -l reads stdin line by line.
        const lines = Array.from({ length: 50 }, (_, i) => String(i)).join("\\n");
        const p = await h.shell(`printf '${lines}\\n' | mosquitto_pub -h 127.0.0.1 -p ${h.port} -t lines/t -q 1 -l`);
        expect(p.code, p.stderr).toBe(0);
        await obs.inbox.waitCount(50, 5000);
        expect(obs.inbox.msgs.map((m) => m.payload.toString())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
      });

      test("[SRV-PUB-6] a binary payload from MQTT.js reaches mosquitto_sub byte for byte (-F %x)", async (ctx) => {
        const h = await shared.harness(target, ctx);
        const sub = await h.mosquittoSub(["-t", "bin/t", "-F", "%x", "-C", "1", "-W", "5"]);
        const pub = await h.mqtt();
        await publish(pub, "bin/t", Buffer.from([0x00, 0x01, 0xfe, 0xff]), 1);
        const r = await sub.done;
        expect(subMessageLines(r.stdout)).toEqual(["0001feff"]);
      });
    });
  });
}
