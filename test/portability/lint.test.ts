/**
 * Portability lint over the core (src/): the measured rules of
 * /work/shared/notes/portability.md that esbuild and typescript-to-lua do not enforce
 * (bitwise operators, Map/Set/Symbol, extends Error, labels, missing Espruino built-ins,
 * .prototype calls, Node globals, Lua keywords as property names, module files, imports
 * from outside src/), plus the syntax rules again so a violation is reported by name and line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { formatViolation, lintSource, Violation } from "./portabilityLint";
import { ROOT, SRC, srcFiles } from "./srcFiles";

function lintFile(file: string): Violation[] {
  const kind = file.endsWith(".js") ? "js" : "ts";
  return lintSource(file, fs.readFileSync(file, "utf8"), { kind, srcDir: SRC });
}

function rulesOf(vs: Violation[]): string[] {
  return vs.map((v) => `${v.line}:${v.rule}`);
}

describe("portability lint: self-test (the lint must catch known violations)", () => {
  const file = path.join(SRC, "selftest", "bad.ts");
  const lint = (text: string) => lintSource(file, text, { kind: "ts", srcDir: SRC });

  it("catches one violation per rule, on the right line", () => {
    const bad = [
      /* 1 */ 'import { x } from "../../targets/node/net";',
      /* 2 */ 'import * as net from "node:net";',
      /* 3 */ "export const a = (1 & 2) | (3 ^ 4) | (~5) | (1 << 2) | (8 >> 1) | (8 >>> 1);",
      /* 4 */ "let b = 0; b |= 1; b &= 1; b ^= 1; b <<= 1; b >>= 1; b >>>= 1;",
      /* 5 */ "const m = new Map<string, number>(); const s = new Set(); const w = new WeakMap(); const ws = new WeakSet();",
      /* 6 */ "const p = new Proxy({}, {}); const sym = Symbol(\"x\"); const big = 10n; const bi = BigInt(3);",
      /* 7 */ "class Oops extends Error {}",
      /* 8 */ "outer: for (let i = 0; i < 3; i++) { break outer; }",
      /* 9 */ "const { q, r } = { q: 1, r: 2 }; const [u, v] = [1, 2];",
      /* 10 */ "const arr = [...[1, 2]]; const obj = { ...{ k: 1 } }; function rest(...xs: number[]) { return xs; }",
      /* 11 */ "function dflt(n: number = 3) { return n; }",
      /* 12 */ "for (const e of [1, 2]) b += e;",
      /* 13 */ "function* gen() { yield 1; }",
      /* 14 */ "async function af() { await 0; }",
      /* 15 */ "const sl = Array.prototype.slice.call([1]);",
      /* 16 */ "const f1 = Array.from([1]); const f2 = Number.isInteger(1); const f3 = Math.trunc(1.5) + Math.imul(1, 2) + Math.clz32(1) + Math.log2(2) + Math.sign(-1);",
      /* 17 */ 'Object.freeze({}); "x".codePointAt(0); [1].at(-1); new Uint8Array(2).copyWithin(0, 1);',
      /* 18 */ 'const te = new TextEncoder(); const td = new TextDecoder();',
      /* 19 */ 'const bf = Buffer.alloc(1); process.exit(0); require("fs"); setTimeout(gen, 1); setInterval(gen, 1); console.log("x");',
      /* 20 */ "interface Range { end: number; then: number; local: string; nil: boolean }",
      /* 21 */ "const o2 = { and: 1, or: 2, not: 3, repeat: 4, until: 5, elseif: 6, goto: 7, function: 8 }; o2.end; o2[\"then\"];",
      /* 22 */ "for (let i = 0; i < 3; i++) { const cb = () => i; }",
      /* 23 */ "if (b == 1 || b != 2) b = 3; [b, b] = [1, 2];",
      /* 24 */ "try { b = 1; } catch (e) { b = 2; }",
      /* 25 */ "const rx = /a+/; const dt = Date.now(); const js = JSON.stringify(1); const dv = new DataView(new ArrayBuffer(1));",
      /* 26 */ "export function end() { return 1; }",
    ].join("\n");
    const got = rulesOf(lint(bad));
    const expected = [
      "1:import-outside-src",
      "2:import-outside-src",
      "3:no-bitwise",
      "4:no-bitwise",
      "5:no-map-set",
      "6:no-proxy",
      "6:no-symbol",
      "6:no-bigint",
      "7:no-extends-error",
      "8:no-labels",
      "9:no-destructuring",
      "10:no-spread",
      "10:no-rest",
      "11:no-default-param",
      "12:no-for-of",
      "13:no-generators",
      "14:no-async",
      "15:no-prototype-access",
      "16:no-missing-builtin",
      "17:no-missing-builtin",
      "18:no-text-codec",
      "19:no-target-global",
      "20:no-lua-keyword-property",
      "21:no-lua-keyword-property",
      "22:no-loop-closure",
      "23:no-loose-equality",
      "23:no-destructuring",
      "24:no-try-catch",
      "25:no-regexp",
      "25:no-target-global",
      "25:no-typed-arrays",
      "26:no-lua-keyword-property",
    ];
    for (const e of expected) expect(got, `expected ${e}`).toContain(e);
    // Counts where one line holds several violations of the same rule.
    const count = (line: number, rule: string) => got.filter((g) => g === `${line}:${rule}`).length;
    expect(count(3, "no-bitwise")).toBe(11); // & | ^ ~ << >> >>> and the five | joining them
    expect(count(4, "no-bitwise")).toBe(6);
    expect(count(5, "no-map-set")).toBe(4); // Map, Set, WeakMap, WeakSet
    expect(count(16, "no-missing-builtin")).toBe(7);
    expect(count(17, "no-missing-builtin")).toBe(4);
    expect(count(19, "no-target-global")).toBe(6);
    expect(count(20, "no-lua-keyword-property")).toBe(4);
    expect(count(21, "no-lua-keyword-property")).toBe(10);
  });

  it("flags a file that is not a module", () => {
    expect(rulesOf(lint("const x = 1;\n"))).toContain("1:module-file");
    expect(rulesOf(lint("export const x = 1;\n"))).toEqual([]);
  });

  it("accepts the portable idioms the rules recommend", () => {
    const good = [
      'import { Status } from "../codec/status";',
      "export interface Conn { start: number; stop: number; count: number }",
      "export function flags(b: number): number { return Math.floor(b / 16) + (b % 16) + 0x30 + 1 * 8; }",
      "export function find(a: number[], n: number, x: number): number { for (let i = 0; i < n; i++) if (a[i] === x) return i; return -1; }",
      "export type U = number | string; export type I = { a: number } & { b: number };",
      "export class Box { value = 0; get twice(): number { return this.value * 2; } }",
      "export const dict: { [key: string]: number } = {}; export const st = Status.OK;",
      "export function loop(n: number, f: (i: number) => void): void { for (let i = 0; i < n; i++) f(i); }",
    ].join("\n");
    expect(lint(good).map((v) => formatViolation(v, ROOT))).toEqual([]);
  });

  it("applies only the Espruino rules to JavaScript siblings", () => {
    const js = [
      "export const a = 1 | 2;", // bitwise is fine in JS-only code
      "export const u = new Uint8Array(4);", // typed arrays are the JS Bytes representation
      "export const t = new TextEncoder();",
      "export const f = Array.from(u);",
      "export function s(b) { return String.fromCharCode.apply(null, b); }",
      "export function ok(b, i) { let j = i; while (j - i < 256) j++; return String.fromCharCode.apply(null, b.subarray(i, j)); }",
    ].join("\n");
    const got = rulesOf(lintSource(path.join(SRC, "bytes", "x.js"), js, { kind: "js", srcDir: SRC }));
    expect(got).toEqual(["3:no-text-codec", "4:no-missing-builtin", "5:apply-args-limit"]);
  });
});

