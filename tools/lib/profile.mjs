// The board-profile validator of the core (src/config/profile.ts) for the build scripts, so
// that the Espruino and Lua builds check boards/*.json exactly as the Node and Lua targets
// do at run time. Compiled once per process with esbuild (synchronously, so callers stay
// synchronous).
import { buildSync } from "esbuild";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../../src/config/profile.ts", import.meta.url));
let module = null;

/** The exports of src/config/profile.ts. */
export function profileModule() {
  if (module === null) {
    const r = buildSync({ entryPoints: [ENTRY], bundle: true, write: false, format: "cjs", platform: "node", logLevel: "silent" });
    const m = { exports: {} };
    new Function("module", "exports", r.outputFiles[0].text)(m, m.exports);
    module = m.exports;
  }
  return module;
}

/**
 * A profile of boards/ (`json` parsed from boards/<name>.json) checked as a complete profile:
 * every limit and every feature named. Returns the validated { name, limits, features };
 * throws with the validator's message otherwise.
 */
export function validateBoard(json, name) {
  const r = profileModule().validateProfile(json, name, true);
  if (!r.ok) throw new Error(r.error);
  return r.profile;
}
