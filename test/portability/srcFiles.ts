/** Paths shared by the portability checks. */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SRC = path.join(ROOT, "src");

/** Every file under src/ (recursively) whose name ends with one of the suffixes, sorted. */
export function srcFiles(suffixes: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (suffixes.some((s) => e.name.endsWith(s))) out.push(p);
    }
  };
  walk(SRC);
  return out.sort();
}

/** src/**\/*.ts without declaration files: the modules a bundle can import. */
export function srcModules(): string[] {
  return srcFiles([".ts"]).filter((f) => !f.endsWith(".d.ts"));
}