describe("portability lint: src/", { timeout: 60000 }, () => {
  const tsFiles = srcFiles([".ts"]);
  const jsFiles = srcFiles([".js"]);

  it("finds the core's files", () => {
    expect(tsFiles.length).toBeGreaterThan(5);
    expect(jsFiles.map((f) => path.relative(SRC, f))).toContain(path.join("bytes", "bytes.js"));
  });

  it("src/**/*.ts follows the portability rules", () => {
    const violations = tsFiles.flatMap(lintFile).map((v) => formatViolation(v, ROOT));
    expect(violations, violations.join("\n")).toEqual([]);
  });

  it("src/**/*.js (JS implementations of declared modules) uses nothing Espruino lacks", () => {
    const violations = jsFiles.flatMap(lintFile).map((v) => formatViolation(v, ROOT));
    expect(violations, violations.join("\n")).toEqual([]);
  });

  it("every JS sibling implements a declaration file, all of it (so every target sees the same API)", () => {
    for (const js of jsFiles) {
      // x.js and a runtime's variant x.<runtime>.js (bytes.espruino.js) both implement x.d.ts.
      const dts = js.replace(/(\.espruino)?\.js$/, ".d.ts");
      expect(fs.existsSync(dts), `${path.relative(ROOT, js)} has no .d.ts`).toBe(true);
      const code = fs.readFileSync(js, "utf8");
      const reexported = new Set<string>();
      for (const m of code.matchAll(/export\s*\{([^}]*)\}/g)) for (const n of m[1].split(",")) reexported.add(n.trim());
      for (const m of fs.readFileSync(dts, "utf8").matchAll(/export declare (?:const|function) (\w+)/g)) {
        const name = m[1];
        const defined = new RegExp(`export (?:const|function) ${name}\\b`).test(code) || reexported.has(name);
        expect(defined, `${path.relative(ROOT, js)} does not export ${name}`).toBe(true);
      }
    }
  });

  it("every declaration file in src/ has both implementations: .js (Node, Espruino) and .lua (Lua)", () => {
    for (const dts of srcFiles([".d.ts"])) {
      const base = dts.replace(/\.d\.ts$/, "");
      expect(fs.existsSync(base + ".js"), `${path.relative(ROOT, dts)} has no .js sibling`).toBe(true);
      expect(fs.existsSync(base + ".lua"), `${path.relative(ROOT, dts)} has no .lua sibling`).toBe(true);
    }
  });
});
