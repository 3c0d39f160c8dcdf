import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_LIMITS, Limits, mergeLimits } from "../../src/limits";

/** A board profile: boards/<name>.json, or any JSON file of the same shape. */
export interface Board {
  name: string;
  description: string;
  /** The profile's limits over DEFAULT_LIMITS (a profile may leave fields out). */
  limits: Limits;
}

export type BoardResult = { ok: true; board: Board } | { ok: false; error: string };

/**
 * boards/ at the repository root. This file and the bundle (dist/node/midge.js) are both two
 * levels below the root, so the same relative URL works from source (tests) and from dist.
 */
export const BOARDS_DIR = fileURLToPath(new URL("../../boards/", import.meta.url));

export const DEFAULT_BOARD = "host";

const BOARD_NAME = /^[a-z0-9][a-z0-9_.-]*$/;

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
  const isPath = ref.includes("/") || ref.includes("\\") || ref.endsWith(".json");
  if (!isPath && !BOARD_NAME.test(ref)) return { ok: false, error: `invalid board name '${ref}'` };
  const file = isPath ? resolve(baseDir, ref) : resolve(BOARDS_DIR, ref + ".json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (!isPath) return { ok: false, error: `unknown board '${ref}' (known: ${boardNames().join(", ")})` };
    return { ok: false, error: `cannot read board profile ${file}: ${(e as Error).message}` };
  }
  return parseBoard(text, isPath ? file : ref);
}

/** Validates a profile's JSON text; `source` names it in error messages. */
export function parseBoard(text: string, source: string): BoardResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `board profile ${source} is not valid JSON: ${(e as Error).message}` };
  }
  if (!isRecord(json)) return { ok: false, error: `board profile ${source}: expected a JSON object` };
  const name = json.board;
  if (typeof name !== "string" || name === "") {
    return { ok: false, error: `board profile ${source}: "board" must be a non-empty string` };
  }
  const limitsJson = json.limits;
  if (!isRecord(limitsJson)) return { ok: false, error: `board profile ${source}: "limits" must be an object` };
  const overrides: Partial<Limits> = {};
  const target = overrides as Record<string, number | boolean>;
  for (const key of Object.keys(limitsJson)) {
    const value = limitsJson[key];
    const expected = Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, key)
      ? typeof DEFAULT_LIMITS[key as keyof Limits]
      : "";
    if (expected === "") return { ok: false, error: `board profile ${source}: unknown limit "${key}"` };
    if (expected === "boolean") {
      if (typeof value !== "boolean") return { ok: false, error: `board profile ${source}: "${key}" must be true or false` };
    } else if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      return { ok: false, error: `board profile ${source}: "${key}" must be a whole number >= 0` };
    }
    target[key] = value as number | boolean;
  }
  const description = typeof json.description === "string" ? json.description : "";
  return { ok: true, board: { name: name, description: description, limits: mergeLimits(DEFAULT_LIMITS, overrides) } };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
