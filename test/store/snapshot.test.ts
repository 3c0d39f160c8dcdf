/**
 * The Store contract (contract.ts) against the Espruino whole-state snapshot
 * (src/broker/snapshot.ts), kept in memory as targets/espruino/main.ts keeps it in Storage:
 * saved when b.changes moved since the last save, restored at start.
 */
import { SnapshotResult, snapshotRestore, snapshotWrite } from "../../src/broker/snapshot";
import type { Broker } from "../../src/broker/broker";
import type { Bytes } from "../../src/bytes/bytes";
import { afterEach, describe, expect, test } from "vitest";
import { allFeatures } from "../../src/features";
import { installFeatures } from "../../targets/node/features";
import { type Harness, harness, pkt } from "../broker/harness";
import { p5 } from "../broker-v5/harness5";
import { dump, type RawRecords, type StoreUnderTest, storeContract } from "./contract";

function take(b: Broker): Uint8Array {
  const parts: Uint8Array[] = [];
  snapshotWrite(b, { put: (d: Bytes) => parts.push(new Uint8Array(d as unknown as Uint8Array)) });
  return new Uint8Array(Buffer.concat(parts));
}

// The snapshot format, written here from its description in snapshot.ts: "MS", version 1,
// records (tag and fields; numbers big-endian; strings with a 2-byte length, payloads a
// 4-byte one), tag 0 at the end.
function u16(n: number): number[] {
  return [Math.floor(n / 256) % 256, n % 256];
}
function str(s: string): number[] {
  const b = [...Buffer.from(s)];
  return [...u16(b.length), ...b];
}
function payload(s: string): number[] {
  const b = [...Buffer.from(s)];
  return [...u16(Math.floor(b.length / 65536)), ...u16(b.length % 65536), ...b];
}
function encode(records: RawRecords): Uint8Array {
  const out = [0x4d, 0x53, 1];
  for (const r of records.retained) out.push(1, r.qos, ...str(r.topic), ...payload(r.payload));
  for (const s of records.sessions) {
    out.push(2, ...u16(1), ...str(s.clientId));
    for (const [filter, qos] of s.subscriptions) out.push(3, qos, ...str(filter));
    for (const m of s.messages) {
      if (m.state === 0) out.push(5, m.qos, m.retain ? 1 : 0, ...str(m.topic), ...payload(m.payload));
      else out.push(4, m.state, m.qos, m.retain ? 1 : 0, ...u16(m.packetId), ...str(m.topic), ...payload(m.payload));
    }
    for (const id of s.inbound) out.push(6, ...u16(id));
  }
  out.push(0);
  return new Uint8Array(out);
}

function snapshotStore(): StoreUnderTest {
  let saved: Uint8Array | undefined;
  let current: Harness | undefined;
  let savedChanges = 0;
  return {
    start(limits, downtimeMs) {
      const h = harness(limits);
      // A clock that goes on (a wall clock): the time down counts. Otherwise it begins again.
      if (downtimeMs !== undefined && current !== undefined) h.now.ms = current.now.ms + downtimeMs;
      if (saved !== undefined) {
        const result = snapshotRestore(h.broker, saved as unknown as Bytes);
        if (result !== SnapshotResult.OK) h.logs.push("snapshot damaged (" + result + ")");
      }
      current = h;
      savedChanges = h.broker.changes;
      return h;
    },
    settle() {
      if (current !== undefined && current.broker.changes !== savedChanges) {
        saved = take(current.broker);
        savedChanges = current.broker.changes;
      }
    },
    write(records) {
      saved = encode(records);
    },
    close() {
      saved = undefined;
      current = undefined;
    },
  };
}

storeContract("Espruino snapshot", snapshotStore);

describe("snapshot and builds without MQTT 5.0", () => {
  afterEach(() => installFeatures(allFeatures()));

  function without5(): void {
    const f = allFeatures();
    f.mqtt5 = false;
    installFeatures(f);
  }

  test("3.1.1 state is written without MQTT 5.0 records: a build without MQTT 5.0 restores it", () => {
    const a = harness();
    const p = a.open();
    a.send(p, pkt.connect("p", { clean: false }) + pkt.subscribe(1, [["t/#", 1]]));
    a.peerClose(p);
    const pub = a.open();
    a.send(pub, pkt.connect("pub") + pkt.publish("t/1", "x", { qos: 1, id: 1, retain: true }));
    const snap = take(a.broker);
    without5();
    const b = harness();
    expect(snapshotRestore(b.broker, snap as unknown as Bytes)).toBe(SnapshotResult.OK);
    expect(dump(b.broker)).toEqual(dump(a.broker));
  });

  test("MQTT 5.0 state makes a snapshot a build without MQTT 5.0 refuses whole (BAD_RECORD), never half-reads", () => {
    const a = harness();
    const p = a.open();
    a.send(p, p5.connect("p", { clean: false, props: { sessionExpiryInterval: 60 } }));
    const snap = take(a.broker);
    without5();
    const b = harness();
    expect(snapshotRestore(b.broker, snap as unknown as Bytes)).toBe(SnapshotResult.BAD_RECORD);
    expect(b.broker.stats.sessions).toBe(0);
  });

  test("a snapshot cut inside an MQTT 5.0 record is TRUNCATED and restores nothing", () => {
    const a = harness();
    const p = a.open();
    a.send(p, p5.connect("p", { clean: false, props: { sessionExpiryInterval: 60 } }) + p5.subscribe(1, [["t", 1]], { subscriptionIds: [3] }));
    a.peerClose(p);
    const pub = a.open();
    a.send(pub, p5.connect("pub") + p5.publish("t", "x", { qos: 1, id: 1, props: { contentType: "c", messageExpiryInterval: 9 } }));
    const snap = take(a.broker);
    let truncated = 0;
    for (let n = 3; n < snap.length - 1; n++) {
      const b = harness();
      const r = snapshotRestore(b.broker, snap.subarray(0, n) as unknown as Bytes);
      expect(r).not.toBe(SnapshotResult.OK);
      if (r === SnapshotResult.TRUNCATED) truncated++;
      expect(b.broker.stats.sessions).toBe(0);
    }
    expect(truncated).toBeGreaterThan(0);
  });
});
