import { afterEach, describe, expect, test } from "vitest";
import { brokerStats } from "../../src/broker/broker";
import { DEFAULT_LIMITS, Limits, mergeLimits } from "../../src/limits";
import { Log } from "../../src/platform";
import { listenerConfig } from "../../targets/node/config";
import { RunningServer, startServer } from "../../targets/node/server";
import { RawClient, WAIT_MS, connackHex, pk, sleep, waitUntil } from "../e2e/helpers";

// The TCP transport with the real broker, in-process: pipelined and split packets,
// flush-then-close, refusal when the connection table is full, slot reuse, shutdown.

const lines: string[] = [];
const log: Log = { log: (_level, message) => lines.push(message) };

let server: RunningServer | null = null;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients) c.destroy();
  clients.length = 0;
  if (server !== null) await server.stop();
  server = null;
  lines.length = 0;
});

async function start(overrides: Partial<Limits> = {}): Promise<number> {
  server = await startServer(mergeLimits(DEFAULT_LIMITS, overrides), [listenerConfig(0, "127.0.0.1")], log);
  return server.address.port;
}

async function open(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  clients.push(c);
  return c;
}

describe("TcpTransport", () => {
  test("several packets in one chunk are all answered, in order", async () => {
    const c = await open(await start());
    c.send(Buffer.concat([pk.connect({ clientId: "a1" }), pk.pingreq(), pk.pingreq()]));
    await c.expectPacket(connackHex(false, 0));
    await c.expectPacket("d0 00");
    await c.expectPacket("d0 00");
  });

  test("a packet split across chunks is reassembled", async () => {
    const c = await open(await start());
    const bytes = pk.connect({ clientId: "a2" });
    c.send(bytes.subarray(0, 5));
    await sleep(20); // the split is the input under test: the second half in a later read
    c.send(bytes.subarray(5));
    await c.expectPacket(connackHex(false, 0));
  });

  test("close(conn) sends what was written first: CONNACK 1, then the close", async () => {
    const c = await open(await start());
    c.send(pk.connect({ clientId: "a3", protocolLevel: 6 }));
    await c.expectPacket(connackHex(false, 1));
    await c.expectClosed();
  });

  test("a full connection table closes the new socket; a freed slot is reused", async () => {
    const port = await start({ maxConnections: 1 });
    const a = await open(port);
    await a.handshake({ clientId: "a4" });

    const b = await open(port);
    await b.expectClosedWithoutReply();
    expect(lines.some((l) => l.includes("max_connections"))).toBe(true);

    a.send(pk.disconnect());
    await a.expectClosed();
    const c = await open(port);
    await c.handshake({ clientId: "a5" });
  });

  test("a peer that goes away is reported to the broker once", async () => {
    const c = await open(await start());
    await c.handshake({ clientId: "a6" });
    expect(brokerStats(server!.broker).connections).toBe(1);
    c.destroy();
    await waitUntil(() => brokerStats(server!.broker).connections === 0, WAIT_MS, "the broker to see the close");
    await waitUntil(() => server!.transport.openCount() === 0, WAIT_MS, "the transport to forget the socket");
    expect(lines.filter((l) => l.startsWith("Client a6 disconnected")).length).toBe(1);
  });

  test("stop() closes every connection and resolves", async () => {
    const c = await open(await start());
    await c.handshake({ clientId: "a7" });
    await server!.stop();
    await c.expectClosed();
    expect(server!.transport.openCount()).toBe(0);
  });
});
