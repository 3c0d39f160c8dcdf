/**
 * Smoke test of the benchmark harness (bench/): its codec frames packets split anywhere, and
 * one short scenario against Midge's Node target counts every message (behaviour, not speed).
 * Needs dist/node/midge.js (npm test builds it first).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  PUBLISH,
  PacketReader,
  encodeAck,
  encodeConnect,
  encodeSubscribe,
  publishTemplate,
  skipProperties,
  PUBACK,
} from "../../bench/lib/mqtt.mjs";
import { runOne, scenarios, supports } from "../../bench/lib/harness.mjs";
import { REPO_ROOT } from "../e2e/targets";

describe("bench codec", () => {
  it("frames packets however the stream is split", () => {
    const a = publishTemplate("bench/a", 40, 0).bytes;
    const big = publishTemplate("bench/" + "x".repeat(200), 300, 1).bytes; // 2-byte remaining length
    const ack = encodeAck(PUBACK, 7);
    const stream = Buffer.concat([a, big, ack, a]);
    for (let cut = 1; cut < stream.length; cut++) {
      const seen: number[] = [];
      const r = new PacketReader((type, _flags, _buf, start, end) => seen.push(type, end - start));
      r.push(stream.subarray(0, cut));
      r.push(stream.subarray(cut));
      expect(seen).toEqual([PUBLISH, a.length - 2, PUBLISH, big.length - 3, PUBACK, 2, PUBLISH, a.length - 2]);
    }
  });

  it("MQTT 5.0: CONNECT level 5, SUBSCRIBE options, PUBLISH property block skipped to the payload", () => {
    const c = encodeConnect("c", { version: 5, keepAlive: 60 });
    expect([...c]).toEqual([0x10, 14, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 2, 0, 60, 0, 0, 1, 0x63]);
    expect([...encodeSubscribe(1, ["a"], 1, { version: 5, options: 4 })]).toEqual([0x82, 7, 0, 1, 0, 0, 1, 0x61, 5]);
    for (const qos of [0, 1]) {
      const t = publishTemplate("bench/t", 32, qos, false, { version: 5 });
      const seen: number[] = [];
      new PacketReader((_type, _flags, buf, start, end) => {
        const at = start + 2 + buf.readUInt16BE(start) + (qos > 0 ? 2 : 0);
        const props = buf.subarray(at + 1, at + 1 + buf[at]).toString("latin1");
        expect(props).toContain("text/plain");
        expect(props).toContain("source");
        seen.push(skipProperties(buf, at, end), end);
      }).push(t.bytes);
      // The whole packet in one chunk: positions are in t.bytes; the payload ends the packet.
      expect(seen).toEqual([t.payloadAt, t.bytes.length]);
      expect(t.payloadAt + t.payloadSize).toBe(t.bytes.length);
    }
    // A property block running past the packet's end is malformed.
    expect(skipProperties(Buffer.from([5, 1, 2]), 0, 3)).toBe(-1);
  });
});

describe("bench harness against Midge (Node target)", () => {
  const bin = join(REPO_ROOT, "dist", "node", "midge.js");
  const opts = { runTimeoutMs: 15000 };

  it.runIf(existsSync(bin))("QoS 0 fan-in: every message sent is counted once at the subscriber", { timeout: 20000 }, async () => {
    const scn = scenarios(true).fanin;
    scn.params.warmupMs = 200;
    scn.params.durationMs = 500;
    const r = await runOne(scn, "midge", opts);
    const res = r.results[0] as { expected: number; delivered: number; lost: number; drained: boolean; rate: number };
    expect(res.expected).toBeGreaterThan(1000);
    expect(res.delivered).toBe(res.expected);
    expect(res.lost).toBe(0);
    expect(res.drained).toBe(true);
    expect(r.metrics.rate).toBeGreaterThan(0);
    expect(r.cpu).not.toBeNull();
  });

  it.runIf(existsSync(bin))("QoS 1 streams: every message delivered and acknowledged, latencies recorded", { timeout: 20000 }, async () => {
    const scn = scenarios(true).qos1;
    scn.params.warmupMs = 200;
    scn.params.durationMs = 500;
    const r = await runOne(scn, "midge", opts);
    const res = r.results[0] as { expected: number; delivered: number; lost: number; unacked: number };
    expect(res.expected).toBeGreaterThan(100);
    expect(res.delivered).toBe(res.expected);
    expect(res.lost).toBe(0);
    expect(res.unacked).toBe(0);
    expect(r.metrics.p50).toBeGreaterThan(0);
    expect(r.metrics.p99).toBeGreaterThanOrEqual(r.metrics.p50);
  });

  it.runIf(existsSync(bin))("MQTT 5.0 fan-in and QoS 1 (fanin5, qos15): nothing lost or refused; aedes does not run them", { timeout: 20000 }, async () => {
    for (const name of ["fanin5", "qos15"]) {
      const scn = scenarios(true)[name];
      expect(supports(scn, "midge")).toBe(true);
      expect(supports(scn, "mosquitto")).toBe(true);
      expect(supports(scn, "aedes")).toBe(false);
      scn.params.warmupMs = 100;
      scn.params.durationMs = 300;
      const r = await runOne(scn, "midge", opts);
      const res = r.results[0] as { expected: number; delivered: number; lost: number; rejected: number; malformed: number; unacked?: number };
      expect(res.expected).toBeGreaterThan(100);
      expect(res.delivered).toBe(res.expected);
      expect(res.lost).toBe(0);
      expect(res.rejected).toBe(0);
      expect(res.malformed).toBe(0);
      if (name === "qos15") expect(res.unacked).toBe(0);
      expect(r.warning).toBeNull();
      expect(r.cpu).not.toBeNull();
    }
  });

  it.runIf(existsSync(bin))("idle connections in two steps, for Midge and the Node floor: memory per connection and per one more", { timeout: 30000 }, async () => {
    for (const broker of ["midge", "node-floor"]) {
      const scn = scenarios(true).idle;
      Object.assign(scn.params, { connections: 40, more: 30, warm: 5, settleMs: 100 });
      const r = await runOne(scn, broker, opts);
      const res = r.results[0] as { connections: number; more: number };
      expect([res.connections, res.more]).toEqual([40, 30]);
      // Each step added connections, so the broker's JS heap grew in each (a forced GC precedes each reading).
      expect(r.metrics.heapPerConn).toBeGreaterThan(0);
      expect(r.metrics.heapPerMore).toBeGreaterThan(0);
      expect(Number.isFinite(r.metrics.rssPerConn)).toBe(true);
      expect(Number.isFinite(r.metrics.rssPerMore)).toBe(true);
    }
  });
});
