/**
 * Bridge end to end: Midge (the Node CLI, dist/node/midge.js) as the edge broker bridged to a
 * real upstream, Debian's mosquitto started by each test on a free port (and once to a second
 * Midge). Clients are MQTT.js. Every test owns its processes and bounds its waits.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as mqttjsConnect } from "mqtt";
import type { IClientOptions, MqttClient } from "mqtt";
import { describe, expect, test, vi } from "vitest";
import type { TestContext } from "vitest";
import { HOST, Inbox, MqttConn, Proc, mosquittoPub, mqttConnect, sleep, waitUntil } from "../e2e/helpers";
import { REPO_ROOT, makeTempDir } from "../e2e/targets";
import { MidgeProcess, Upstream, edgeFor, upstreamFor } from "./upstream";

vi.setConfig({ maxConcurrency: 3 });

const BOUND = 20000;

async function client(ctx: TestContext, port: number, subs: Array<[string, 0 | 1 | 2]> = [], clientId?: string): Promise<MqttConn> {
  const c = await mqttConnect(port, { clientId });
  ctx.onTestFinished(() => c.end());
  for (const [filter, qos] of subs) await c.client.subscribeAsync(filter, { qos });
  return c;
}

function count(log: string, re: RegExp): number {
  return (log.match(new RegExp(re.source, "g")) ?? []).length;
}

/**
 * Waits until the bridge has connected `times` times in total. With `subscribedAt` (a mosquitto
 * upstream and the bridge's remote client id), also until the upstream has answered the
 * bridge's SUBSCRIBE (of its in/both lines) that many times: from then on what is published
 * upstream reaches the edge. Out lines need no more than the connection.
 */
async function bridgeConnected(h: MidgeProcess, name: string, times = 1, subscribedAt?: { up: Upstream; clientId: string }): Promise<void> {
  const re = new RegExp(`Bridge ${name}: connected to`);
  await waitUntil(() => count(h.logs(), re) >= times, 10000, `bridge ${name} connected (${times})`);
  if (subscribedAt) {
    const suback = new RegExp(`Sending SUBACK to ${subscribedAt.clientId}\\b`);
    await waitUntil(() => count(subscribedAt.up.logs(), suback) >= times, 10000, `the upstream's SUBACK to ${subscribedAt.clientId} (${times})`);
  }
}

/**
 * For an upstream that does not log SUBACKs (Midge): publishes `remote` upstream at QoS 1 until
 * a copy reaches `local` on the edge (each try waits 250 ms, all of them 10 s), which shows
 * the bridge's SUBSCRIBE has landed. A late copy of the probe may still arrive afterwards.
 */
async function bridgeSubscribed(ctx: TestContext, upPort: number, edgePort: number, remote: string, local: string): Promise<void> {
  const probe = await client(ctx, edgePort, [[local, 1]]);
  const pub = await client(ctx, upPort);
  const end = Date.now() + 10000;
  for (;;) {
    await pub.client.publishAsync(remote, "probe", { qos: 1 });
    try {
      await probe.inbox.waitTopic(local, 250);
      return;
    } catch (e) {
      if (Date.now() > end) throw new Error(`the bridge's subscription did not carry ${remote} to ${local} within 10 s: ${(e as Error).message}`);
    }
  }
}

/** The messages of an inbox that arrived before the first one on `marker` (which must have arrived). */
function before(inbox: Inbox, marker: string): Inbox["msgs"] {
  const i = inbox.topics().indexOf(marker);
  expect(i, `the marker on ${marker}`).toBeGreaterThanOrEqual(0);
  return inbox.msgs.slice(0, i);
}

function payloads(inbox: Inbox, topic: string): string[] {
  return inbox.msgs.filter((m) => m.topic === topic).map((m) => m.payload.toString());
}

