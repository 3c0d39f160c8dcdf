/** The Store contract (contract.ts) against the Node SQLite store in durable mode. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brokerSetStore } from "../../src/broker/broker";
import { SqliteStore } from "../../targets/node/persistence/sqliteStore";
import { harness } from "../broker/harness";
import { type RawRecords, type StoreUnderTest, storeContract } from "./contract";

function sqliteStore(): StoreUnderTest {
  const dir = mkdtempSync(join(tmpdir(), "midge-contract-"));
  const path = join(dir, "midge.db");
  const open: SqliteStore[] = [];
  const quiet = { log: () => {} };
  return {
    start(limits) {
      const h = harness(limits);
      const store = SqliteStore.open({ path, mode: "durable", intervalMs: 60000, log: { log: (_l: number, m: string) => h.logs.push(m) } });
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
