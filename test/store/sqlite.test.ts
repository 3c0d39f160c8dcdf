/** The Store contract (contract.ts) against the Node SQLite store in durable mode. */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brokerSetStore } from "../../src/broker/broker";
import { SqliteStore } from "../../targets/node/persistence/sqliteStore";
import { type Harness, harness } from "../broker/harness";
import { describe, expect, test } from "vitest";
import { p5, take5 } from "../broker-v5/harness5";
import { dump5, type RawRecords, type StoreUnderTest, storeContract } from "./contract";

function sqliteStore(): StoreUnderTest {
  const dir = mkdtempSync(join(tmpdir(), "midge-contract-"));
  const path = join(dir, "midge.db");
  const open: SqliteStore[] = [];
  const quiet = { log: () => {} };
  // A wall clock that runs with the current broker's manual clock, and jumps by the downtime
  // between two brokers.
  let current: Harness | undefined;
  let wallBase = Date.now();
  const wallClock = () => wallBase + (current === undefined ? 0 : current.now.ms);
  return {
    start(limits, downtimeMs) {
      const h = harness(limits);
      const wallNow = wallClock();
      wallBase = wallNow + (downtimeMs ?? 0) - h.now.ms;
      current = h;
      const store = SqliteStore.open({ path, mode: "durable", intervalMs: 60000, log: { log: (_l: number, m: string) => h.logs.push(m) }, wallClock });
      store.load(h.broker);
      brokerSetStore(h.broker, store);
      open.push(store); // left open: a restart here is a crash of the broker before it
      return h;
    },
    settle() {
      // Durable mode commits at the end of every broker call: nothing is left to do.
    },
    write(records: RawRecords) {
      const store = SqliteStore.open({ path, mode: "durable", intervalMs: 60000, log: quiet });
      const db = store.db;
      for (const table of ["retained", "sessions", "subscriptions", "messages", "inbound"]) db.exec(`DELETE FROM ${table}`);
      for (const r of records.retained) db.prepare("INSERT INTO retained (topic, payload, qos) VALUES (?, ?, ?)").run(r.topic, Buffer.from(r.payload), r.qos);
      for (const s of records.sessions) {
        db.prepare("INSERT INTO sessions (client_id) VALUES (?)").run(s.clientId);
        for (const [filter, qos] of s.subscriptions) db.prepare("INSERT INTO subscriptions (client_id, filter, qos) VALUES (?, ?, ?)").run(s.clientId, filter, qos);
        s.messages.forEach((m, i) => {
          db.prepare("INSERT INTO messages (client_id, seq, topic, payload, qos, retain, packet_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run(s.clientId, i + 1, m.topic, m.state === 2 ? null : Buffer.from(m.payload), m.qos, m.retain ? 1 : 0, m.packetId, m.state);
        });
        for (const id of s.inbound) db.prepare("INSERT INTO inbound (client_id, packet_id) VALUES (?, ?)").run(s.clientId, id);
      }
      store.close();
    },
    close() {
      for (const store of open.splice(0)) {
        if (store.db.open) store.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

storeContract("SQLite (durable)", sqliteStore);

describe("SQLite schema migration", () => {
  // The schema the first store wrote (version 0, MQTT 3.1.1 state only), as it was.
  const V0 = `
CREATE TABLE retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL);
CREATE TABLE sessions (client_id TEXT PRIMARY KEY);
CREATE TABLE subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL, PRIMARY KEY (client_id, filter));
CREATE TABLE messages (client_id TEXT NOT NULL, seq INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB, qos INTEGER NOT NULL, retain INTEGER NOT NULL, packet_id INTEGER NOT NULL, state INTEGER NOT NULL, PRIMARY KEY (client_id, seq));
CREATE TABLE inbound (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id));
`;

  test("[MQTT-3.1.2-23] a store written by the previous version opens, migrates to version 1 and restores; its sessions never expire; new MQTT 5.0 state is kept from then on", () => {
    const dir = mkdtempSync(join(tmpdir(), "midge-migrate-"));
    const path = join(dir, "midge.db");
    try {
      const old = new Database(path);
      old.pragma("journal_mode = WAL");
      old.exec(V0);
      old.prepare("INSERT INTO retained VALUES (?, ?, ?)").run("r/1", Buffer.from("kept"), 1);
      old.prepare("INSERT INTO sessions VALUES (?)").run("old");
      old.prepare("INSERT INTO subscriptions VALUES (?, ?, ?)").run("old", "t/#", 1);
      old.prepare("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run("old", 1, "t/1", Buffer.from("queued"), 1, 0, 0, 0);
      old.prepare("INSERT INTO inbound VALUES (?, ?)").run("old", 9);
      expect(old.pragma("user_version", { simple: true })).toBe(0);
      old.close();

      const h = harness();
      const lines: string[] = [];
      const store = SqliteStore.open({ path, mode: "durable", intervalMs: 60000, log: { log: (_l: number, m: string) => lines.push(m) } });
      expect(store.db.pragma("user_version", { simple: true })).toBe(1);
      const columns = (table: string) => (store.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
      expect(columns("sessions")).toEqual(["client_id", "expiry", "expires_at", "will_at", "will_topic", "will_payload", "will_qos", "will_retain", "will_props", "will_expires_at"]);
      expect(columns("subscriptions")).toEqual(["client_id", "filter", "qos", "flags", "sub_id"]);
      expect(columns("messages").slice(-3)).toEqual(["props", "expires_at", "sub_ids"]);
      expect(columns("retained").slice(-2)).toEqual(["props", "expires_at"]);
      expect(store.load(h.broker)).toEqual({ retained: 1, sessions: 1, subscriptions: 1, messages: 1, inbound: 1, skipped: 0 });
      expect(lines).toEqual([]);
      brokerSetStore(h.broker, store);
      const d5 = dump5(h.broker);
      expect(d5.sessions).toEqual([{ clientId: "old", expiry: 4294967295, expiresIn: -1, will: null, subscriptions: [["t/#", 0, 0]], messages: [["t/1", Buffer.from("queued").toString("hex"), "", -1, []]] }]);
      // The old session, resumed by an MQTT 5.0 client with an expiry, keeps it across the next restart.
      const c = h.open();
      h.send(c, p5.connect("old", { clean: false, props: { sessionExpiryInterval: 120 } }));
      const got = take5(h, c);
      expect(got[0]).toMatchObject({ type: 2, sessionPresent: true });
      expect(got[1]).toMatchObject({ type: 3, topic: "t/1", qos: 1 });
      h.peerClose(c);
      store.close();
      const h2 = harness();
      const again = SqliteStore.open({ path, mode: "durable", intervalMs: 60000, log: { log: () => {} } });
      again.load(h2.broker);
      expect(h2.broker.sessions[0].expiry).toBe(120);
      expect(h2.broker.sessions[0].expiresAt).toBeGreaterThan(h2.now.ms + 110000);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
