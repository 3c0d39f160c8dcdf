/**
 * A broker whose board leaves MQTT 5 out ("mqtt5": false in its profile's features) answers an
 * MQTT 5.0 CONNECT as a 3.1.1 broker must answer an unsupported protocol level: CONNACK 0x01
 * (unacceptable protocol version) in the 3.1.1 layout, then the close (3.1.1's MQTT-3.1.2-2).
 * 3.1.1 clients are served as usual.
 *
 * On node and the Lua VMs the test asks for such a board (boardFeatures { mqtt5: false }); an
 * Espruino bundle runs it when its board is built without MQTT 5 (esp32 today) and skips it
 * otherwise. mosquitto always serves MQTT 5: skipped there.
 */
import { describe, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, Harness, TEST_TIMEOUT, WAIT_MS, connackHex, describeOn } from "../e2e/helpers";
import { selectedTargets } from "../e2e/targets";
import { pk5 } from "./v5";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

for (const target of selectedTargets()) {
  const runs = target.name !== "mosquitto" && target.builtFeatures?.mqtt5 !== true;
  const d = describeOn(target);
  (runs ? d : (d.skip as typeof describe.concurrent))(target.name, () => {
    d("e2e-v5/00-no-mqtt5", { timeout: TEST_TIMEOUT }, () => {
      const opts = target.builtFeatures === undefined ? { boardFeatures: { mqtt5: false } } : {};

      test("[SRV5-V311-31, SRV5-IMPL-1] without the mqtt5 feature a 5.0 CONNECT gets the 3.1.1 CONNACK 0x01 and the close; a 3.1.1 client still connects", async (ctx) => {
        const h = await Harness.start(target, ctx, opts);
        const c = await h.raw();
        c.send(pk5.connect({ clientId: "v5-on-311", props: [["sessionExpiryInterval", 60], ["receiveMaximum", 10]] }));
        await c.expectPacket(connackHex(false, 0x01));
        await c.expectClosedWithoutReply(WAIT_MS, "after CONNACK 0x01");
        const ok = await h.rawConnected({ clientId: "v311" });
        await ok.expectNothingBeforePingresp("a 3.1.1 connection works");
      });

      test("[SRV5-V311-31, SRV5-IMPL-1] without the mqtt5 feature MQTT.js at protocolVersion 5 is refused", async (ctx) => {
        const h = await Harness.start(target, ctx, opts);
        const { connect } = await import("mqtt");
        const client = connect({ host: "127.0.0.1", port: h.port, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: WAIT_MS, clientId: "js5" });
        h.defer(() => client.end(true));
        const outcome = await new Promise<string>((res) => {
          const t = setTimeout(() => res("no answer"), WAIT_MS + 1000);
          client.once("connect", () => {
            clearTimeout(t);
            res("connected");
          });
          client.once("error", (e) => {
            clearTimeout(t);
            res(`error: ${e.message}`);
          });
          client.once("close", () => {
            clearTimeout(t);
            res("closed");
          });
        });
        expect(outcome).not.toBe("connected");
        expect(outcome).not.toBe("no answer");
      });
    });
  });
}
