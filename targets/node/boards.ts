import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Profile, ProfileResult, isBoardName, isBoardPath, validateProfile } from "../../src/config/profile";

/** A board profile: boards/<name>.json, or any JSON file of the same shape (validated by src/config/profile.ts). */
export type Board = Profile;

export type BoardResult = { ok: true; board: Board } | { ok: false; error: string };

/**
 * boards/ at the repository root. This file and the bundle (dist/node/midge.js) are both two
 * levels below the root, so the same relative URL works from source (tests) and from dist.
 */
export const BOARDS_DIR = fileURLToPath(new URL("../../boards/", import.meta.url));

export const DEFAULT_BOARD = "host";

/** Names of the profiles in boards/, sorted. */
export function boardNames(): string[] {
  let files: string[];
  try {
    files = readdirSync(BOARDS_DIR);
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const f of files) if (f.endsWith(".json")) names.push(f.slice(0, -5));
  return names.sort();
}

/**
 * Loads a board by name (boards/<name>.json) or by path to a JSON profile. A reference that
 * contains a path separator or ends in .json is a path, resolved against baseDir.
 */
export function loadBoard(ref: string, baseDir: string): BoardResult {
  const isPath = isBoardPath(ref);
  if (!isPath && !isBoardName(ref)) return { ok: false, error: `invalid board name '${ref}'` };
  const file = isPath ? resolve(baseDir, ref) : resolve(BOARDS_DIR, ref + ".json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (!isPath) return { ok: false, error: `unknown board '${ref}' (known: ${boardNames().join(", ")})` };
    return { ok: false, error: `cannot read board profile ${file}: ${(e as Error).message}` };
  }
  return parseBoard(text, isPath ? file : ref, !isPath);
}

/**
 * Validates a profile's JSON text; `source` names it in error messages. `complete` (the
 * profiles in boards/) requires every limit.
 */
export function parseBoard(text: string, source: string, complete = false): BoardResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `board profile ${source} is not valid JSON: ${(e as Error).message}` };
  }
  return boardResult(validateProfile(json, source, complete));
}

/** The core's result in this module's shape. */
export function boardResult(r: ProfileResult): BoardResult {
  return r.ok ? { ok: true, board: r.profile } : { ok: false, error: r.error };
}
