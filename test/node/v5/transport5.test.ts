// MQTT 5.0 over the Node target's real transports: TCP and WebSocket listeners of one broker
// (docs/spec/mqtt-5.0.md §3.2 and §4). The 3.1.1 side of the WebSocket rules is checked by
// test/node/websocket.test.ts; here a 5.0 connection goes through the same paths.
import { afterEach, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { DEFAULT_LIMITS, mergeLimits } from "../../../src/limits";
import { Log } from "../../../src/platform";
import { ListenerConfig, listenerConfig } from "../../../targets/node/config";
import { RunningServer, startServer } from "../../../targets/node/server";
import { RawClient } from "../../e2e/helpers";
import { p5 } from "../../broker-v5/harness5";
import { PacketRecord } from "../../unit/helpers";
import { packetToRecord5, parseOne5 } from "../../unit/v5/helpers5";
import { WsClient } from "../fixtures/wsClient";

const TEST_TIMEOUT = 30000;
const HOST = "127.0.0.1";

const lines: string[] = [];
const log: Log = { log: (_level, message) => lines.push(message) };
let server: RunningServer | null = null;
const sockets: WebSocket[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const s of sockets) s.terminate();
  sockets.length = 0;
  for (const r of raws) r.destroy();
  raws.length = 0;
  if (server !== null) await server.stop();
  server = null;
  lines.length = 0;
});

async function start(listeners: ListenerConfig[]): Promise<number[]> {
  server = await startServer(mergeLimits(DEFAULT_LIMITS, {}), listeners, log);
  return server.listeners.map((l) => l.address.port);
}

function ws(): ListenerConfig {
  return listenerConfig(0, HOST, { protocol: "websockets" });
}

const buf = (hex: string): Buffer => Buffer.from(hex, "hex");

function record5(raw: Buffer): PacketRecord {
  const r = parseOne5(new Uint8Array(raw) as never, 1 << 28);
  if (r.status !== "OK") throw new Error("not a 5.0 packet (" + r.status + "): " + raw.toString("hex"));
  return packetToRecord5(r.packet);
}

async function tcp5(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  raws.push(c);
  return c;
}

describe("MQTT 5.0 over TCP and WebSocket", () => {
  test("[MQTT-4.2-1, SRV5-OPS-5] 5.0 clients on a TCP and a WebSocket listener of one broker exchange messages, properties included, in order", { timeout: TEST_TIMEOUT }, async () => {
    const [tcpPort, wsPort] = await start([listenerConfig(0, HOST), ws()]);
    const web = await WsClient.open(sockets, `ws://${HOST}:${wsPort}/mqtt`);
    web.send(buf(p5.connect("web") + p5.subscribe(1, [["to/web", 1]])));
    expect(record5(await web.nextRaw())).toMatchObject({ type: 2, returnCode: 0 });
    expect(record5(await web.nextRaw())).toEqual({ type: 9, packetId: 1, returnCodes: [1], props: {} });
    const t = await tcp5(tcpPort);
    t.send(buf(p5.connect("tcp") + p5.subscribe(1, [["to/tcp", 0]])));
    expect(record5((await t.nextPacket()).raw)).toMatchObject({ type: 2, returnCode: 0 });
    expect(record5((await t.nextPacket()).raw)).toEqual({ type: 9, packetId: 1, returnCodes: [0], props: {} });
    const props = { userProperties: [["from", "tcp"]], contentType: "text/plain" };
    t.send(buf(p5.publish("to/web", "1", { qos: 1, id: 1, props }) + p5.publish("to/web", "2", { qos: 1, id: 2, props })));
    expect([record5((await t.nextPacket()).raw), record5((await t.nextPacket()).raw)].map((r) => [r.type, r.packetId])).toEqual([[4, 1], [4, 2]]);
    const got = [record5(await web.nextRaw()), record5(await web.nextRaw())];
    expect(got.map((r) => Buffer.from(r.payloadHex as string, "hex").toString())).toEqual(["1", "2"]);
    expect(got[0].props).toEqual(props);
    web.send(buf(p5.publish("to/tcp", "back")));
    const back = record5((await t.nextPacket()).raw);
    expect(back).toMatchObject({ type: 3, topic: "to/tcp" });
  });
});

describe("MQTT 5.0 over WebSocket", () => {
  test("[MQTT-6.0.0-4, SRV5-WS-1] the subprotocol is mqtt for every version; the CONNECT decides 5.0 or 3.1.1", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const five = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`, ["mqtt"]);
    expect(five.socket.protocol).toBe("mqtt");
    five.send(buf(p5.connect("five")));
    const ack = record5(await five.nextRaw());
    expect(ack).toMatchObject({ type: 2, returnCode: 0 });
    expect((ack.props as Record<string, unknown>).maximumPacketSize).toBeGreaterThan(0);
    const four = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`, ["mqtt"]);
    expect(four.socket.protocol).toBe("mqtt");
    four.send(buf("100d00044d5154540402003c000166")); // 3.1.1 CONNECT, client id "f"
    expect((await four.nextRaw()).toString("hex")).toBe("20020000");
  });

  test("[MQTT-6.0.0-2] a 5.0 CONNECT split across frames, and several 5.0 packets in one frame, are read as a byte stream", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    const connect = buf(p5.connect("frames", { props: { sessionExpiryInterval: 0, userProperties: [["a", "b"]] } }));
    const subscribe = buf(p5.subscribe(1, [["f/#", 0]], { subscriptionIds: [3] }));
    const publish = buf(p5.publish("f/1", "spanning", { props: { contentType: "x" } }));
    c.send(connect.subarray(0, 1));
    c.send(connect.subarray(1, 9));
    c.send(Buffer.concat([connect.subarray(9), subscribe.subarray(0, 4)]));
    c.send(Buffer.concat([subscribe.subarray(4), publish, buf("c000")]));
    expect(record5(await c.nextRaw())).toMatchObject({ type: 2, returnCode: 0 });
    expect(record5(await c.nextRaw())).toEqual({ type: 9, packetId: 1, returnCodes: [0], props: {} });
    const raw = await c.nextRaw();
    expect(raw[0] >> 4).toBe(3);
    expect(raw.includes(Buffer.from("spanning"))).toBe(true);
    expect((await c.nextRaw()).toString("hex")).toBe("d000");
  });

  test("[MQTT-6.0.0-1] a text frame on a 5.0 connection closes it (1003)", { timeout: TEST_TIMEOUT }, async () => {
    const [port] = await start([ws()]);
    const c = await WsClient.open(sockets, `ws://${HOST}:${port}/mqtt`);
    c.send(buf(p5.connect("texter")));
    expect(record5(await c.nextRaw())).toMatchObject({ type: 2, returnCode: 0 });
    const closed = c.closed();
    c.socket.send("c000", { binary: false });
    expect(await closed).toBe(1003);
  });
});