describe("bridge to a mosquitto upstream", { timeout: 30000 }, () => {
  test.concurrent("both directions with prefixes; QoS 1 and 2 end to end; line QoS caps the message QoS", async (ctx) => {
    const up = await upstreamFor(ctx);
    const e = await edgeFor(ctx, [
      "connection central",
      `address ${HOST}:${up.port}`,
      "remote_clientid edge-dirs",
      "restart_timeout 1",
      "topic # out 2 sensors/ site1/sensors/",
      "topic # in 2 cmd/ site1/cmd/",
      "topic low/# out 1",
    ]);
    await bridgeConnected(e, "central", 1, { up, clientId: "edge-dirs" });
    const upSub = await client(ctx, up.port, [["site1/sensors/#", 2], ["low/#", 2]]);
    const localSub = await client(ctx, e.port, [["cmd/#", 2], ["sensors/#", 2]]);
    const localPub = await client(ctx, e.port);

    await localPub.client.publishAsync("sensors/t1", "q1", { qos: 1 });
    await localPub.client.publishAsync("sensors/t2", "q2", { qos: 2 });
    await localPub.client.publishAsync("low/x", "capped", { qos: 2 });
    // mosquitto's own client on the upstream side.
    expect((await mosquittoPub(up.port, ["-t", "site1/cmd/reboot", "-m", "now", "-q", "2"])).code).toBe(0);
    expect((await mosquittoPub(up.port, ["-t", "site1/cmd/led", "-m", "on", "-q", "1"])).code).toBe(0);

    await upSub.inbox.waitCount(3, 5000);
    await localSub.inbox.waitFor((m) => m.topic === "cmd/led", 5000);
    await localSub.inbox.waitFor((m) => m.topic === "cmd/reboot", 5000);
    // Markers at QoS 2 along each direction's path (MQTT.js reports QoS 2 on PUBREL, so a
    // marker of the highest QoS keeps its place behind any stray copy): one more message each
    // way, sent after the others, ends the lists.
    await localPub.client.publishAsync("sensors/zz-end", "end", { qos: 2 });
    expect((await mosquittoPub(up.port, ["-t", "site1/cmd/zz-end", "-m", "end", "-q", "2"])).code).toBe(0);
    await upSub.inbox.waitTopic("site1/sensors/zz-end", 5000);
    await localSub.inbox.waitTopic("cmd/zz-end", 5000);
    const up3 = before(upSub.inbox, "site1/sensors/zz-end").map((m) => `${m.topic}:${m.payload}:q${m.qos}`).sort();
    expect(up3).toEqual(["low/x:capped:q1", "site1/sensors/t1:q1:q1", "site1/sensors/t2:q2:q2"]);
    const local = before(localSub.inbox, "cmd/zz-end").filter((m) => m.topic.startsWith("cmd/")).map((m) => `${m.topic}:${m.payload}:q${m.qos}`).sort();
    expect(local).toEqual(["cmd/led:on:q1", "cmd/reboot:now:q2"]);
    // mosquitto saw a bridge (protocol level 0x84) with Midge's client id.
    expect(up.logs()).toMatch(/New bridge connected from .* as edge-dirs \(p2, c0, k60\)/);
  });

  test.concurrent("loop prevention with a both topic: each side gets every message exactly once", async (ctx) => {
    const up = await upstreamFor(ctx);
    const e = await edgeFor(ctx, ["connection central", `address ${HOST}:${up.port}`, "remote_clientid edge-loop", "topic chat/# both 2"]);
    await bridgeConnected(e, "central", 1, { up, clientId: "edge-loop" });
    const upSub = await client(ctx, up.port, [["chat/#", 2]]);
    const localSub = await client(ctx, e.port, [["chat/#", 2]]);
    const upPub = await client(ctx, up.port);
    const localPub = await client(ctx, e.port);
    await localPub.client.publishAsync("chat/from-edge", "e1", { qos: 1 });
    await upPub.client.publishAsync("chat/from-up", "u1", { qos: 2 });
    await localPub.client.publishAsync("chat/from-edge", "e2", { qos: 0 });
    await upSub.inbox.waitCount(3, 5000);
    await localSub.inbox.waitCount(3, 5000);
    await noEchoes(upPub, upSub, localPub, localSub);
    expect(payloads(upSub.inbox, "chat/from-edge").sort()).toEqual(["e1", "e2"]);
    expect(payloads(upSub.inbox, "chat/from-up")).toEqual(["u1"]);
    expect(payloads(localSub.inbox, "chat/from-edge").sort()).toEqual(["e1", "e2"]);
    expect(payloads(localSub.inbox, "chat/from-up")).toEqual(["u1"]);
  });

  test.concurrent("notifications: $SYS/broker/connection/<remote_clientid>/state is 1/0, retained, on both sides", async (ctx) => {
    const up = await upstreamFor(ctx);
    const e = await edgeFor(ctx, ["connection central", `address ${HOST}:${up.port}`, "remote_clientid edge-n", "restart_timeout 1", "topic n/# out 0"]);
    const topic = "$SYS/broker/connection/edge-n/state";
    await bridgeConnected(e, "central");
    // Retained, so subscribers that come later see the state.
    const localSub = await client(ctx, e.port, [[topic, 1]]);
    const m1 = await localSub.inbox.waitTopic(topic);
    expect([m1.payload.toString(), m1.retain]).toEqual(["1", true]);
    const upSub = await client(ctx, up.port, [[topic, 1]]);
    const u1 = await upSub.inbox.waitTopic(topic);
    expect([u1.payload.toString(), u1.retain]).toEqual(["1", true]);

    await up.stop();
    await localSub.inbox.waitFor((m) => m.payload.toString() === "0", 5000, "state 0 after the upstream stopped");
    await up.start();
    await bridgeConnected(e, "central", 2);
    await waitUntil(() => payloads(localSub.inbox, topic).join(",") === "1,0,1", 5000, `state 1 again (got ${payloads(localSub.inbox, topic)})`);

    // The edge dies without a word: the upstream publishes the bridge's will, state 0.
    const upSub2 = await client(ctx, up.port, [[topic, 1]]);
    await upSub2.inbox.waitFor((m) => m.payload.toString() === "1", 5000);
    await e.kill();
    await upSub2.inbox.waitFor((m) => m.payload.toString() === "0", 5000, "the will: state 0");
  });

  test.concurrent("upstream absent: local clients carry on; QoS 1 queued within bridge_max_queued_messages (oldest dropped, logged), QoS 0 dropped; delivered once the upstream appears", async (ctx) => {
    // The upstream subscriber's session exists before the bridge can connect (persistence, clean
    // session 0), so nothing depends on who is first once the upstream is back.
    const up = await upstreamFor(ctx, { persistence: true });
    const watcher = reconnecting(up.port, "q-watcher");
    ctx.onTestFinished(() => new Promise<void>((r) => watcher.end(true, {}, () => r())));
    const seen: string[] = [];
    watcher.on("message", (topic: string) => seen.push(topic));
    await new Promise<void>((r) => watcher.once("connect", () => r()));
    await watcher.subscribeAsync("q/#", { qos: 1 });
    await up.stop();

    const e = await edgeFor(ctx, [
      "connection central",
      `address ${HOST}:${up.port}`,
      "remote_clientid edge-q",
      "restart_timeout 1",
      "bridge_max_queued_messages 5",
      "topic q/# out 1",
    ]);
    await waitUntil(() => /Bridge central: connection failed/.test(e.logs()), 5000, "a failed attempt");
    const localSub = await client(ctx, e.port, [["q/#", 1]]);
    const localPub = await client(ctx, e.port);
    for (let i = 1; i <= 8; i++) await localPub.client.publishAsync("q/" + i, "m" + i, { qos: 1 });
    await localPub.client.publishAsync("q/zero", "dropped", { qos: 0 });
    // Local delivery is not held up by the missing upstream.
    await localSub.inbox.waitCount(9, 3000);
    await waitUntil(() => /queue full \(5 messages\): dropping the oldest, first on q\/1\./.test(e.logs()), 3000, "the queue-full log line");

    await up.start();
    await bridgeConnected(e, "central");
    await waitUntil(() => seen.length >= 5, 8000, `5 messages upstream (got ${seen})`);
    // A marker through the same queue and connection ends the list.
    await localPub.client.publishAsync("q/end", "end", { qos: 1 });
    await waitUntil(() => seen.includes("q/end"), 5000, `the marker q/end upstream (got ${seen})`);
    expect(seen).toEqual(["q/4", "q/5", "q/6", "q/7", "q/8", "q/end"]);
    expect(e.logs()).toMatch(/queue drained; 3 messages were dropped while it was full/);
  });

  test.concurrent("an unknown option in a connection section is a start-up error with its line number", async () => {
    const dir = makeTempDir("midge-bridge-conf-");
    const file = join(dir, "midge.conf");
    writeFileSync(file, ["# edge", "connection central", "address 127.0.0.1:1", "topic a/# out 1", "bridge_colour blue", ""].join("\n"));
    const r = await new Proc(process.execPath, [join(REPO_ROOT, "bin", "midge.js"), "-c", file, "--port", "0"], 10000).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/midge\.conf:5: unknown option 'bridge_colour'/);
  });
});

