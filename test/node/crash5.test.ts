import { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, IClientOptions, IPublishPacket, MqttClient } from "mqtt";
import { afterEach, describe, expect, test } from "vitest";
import { startBroker } from "./fixtures/brokerProcess";

// Issue 16: MQTT 5.0 session and message state through a kill -9. A real broker process with
// durable persistence is killed with SIGKILL while MQTT.js 5.0 clients have state in it, kept
// down for a few seconds, and restarted on the same database and port. The clients come back
// with Clean Start 0 and find what the spec says they must.

let dir = "";
const children: ChildProcess[] = [];
const clients: MqttClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.end(true);
  for (const ch of children.splice(0)) ch.kill("SIGKILL");
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  dir = "";
});

interface Connected {
  client: MqttClient;
  sessionPresent: boolean;
  messages: IPublishPacket[];
}

/** An MQTT 5.0 client (no automatic reconnect); messages are collected from the first one on. */
function client5(port: number, clientId: string, options: Partial<IClientOptions> = {}): Promise<Connected> {
  const c = connect({ host: "127.0.0.1", port, clientId, protocolVersion: 5, reconnectPeriod: 0, keepalive: 30, ...options });
  clients.push(c);
  const messages: IPublishPacket[] = [];
  c.on("message", (_t, _p, packet) => messages.push(packet));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no connack for " + clientId)), 5000);
    c.once("connect", (ack) => {
      clearTimeout(t);
      resolve({ client: c, sessionPresent: ack.sessionPresent, messages });
    });
    c.once("error", reject);
  });
}

function publish(c: MqttClient, topic: string, payload: string, options: Parameters<MqttClient["publish"]>[2]): Promise<void> {
  return new Promise((res, rej) => c.publish(topic, payload, options, (e) => (e ? rej(e) : res())));
}

function subscribe(c: MqttClient, filter: string, options: Parameters<MqttClient["subscribe"]>[1]): Promise<void> {
  return new Promise((res, rej) => c.subscribe(filter, options, (e) => (e ? rej(e) : res())));
}

function end(c: MqttClient): Promise<void> {
  return new Promise((res) => c.end(false, {}, () => res()));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const by = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > by) throw new Error("timed out waiting for " + what);
    await sleep(25);
  }
}

