/**
 * MQTT 5.0 CONNECT / CONNACK and sessions with MQTT.js (protocolVersion 5) and raw bytes:
 * the capabilities a CONNACK announces, Assigned Client Identifier, Clean Start and Session
 * Expiry Interval, session takeover with DISCONNECT 0x8E.
 *
 * Session expiry is timed (1 s intervals, 2.5 s waits): that timing is what those tests check.
 */
import { expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, TEST_TIMEOUT, describePacket, sleep, toHex } from "../e2e/helpers";
import { selectedTargets } from "../e2e/targets";
import { decodeConnack5, decodeDisconnect5, describeV5, expectServerDisconnect, mqtt5, pk5, publish5, rawConnect5, startV5 } from "./v5";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

for (const target of selectedTargets()) {
  describeV5(target)(target.name, () => {
    describeV5(target)("e2e-v5/01-connect-session", { timeout: TEST_TIMEOUT }, () => {
      test("[SRV5-CON-28, MQTT-3.2.2-1, MQTT-3.2.2-2, MQTT-3.1.4-5, SRV5-CON-31, SRV5-CON-32, SRV5-CON-33, SRV5-CON-34, SRV5-CON-35, SRV5-IMPL-9] the CONNACK to a 5.0 CONNECT: flags 0, code 0, each capability property at most once and in range", async (ctx) => {
        const h = await startV5(target, ctx);
        const c = await h.raw();
        c.send(pk5.connect({ clientId: "caps" }));
        const p = await c.nextPacket(3000, "the CONNACK");
        const ack = decodeConnack5(p);
        expect(p.body[0], `acknowledge flags of [${toHex(p.raw)}]`).toBe(0);
        expect(ack.reasonCode).toBe(0);
        expect(new Set(ack.ids).size, `property ids ${ack.ids} (a repeat is a protocol error)`).toBe(ack.ids.length);
        const pr = ack.props;
        if (pr.receiveMaximum !== undefined) expect(pr.receiveMaximum).toBeGreaterThan(0);
        if (pr.maximumPacketSize !== undefined) expect(pr.maximumPacketSize).toBeGreaterThan(0);
        if (pr.maximumQoS !== undefined) expect([0, 1]).toContain(pr.maximumQoS);
        for (const k of ["retainAvailable", "wildcardSubscriptionAvailable", "subscriptionIdentifiersAvailable", "sharedSubscriptionAvailable"]) {
          if (pr[k] !== undefined) expect([0, 1], k).toContain(pr[k]);
        }
        expect(pr.assignedClientIdentifier, "no Assigned Client Identifier for a client that sent one").toBeUndefined();
        expect(pr.serverReference, "SRV5-CON-42: Server Reference only with 0x9C / 0x9D").toBeUndefined();
        expect(pr.authenticationMethod, "MQTT-4.12.0-6: no method in CONNECT, none in CONNACK").toBeUndefined();
        expect(pr.responseInformation, "MQTT-3.1.2-28: not requested").toBeUndefined();
        if (target.name !== "mosquitto") {
          // Midge's choice (docs/spec/mqtt-5.0.md SRV5-CON-34): it always announces its
          // Maximum Packet Size, the board's maxPacketSize (1 MiB on the host's profile).
          expect(pr.maximumPacketSize, "Midge announces Maximum Packet Size").toBe(target.limits?.maxPacketSize ?? 1048576);
        }
      });

      test("[MQTT-3.1.4-5, SRV5-CON-31, SRV5-CON-34, SRV5-CON-35] MQTT.js reads the same capabilities from the CONNACK", async (ctx) => {
        const h = await startV5(target, ctx, { configLines: ["max_packet_size 4096"] });
        const c = await mqtt5(h, { clientId: "caps-js" });
        expect(c.connack.reasonCode ?? c.connack.returnCode).toBe(0);
        expect(c.connack.sessionPresent).toBe(false);
        const pr = c.connack.properties ?? {};
        expect(pr.maximumPacketSize, "max_packet_size 4096 is announced").toBe(4096);
        if (pr.receiveMaximum !== undefined) expect(pr.receiveMaximum).toBeGreaterThanOrEqual(1);
        if (pr.topicAliasMaximum !== undefined) expect(pr.topicAliasMaximum).toBeGreaterThanOrEqual(0);
        if (pr.retainAvailable !== undefined) expect(pr.retainAvailable).toBe(true);
        if (pr.maximumQoS !== undefined) expect([0, 1]).toContain(pr.maximumQoS);
      });

      test("[MQTT-3.1.3-6, MQTT-3.1.3-7, MQTT-3.2.2-16, SRV5-V311-5] an empty client id gets a unique Assigned Client Identifier that then names the session", async (ctx) => {
        const h = await startV5(target, ctx);
        const a = await mqtt5(h, { clientId: "", clean: true, properties: { sessionExpiryInterval: 30 } });
        const b = await mqtt5(h, { clientId: "", clean: true });
        const idA = a.connack.properties?.assignedClientIdentifier;
        const idB = b.connack.properties?.assignedClientIdentifier;
        expect(typeof idA === "string" && idA.length > 0, `assigned id ${idA}`).toBe(true);
        expect(typeof idB === "string" && idB.length > 0, `assigned id ${idB}`).toBe(true);
        expect(idA).not.toBe(idB);
        await a.client.subscribeAsync({ "assigned/t": { qos: 1 } });
        await a.end();
        // The assigned id is the session's key: a Clean Start 0 reconnect under it resumes it.
        const again = await mqtt5(h, { clientId: idA as string, clean: false, properties: { sessionExpiryInterval: 30 } });
        expect(again.connack.sessionPresent, "MQTT-3.1.3-7: the session of the assigned id").toBe(true);
        const pub = await mqtt5(h);
        await publish5(pub, "assigned/t", "hi", { qos: 1 });
        await again.inbox.waitTopic("assigned/t");
      });

      test("[MQTT-3.1.2-23, MQTT-3.1.2-5, MQTT-3.2.2-3, SRV5-OPS-2, MQTT-4.5.0-1] a session with Session Expiry Interval 30 is kept for the offline client and gets the QoS 1 messages sent meanwhile", async (ctx) => {
        const h = await startV5(target, ctx);
        const s = await mqtt5(h, { clientId: "keep5", clean: true, properties: { sessionExpiryInterval: 30 } });
        await s.client.subscribeAsync({ "keep/t": { qos: 1 } });
        await s.end();
        const pub = await mqtt5(h);
        for (const m of ["one", "two"]) await publish5(pub, "keep/t", m, { qos: 1 });
        const back = await mqtt5(h, { clientId: "keep5", clean: false, properties: { sessionExpiryInterval: 30 } });
        expect(back.connack.sessionPresent).toBe(true);
        await back.inbox.waitFor((m) => m.payload.toString() === "two");
        expect(back.inbox.msgs.map((m) => m.payload.toString())).toEqual(["one", "two"]);
      });

      test("[MQTT-4.1.0-2, SRV5-CON-4, MQTT-3.1.2-6, MQTT-3.2.2-3] a session with Session Expiry Interval 1 is gone 2.5 s after the close: Session Present 0, no queued message, no subscription", async (ctx) => {
        const h = await startV5(target, ctx);
        const s = await mqtt5(h, { clientId: "short5", clean: true, properties: { sessionExpiryInterval: 1 } });
        await s.client.subscribeAsync({ "short/t": { qos: 1 } });
        await s.end();
        const pub = await mqtt5(h);
        await publish5(pub, "short/t", "queued", { qos: 1 });
        await sleep(2500); // the expiry is the subject
        const back = await mqtt5(h, { clientId: "short5", clean: false, properties: { sessionExpiryInterval: 30 } });
        expect(back.connack.sessionPresent, "the expired session is absent").toBe(false);
        await publish5(pub, "short/t", "after", { qos: 1 });
        // A subscription of its own on a marker topic, acknowledged: anything queued or still
        // subscribed would come first.
        await back.client.subscribeAsync({ "short/marker": { qos: 1 } });
        await publish5(pub, "short/marker", "m", { qos: 1 });
        expect((await back.inbox.before("m")).map((m) => m.payload.toString())).toEqual([]);
      });

      test("[SRV5-CON-8, MQTT-3.1.2-6] no Session Expiry Interval: the session ends with the connection", async (ctx) => {
        const h = await startV5(target, ctx);
        const s = await mqtt5(h, { clientId: "zero5", clean: false });
        expect(s.connack.sessionPresent).toBe(false);
        await s.client.subscribeAsync({ "zero/t": { qos: 1 } });
        await s.end();
        const pub = await mqtt5(h);
        await publish5(pub, "zero/t", "lost", { qos: 1 });
        const back = await mqtt5(h, { clientId: "zero5", clean: false });
        expect(back.connack.sessionPresent).toBe(false);
        await back.client.subscribeAsync({ "zero/marker": { qos: 1 } });
        await publish5(pub, "zero/marker", "m", { qos: 1 });
        expect((await back.inbox.before("m")).map((m) => m.payload.toString())).toEqual([]);
      });

      test("[MQTT-3.1.2-4, MQTT-3.2.2-2] Clean Start 1 discards the stored session: Session Present 0, its subscriptions and queued messages gone", async (ctx) => {
        const h = await startV5(target, ctx);
        const s = await mqtt5(h, { clientId: "clean5", clean: true, properties: { sessionExpiryInterval: 60 } });
        await s.client.subscribeAsync({ "clean/t": { qos: 1 } });
        await s.end();
        const pub = await mqtt5(h);
        await publish5(pub, "clean/t", "old", { qos: 1 });
        const back = await mqtt5(h, { clientId: "clean5", clean: true, properties: { sessionExpiryInterval: 60 } });
        expect(back.connack.sessionPresent).toBe(false);
        await publish5(pub, "clean/t", "new", { qos: 1 });
        await back.client.subscribeAsync({ "clean/marker": { qos: 1 } });
        await publish5(pub, "clean/marker", "m", { qos: 1 });
        expect((await back.inbox.before("m")).map((m) => m.payload.toString())).toEqual([]);
      });

      test("[SRV5-DIS-2, SRV5-V311-23, SRV5-OPS-2] a DISCONNECT with Session Expiry Interval 0 ends a session the CONNECT asked to keep", async (ctx) => {
        const h = await startV5(target, ctx);
        const s = await mqtt5(h, { clientId: "dis0", clean: true, properties: { sessionExpiryInterval: 60 } });
        await s.client.subscribeAsync({ "dis0/t": { qos: 1 } });
        await Promise.race([s.client.endAsync(false, { reasonCode: 0, properties: { sessionExpiryInterval: 0 } }), sleep(3000)]);
        const back = await mqtt5(h, { clientId: "dis0", clean: false, properties: { sessionExpiryInterval: 60 } });
        expect(back.connack.sessionPresent, "the session ended with the connection").toBe(false);
      });

      test("[SRV5-DIS-2, MQTT-3.14.2-2] a DISCONNECT that raises the Session Expiry Interval from 0 is a Protocol Error: DISCONNECT 0x82 (the Will is published)", async (ctx) => {
        const h = await startV5(target, ctx);
        const obs = await mqtt5(h);
        await obs.client.subscribeAsync({ "dis1/#": { qos: 1 } });
        const { c } = await rawConnect5(h, { clientId: "dis1", will: { topic: "dis1/will", payload: "w" } });
        c.send(pk5.disconnect(0, [["sessionExpiryInterval", 60]]));
        const p = await c.nextPacket(3000, "DISCONNECT 0x82");
        const d = decodeDisconnect5(p);
        expect(d.reasonCode.toString(16), describePacket(p)).toBe("82");
        expect(d.props.sessionExpiryInterval, "MQTT-3.14.2-2").toBeUndefined();
        await c.expectClosed(3000);
        // Not a normal disconnection: the Will stays armed and goes out.
        expect((await obs.inbox.waitTopic("dis1/will")).payload.toString()).toBe("w");
      });

      test("[MQTT-3.1.4-3, MQTT-3.14.4-2] session takeover: the older connection is closed; the new one keeps the session", async (ctx) => {
        const h = await startV5(target, ctx);
        const old = await mqtt5(h, { clientId: "taken5", clean: true, properties: { sessionExpiryInterval: 60 } });
        await old.client.subscribeAsync({ "taken/t": { qos: 1 } });
        const fresh = await mqtt5(h, { clientId: "taken5", clean: false, properties: { sessionExpiryInterval: 60 } });
        expect(await old.waitClosed(), "the old connection is closed").toBe(true);
        expect(fresh.connack.sessionPresent).toBe(true);
        const pub = await mqtt5(h);
        await publish5(pub, "taken/t", "to the new one", { qos: 1 });
        await fresh.inbox.waitTopic("taken/t");
        expect(fresh.isClosed()).toBe(false);
      });

      // mosquitto 2.0.11 closes the old connection without a DISCONNECT (section 4.13 lets a
      // server close without one); Midge sends DISCONNECT 0x8E first, as MQTT-3.1.4-3 describes.
      test.skipIf(target.name === "mosquitto")("[MQTT-3.1.4-3, SRV5-V311-8, SRV5-DIS-6, MQTT-3.14.4-1] session takeover: the older connection gets DISCONNECT 0x8E, then the close", async (ctx) => {
        const h = await startV5(target, ctx);
        const old = await rawConnect5(h, { clientId: "taken8e", props: [["sessionExpiryInterval", 60]] });
        await mqtt5(h, { clientId: "taken8e", clean: false, properties: { sessionExpiryInterval: 60 } });
        await expectServerDisconnect(old.c, 0x8e);
      });
    });
  });
}
