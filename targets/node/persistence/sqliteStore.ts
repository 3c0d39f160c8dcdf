import Database from "better-sqlite3";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Bytes } from "../../../src/bytes/bytes";
import { Broker } from "../../../src/broker/broker";
import { restoreInboundId, restoreMessage, restoreRetained, restoreSession, restoreSessionExpiry, restoreSessionWill, restoreSubscription, restoreSubscription5, storedMessage, storedMessage5 } from "../../../src/broker/restore";
import { Clock, Log, LogLevel, Store } from "../../../src/platform";

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
 *
 * Times (MQTT 5.0 session and message expiry, delayed wills) are kept as wall-clock deadlines
 * (Unix ms), since the broker's clock (monotonic, from process start) begins again at every
 * start: a countdown goes on while the broker is down, and what ran out meanwhile is expired at
 * the restart.
 */
export interface SqliteStoreOptions {
  path: string;
  mode: "durable" | "relaxed";
  intervalMs: number;
  log: Log;
  /** Wall clock, Unix ms (default Date.now); tests move it to stand for time the broker was down. */
  wallClock?: () => number;
}

/** The schema version this code writes (PRAGMA user_version); MIGRATIONS[v] goes from v to v + 1. */
const SCHEMA_VERSION = 1;

/**
 * Version 0 (the first store, MQTT 3.1.1 state only). A new file is created at version 0 and
 * migrated like an old one, so there is a single path to the current schema.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL, PRIMARY KEY (client_id, filter));
CREATE TABLE IF NOT EXISTS messages (client_id TEXT NOT NULL, seq INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB, qos INTEGER NOT NULL, retain INTEGER NOT NULL, packet_id INTEGER NOT NULL, state INTEGER NOT NULL, PRIMARY KEY (client_id, seq));
CREATE TABLE IF NOT EXISTS inbound (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id));
`;

const MIGRATIONS = [
  // 0 → 1: MQTT 5.0 state. Times are Unix ms, NULL = none. sessions.expiry NULL: the session
  // never expires (3.1.1 sessions, and every session a version-0 store kept). props: the
  // message's pass-through PUBLISH properties (Message.props); sub_ids: its Subscription
  // Identifiers, comma-separated; subscriptions.flags: No Local + 2 × Retain As Published.
  `
ALTER TABLE retained ADD COLUMN props BLOB;
ALTER TABLE retained ADD COLUMN expires_at INTEGER;
ALTER TABLE sessions ADD COLUMN expiry INTEGER;
ALTER TABLE sessions ADD COLUMN expires_at INTEGER;
ALTER TABLE sessions ADD COLUMN will_at INTEGER;
ALTER TABLE sessions ADD COLUMN will_topic TEXT;
ALTER TABLE sessions ADD COLUMN will_payload BLOB;
ALTER TABLE sessions ADD COLUMN will_qos INTEGER;
ALTER TABLE sessions ADD COLUMN will_retain INTEGER;
ALTER TABLE sessions ADD COLUMN will_props BLOB;
ALTER TABLE sessions ADD COLUMN will_expires_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN sub_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN props BLOB;
ALTER TABLE messages ADD COLUMN expires_at INTEGER;
ALTER TABLE messages ADD COLUMN sub_ids TEXT;
`,
];

/** Brings a database to SCHEMA_VERSION, each step in a transaction of its own. */
function migrate(db: Database.Database, log: Log): void {
  const from = db.pragma("user_version", { simple: true }) as number;
  if (from > SCHEMA_VERSION) {
    log.log(LogLevel.WARNING, `Warning: persistence file has schema version ${from}, newer than this midge's ${SCHEMA_VERSION}; reading what it knows.`);
    return;
  }
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Optional bytes as a column: NULL for none or empty. */
function optionalBlob(b: Bytes | undefined): Buffer | null {
  return b === undefined || (b as unknown as Uint8Array).byteLength === 0 ? null : blob(b);
}

function bytesOf(b: Buffer | null): Bytes {
  return new Uint8Array(b ?? Buffer.alloc(0)) as unknown as Bytes;
}

function subIdsOf(text: string | null): number[] {
  return text === null || text === "" ? [] : text.split(",").map(Number);
}

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
  private readonly wallClock: () => number;
  /** The broker's clock, taken by load(); the Node target's monotonic clock until then. */
  private clock: Clock = { now: () => performance.now() };

  private constructor(db: Database.Database, options: SqliteStoreOptions) {
    this.db = db;
    this.mode = options.mode;
    this.log = options.log;
    this.wallClock = options.wallClock ?? Date.now;
    db.pragma("journal_mode = WAL");
    db.pragma(options.mode === "durable" ? "synchronous = FULL" : "synchronous = NORMAL");
    db.exec(SCHEMA);
    migrate(db, options.log);
    const p = (sql: string): Database.Statement => db.prepare(sql);
    this.st = {
      begin: p("BEGIN"),
      commit: p("COMMIT"),
      retainedSet: p("INSERT OR REPLACE INTO retained (topic, payload, qos, props, expires_at) VALUES (?, ?, ?, ?, ?)"),
      retainedDelete: p("DELETE FROM retained WHERE topic = ?"),
      sessionSet: p("INSERT OR IGNORE INTO sessions (client_id) VALUES (?)"),
      sessionDelete: p("DELETE FROM sessions WHERE client_id = ?"),
      sessionDeleteSubs: p("DELETE FROM subscriptions WHERE client_id = ?"),
      sessionDeleteMessages: p("DELETE FROM messages WHERE client_id = ?"),
      sessionDeleteInbound: p("DELETE FROM inbound WHERE client_id = ?"),
      sessionExpiry: p("UPDATE sessions SET expiry = ?, expires_at = ? WHERE client_id = ?"),
      sessionWill: p("UPDATE sessions SET will_at = ?, will_topic = ?, will_payload = ?, will_qos = ?, will_retain = ?, will_props = ?, will_expires_at = ? WHERE client_id = ?"),
      subscriptionSet: p("INSERT OR REPLACE INTO subscriptions (client_id, filter, qos, flags, sub_id) VALUES (?, ?, ?, ?, ?)"),
      subscriptionDelete: p("DELETE FROM subscriptions WHERE client_id = ? AND filter = ?"),
      messageAdd: p("INSERT OR REPLACE INTO messages (client_id, seq, topic, payload, qos, retain, packet_id, state, props, expires_at, sub_ids) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)"),
      messageSent: p("UPDATE messages SET packet_id = ?, state = 1 WHERE client_id = ? AND seq = ?"),
      messageReleased: p("UPDATE messages SET payload = NULL, props = NULL, state = 2 WHERE client_id = ? AND seq = ?"),
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
    this.clock = b.clock;
    const v5 = MIDGE_FEATURES.mqtt5;
    const report: LoadReport = { retained: 0, sessions: 0, subscriptions: 0, messages: 0, inbound: 0, skipped: 0 };
    const count = (ok: boolean, key: keyof LoadReport): void => {
      if (ok) report[key]++;
      else report.skipped++;
    };
    for (const r of this.db.prepare("SELECT topic, payload, qos, props, expires_at FROM retained").iterate() as Iterable<{ topic: string; payload: Buffer; qos: number; props: Buffer | null; expires_at: number | null }>) {
      const payload = bytesOf(r.payload);
      const m = v5 ? storedMessage5(r.topic, payload, r.qos, bytesOf(r.props), this.fromWall(r.expires_at), []) : storedMessage(r.topic, payload, r.qos);
      count(restoreRetained(b, m), "retained");
    }
    const slots = new Map<string, number>();
    type SessionRow = { client_id: string; expiry: number | null; expires_at: number | null; will_at: number | null; will_topic: string | null; will_payload: Buffer | null; will_qos: number | null; will_retain: number | null; will_props: Buffer | null; will_expires_at: number | null };
    for (const r of this.db.prepare("SELECT * FROM sessions ORDER BY rowid").iterate() as Iterable<SessionRow>) {
      const slot = restoreSession(b, r.client_id, 1);
      count(slot >= 0, "sessions");
      if (slot < 0) continue;
      slots.set(r.client_id, slot);
      if (!v5) continue;
      // A session without an expiry (3.1.1, or kept by a version-0 store) never expires.
      if (r.expiry !== null) restoreSessionExpiry(b, slot, r.expiry, this.fromWall(r.expires_at));
      if (r.will_at !== null && r.will_topic !== null) {
        const will = storedMessage5(r.will_topic, bytesOf(r.will_payload), r.will_qos ?? -1, bytesOf(r.will_props), this.fromWall(r.will_expires_at), []);
        restoreSessionWill(b, slot, this.fromWall(r.will_at), will, r.will_retain === 1);
      }
    }
    for (const r of this.db.prepare("SELECT client_id, filter, qos, flags, sub_id FROM subscriptions ORDER BY rowid").iterate() as Iterable<{ client_id: string; filter: string; qos: number; flags: number; sub_id: number }>) {
      const slot = slots.get(r.client_id);
      count(slot !== undefined && (v5 ? restoreSubscription5(b, slot, r.filter, r.qos, r.flags, r.sub_id) : restoreSubscription(b, slot, r.filter, r.qos)), "subscriptions");
    }
    type MessageRow = { client_id: string; seq: number; topic: string; payload: Buffer | null; qos: number; retain: number; packet_id: number; state: number; props: Buffer | null; expires_at: number | null; sub_ids: string | null };
    for (const r of this.db.prepare("SELECT * FROM messages ORDER BY client_id, seq").iterate() as Iterable<MessageRow>) {
      const slot = slots.get(r.client_id);
      const payload = bytesOf(r.payload);
      const m = v5 ? storedMessage5(r.topic, payload, r.qos, bytesOf(r.props), this.fromWall(r.expires_at), subIdsOf(r.sub_ids)) : storedMessage(r.topic, payload, r.qos);
      count(slot !== undefined && restoreMessage(b, slot, r.seq, m, r.retain === 1, r.packet_id, r.state), "messages");
    }
    for (const r of this.db.prepare("SELECT client_id, packet_id FROM inbound").iterate() as Iterable<{ client_id: string; packet_id: number }>) {
      const slot = slots.get(r.client_id);
      count(slot !== undefined && restoreInboundId(b, slot, r.packet_id), "inbound");
    }
    return report;
  }

  /** A broker clock time (-1 none) as a wall-clock deadline (Unix ms; NULL none). */
  private toWall(t: number | undefined): number | null {
    if (t === undefined || t < 0) return null;
    return Math.round(this.wallClock() + (t - this.clock.now()));
  }

  /** A wall-clock deadline back in the broker's clock: -1 for none; one that passed is 0 (long past). */
  private fromWall(w: number | null): number {
    if (w === null) return -1;
    return Math.max(0, this.clock.now() + (w - this.wallClock()));
  }

  private begin(): void {
    if (!this.inTransaction) {
      this.st.begin.run();
      this.inTransaction = true;
    }
  }

  retainedSet(topic: string, payload: Bytes, qos: number, props?: Bytes, expiresAt?: number): void {
    this.begin();
    this.st.retainedSet.run(topic, blob(payload), qos, optionalBlob(props), this.toWall(expiresAt));
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
  sessionExpiry(clientId: string, expiry: number, expiresAt: number): void {
    this.begin();
    this.st.sessionExpiry.run(expiry, this.toWall(expiresAt), clientId);
  }
  sessionWill(clientId: string, willAt: number, topic: string, payload: Bytes, qos: number, retain: boolean, props: Bytes, expiresAt: number): void {
    this.begin();
    if (willAt < 0) this.st.sessionWill.run(null, null, null, null, null, null, null, clientId);
    else this.st.sessionWill.run(this.toWall(willAt), topic, blob(payload), qos, retain ? 1 : 0, optionalBlob(props), this.toWall(expiresAt), clientId);
  }
  subscriptionSet(clientId: string, filter: string, qos: number, flags?: number, subId?: number): void {
    this.begin();
    this.st.subscriptionSet.run(clientId, filter, qos, flags ?? 0, subId ?? 0);
  }
  subscriptionDelete(clientId: string, filter: string): void {
    this.begin();
    this.st.subscriptionDelete.run(clientId, filter);
  }
  messageAdd(clientId: string, seq: number, topic: string, payload: Bytes, qos: number, retain: boolean, props?: Bytes, expiresAt?: number, subIds?: number[]): void {
    this.begin();
    const ids = subIds === undefined || subIds.length === 0 ? null : subIds.join(",");
    this.st.messageAdd.run(clientId, seq, topic, blob(payload), qos, retain ? 1 : 0, optionalBlob(props), this.toWall(expiresAt), ids);
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