describe("upstream stopped and restarted mid-stream", { timeout: 40000 }, () => {
  /**
   * One local publisher sends a stream at QoS 0, 1 and 2 (one message of each every 10 ms) to
   * Midge, which bridges each QoS through its own topic line; a subscriber on the upstream
   * (clean session 0, QoS 2, reconnecting every 200 ms) counts what arrives. The upstream is
   * stopped (SIGTERM) a third of the way in and started again on the same port a second later.
   * The upstream runs with persistence, so it keeps its own sessions (the subscriber's queue,
   * the bridge's QoS 2 state) across the restart: what is lost or duplicated is down to the
   * bridge. (Without it the upstream forgets what it had acknowledged but not delivered, and
   * what the bridge delivers before the subscriber has subscribed again.)
   * Order: the first copies may arrive out of order at the subscriber; the packet ids mosquitto
   * gives them show it received them in order (mosquitto 2.0.11 moves queued messages into its
   * in-flight window out of order after the subscriber's reconnect), so the count is reported,
   * not asserted.
   */
  test("lost and duplicated messages per QoS across an upstream restart", async (ctx) => {
    const N = 200;
    const up = await upstreamFor(ctx, { persistence: true });
    const e = await edgeFor(ctx, [
      "connection central",
      `address ${HOST}:${up.port}`,
      "remote_clientid edge-stream",
      "restart_timeout 1",
      "topic stream/0 out 0",
      "topic stream/1 out 1",
      "topic stream/2 out 2",
    ]);
    await bridgeConnected(e, "central");
    const got: string[][] = [[], [], []];
    const sub = reconnecting(up.port, "stream-counter");
    ctx.onTestFinished(() => new Promise<void>((r) => sub.end(true, {}, () => r())));
    sub.on("message", (topic: string, payload: Buffer) => got[Number(topic.slice(-1))].push(payload.toString()));
    await new Promise<void>((r) => sub.once("connect", () => r()));
    await sub.subscribeAsync("stream/#", { qos: 2 });
    const pub = await client(ctx, e.port);

    let restarted: Promise<void> | null = null;
    for (let i = 0; i < N; i++) {
      for (let q = 0 as 0 | 1 | 2; q <= 2; q++) pub.client.publish("stream/" + q, String(i), { qos: q });
      if (i === Math.floor(N / 3)) {
        restarted = (async () => {
          await up.stop();
          await sleep(1000); // the outage under test, not a wait for an event
          await up.start();
        })();
      }
      await sleep(10); // the stream's pace, part of the input
    }
    await restarted;
    await waitUntil(() => got[1].length >= N && got[2].length >= N, 15000, "all QoS 1/2 messages").catch(() => {});
    // Markers at QoS 1 and 2 after the stream, through the same bridge connection and
    // subscriber: late duplicates would come before them.
    for (const q of [1, 2] as const) await pub.client.publishAsync("stream/" + q, "end", { qos: q });
    await waitUntil(() => got[1].includes("end") && got[2].includes("end"), 10000, "the end markers on stream/1 and stream/2");
    for (const q of [1, 2]) got[q] = got[q].slice(0, got[q].indexOf("end"));
    const figures = [0, 1, 2].map((q) => {
      const unique = new Set(got[q]).size;
      const firsts = got[q].filter((v, i) => got[q].indexOf(v) === i).map(Number);
      const outOfOrder = firsts.filter((v, i) => i > 0 && v < firsts[i - 1]).length;
      return { qos: q, sent: N, received: got[q].length, lost: N - unique, duplicated: got[q].length - unique, outOfOrder };
    });
    process.stdout.write(`upstream restart mid-stream: ${JSON.stringify(figures)}\n`);
    expect(count(e.logs(), /Bridge central: connected to/)).toBeGreaterThanOrEqual(2);
    expect(figures[0].duplicated).toBe(0); // QoS 0: at most once
    expect(figures[1].lost).toBe(0); // QoS 1: at least once
    expect([figures[2].lost, figures[2].duplicated]).toEqual([0, 0]); // QoS 2: exactly once
  });
});

