/**
 * Board profiles (boards/*.json, or a JSON file named by path): validation of the parsed
 * object, shared by every target. Node parses the JSON with JSON.parse; the Lua build bakes
 * the profiles of boards/ in at build time (validated there with this function) and reads a
 * profile given by path with its own small JSON reader, then validates it here.
 *
 * A profile is { "board": name, "description"?: text, "limits": {...}, "features"?: {...} }.
 * - "limits": keys of Limits (src/limits.ts), whole numbers >= 0 or booleans as in
 *   DEFAULT_LIMITS. A profile in boards/ (`complete` true) must name every limit; a profile
 *   given by path may leave some out: they come from DEFAULT_LIMITS.
 * - "features": keys of FEATURE_NAMES (src/features.ts), booleans. A profile in boards/
 *   (`complete`) must name every feature; in a profile given by path a missing object, or a
 *   feature left out of it, is on. Unknown names and non-booleans are errors.
 * Other keys ("espruino", "notes", ...) belong to other tools and are ignored here.
 */
import { FEATURE_NAMES, Features, allFeatures } from "../features";
import { DEFAULT_LIMITS, Limits, mergeLimits } from "../limits";

/** Number.MAX_SAFE_INTEGER; exact in doubles and in Lua 5.3+ integers. */
export const MAX_SAFE = 9007199254740991;

export interface Profile {
  name: string;
  description: string;
  limits: Limits;
  features: Features;
}

export interface ProfileResult {
  ok: boolean;
  profile: Profile;
  /** "" when ok; otherwise the whole message ("board profile SOURCE: ..."). */
  error: string;
}

/** The host profile: DEFAULT_LIMITS, every feature on. */
export function defaultProfile(name: string): Profile {
  return { name: name, description: "", limits: mergeLimits(DEFAULT_LIMITS, {}), features: allFeatures() };
}

/** Every Limits key, sorted (the same order on every target). */
export function limitNames(): string[] {
  const names = Object.keys(DEFAULT_LIMITS);
  names.sort();
  return names;
}

function failed(error: string): ProfileResult {
  return { ok: false, profile: defaultProfile(""), error: error };
}

function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null;
}

/** The keys of obj that are not in known, sorted; empty when none. */
function unknownKeys(obj: { [key: string]: unknown }, known: string[]): string[] {
  const out: string[] = [];
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) if (known.indexOf(keys[i]) < 0) out.push(keys[i]);
  out.sort();
  return out;
}

/** True for a whole number in 0..MAX_SAFE. */
export function isCount(v: unknown): boolean {
  if (typeof v !== "number") return false;
  return v >= 0 && v <= MAX_SAFE && Math.floor(v) === v;
}

/**
 * Checks a parsed profile. `source` names it in messages (a board name or a file path);
 * `complete` requires every limit (the profiles in boards/).
 */
export function validateProfile(json: unknown, source: string, complete: boolean): ProfileResult {
  const at = "board profile " + source + ": ";
  if (!isObject(json)) return failed(at + "expected a JSON object");
  const obj = json as { [key: string]: unknown };
  const name = obj["board"];
  if (typeof name !== "string" || name === "") return failed(at + '"board" must be a non-empty string');
  const limitsJson = obj["limits"];
  if (!isObject(limitsJson)) return failed(at + '"limits" must be an object');
  const limits = limitsJson as { [key: string]: unknown };
  const names = limitNames();
  const unknown = unknownKeys(limits, names);
  if (unknown.length > 0) return failed(at + 'unknown limit "' + unknown[0] + '"');
  const overrides: { [key: string]: number | boolean } = {};
  const defaults = DEFAULT_LIMITS as unknown as { [key: string]: number | boolean };
  for (let i = 0; i < names.length; i++) {
    const key = names[i];
    const value = limits[key];
    if (value === undefined || value === null) {
      if (complete) return failed(at + 'limit "' + key + '" missing (a profile in boards/ names every limit)');
      continue;
    }
    if (typeof defaults[key] === "boolean") {
      if (typeof value !== "boolean") return failed(at + '"' + key + '" must be true or false');
      overrides[key] = value;
    } else {
      if (!isCount(value)) return failed(at + '"' + key + '" must be a whole number >= 0');
      overrides[key] = Math.floor(value as number); // an integer in Lua 5.3+, printed without ".0"
    }
  }
  const features = allFeatures();
  const featuresJson = obj["features"];
  if (complete && !isObject(featuresJson)) return failed(at + '"features" must name every feature (a profile in boards/ does)');
  if (featuresJson !== undefined && featuresJson !== null) {
    if (!isObject(featuresJson)) return failed(at + '"features" must be an object');
    const f = featuresJson as { [key: string]: unknown };
    const unknownFeatures = unknownKeys(f, FEATURE_NAMES);
    if (unknownFeatures.length > 0) {
      return failed(at + 'unknown feature "' + unknownFeatures[0] + '" (known: ' + FEATURE_NAMES.join(", ") + ")");
    }
    const out = features as unknown as { [key: string]: boolean };
    for (let i = 0; i < FEATURE_NAMES.length; i++) {
      const key = FEATURE_NAMES[i];
      const value = f[key];
      if (value === undefined || value === null) {
        if (complete) return failed(at + 'feature "' + key + '" missing (a profile in boards/ names every feature)');
        continue;
      }
      if (typeof value !== "boolean") return failed(at + 'feature "' + key + '" must be true or false');
      out[key] = value;
    }
  }
  const description = typeof obj["description"] === "string" ? (obj["description"] as string) : "";
  return {
    ok: true,
    profile: { name: name, description: description, limits: mergeLimits(DEFAULT_LIMITS, overrides as Partial<Limits>), features: features },
    error: "",
  };
}

/** Board names: a lower-case letter or digit, then letters, digits, '_', '.', '-'. */
export function isBoardName(ref: string): boolean {
  if (ref.length === 0) return false;
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (i > 0 && (c === 95 || c === 46 || c === 45));
    if (!ok) return false;
  }
  return true;
}

/** A board reference is a path when it contains '/' or '\\' or ends in ".json"; otherwise a name. */
export function isBoardPath(ref: string): boolean {
  return ref.indexOf("/") >= 0 || ref.indexOf("\\") >= 0 || (ref.length > 5 && ref.substring(ref.length - 5) === ".json");
}
