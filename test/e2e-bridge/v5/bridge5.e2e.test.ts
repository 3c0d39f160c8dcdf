/**
 * Bridge end to end over MQTT 5.0 (bridge_protocol_version mqttv50): Midge (the Node CLI,
 * dist/node/midge.js) as the edge broker, Debian's mosquitto 2.0 as the 5.0 upstream on a free
 * port, MQTT.js 5.0 clients on both sides. User properties and the other message properties
 * cross the bridge both ways; a both line does not loop (No Local upstream, the bridge's origin
 * check locally). Every test owns its processes and bounds its waits.
 */
import { connect as mqttjsConnect } from "mqtt";
import type { IClientPublishOptions, IPublishPacket, MqttClient } from "mqtt";
import { describe, expect, test, vi } from "vitest";
import type { TestContext } from "vitest";
import { HOST, sleep, waitUntil } from "../../e2e/helpers";
import { MidgeProcess, Upstream, edgeFor, upstreamFor } from "../upstream";

vi.setConfig({ maxConcurrency: 2 });

interface Got {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  props: IPublishPacket["properties"];
}

interface Client5 {
  client: MqttClient;
  got: Got[];
  on(topic: string): Got[];
}

/** An MQTT.js client speaking 5.0, subscribed to `subs`, collecting what it receives with its properties. */
async function client5(ctx: TestContext, port: number, id: string, subs: string[] = []): Promise<Client5> {
  const client = mqttjsConnect({ host: HOST, port, protocol: "mqtt", protocolVersion: 5, clientId: id, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
  client.on("error", () => {});
  ctx.onTestFinished(() => new Promise<void>((r) => client.end(true, {}, () => r())));
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
    setTimeout(() => reject(new Error(`client ${id} did not connect to port ${port}`)), 6000);
  });
  const got: Got[] = [];
  client.on("message", (topic: string, payload: Buffer, packet: IPublishPacket) => {
    got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, props: packet.properties });
  });
  for (const f of subs) await client.subscribeAsync(f, { qos: 1 });
  return { client, got, on: (topic) => got.filter((g) => g.topic === topic) };
}

/**
 * Edge bridged to `up` with bridge_protocol_version mqttv50; resolves once connected and, when
 * a line subscribes upstream (in, both), once mosquitto has answered the bridge's SUBSCRIBE.
 */
async function bridged(ctx: TestContext, up: Upstream, clientId: string, lines: string[]): Promise<MidgeProcess> {
  const e = await edgeFor(ctx, ["connection central", `address ${HOST}:${up.port}`, `remote_clientid ${clientId}`, "bridge_protocol_version mqttv50", "restart_timeout 1", ...lines]);
  await waitUntil(() => /Bridge central: connected to .* \(MQTT 5\.0\)/.test(e.logs()), 10000, "the bridge connected");
  if (lines.some((l) => / (in|both)\b/.test(l))) await waitUntil(() => new RegExp(`Sending SUBACK to ${clientId}\\b`).test(up.logs()), 10000, `mosquitto's SUBACK to ${clientId}`);
  return e;
}

const USER = { unit: "C", tags: ["kitchen", "north"] };