/**
 * Instead of waiting for echoes: a marker from each side along the path an echo would take. An
 * edge message echoed back arrives from the upstream over the bridge connection, queued before
 * a marker the upstream gets afterwards (chat/zz-up-end, published once upSub has seen
 * everything); the same the other way (chat/zz-edge-end, published once the up marker reached
 * the edge). QoS 2 markers keep their place behind QoS 2 strays in MQTT.js. Returns the topics.
 */
async function noEchoes(upPub: MqttConn, upSub: MqttConn, localPub: MqttConn, localSub: MqttConn): Promise<[string, string]> {
  await upPub.client.publishAsync("chat/zz-up-end", "end", { qos: 2 });
  await localSub.inbox.waitTopic("chat/zz-up-end", 5000);
  await localPub.client.publishAsync("chat/zz-edge-end", "end", { qos: 2 });
  await upSub.inbox.waitTopic("chat/zz-edge-end", 5000);
  return ["chat/zz-up-end", "chat/zz-edge-end"];
}

function reconnecting(port: number, clientId: string): MqttClient {
  const opts: IClientOptions = { host: HOST, port, protocol: "mqtt", protocolVersion: 4, clientId, clean: false, keepalive: 30, reconnectPeriod: 200, connectTimeout: 3000 };
  const c = mqttjsConnect(opts);
  c.on("error", () => {});
  return c;
}

