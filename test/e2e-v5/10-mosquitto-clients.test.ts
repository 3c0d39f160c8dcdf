/**
 * Interoperability with Debian's mosquitto_pub / mosquitto_sub at MQTT 5 (-V 5) with
 * properties set by -D and shown by -F (%C content type, %P user properties as key:value
 * separated by spaces, %E message expiry, %R response topic, %F payload format indicator,
 * %D correlation data), and mixed protocol versions on one broker.
 */
import { beforeAll, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, TEST_TIMEOUT, decodePublish, haveMosquittoClients, pk, sharedBrokers, subMessageLines } from "../e2e/helpers";
import { selectedTargets } from "../e2e/targets";
import { describeV5, v5Options } from "./v5";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const shared = sharedBrokers();

/** -F format for every MQTT 5 message property mosquitto_sub prints. */
const FORMAT = "%t|%p|%q|%r|C=%C|P=%P|E=%E|R=%R|F=%F|D=%D";

for (const target of selectedTargets()) {
  describeV5(target)(target.name, () => {
    describeV5(target)("e2e-v5/10-mosquitto-clients", { timeout: TEST_TIMEOUT }, () => {
      beforeAll(async () => {
        if (!(await haveMosquittoClients())) throw new Error("mosquitto_pub / mosquitto_sub not found: apt-get install mosquitto-clients");
      });
      const sharedV5 = (ctx: Parameters<typeof shared.harness>[1]) => shared.harness(target, ctx, v5Options(target));

      test("[MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.2-20, MQTT-3.3.2-4, MQTT-3.3.2-15, MQTT-3.3.2-16, MQTT-3.3.2-6, SRV5-V311-17] mosquitto_sub -V 5 -F shows the user properties, content type and other properties mosquitto_pub -V 5 -D set", async (ctx) => {
        const h = await sharedV5(ctx);
        const sub = await h.mosquittoSub(["-V", "5", "-t", "mc1/#", "-q", "1", "-F", FORMAT, "-C", "1", "-W", "5"]);
        const pub = await h.mosquittoPub([
          "-V", "5", "-t", "mc1/t", "-m", "hello", "-q", "1",
          "-D", "publish", "user-property", "room", "kitchen",
          "-D", "publish", "user-property", "unit", "°C",
          "-D", "publish", "content-type", "text/plain",
          "-D", "publish", "message-expiry-interval", "10",
          "-D", "publish", "response-topic", "mc1/reply",
          "-D", "publish", "payload-format-indicator", "1",
          "-D", "publish", "correlation-data", "req-42",
        ]);
        expect(pub.code, pub.stderr).toBe(0);
        const r = await sub.done;
        expect(r.code, r.stderr).toBe(0);
        const lines = subMessageLines(r.stdout);
        expect(lines).toHaveLength(1);
        // The expiry left may be 10 or, if a second boundary passed on the way, 9.
        expect(lines[0]).toMatch(/^mc1\/t\|hello\|1\|0\|C=text\/plain\|P=room:kitchen unit:°C\|E=(10|9)\|R=mc1\/reply\|F=1\|D=req-42$/);
      });

      test("[SRV5-V311-26, SRV5-PUB-15, SRV5-V311-25] a 5.0 publisher's message with properties reaches a 3.1.1 subscriber (mosquitto_sub -V mqttv311, and raw) without them", async (ctx) => {
        const h = await sharedV5(ctx);
        const sub = await h.mosquittoSub(["-V", "mqttv311", "-t", "mc2/#", "-q", "1", "-v", "-C", "1", "-W", "5"]);
        const raw = await h.rawConnected({ clientId: "mc2raw" });
        await raw.subscribe(1, [["mc2/#", 1]]);
        const pub = await h.mosquittoPub(["-V", "5", "-t", "mc2/t", "-m", "from v5", "-q", "1", "-D", "publish", "user-property", "k", "v", "-D", "publish", "content-type", "text/plain", "-D", "publish", "message-expiry-interval", "60"]);
        expect(pub.code, pub.stderr).toBe(0);
        const r = await sub.done;
        expect(subMessageLines(r.stdout)).toEqual(["mc2/t from v5"]);
        // The 3.1.1 PUBLISH layout: topic, packet id, payload: no property bytes in between.
        const m = decodePublish(await raw.nextPacket(3000, "the PUBLISH"));
        expect([m.topic, m.qos, m.payload.toString()]).toEqual(["mc2/t", 1, "from v5"]);
        raw.send(pk.puback(m.id));
      });

      test("[SRV5-V311-27, SRV5-V311-25] a 3.1.1 publisher's message (mosquitto_pub -V mqttv311) reaches a 5.0 subscriber (mosquitto_sub -V 5) with no properties", async (ctx) => {
        const h = await sharedV5(ctx);
        const sub = await h.mosquittoSub(["-V", "5", "-t", "mc3/#", "-q", "1", "-F", FORMAT, "-C", "1", "-W", "5"]);
        const pub = await h.mosquittoPub(["-V", "mqttv311", "-t", "mc3/t", "-m", "from 3.1.1", "-q", "1"]);
        expect(pub.code, pub.stderr).toBe(0);
        const r = await sub.done;
        expect(subMessageLines(r.stdout)).toEqual(["mc3/t|from 3.1.1|1|0|C=|P=|E=|R=|F=|D="]);
      });

      test("[MQTT-3.1.2-23, MQTT-3.1.2-5, MQTT-3.2.2-3, SRV5-CON-8] mosquitto_sub -V 5 -D connect session-expiry-interval 60, back with -c -x 60, gets the QoS 1 messages sent while it was away", async (ctx) => {
        const h = await sharedV5(ctx);
        // Clean Start 1 (no -c; -c would set the expiry itself) with an expiry: kept after the close.
        const first = await h.mosquittoSub(["-V", "5", "-i", "mc4", "-t", "mc4/t", "-q", "1", "-D", "connect", "session-expiry-interval", "60", "-E"], { waitSubscribed: false });
        const r1 = await first.done;
        expect(r1.code, r1.stderr + r1.stdout).toBe(0);
        for (const m of ["one", "two"]) {
          const p = await h.mosquittoPub(["-V", "5", "-t", "mc4/t", "-m", m, "-q", "1", "-D", "publish", "user-property", "n", m]);
          expect(p.code, p.stderr).toBe(0);
        }
        const again = await h.mosquittoSub(["-V", "5", "-c", "-x", "60", "-i", "mc4", "-t", "mc4/t", "-q", "1", "-F", "%t|%p|%P", "-C", "2", "-W", "5"], { waitSubscribed: false });
        const r2 = await again.done;
        expect(r2.code, r2.stderr).toBe(0);
        expect(r2.stdout).toMatch(/received CONNACK \(0\)/);
        expect(subMessageLines(r2.stdout)).toEqual(["mc4/t|one|n:one", "mc4/t|two|n:two"]);
      });

      test("[SRV5-V311-29, SRV5-V311-28] one client id, one session across versions: a 3.1.1 CleanSession 0 session is resumed by a 5.0 client with Clean Start 0", async (ctx) => {
        const h = await sharedV5(ctx);
        const first = await h.mosquittoSub(["-V", "mqttv311", "-c", "-i", "mc5", "-t", "mc5/t", "-q", "1", "-E"], { waitSubscribed: false });
        expect((await first.done).code).toBe(0);
        expect((await h.mosquittoPub(["-V", "5", "-t", "mc5/t", "-m", "queued", "-q", "1"])).code).toBe(0);
        const again = await h.mosquittoSub(["-V", "5", "-c", "-x", "60", "-i", "mc5", "-t", "mc5/t", "-q", "1", "-v", "-C", "1", "-W", "5"], { waitSubscribed: false });
        const r = await again.done;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/received CONNACK \(0\)/);
        expect(subMessageLines(r.stdout)).toEqual(["mc5/t queued"]);
      });
    });
  });
}
