import { readFileSync } from "node:fs";
import { join } from "node:path";
import { aclParse, newAcl } from "../../src/auth/acl";
import { Broker, brokerSetStore, brokerSysPublish } from "../../src/broker/broker";
import { Features } from "../../src/features";
import { Log, LogLevel, Policy } from "../../src/platform";
import { createPolicy } from "./auth/nodePolicy";
import { parsePasswordFile } from "./auth/passwordFile";
import { PersistenceConfig, SecurityConfig } from "./config";
import { SqliteStore } from "./persistence/sqliteStore";

/**
 * The optional parts of the Node broker, each set up from its config section: security
 * (password_file, acl_file, allow_anonymous), persistence (SQLite store) and $SYS updates.
 */

/**
 * Makes `f` the features of every broker in this process (src/features.ts): the core reads
 * the global MIDGE_FEATURES, which the Espruino build replaces by constants instead.
 */
export function installFeatures(f: Features): void {
  (globalThis as unknown as { MIDGE_FEATURES: Features }).MIDGE_FEATURES = f;
}

export type PolicyResult = { ok: true; policy: Policy | undefined } | { ok: false; error: string };

/** Reads the password and ACL files; undefined policy when there is nothing to enforce. */
export function loadSecurity(security: SecurityConfig): PolicyResult {
  if (security.allowAnonymous && security.passwordFile === "" && security.aclFile === "") return { ok: true, policy: undefined };
  let passwords = null;
  if (security.passwordFile !== "") {
    const r = parsePasswordFile(readFileSync(security.passwordFile, "utf8"), security.passwordFile);
    if (!r.ok) return r;
    passwords = r.entries;
  }
  let acl = null;
  if (security.aclFile !== "") {
    acl = newAcl();
    if (!aclParse(readFileSync(security.aclFile, "utf8"), acl)) return { ok: false, error: `${security.aclFile}: ${acl.error}` };
  }
  return { ok: true, policy: createPolicy({ allowAnonymous: security.allowAnonymous, passwords, acl }) };
}

/** Opens the store, restores the broker from it and attaches it; null when persistence is off. */
export function startPersistence(broker: Broker, persistence: PersistenceConfig, log: Log): SqliteStore | null {
  if (!persistence.enabled) return null;
  const path = join(persistence.location === "" ? process.cwd() : persistence.location, persistence.file);
  const store = SqliteStore.open({ path, mode: persistence.mode, intervalMs: persistence.autosaveInterval * 1000, log });
  const r = store.load(broker);
  log.log(
    LogLevel.NOTICE,
    `Restored from ${path} (${persistence.mode}): ${r.retained} retained messages, ${r.sessions} sessions, ` +
      `${r.subscriptions} subscriptions, ${r.messages} queued or in-flight messages, ${r.inbound} QoS 2 receipts` +
      (r.skipped > 0 ? `; ${r.skipped} records skipped` : "") + ".",
  );
  brokerSetStore(broker, store);
  return store;
}

/** Publishes $SYS every interval seconds (0 = never); returns a stop function. */
export function startSys(broker: Broker, intervalSeconds: number, version: string): () => void {
  if (intervalSeconds <= 0) return () => {};
  const started = performance.now();
  const publish = (): void => brokerSysPublish(broker, version, (performance.now() - started) / 1000);
  publish();
  const timer = setInterval(publish, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
