/**
 * The Espruino bundles (dist/<board>/midge.js) as built: self-contained, only constructs
 * Espruino runs, under each board's size budget, and each profile's worst-case memory
 * (computed from costs measured on the real interpreter) inside its budget.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as vm from "node:vm";
import { beforeAll, describe, expect, test } from "vitest";
import {
  BuildRow,
  ESPRUINO_GLOBALS,
  FORBIDDEN,
  ROOT,
  buildEspruino,
  espruinoBoards,
  loadProfile,
  scanBundle,
  topLevelNames,
  topLevelProblems,
} from "../../targets/espruino/build.mjs";
import { loadCosts, worstCase } from "../../targets/espruino/memory.mjs";

let rows: BuildRow[] = [];

beforeAll(async () => {
  // Budgets are asserted below, one test each, rather than failing the whole file here.
  const previous = process.env.MIDGE_ESPRUINO_BUDGET;
  process.env.MIDGE_ESPRUINO_BUDGET = "warn";
  try {
    rows = await buildEspruino();
  } finally {
    if (previous === undefined) delete process.env.MIDGE_ESPRUINO_BUDGET;
    else process.env.MIDGE_ESPRUINO_BUDGET = previous;
  }
}, 60000);


/** Budgets the current core is known to miss (see the comment at their tests). */
const KNOWN_OVER_BUDGET: Record<string, string[]> = { esp8266: ["memory"], esp32c3: ["memory"] };

