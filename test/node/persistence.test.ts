import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { brokerSetStore } from "../../src/broker/broker";
import { SqliteStore } from "../../targets/node/persistence/sqliteStore";
import { harness, pkt } from "../broker/harness";

// The SQLite store under the real broker core with an in-memory transport: a broker is
// "crashed" by dropping it without closing anything, and a new one restores from the file.
// What survives a crash and how a restored broker behaves is the Store contract's
// (test/store/contract.ts, run on this store by test/store/sqlite.test.ts); here: the rows
// themselves, relaxed mode and damaged files.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), "midge-store-"));
  dirs.push(dir);
  return join(dir, "midge.db");
}

const log = { log: () => {} };

function start(path: string, mode: "durable" | "relaxed" = "durable") {
  const h = harness();
  const store = SqliteStore.open({ path, mode, intervalMs: 60000, log });
  const report = store.load(h.broker);
  brokerSetStore(h.broker, store);
  return { h, store, report };
}

describe("SQLite store (durable mode)", () => {
  test("acknowledged messages are removed from the store; clean sessions are never stored", () => {
    const path = tempDb();
    const { h, store } = start(path);
    const sub = h.open();
    h.send(sub, pkt.connect("sub", { clean: false }) + pkt.subscribe(1, [["t", 1]]));
    const clean = h.open();
    h.send(clean, pkt.connect("clean") + pkt.subscribe(1, [["t", 1]]));
    const pub = h.open();
    h.send(pub, pkt.connect("pub") + pkt.publish("t", "x", { qos: 1, id: 1 }));
    const count = (table: string) => (store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect(count("messages")).toBe(1);
    expect(count("sessions")).toBe(1);
    h.send(sub, pkt.ack("puback", 1));
    expect(count("messages")).toBe(0);
    h.send(sub, pkt.unsubscribe(2, ["t"]));
    expect(count("subscriptions")).toBe(0);
    h.send(sub, pkt.disconnect);
    const again = h.open();
    h.send(again, pkt.connect("sub", { clean: true })); // MQTT-3.1.2-6: discards the stored session
    expect(count("sessions")).toBe(0);
  });
});

describe("SQLite store (relaxed mode)", () => {
  test("changes reach the file on the timer (flush), not on every broker call", () => {
    const path = tempDb();
    const { h, store } = start(path, "relaxed");
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("a", "1", { retain: true }));
    {
      const { report } = start(path); // another reader sees nothing committed yet
      expect(report.retained).toBe(0);
    }
    store.flush();
    const { report } = start(path);
    expect(report.retained).toBe(1);
  });
});

describe("damaged store", () => {
  test("a file that is not a database is reported, moved aside, and the broker starts", () => {
    const path = tempDb();
    writeFileSync(path, Buffer.alloc(8192, 0x41));
    const lines: string[] = [];
    const store = SqliteStore.open({ path, mode: "durable", intervalMs: 1000, log: { log: (_l: number, m: string) => lines.push(m) } });
    expect(lines.join("\n")).toMatch(/is damaged .* moved to .*corrupt-/);
    const h = harness();
    expect(store.load(h.broker).skipped).toBe(0);
    store.close();
  });

  test("a truncated store keeps the records before the damage", () => {
    const path = tempDb();
    {
      const { h, store } = start(path);
      const p = h.open();
      let bytes = "";
      for (let i = 0; i < 300; i++) bytes += pkt.publish("t/" + i, "payload-" + "x".repeat(200), { retain: true });
      h.send(p, pkt.connect("p") + bytes);
      store.close(); // checkpoint into the main file
    }
    const { truncateSync, statSync } = require("node:fs") as typeof import("node:fs");
    truncateSync(path, Math.floor(statSync(path).size * 0.6));
    const lines: string[] = [];
    const store = SqliteStore.open({ path, mode: "durable", intervalMs: 1000, log: { log: (_l: number, m: string) => lines.push(m) } });
    const h = harness();
    const report = store.load(h.broker);
    expect(lines.join("\n")).toMatch(/damaged/);
    expect(report.retained).toBeGreaterThan(0);
    expect(report.retained).toBeLessThan(300);
  });

  test("a write-ahead log cut off mid-write (a crash) keeps every transaction before the cut", () => {
    const path = tempDb();
    const { h } = start(path);
    const p = h.open();
    h.send(p, pkt.connect("p"));
    for (let i = 0; i < 50; i++) h.send(p, pkt.publish("t/" + i, "v".repeat(100), { retain: true })); // 50 commits
    const { copyFileSync, statSync, truncateSync } = require("node:fs") as typeof import("node:fs");
    const crashed = tempDb();
    copyFileSync(path, crashed);
    copyFileSync(path + "-wal", crashed + "-wal");
    truncateSync(crashed + "-wal", Math.floor(statSync(crashed + "-wal").size * 0.5) + 100);
    const store = SqliteStore.open({ path: crashed, mode: "durable", intervalMs: 1000, log });
    const report = store.load(harness().broker);
    expect(report.retained).toBeGreaterThan(10);
    expect(report.retained).toBeLessThan(50);
    store.close();
  });
});
