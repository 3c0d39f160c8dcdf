/**
 * The snapshot format of src/broker/snapshot.ts: its header and size, a byte-identical
 * rewrite after restoring, damaged snapshots restore nothing. What a restored broker keeps and
 * does, limits and invalid records are the Store contract's (test/store/contract.ts, run on the
 * snapshot by test/store/snapshot.test.ts).
 */
import { describe, expect, test } from "vitest";
import { SnapshotResult, snapshotRestore, snapshotSize, snapshotWrite } from "../../src/broker/snapshot";
import type { Bytes } from "../../src/bytes/bytes";
import { harness, pkt } from "../broker/harness";

function take(h: ReturnType<typeof harness>): Uint8Array {
  const parts: Uint8Array[] = [];
  snapshotWrite(h.broker, { put: (d: Bytes) => parts.push(new Uint8Array(d as unknown as Uint8Array)) });
  return new Uint8Array(Buffer.concat(parts));
}

/** A broker with: 2 retained messages, a persistent session "p" with 2 subscriptions, one QoS 1 message in flight, one queued, one inbound QoS 2 id; a clean session "c". */
function populated() {
  const h = harness({ maxInflight: 1 });
  const p = h.open();
  h.send(p, pkt.connect("p", { clean: false }));
  h.send(p, pkt.subscribe(1, [["a/#", 1], ["b/+", 2]]));
  h.send(p, pkt.publish("x/in", "q2", { qos: 2, id: 77 })); // inbound QoS 2, no PUBREL
  const c = h.open();
  h.send(c, pkt.connect("c"));
  h.send(c, pkt.subscribe(1, [["#", 0]]));
  const pub = h.open();
  h.send(pub, pkt.connect("pub"));
  h.send(pub, pkt.publish("r/1", "retained one", { retain: true, qos: 1, id: 1 }));
  h.send(pub, pkt.publish("r/2", "retained two", { retain: true }));
  h.send(pub, pkt.publish("a/1", "first", { qos: 1, id: 2 })); // in flight to p (not acked)
  h.send(pub, pkt.publish("a/2", "second", { qos: 1, id: 3 })); // queued behind it
  h.take(p);
  return h;
}

describe("snapshot", () => {
  test("a snapshot written again after restoring is the same", () => {
    const h = populated();
    const snap = take(h);
    expect(snap.length).toBe(snapshotSize(h.broker));
    expect([...snap.subarray(0, 3)]).toEqual([0x4d, 0x53, 1]);
    const h2 = harness({ maxInflight: 1 });
    expect(snapshotRestore(h2.broker, snap as unknown as Bytes)).toBe(SnapshotResult.OK);
    expect(h2.broker.stats.sessions).toBe(1);
    expect(Buffer.from(take(h2)).equals(Buffer.from(snap))).toBe(true);
  });

  test("an empty broker writes a four-byte snapshot", () => {
    const h = harness();
    expect([...take(h)]).toEqual([0x4d, 0x53, 1, 0]);
  });

  test("damaged snapshots restore nothing", () => {
    const snap = take(populated());
    const cases: Array<[string, Uint8Array, number]> = [
      ["bad magic", new Uint8Array([0x4d, 0x54, 1, 0]), SnapshotResult.BAD_HEADER],
      ["other version", new Uint8Array([0x4d, 0x53, 2, 0]), SnapshotResult.BAD_HEADER],
      ["cut short (power lost while writing)", snap.subarray(0, snap.length - 9), SnapshotResult.TRUNCATED],
      ["no end record", snap.subarray(0, snap.length - 1), SnapshotResult.TRUNCATED],
      ["unknown record", new Uint8Array([0x4d, 0x53, 1, 0x7f, 0]), SnapshotResult.BAD_RECORD],
      ["bytes after the end", new Uint8Array([...snap, 0]), SnapshotResult.BAD_RECORD],
      ["erased flash", new Uint8Array(64).fill(0xff), SnapshotResult.BAD_HEADER],
    ];
    for (const [what, data, code] of cases) {
      const h = harness();
      expect(snapshotRestore(h.broker, data as unknown as Bytes), what).toBe(code);
      expect(h.broker.retainedCount, what).toBe(0);
      expect(h.broker.stats.sessions, what).toBe(0);
    }
  });
});
