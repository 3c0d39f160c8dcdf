import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "mqtt";
import { afterAll, describe, expect, test } from "vitest";
import { BrokerHandle, makeTempDir, mosquittoTarget, nodeTarget, REPO_ROOT } from "../e2e/targets";
import { mqttConnect, MqttConn, Proc, subMessageLines, waitUntil } from "../e2e/helpers";

// Issue 6: password_file and acl_file, with real clients. The same files run against
// mosquitto and Midge and every client's inbox is compared.

const dir = makeTempDir("midge-security-");
const pwFile = join(dir, "passwords");
// Written by Debian's mosquitto_passwd, read unchanged by Midge.
execFileSync("mosquitto_passwd", ["-c", "-b", pwFile, "alice", "alice-pw"]);
execFileSync("mosquitto_passwd", ["-b", pwFile, "bob", "bob-pw"]);
// And a user added by `midge passwd`, which mosquitto must read too.
execFileSync(process.execPath, [join(REPO_ROOT, "bin/midge.js"), "passwd", pwFile, "carol", "carol-pw"]);

// mosquitto started as root drops to the mosquitto user: the files must be readable to it.
chmodSync(dir, 0o755);
chmodSync(pwFile, 0o644);
const aclFile = join(dir, "acl");
writeFileSync(
  aclFile,
  [
    "# anonymous clients",
    "topic read public/#",
    "",
    "user alice",
    "topic readwrite alice/#",
    "topic read shared/#",
    "topic deny shared/secret",
    "",
    "user bob",
    "topic write shared/#",
    "topic write public/#",
    "topic read bob/#",
    "",
    "user carol",
    "topic readwrite #",
    "",
    "pattern readwrite clients/%c/#",
    "pattern read inbox/%u",
    "pattern write inbox/+",
  ].join("\n") + "\n",
);
const configLines = ["allow_anonymous true", `password_file ${pwFile}`, `acl_file ${aclFile}`];

const brokers: BrokerHandle[] = [];
afterAll(async () => {
  for (const b of brokers) await b.stop();
});

const CLIENTS = [
  { id: "anon-1", username: undefined, password: undefined },
  { id: "alice-1", username: "alice", password: "alice-pw" },
  { id: "bob-1", username: "bob", password: "bob-pw" },
  { id: "carol-1", username: "carol", password: "carol-pw" },
];
const FILTERS = ["#", "public/#", "alice/#", "shared/#", "shared/secret", "bob/#", "clients/+/x", "inbox/#", "other/#"];
const TOPICS = ["public/news", "alice/a", "shared/x", "shared/secret", "bob/b", "inbox/alice", "inbox/bob", "other/o", "clients/alice-1/x", "clients/bob-1/x", "$SYS/fake"];

function connectAs(port: number, c: (typeof CLIENTS)[number]): Promise<MqttConn> {
  return mqttConnect(port, { clientId: c.id });
}

/** Every client subscribes to every filter, then every client publishes to every topic. */
async function run(broker: BrokerHandle): Promise<Record<string, string[]>> {
  const conns: MqttConn[] = [];
  for (const c of CLIENTS) {
    const client = connect({ host: "127.0.0.1", port: broker.port, clientId: c.id, username: c.username, password: c.password, reconnectPeriod: 0 });
    await new Promise<void>((res, rej) => {
      client.once("connect", () => res());
      client.once("error", rej);
    });
    const inbox: string[] = [];
    client.on("message", (t, p) => inbox.push(`${t}=${p.toString()}`));
    await new Promise<void>((res) => client.subscribe(FILTERS.map((f) => f), { qos: 1 }, () => res()));
    conns.push({ client, inbox } as unknown as MqttConn);
  }
  for (let i = 0; i < CLIENTS.length; i++) {
    for (const t of TOPICS) {
      await new Promise<void>((res) => conns[i].client.publish(t, `from ${CLIENTS[i].id}`, { qos: 1 }, () => res()));
    }
  }
  // Instead of waiting for stragglers: every publish above was acknowledged, so its deliveries
  // are queued before anything published now. Each client then publishes a marker on
  // clients/<its id>/x (the pattern line lets it, its clients/+/x subscription reads it) and
  // waits for it; what it received before the marker is its result.
  const inboxOf = (i: number): string[] => (conns[i] as unknown as { inbox: string[] }).inbox;
  for (let i = 0; i < CLIENTS.length; i++) {
    await new Promise<void>((res) => conns[i].client.publish(`clients/${CLIENTS[i].id}/x`, "marker", { qos: 1 }, () => res()));
  }
  for (let i = 0; i < CLIENTS.length; i++) {
    const marker = `clients/${CLIENTS[i].id}/x=marker`;
    await waitUntil(() => inboxOf(i).includes(marker), 5000, `${CLIENTS[i].id}'s marker`);
  }
  const out: Record<string, string[]> = {};
  for (let i = 0; i < CLIENTS.length; i++) {
    const inbox = inboxOf(i);
    out[CLIENTS[i].id] = inbox.slice(0, inbox.indexOf(`clients/${CLIENTS[i].id}/x=marker`)).filter((l) => !l.endsWith("=marker")).sort();
    conns[i].client.end(true);
  }
  return out;
}

