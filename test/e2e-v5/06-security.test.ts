/**
 * password_file and acl_file with MQTT 5.0 clients: the same files as for 3.1.1 clients, the
 * answers in 5.0's reason codes (CONNACK 0x86 / 0x87, SUBACK 0x87, PUBACK and PUBREC 0x87 for
 * a publish the ACL refuses, instead of 3.1.1's silent acknowledge-and-drop). Node and
 * mosquitto only: password and ACL files are a Node target feature (the Lua target says so).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { Harness, TEST_TIMEOUT } from "../e2e/helpers";
import { makeTempDir, selectedTargets } from "../e2e/targets";
import { ackReason, decodeConnack5, describeV5, mqtt5, pk5, rawConnect5, subackCodes, v5Options } from "./v5";

const dir = makeTempDir("midge-v5-security-");
const pwFile = join(dir, "passwords");
execFileSync("mosquitto_passwd", ["-c", "-b", pwFile, "alice", "alice-pw"]);
chmodSync(dir, 0o755);
chmodSync(pwFile, 0o644);
const aclFile = join(dir, "acl");
writeFileSync(aclFile, ["user alice", "topic readwrite alice/#", "topic read news/#", ""].join("\n"));
const configLines = ["allow_anonymous false", `password_file ${pwFile}`, `acl_file ${aclFile}`];

for (const target of selectedTargets()) {
  if (target.name !== "node" && target.name !== "mosquitto") {
    // Said, not silent: the password and ACL files are configuration the other targets do not read.
    test.skip(`${target.name}: e2e-v5/06-security (password_file and acl_file are Node-target and mosquitto configuration)`, () => {});
    continue;
  }
  describeV5(target)(target.name, () => {
    describeV5(target)("e2e-v5/06-security", { timeout: TEST_TIMEOUT }, () => {
      // mosquitto 2.0 answers a wrong password with 0x87 too, and checks the ACL when it
      // delivers rather than at SUBSCRIBE (it grants the forbidden filter): both allowed.
      const mosquitto = target.name === "mosquitto";
      const start = (ctx: Parameters<typeof Harness.start>[1]) => Harness.start(target, ctx, v5Options(target, { configLines }));

      test("[SRV5-CON-25, MQTT-3.2.2-6, MQTT-3.2.2-7] a wrong password gets CONNACK 0x86, no credentials 0x87 (allow_anonymous false), then the close", async (ctx) => {
        const h = await start(ctx);
        const bad = await h.raw();
        bad.send(pk5.connect({ clientId: "x1", username: "alice", password: "wrong" }));
        const c1 = decodeConnack5(await bad.nextPacket());
        expect([c1.reasonCode, c1.sessionPresent]).toEqual([mosquitto ? 0x87 : 0x86, false]);
        await bad.expectClosedWithoutReply();
        const anon = await h.raw();
        anon.send(pk5.connect({ clientId: "x2" }));
        const c2 = decodeConnack5(await anon.nextPacket());
        expect(c2.reasonCode).toBe(0x87);
        await anon.expectClosedWithoutReply();
      });

      test("[SRV5-PUB-14, SRV5-SUB-10, MQTT-3.8.4-7] the ACL: SUBSCRIBE to a forbidden filter gets 0x87 beside granted ones; a forbidden PUBLISH gets PUBACK 0x87 and PUBREC 0x87 and reaches nobody", async (ctx) => {
        const h = await start(ctx);
        const watcher = await mqtt5(h, { username: "alice", password: "alice-pw" });
        await watcher.client.subscribeAsync({ "alice/#": { qos: 1 } });
        const { c } = await rawConnect5(h, { username: "alice", password: "alice-pw" });
        c.send(pk5.subscribe(1, [["alice/in", 1], ["secret/#", 1], ["news/today", 0]]));
        expect(subackCodes(await c.nextPacket())).toEqual([1, mosquitto ? 1 : 0x87, 0]);
        c.send(pk5.publish({ topic: "news/today", payload: "nope", qos: 1, id: 5 }));
        const puback = await c.nextPacket();
        expect([puback.type, ackReason(puback)]).toEqual([4, 0x87]);
        c.send(pk5.publish({ topic: "news/today", payload: "nope2", qos: 2, id: 6 }));
        const pubrec = await c.nextPacket();
        expect([pubrec.type, ackReason(pubrec)]).toEqual([5, 0x87]);
        // Allowed: acknowledged with Success, and delivered.
        c.send(pk5.publish({ topic: "alice/ok", payload: "yes", qos: 1, id: 7 }));
        const ok = await c.nextPacket();
        expect([ok.type, ackReason(ok)]).toEqual([4, 0]);
        const got = await watcher.inbox.waitTopic("alice/ok");
        expect(got.payload.toString()).toBe("yes");
      });
    });
  });
}