/** The Subscription Identifiers of a PUBLISH as MQTT.js gives them (a number or an array). */
function subIds(p: IPublishPacket): number[] {
  const v = p.properties?.subscriptionIdentifier;
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const DOWN_MS = 5000;

describe("crash (kill -9) with durable persistence, MQTT 5.0 state", () => {
  test("[MQTT-3.1.2-23, MQTT-3.3.2-5, MQTT-3.3.2-6, MQTT-3.3.4-3, MQTT-3.8.3-3, MQTT-3.3.1-13] a session with an expiry is present after a kill -9 and restart, its queued messages keep their properties and what is left of their expiry, an expired message and an expired session are gone, subscription options and identifiers still apply", async () => {
    dir = mkdtempSync(join(tmpdir(), "midge-crash5-"));
    const config = join(dir, "midge.conf");
    writeFileSync(config, `persistence true\npersistence_location ${dir}\npersistence_mode durable\nsys_interval 0\n`);
    let broker = await startBroker(0, config, children);
    const port = broker.port;

    // The subscriber: a session that outlives its connection by an hour, with options and ids.
    const sub = await client5(port, "sub5", { clean: false, properties: { sessionExpiryInterval: 3600 } });
    expect(sub.sessionPresent).toBe(false);
    await subscribe(sub.client, "a/#", { qos: 1, nl: true, rap: true, properties: { subscriptionIdentifier: 7 } });
    await subscribe(sub.client, "b/#", { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await end(sub.client);
    // A session that expires 3 s after its connection ends: during the time down.
    const short = await client5(port, "short5", { clean: false, properties: { sessionExpiryInterval: 3 } });
    await subscribe(short.client, "a/#", { qos: 1 });
    await end(short.client);

    const pub = await client5(port, "pub5");
    const props = { contentType: "text/plain", responseTopic: "reply/x", correlationData: Buffer.from("c0ffee", "hex"), userProperties: { k: "v" } };
    await publish(pub.client, "a/1", "with properties", { qos: 1, retain: true, properties: { ...props, messageExpiryInterval: 60 } });
    await publish(pub.client, "b/1", "expires while down", { qos: 1, properties: { messageExpiryInterval: 2 } });
    await publish(pub.client, "a/2", "plain", { qos: 1 });
    // Every PUBACK came after its commit (durable mode): now the crash.
    const exited = new Promise((r) => broker.child.once("exit", r));
    broker.child.kill("SIGKILL");
    await exited;
    await sleep(DOWN_MS);
    broker = await startBroker(port, config, children);
    expect(broker.log()).toMatch(/Restored from .*: 1 retained messages, 2 sessions, 3 subscriptions, 5 queued or in-flight messages/);

    const again = await client5(port, "sub5", { clean: false, properties: { sessionExpiryInterval: 3600 } });
    expect(again.sessionPresent).toBe(true);
    await until("two messages", () => again.messages.length >= 2);
    await sleep(300); // nothing else comes: b/1 expired while the broker was down
    const got = again.messages.map((p) => ({ topic: p.topic, payload: p.payload.toString(), retain: p.retain, ids: subIds(p), props: p.properties ?? {} }));
    expect(got.map((m) => [m.topic, m.payload, m.retain, m.ids])).toEqual([
      ["a/1", "with properties", true, [7]], // Retain As Published kept the flag
      ["a/2", "plain", false, [7]],
    ]);
    const first = got[0].props;
    expect(first.contentType).toBe("text/plain");
    expect(first.responseTopic).toBe("reply/x");
    expect(Buffer.from(first.correlationData as Buffer).toString("hex")).toBe("c0ffee");
    expect(first.userProperties).toEqual({ k: "v" });
    // 60 s less the time it waited, the time down included (MQTT-3.3.2-6).
    const left = first.messageExpiryInterval as number;
    expect(left).toBeLessThanOrEqual(60 - DOWN_MS / 1000);
    expect(left).toBeGreaterThan(60 - DOWN_MS / 1000 - 15);
    expect(got[1].props.messageExpiryInterval).toBeUndefined();

    // No Local still applies: its own message does not come back to it.
    await publish(again.client, "a/own", "mine", { qos: 1 });
    await sleep(300);
    expect(again.messages.length).toBe(2);

    // The session whose expiry passed while the broker was down is gone.
    const shortAgain = await client5(port, "short5", { clean: false, properties: { sessionExpiryInterval: 3 } });
    expect(shortAgain.sessionPresent).toBe(false);

    // The retained message kept its properties and expiry too.
    const late = await client5(port, "late5");
    await subscribe(late.client, "a/1", { qos: 0 });
    await until("the retained message", () => late.messages.length >= 1);
    expect(late.messages[0].retain).toBe(true);
    expect(late.messages[0].properties?.contentType).toBe("text/plain");
    expect(late.messages[0].properties?.messageExpiryInterval).toBeLessThanOrEqual(60 - DOWN_MS / 1000);
  }, 60000);

  test("[MQTT-3.1.3-9] a will waiting for its delay when the broker is killed goes out after the restart, when the delay runs out", async () => {
    dir = mkdtempSync(join(tmpdir(), "midge-crash5-"));
    const config = join(dir, "midge.conf");
    writeFileSync(config, `persistence true\npersistence_location ${dir}\npersistence_mode durable\nsys_interval 0\n`);
    let broker = await startBroker(0, config, children);
    const port = broker.port;
    const w = await client5(port, "will5", {
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: { topic: "will/will5", payload: Buffer.from("gone"), qos: 1, retain: false, properties: { willDelayInterval: 4, contentType: "text/plain" } },
    });
    // A network close, not DISCONNECT: the will waits 4 s in the session.
    w.client.stream.destroy();
    await sleep(300);
    const exited = new Promise((r) => broker.child.once("exit", r));
    broker.child.kill("SIGKILL");
    await exited;
    await sleep(1000);
    const restartedAt = Date.now();
    broker = await startBroker(port, config, children);
    const watch = await client5(port, "watch5");
    await subscribe(watch.client, "will/#", { qos: 1 });
    await until("the will", () => watch.messages.length >= 1, 8000);
    expect(watch.messages[0].payload.toString()).toBe("gone");
    expect(watch.messages[0].properties?.contentType).toBe("text/plain");
    // Not at the restart: when what was left of the 4 s ran out.
    expect(Date.now() - restartedAt).toBeGreaterThan(1000);
  }, 60000);
});