describe("password_file and acl_file", () => {
  test("[SRV-IMPL-16] every client receives exactly what it receives from mosquitto with the same files", async () => {
    const midge = await nodeTarget.start({ configLines });
    brokers.push(midge);
    const mosq = await mosquittoTarget.start({ configLines });
    brokers.push(mosq);
    const fromMidge = await run(midge);
    const fromMosquitto = await run(mosq);
    expect(fromMidge).toEqual(fromMosquitto);
    // And the ACL did something: alice reads shared/x but not shared/secret; anonymous reads public only.
    expect(fromMidge["alice-1"]).toContain("shared/x=from bob-1");
    expect(fromMidge["alice-1"]).not.toContain("shared/secret=from bob-1");
    expect(fromMidge["anon-1"].every((l) => l.startsWith("public/"))).toBe(true);
    expect(fromMidge["bob-1"]).toContain("inbox/bob=from alice-1");
    expect(midge.logs()).toMatch(/Denied PUBLISH from anon-1 to alice\/a/);
  }, 30000);

  test("CONNACK 4 for a wrong password or unknown user, 5 for anonymous when allow_anonymous is false", async () => {
    const b = await nodeTarget.start({ configLines: ["allow_anonymous false", `password_file ${pwFile}`] });
    brokers.push(b);
    const code = (username?: string, password?: string): Promise<number> =>
      new Promise((resolve) => {
        const c = connect({ host: "127.0.0.1", port: b.port, clientId: "x" + Math.random(), username, password, reconnectPeriod: 0 });
        c.once("connect", (ack) => {
          resolve(ack.returnCode ?? 0);
          c.end(true);
        });
        c.once("error", (e: Error & { code?: number }) => {
          resolve(e.code ?? -1);
          c.end(true);
        });
      });
    expect(await code("alice", "alice-pw")).toBe(0);
    expect(await code("carol", "carol-pw")).toBe(0);
    expect(await code("alice", "wrong")).toBe(4);
    expect(await code("mallory", "x")).toBe(4);
    expect(await code("alice", undefined)).toBe(4);
    expect(await code(undefined, undefined)).toBe(5);
    // The log comes through the broker's stderr pipe, which may lag the CONNACK on the socket.
    await waitUntil(() => /refused: bad user name or password \(CONNACK 4\)/.test(b.logs()), 3000, "the CONNACK 4 log line");
    await waitUntil(() => /refused: not authorised \(CONNACK 5\)/.test(b.logs()), 3000, "the CONNACK 5 log line");
  }, 20000);

  test("[SRV-SUB-2] a SUBSCRIBE no ACL line can deliver on gets 0x80; the others in the packet are granted", async () => {
    const b = await nodeTarget.start({ configLines });
    brokers.push(b);
    const c = connect({ host: "127.0.0.1", port: b.port, clientId: "a2", username: "alice", password: "alice-pw", reconnectPeriod: 0 });
    await new Promise<void>((res) => c.once("connect", () => res()));
    // MQTT.js reports a 0x80 as an error with the requested QoS: read the SUBACK itself.
    const granted = new Promise<number[]>((res) => c.on("packetreceive", (p) => p.cmd === "suback" && res((p as unknown as { granted: number[] }).granted)));
    c.subscribe(["alice/x", "other/#", "shared/secret", "#"], { qos: 1 }, () => {});
    expect(await granted).toEqual([1, 128, 128, 1]);
    c.end(true);
  }, 20000);

  test("mosquitto_sub and mosquitto_pub with user names and passwords", async () => {
    const b = await nodeTarget.start({ configLines });
    brokers.push(b);
    // -d prints "received SUBACK": publish once the subscription is in place (stdbuf: line-buffered).
    const sub = new Proc("stdbuf", ["-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", String(b.port), "-u", "alice", "-P", "alice-pw", "-t", "shared/#", "-C", "1", "-W", "5", "-v"], 8000);
    await sub.waitStdout(/received SUBACK/);
    execFileSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(b.port), "-u", "bob", "-P", "bob-pw", "-t", "shared/note", "-m", "hello", "-q", "1"]);
    expect(subMessageLines((await sub.done).stdout)).toEqual(["shared/note hello"]);
    let refused = "";
    try {
      execFileSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(b.port), "-u", "bob", "-P", "nope", "-t", "x", "-m", "x"], { stdio: "pipe" });
    } catch (e) {
      refused = String((e as { stderr: Buffer }).stderr);
    }
    expect(refused).toMatch(/bad user name or password/i);
  }, 20000);
});

