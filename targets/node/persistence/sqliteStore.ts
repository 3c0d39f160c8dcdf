import Database from "better-sqlite3";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Bytes } from "../../../src/bytes/bytes";
import { Broker } from "../../../src/broker/broker";
import { restoreInboundId, restoreMessage, restoreRetained, restoreSession, restoreSubscription, storedMessage } from "../../../src/broker/restore";
import { Log, LogLevel, Store } from "../../../src/platform";

/**
 * Durable broker state in SQLite (better-sqlite3: synchronous, so it fits the core's
 * synchronous Store calls; transactions group a whole broker call).
 *
 * Modes:
 *  - durable: WAL with synchronous=FULL, one transaction per broker call (a read of one or
 *    more packets): committed before any acknowledgement leaves, and fsynced. Nothing Midge
 *    acknowledged is lost by a crash or a power cut.
 *  - relaxed: WAL with synchronous=NORMAL, a transaction left open and committed every
 *    intervalMs. A crash loses at most the last intervalMs of changes.
 */
export interface SqliteStoreOptions {
  path: string;
  mode: "durable" | "relaxed";
  intervalMs: number;
  log: Log;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL, PRIMARY KEY (client_id, filter));
CREATE TABLE IF NOT EXISTS messages (client_id TEXT NOT NULL, seq INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB, qos INTEGER NOT NULL, retain INTEGER NOT NULL, packet_id INTEGER NOT NULL, state INTEGER NOT NULL, PRIMARY KEY (client_id, seq));
CREATE TABLE IF NOT EXISTS inbound (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id));
`;

function blob(b: Bytes): Buffer {
  const u8 = b as unknown as Uint8Array;
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

export interface LoadReport {
  retained: number;
  sessions: number;
  subscriptions: number;
  messages: number;
  inbound: number;
  /** Records that were unreadable or did not fit the limits. */
  skipped: number;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly mode: "durable" | "relaxed";
  private readonly log: Log;
  private inTransaction = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly st: Record<string, Database.Statement>;

  private constructor(db: Database.Database, options: SqliteStoreOptions) {
    this.db = db;
    this.mode = options.mode;
    this.log = options.log;
    db.pragma("journal_mode = WAL");
    db.pragma(options.mode === "durable" ? "synchronous = FULL" : "synchronous = NORMAL");
    db.exec(SCHEMA);
    const p = (sql: string): Database.Statement => db.prepare(sql);
    this.st = {
      begin: p("BEGIN"),
      commit: p("COMMIT"),
      retainedSet: p("INSERT OR REPLACE INTO retained (topic, payload, qos) VALUES (?, ?, ?)"),
      retainedDelete: p("DELETE FROM retained WHERE topic = ?"),
      sessionSet: p("INSERT OR IGNORE INTO sessions (client_id) VALUES (?)"),
      sessionDelete: p("DELETE FROM sessions WHERE client_id = ?"),
      sessionDeleteSubs: p("DELETE FROM subscriptions WHERE client_id = ?"),
      sessionDeleteMessages: p("DELETE FROM messages WHERE client_id = ?"),
      sessionDeleteInbound: p("DELETE FROM inbound WHERE client_id = ?"),
      subscriptionSet: p("INSERT OR REPLACE INTO subscriptions (client_id, filter, qos) VALUES (?, ?, ?)"),
      subscriptionDelete: p("DELETE FROM subscriptions WHERE client_id = ? AND filter = ?"),
      messageAdd: p("INSERT OR REPLACE INTO messages (client_id, seq, topic, payload, qos, retain, packet_id, state) VALUES (?, ?, ?, ?, ?, ?, 0, 0)"),
      messageSent: p("UPDATE messages SET packet_id = ?, state = 1 WHERE client_id = ? AND seq = ?"),
      messageReleased: p("UPDATE messages SET payload = NULL, state = 2 WHERE client_id = ? AND seq = ?"),
      messageDelete: p("DELETE FROM messages WHERE client_id = ? AND seq = ?"),
      inboundAdd: p("INSERT OR IGNORE INTO inbound (client_id, packet_id) VALUES (?, ?)"),
      inboundDelete: p("DELETE FROM inbound WHERE client_id = ? AND packet_id = ?"),
    };
    if (options.mode === "relaxed") {
      this.timer = setInterval(() => this.flush(), options.intervalMs);
      this.timer.unref();
    }
  }

  /**
   * Opens (or creates) the store. A file SQLite cannot read is moved aside as
   * <path>.corrupt-<time> and what can still be read from it is copied into a fresh store;
   * both steps are logged. A torn write at the end (a crash) is rolled back by SQLite itself.
   */
  static open(options: SqliteStoreOptions): SqliteStore {
    try {
      const db = new Database(options.path);
      const check = db.pragma("quick_check", { simple: true });
      if (check !== "ok") throw new Error(`integrity check: ${String(check)}`);
      return new SqliteStore(db, options);
    } catch (e) {
      if (!existsSync(options.path)) throw e;
      const aside = `${options.path}.corrupt-${Date.now()}`;
      options.log.log(LogLevel.ERROR, `Error: persistence file ${options.path} is damaged (${(e as Error).message}); moved to ${aside}, recovering what can be read.`);
      renameSync(options.path, aside);
      for (const ext of ["-wal", "-shm"]) if (existsSync(options.path + ext)) renameSync(options.path + ext, aside + ext);
      const store = new SqliteStore(new Database(options.path), options);
      const copied = store.salvage(aside);
      options.log.log(LogLevel.WARNING, `Recovered ${copied} records from ${aside}.`);
      return store;
    }
  }

  /** Copies every readable row of a damaged file into this store; returns how many. */
  private salvage(damaged: string): number {
    let copied = 0;
    let old: Database.Database;
    const copy = damaged + ".salvage";
    try {
      // A file cut short still claims its old page count, which makes SQLite refuse every
      // read: a copy with the page count the file really has can be read up to the cut.
      const bytes = readFileSync(damaged);
      if (bytes.length >= 100) {
        const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
        const pages = Math.floor(bytes.length / pageSize);
        if (pageSize >= 512 && bytes.readUInt32BE(28) > pages) bytes.writeUInt32BE(pages, 28);
      }
      writeFileSync(copy, bytes);
      old = new Database(copy, { readonly: true, fileMustExist: true });
    } catch {
      return 0;
    }
    const tables = ["retained", "sessions", "subscriptions", "messages", "inbound"];
    for (const table of tables) {
      let rowid = 0;
      let next: Database.Statement;
      try {
        next = old.prepare(`SELECT rowid AS r, * FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT 1`);
      } catch {
        continue; // the table itself is unreadable
      }
      // Row by row, by rowid, so one unreadable page costs only the rows on it.
      for (let misses = 0; misses < 1000; ) {
        let row: Record<string, unknown> | undefined;
        try {
          row = next.get(rowid) as Record<string, unknown> | undefined;
        } catch {
          rowid += 1;
          misses++;
          continue;
        }
        if (row === undefined) break;
        rowid = Number(row.r);
        delete row.r;
        const cols = Object.keys(row);
        try {
          this.db.prepare(`INSERT OR REPLACE INTO ${table} (${cols.join(",")}) VALUES (${cols.map(() => "?").join(",")})`).run(...cols.map((c) => row![c]));
          copied++;
        } catch {
          // a row that does not fit the schema is dropped
        }
      }
    }
    old.close();
    rmSync(copy, { force: true });
    return copied;
  }

  /**
   * Rebuilds broker state through src/broker/restore.ts (the checks every store shares); call
   * before the store is attached and before listening.
   */
  load(b: Broker): LoadReport {
    const report: LoadReport = { retained: 0, sessions: 0, subscriptions: 0, messages: 0, inbound: 0, skipped: 0 };
    const count = (ok: boolean, key: keyof LoadReport): void => {
      if (ok) report[key]++;
      else report.skipped++;
    };
    for (const r of this.db.prepare("SELECT topic, payload, qos FROM retained").iterate() as Iterable<{ topic: string; payload: Buffer; qos: number }>) {
      count(restoreRetained(b, storedMessage(r.topic, new Uint8Array(r.payload) as unknown as Bytes, r.qos)), "retained");
    }
    const slots = new Map<string, number>();
    for (const r of this.db.prepare("SELECT client_id FROM sessions ORDER BY rowid").iterate() as Iterable<{ client_id: string }>) {
      const slot = restoreSession(b, r.client_id, 1);
      count(slot >= 0, "sessions");
      if (slot >= 0) slots.set(r.client_id, slot);
    }
    for (const r of this.db.prepare("SELECT client_id, filter, qos FROM subscriptions ORDER BY rowid").iterate() as Iterable<{ client_id: string; filter: string; qos: number }>) {
      const slot = slots.get(r.client_id);
      count(slot !== undefined && restoreSubscription(b, slot, r.filter, r.qos), "subscriptions");
    }
    for (const r of this.db.prepare("SELECT * FROM messages ORDER BY client_id, seq").iterate() as Iterable<{ client_id: string; seq: number; topic: string; payload: Buffer | null; qos: number; retain: number; packet_id: number; state: number }>) {
      const slot = slots.get(r.client_id);
      const payload = new Uint8Array(r.payload ?? Buffer.alloc(0)) as unknown as Bytes;
      count(slot !== undefined && restoreMessage(b, slot, r.seq, storedMessage(r.topic, payload, r.qos), r.retain === 1, r.packet_id, r.state), "messages");
    }
    for (const r of this.db.prepare("SELECT client_id, packet_id FROM inbound").iterate() as Iterable<{ client_id: string; packet_id: number }>) {
      const slot = slots.get(r.client_id);
      count(slot !== undefined && restoreInboundId(b, slot, r.packet_id), "inbound");
    }
    return report;
  }

  private begin(): void {
    if (!this.inTransaction) {
      this.st.begin.run();
      this.inTransaction = true;
    }
  }

  retainedSet(topic: string, payload: Bytes, qos: number): void {
    this.begin();
    this.st.retainedSet.run(topic, blob(payload), qos);
  }
  retainedDelete(topic: string): void {
    this.begin();
    this.st.retainedDelete.run(topic);
  }
  sessionSet(clientId: string): void {
    this.begin();
    this.st.sessionSet.run(clientId);
  }
  sessionDelete(clientId: string): void {
    this.begin();
    this.st.sessionDelete.run(clientId);
    this.st.sessionDeleteSubs.run(clientId);
    this.st.sessionDeleteMessages.run(clientId);
    this.st.sessionDeleteInbound.run(clientId);
  }
  subscriptionSet(clientId: string, filter: string, qos: number): void {
    this.begin();
    this.st.subscriptionSet.run(clientId, filter, qos);
  }
  subscriptionDelete(clientId: string, filter: string): void {
    this.begin();
    this.st.subscriptionDelete.run(clientId, filter);
  }
  messageAdd(clientId: string, seq: number, topic: string, payload: Bytes, qos: number, retain: boolean): void {
    this.begin();
    this.st.messageAdd.run(clientId, seq, topic, blob(payload), qos, retain ? 1 : 0);
  }
  messageSent(clientId: string, seq: number, packetId: number): void {
    this.begin();
    this.st.messageSent.run(packetId, clientId, seq);
  }
  messageReleased(clientId: string, seq: number): void {
    this.begin();
    this.st.messageReleased.run(clientId, seq);
  }
  messageDelete(clientId: string, seq: number): void {
    this.begin();
    this.st.messageDelete.run(clientId, seq);
  }
  inboundAdd(clientId: string, packetId: number): void {
    this.begin();
    this.st.inboundAdd.run(clientId, packetId);
  }
  inboundDelete(clientId: string, packetId: number): void {
    this.begin();
    this.st.inboundDelete.run(clientId, packetId);
  }

  /** Durable mode: the end of a broker call commits (and fsyncs). Relaxed: the timer does. */
  commit(): void {
    if (this.mode === "durable") this.flush();
  }

  flush(): void {
    if (this.inTransaction) {
      this.st.commit.run();
      this.inTransaction = false;
    }
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.flush();
    this.db.close();
  }
}