describe("bridge between two Midge brokers", { timeout: 30000 }, () => {
  test.concurrent("both directions with prefixes and a both topic, no duplicates (the upstream Midge accepts the bridge level)", async (ctx) => {
    const central = await edgeFor(ctx, []);
    const e = await edgeFor(ctx, [
      "connection central",
      `address ${HOST}:${central.port}`,
      "remote_clientid edge-m",
      "topic # out 1 sensors/ site2/sensors/",
      "topic # in 2 cmd/ site2/cmd/",
      "topic chat/# both 2",
    ]);
    await bridgeConnected(e, "central");
    await bridgeSubscribed(ctx, central.port, e.port, "site2/cmd/probe", "cmd/probe");
    expect(central.logs()).toMatch(/as edge-m \(p2, c0, k60, bridge\)/);
    const upSub = await client(ctx, central.port, [["site2/sensors/#", 1], ["chat/#", 2]]);
    const localSub = await client(ctx, e.port, [["cmd/#", 2], ["chat/#", 2]]);
    const upPub = await client(ctx, central.port);
    const localPub = await client(ctx, e.port);
    await localPub.client.publishAsync("sensors/t", "21", { qos: 1 });
    await upPub.client.publishAsync("site2/cmd/go", "now", { qos: 2 });
    await localPub.client.publishAsync("chat/e", "from edge", { qos: 2 });
    await upPub.client.publishAsync("chat/c", "from central", { qos: 1 });
    await upSub.inbox.waitCount(3, 5000);
    await localSub.inbox.waitCount(3, 5000);
    const [upEnd, edgeEnd] = await noEchoes(upPub, upSub, localPub, localSub);
    const shown = (msgs: Inbox["msgs"]): string[] => msgs.filter((m) => m.topic !== "cmd/probe" && !m.topic.startsWith("chat/zz-")).map((m) => `${m.topic}:${m.payload}`).sort();
    expect(shown(before(upSub.inbox, edgeEnd))).toEqual(["chat/c:from central", "chat/e:from edge", "site2/sensors/t:21"]);
    expect(shown(before(localSub.inbox, upEnd))).toEqual(["chat/c:from central", "chat/e:from edge", "cmd/go:now"]);
    // Notifications on both sides: a bridge may publish under $SYS/broker/connection/.
    const topic = "$SYS/broker/connection/edge-m/state";
    const localState = await client(ctx, e.port, [[topic, 0]]);
    const centralState = await client(ctx, central.port, [[topic, 0]]);
    expect((await localState.inbox.waitTopic(topic)).payload.toString()).toBe("1");
    expect((await centralState.inbox.waitTopic(topic)).payload.toString()).toBe("1");
  });
});
