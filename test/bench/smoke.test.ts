/**
 * Smoke test of the benchmark harness (bench/): its codec frames packets split anywhere, and
 * one short scenario against Midge's Node target counts every message (behaviour, not speed).
 * Needs dist/node/midge.js (npm test builds it first).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PUBLISH, PacketReader, encodeAck, publishTemplate, PUBACK } from "../../bench/lib/mqtt.mjs";
import { runOne, scenarios } from "../../bench/lib/harness.mjs";
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
});
