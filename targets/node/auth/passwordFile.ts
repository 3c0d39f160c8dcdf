import { pbkdf2Sync, randomBytes, createHash, timingSafeEqual } from "node:crypto";

/**
 * mosquitto's password_file format, as written by mosquitto_passwd (2.x):
 *   user:$7$ITERATIONS$SALT_BASE64$HASH_BASE64   PBKDF2-HMAC-SHA512, 64-byte hash (default, 101 iterations)
 *   user:$6$SALT_BASE64$HASH_BASE64              SHA-512 over password + salt (mosquitto 1.x files)
 * Plain-text passwords are never stored or accepted.
 */
export interface PasswordEntry {
  user: string;
  kind: 6 | 7;
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

export type PasswordFileResult = { ok: true; entries: Map<string, PasswordEntry> } | { ok: false; error: string };

export const PBKDF2_ITERATIONS = 101;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

/** Parses the text of a password file; errors name the line. */
export function parsePasswordFile(text: string, fileName: string): PasswordFileResult {
  const entries = new Map<string, PasswordEntry>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line.trim() === "" || line.charAt(0) === "#") continue;
    const where = `${fileName}:${i + 1}: `;
    const colon = line.indexOf(":");
    if (colon <= 0) return { ok: false, error: where + "expected user:hash" };
    const user = line.substring(0, colon);
    const parts = line.substring(colon + 1).split("$");
    // parts[0] is "" (the hash starts with '$').
    if (parts[0] !== "" || (parts[1] !== "6" && parts[1] !== "7")) {
      return { ok: false, error: where + `unsupported password hash for user ${user} (expected $6$ or $7$, as written by mosquitto_passwd or midge passwd)` };
    }
    let entry: PasswordEntry;
    if (parts[1] === "7") {
      const iterations = Number(parts[2]);
      if (parts.length !== 5 || !Number.isInteger(iterations) || iterations < 1) return { ok: false, error: where + `malformed $7$ hash for user ${user}` };
      entry = { user, kind: 7, iterations, salt: Buffer.from(parts[3], "base64"), hash: Buffer.from(parts[4], "base64") };
    } else {
      if (parts.length !== 4) return { ok: false, error: where + `malformed $6$ hash for user ${user}` };
      entry = { user, kind: 6, iterations: 0, salt: Buffer.from(parts[2], "base64"), hash: Buffer.from(parts[3], "base64") };
    }
    if (entry.salt.length === 0 || entry.hash.length === 0) return { ok: false, error: where + `empty salt or hash for user ${user}` };
    entries.set(user, entry);
  }
  return { ok: true, entries };
}

function digest(entry: PasswordEntry, password: Buffer): Buffer {
  if (entry.kind === 7) return pbkdf2Sync(password, entry.salt, entry.iterations, entry.hash.length, "sha512");
  return createHash("sha512").update(password).update(entry.salt).digest();
}

/** True when password matches the entry (constant-time comparison). */
export function checkPassword(entry: PasswordEntry, password: Buffer): boolean {
  const d = digest(entry, password);
  return d.length === entry.hash.length && timingSafeEqual(d, entry.hash);
}

/** One password file line in mosquitto 2.x's default format ($7$, PBKDF2-SHA512). */
export function hashPasswordLine(user: string, password: string): string {
  const salt = randomBytes(SALT_BYTES);
  const hash = pbkdf2Sync(Buffer.from(password, "utf8"), salt, PBKDF2_ITERATIONS, HASH_BYTES, "sha512");
  return `${user}:$7$${PBKDF2_ITERATIONS}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/**
 * Adds or replaces a user in a password file's text, keeping other lines in order.
 * A user name may not contain ':' (it separates name and hash).
 */
export function setUserLine(text: string, user: string, password: string): string {
  const line = hashPasswordLine(user, password);
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  const at = lines.findIndex((l) => l.substring(0, l.indexOf(":")) === user);
  if (at >= 0) lines[at] = line;
  else lines.push(line);
  return lines.join("\n") + "\n";
}

/** Removes a user; returns null when the user was not there. */
export function deleteUserLine(text: string, user: string): string | null {
  const lines = text.replace(/\n$/, "").split("\n");
  const kept = lines.filter((l) => l === "" || l.substring(0, l.indexOf(":")) !== user);
  if (kept.length === lines.length) return null;
  return kept.length === 0 ? "" : kept.join("\n") + "\n";
}
