/**
 * The Store contract (contract.ts) against the Espruino whole-state snapshot
 * (src/broker/snapshot.ts), kept in memory as targets/espruino/main.ts keeps it in Storage:
 * saved when b.changes moved since the last save, restored at start.
 */
import { SnapshotResult, snapshotRestore, snapshotWrite } from "../../src/broker/snapshot";
import type { Broker } from "../../src/broker/broker";
import type { Bytes } from "../../src/bytes/bytes";
import { type Harness, harness } from "../broker/harness";
import { type RawRecords, type StoreUnderTest, storeContract } from "./contract";

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
    start(limits) {
      const h = harness(limits);
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