describe("bridge to a mosquitto 2.0 upstream over MQTT 5.0", { timeout: 30000 }, () => {
  test.concurrent("[MQTT-3.1.2-5, MQTT-3.3.2-17, MQTT-3.3.2-18] the bridge connects as a 5.0 client with Clean Start 0; a 5.0 message goes up with its user properties, content type, response topic and correlation data", async (ctx) => {
    const up = await upstreamFor(ctx);
    const e = await bridged(ctx, up, "edge-v5-up", ["topic # out 1 sensors/ site1/sensors/"]);
    // mosquitto logs the protocol version and clean flag of each client: p5, c0.
    expect(up.logs()).toMatch(/as edge-v5-up \(p5, c0, k60/);
    const upSub = await client5(ctx, up.port, "up-sub", ["site1/#"]);
    const pub = await client5(ctx, e.port, "edge-pub");
    const opts: IClientPublishOptions = { qos: 1, properties: { userProperties: USER, contentType: "text/plain", responseTopic: "site1/reply", correlationData: Buffer.from([1, 2, 3]), payloadFormatIndicator: true } };
    await pub.client.publishAsync("sensors/t1", "21.5", opts);
    await waitUntil(() => upSub.on("site1/sensors/t1").length > 0, 5000, "the message upstream");
    const [m] = upSub.on("site1/sensors/t1");
    expect(m.payload).toBe("21.5");
    expect(m.qos).toBe(1);
    expect(m.props?.userProperties).toEqual(USER);
    expect(m.props?.contentType).toBe("text/plain");
    expect(m.props?.responseTopic).toBe("site1/reply");
    expect(Buffer.from(m.props?.correlationData ?? []).toString("hex")).toBe("010203");
    expect(m.props?.payloadFormatIndicator).toBe(true);
  });

  test.concurrent("[MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.1-13] a 5.0 message from upstream comes down with its user properties; a retained one keeps RETAIN", async (ctx) => {
    const up = await upstreamFor(ctx);
    const e = await bridged(ctx, up, "edge-v5-down", ["topic # in 1 cmd/ site1/cmd/"]);
    const sub = await client5(ctx, e.port, "edge-sub", ["cmd/#"]);
    const pub = await client5(ctx, up.port, "up-pub");
    await pub.client.publishAsync("site1/cmd/led", "on", { qos: 1, properties: { userProperties: USER, contentType: "text/plain" } });
    await waitUntil(() => sub.on("cmd/led").length > 0, 5000, "the message on the edge");
    const [m] = sub.on("cmd/led");
    expect([m.payload, m.qos]).toEqual(["on", 1]);
    expect(m.props?.userProperties).toEqual(USER);
    expect(m.props?.contentType).toBe("text/plain");
    // Retained upstream: kept as retained on the edge, so a late subscriber gets it.
    await pub.client.publishAsync("site1/cmd/rate", "10", { qos: 1, retain: true, properties: { userProperties: { v: "2" } } });
    await waitUntil(() => sub.on("cmd/rate").length > 0, 5000, "the retained message on the edge");
    const late = await client5(ctx, e.port, "edge-late", ["cmd/rate"]);
    await waitUntil(() => late.on("cmd/rate").length > 0, 5000, "the retained copy for a late subscriber");
    expect(late.on("cmd/rate")[0]).toMatchObject({ payload: "10", retain: true });
    expect(late.on("cmd/rate")[0].props?.userProperties).toEqual({ v: "2" });
  });

  test.concurrent("[MQTT-3.8.3-3] no loops on a both line: each message reaches each side once, whichever side published it", async (ctx) => {
    const up = await upstreamFor(ctx);
    const e = await bridged(ctx, up, "edge-v5-both", ["topic chat/# both 1"]);
    const upSub = await client5(ctx, up.port, "up-sub", ["chat/#"]);
    const edgeSub = await client5(ctx, e.port, "edge-sub", ["chat/#"]);
    const upPub = await client5(ctx, up.port, "up-pub");
    const edgePub = await client5(ctx, e.port, "edge-pub");
    await upPub.client.publishAsync("chat/from-up", "1", { qos: 1, properties: { userProperties: { side: "up" } } });
    await edgePub.client.publishAsync("chat/from-edge", "2", { qos: 1, properties: { userProperties: { side: "edge" } } });
    const all = (): boolean => upSub.on("chat/from-up").length + upSub.on("chat/from-edge").length + edgeSub.on("chat/from-up").length + edgeSub.on("chat/from-edge").length >= 4;
    await waitUntil(all, 5000, "both messages on both sides");
    // Time for an echo to come round, then a marker each way that must arrive after any echo.
    await sleep(500);
    await upPub.client.publishAsync("chat/marker-up", "m", { qos: 1 });
    await edgePub.client.publishAsync("chat/marker-edge", "m", { qos: 1 });
    await waitUntil(() => upSub.on("chat/marker-edge").length > 0 && edgeSub.on("chat/marker-up").length > 0, 5000, "the markers");
    await sleep(300);
    for (const c of [upSub, edgeSub]) {
      expect(c.on("chat/from-up").length).toBe(1);
      expect(c.on("chat/from-edge").length).toBe(1);
      expect(c.on("chat/marker-up").length).toBe(1);
      expect(c.on("chat/marker-edge").length).toBe(1);
    }
    expect(edgeSub.on("chat/from-up")[0].props?.userProperties).toEqual({ side: "up" });
    expect(upSub.on("chat/from-edge")[0].props?.userProperties).toEqual({ side: "edge" });
  });

  test.concurrent("[MQTT-3.1.2-23] cleansession false: the Session Expiry Interval keeps the bridge's session upstream while the edge is gone; the next edge gets Session Present and the messages queued meanwhile", async (ctx) => {
    const up = await upstreamFor(ctx);
    const lines = ["topic # in 1 cmd/ site1/cmd/"];
    const first = await bridged(ctx, up, "edge-v5-sess", lines);
    await first.kill(); // a power cut: no DISCONNECT
    await waitUntil(() => /Client edge-v5-sess (closed its connection|has exceeded|disconnected)/.test(up.logs()) || /Socket error on client edge-v5-sess/.test(up.logs()), 5000, "mosquitto noticed the edge went");
    const pub = await client5(ctx, up.port, "up-pub");
    await pub.client.publishAsync("site1/cmd/while-away", "queued", { qos: 1, properties: { userProperties: { kept: "yes" } } });
    const second = await edgeFor(ctx, ["connection central", `address ${HOST}:${up.port}`, "remote_clientid edge-v5-sess", "bridge_protocol_version mqttv50", "restart_timeout 1", ...lines]);
    await waitUntil(() => /Bridge central: connected to .*, session present/.test(second.logs()), 10000, "the second edge's bridge with Session Present");
    await waitUntil(() => /Sending PUBLISH to edge-v5-sess \(d0, q1, r0, m\d+, 'site1\/cmd\/while-away'/.test(up.logs()), 5000, "mosquitto delivered the queued message to the bridge");
  });

  test.concurrent("an upstream that goes away and comes back: the bridge reconnects and messages flow again", async (ctx) => {
    const up = await upstreamFor(ctx);
    const e = await bridged(ctx, up, "edge-v5-again", ["topic # out 1 a/ a/"]);
    await up.stop();
    await waitUntil(() => /Bridge central: connection lost/.test(e.logs()), 5000, "the bridge noticed the loss");
    await up.start();
    await waitUntil(() => (e.logs().match(/Bridge central: connected to/g) ?? []).length >= 2, 10000, "the bridge reconnected");
    const upSub = await client5(ctx, up.port, "up-sub", ["a/#"]);
    const pub = await client5(ctx, e.port, "edge-pub");
    await pub.client.publishAsync("a/1", "after", { qos: 1, properties: { userProperties: { n: "1" } } });
    await waitUntil(() => upSub.on("a/1").length > 0, 5000, "the message after the reconnect");
    expect(upSub.on("a/1")[0].props?.userProperties).toEqual({ n: "1" });
  });
});