describe("Espruino bundles", () => {
  test("there is a profile for ESP32, ESP32-S3, ESP32-C3, ESP8266 and Espruino WiFi", () => {
    expect(espruinoBoards()).toEqual(expect.arrayContaining(["esp32", "esp32s3", "esp32c3", "esp8266", "espruino-wifi"]));
    expect(rows.map((r) => r.board).sort()).toEqual(espruinoBoards().sort());
  });

  test("the scanner catches what Espruino cannot run (self-test)", () => {
    const bad = [
      "class E2 extends Error{}",
      "a:for(;;){break a}",
      "[].slice.call(x)||Array.prototype.map.call(x,f)",
      "var s=Symbol('x')",
      "new Map()",
      "new Set([1])",
      "async function f(){await g()}",
      "function*g(){yield 1}",
      "for(const x of xs)y(x)",
      "f(...xs)",
      "Array.from(x)",
      "Math.trunc(x)",
      "new TextEncoder()",
      'var n=require("net")',
      "sock.destroy()",
    ];
    for (const code of bad) expect(scanBundle(code), code).not.toEqual([]);
    expect(scanBundle('var n=global.require("net");switch(x){default:for(;;)break}')).toEqual([]);
    expect(FORBIDDEN.length).toBeGreaterThan(10);
  });

  test("the top-level check catches module syntax and Espruino globals declared at the top level (self-test)", () => {
    expect(topLevelNames("var a,b=1;function c(d){var e}for(var f;;);if(x){let g}var h=function i(){};class j{m(){var k}}")).toEqual(["a", "b", "c", "f", "g", "h", "j"]);
    const bad = ["function D1(){}", "var LED1=1", "if(x){var E}", "class require{}", "for(var A0;;);", "var a=1;export{a}", "export function f(){}", "import x from 'y'", "import('y')"];
    for (const code of bad) expect(topLevelProblems(code), code).not.toEqual([]);
    expect(topLevelProblems("var aa;function bb(c){var D1,LED1;function E(){}}(function(){var print})()")).toEqual([]);
    expect(topLevelProblems("var i=0"), "a one-letter global").not.toEqual([]);
    for (const name of ["i", "x", "a", "Z", "_", "$", "E", "require", "process", "setTimeout", "console", "print", "Uint8Array", "global", "globalThis", "ESP32", "NodeMCU", "LED1", "BTN1", "D0", "D48", "A15", "C13", "H1", "__host"]) {
      expect(ESPRUINO_GLOBALS, name).toContain(name);
    }
  });

  for (const board of espruinoBoards()) {
    describe(board, () => {
      const code = (): string => readFileSync(join(ROOT, "dist", board, "midge.js"), "latin1");

      test("uses no construct or built-in Espruino lacks", () => {
        expect(scanBundle(code())).toEqual([]);
      });

      test("is one self-contained file: loading it touches only Espruino's globals", () => {
        const touched = new Set<string>();
        const on = (): void => undefined;
        const sandbox = new Proxy(
          { E: { on, toString: () => "", toUint8Array: () => new Uint8Array(0) }, setTimeout: () => 0, setInterval: () => 0, clearInterval: on, getTime: () => 0, console: { log: on } },
          {
            has: (t, k) => {
              if (typeof k === "string") touched.add(k);
              return k in t;
            },
          },
        );
        vm.runInNewContext(code(), vm.createContext(sandbox));
        const allowed = ["E", "setTimeout", "setInterval", "clearInterval", "getTime", "console", "global", "Uint8Array", "Math", "String", "Object", "Array", "JSON", "undefined"];
        for (const k of touched) expect(allowed, `global ${k}`).toContain(k);
        // The globals it relies on are among those its top-level names must never be.
        for (const k of allowed) expect(ESPRUINO_GLOBALS, `global ${k}`).toContain(k);
      });

      test("runs at the top level (no IIFE, no module syntax), and no top-level name is an Espruino global", () => {
        expect(topLevelProblems(code())).toEqual([]);
        // Its functions are declared at the top level (4 variables each on Espruino, 5 in an IIFE).
        expect(topLevelNames(code()).length).toBeGreaterThan(100);
        // None has one letter, the globals most often typed at the console (i=0, x=...).
        expect(topLevelNames(code()).filter((n) => n.length === 1)).toEqual([]);
      });

      test("has the profile's limits baked in", () => {
        const limits = loadProfile(board).limits as Record<string, number | boolean>;
        // JSON text in a string literal, parsed at start (targets/espruino/main.ts limitsOf).
        const literal = /'(\{"maxConnections":[^}]*\})'/.exec(code());
        expect(literal).not.toBeNull();
        expect(JSON.parse(literal![1])).toEqual(limits);
        // Every limit read there by its settings name, the only place the build leaves a limit's
        // name unrenamed (a misspelt name would read undefined).
        for (const name of Object.keys(limits)) expect(code()).toMatch(new RegExp("\\." + name + "\\b"));
      });

      // Known gaps (issue 15, open): the ESP8266's 1,600 variables and the ESP32-C3's 4,095 do not
      // hold the started bundle plus the tables at their worst. These tests assert the budgets; `.fails` marks the known miss,
      // so it turns red (and must be unmarked) the day the bundle gets small enough. (The ESP32's
      // 12 KB byte budget is retired: code runs from flash, what limits a board is variables.)
      const sizeTest = KNOWN_OVER_BUDGET[board]?.includes("size") ? test.fails : test;
      const memoryTest = KNOWN_OVER_BUDGET[board]?.includes("memory") ? test.fails : test;

      sizeTest("is within the board's bundle size budget", () => {
        const row = rows.find((r) => r.board === board)!;
        const budget = loadProfile(board).espruino.bundleBudgetBytes as number;
        if (budget > 0) expect(row.raw, `${board}: ${row.raw} bytes minified (${row.gzip} gzipped), budget ${budget}`).toBeLessThanOrEqual(budget);
      });

      test("admits no more clients than the firmware has sockets (maxConnections <= maxSockets)", () => {
        const profile = loadProfile(board);
        expect(profile.limits.maxConnections).toBeLessThanOrEqual(profile.espruino.maxSockets);
        expect(profile.limits.maxSessions).toBeGreaterThanOrEqual(profile.limits.maxConnections);
      });

      memoryTest("its full tables fit the board's variables (worst case from measured costs)", () => {
        const est = worstCase(loadProfile(board), loadCosts());
        expect(est.missing).toBeFalsy();
        expect(est.total, `${board}: worst case ${est.total} variables, budget ${est.budget}`).toBeLessThanOrEqual(est.budget);
      });
    });
  }

  test("the issue's tables: ESP8266 4 clients / 16 subscriptions / 8 retained, ESP32-C3 8 / 32 / 16, ESP32 and ESP32-S3 8 online, 32 sessions, 128 / 64", () => {
    const e8 = loadProfile("esp8266").limits;
    expect(Math.min(e8.maxConnections, e8.maxSessions)).toBeGreaterThanOrEqual(4);
    expect(e8.maxSubscriptions).toBeGreaterThanOrEqual(16);
    expect(e8.maxRetained).toBeGreaterThanOrEqual(8);
    const c3 = loadProfile("esp32c3").limits;
    expect(Math.min(c3.maxConnections, c3.maxSessions)).toBeGreaterThanOrEqual(8);
    expect(c3.maxSubscriptions).toBeGreaterThanOrEqual(32);
    expect(c3.maxRetained).toBeGreaterThanOrEqual(16);
    for (const board of ["esp32", "esp32s3"]) {
      const l = loadProfile(board).limits;
      expect(l.maxConnections, board).toBeGreaterThanOrEqual(8);
      expect(l.maxSessions, board).toBeGreaterThanOrEqual(32);
      expect(l.maxSubscriptions, board).toBeGreaterThanOrEqual(128);
      expect(l.maxRetained, board).toBeGreaterThanOrEqual(64);
    }
  });
});
