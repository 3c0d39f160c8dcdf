/**
 * The build's move of cold functions' parameters into `arguments` (targets/espruino/parameters.mjs):
 * what it rewrites, what it keeps, that it refuses a named build that does not line up, and that
 * the functions it keeps by name still exist.
 */
import ts from "typescript";
import * as vm from "node:vm";
import { beforeAll, describe, expect, test } from "vitest";
import { bundleFor, loadProfile } from "../../targets/espruino/build.mjs";
import { HOT_FUNCTIONS, coldParameters } from "../../targets/espruino/parameters.mjs";

// A minified bundle and the same built with names kept: top-level functions in the same order.
const MINIFIED = "function a1(x,y){return x*10+y}function a2(x){return x+1}function a3(){return 7}function a4(x,y,z){return a1(x,y)+z}let q=a4(1,2,3)+a2(a3());";
const NAMED = "function scale(value,digit){return value*10+digit}function next(value){return value+1}function seven(){return 7}function sum(a,b,c){return scale(a,b)+c}let result=sum(1,2,3)+next(seven());";

describe("coldParameters", () => {
  test("moves the parameters of functions not kept into arguments, and keeps the others as they are", () => {
    const r = coldParameters(MINIFIED, NAMED, ts, ["next"]);
    expect(r.functions).toBe(2);
    expect(r.parameters).toBe(5);
    expect(r.code).toContain("function a1(){var x=arguments[0],y=arguments[1];return x*10+y}");
    expect(r.code).toContain("function a2(x){return x+1}");
    expect(r.code).toContain("function a3(){return 7}");
    expect(r.code).toContain("function a4(){var x=arguments[0],y=arguments[1],z=arguments[2];return a1(x,y)+z}");
  });

  test("the rewritten code computes the same", () => {
    const run = (code: string) => vm.runInNewContext(code.replace("let q=", "q=") + ";q", {});
    expect(run(coldParameters(MINIFIED, NAMED, ts, []).code)).toBe(run(MINIFIED));
    expect(run(MINIFIED)).toBe(12 + 3 + 8);
  });

  test("refuses a named build whose functions do not line up", () => {
    expect(() => coldParameters(MINIFIED, NAMED.replace("function seven(){return 7}", ""), ts)).toThrow(/do not line up/);
    expect(() => coldParameters(MINIFIED, NAMED.replace("next(value)", "next(value,extra)"), ts)).toThrow(/do not line up/);
  });
});

describe("the ESP32 bundle", () => {
  let named = "";
  let minified = "";
  beforeAll(async () => {
    const profile = loadProfile("esp32");
    named = (await bundleFor(profile, undefined, undefined, { names: true })).code;
    minified = (await bundleFor(profile)).code;
  }, 60000);

  test("has every function HOT_FUNCTIONS keeps by name (a renamed one would silently turn cold)", () => {
    const sf = ts.createSourceFile("b.js", named, ts.ScriptTarget.ES2015, true, ts.ScriptKind.JS);
    const names = new Set(sf.statements.filter(ts.isFunctionDeclaration).map((f) => f.name!.text));
    expect(HOT_FUNCTIONS.filter((n) => !names.has(n))).toEqual([]);
  });

  test("is built with the cold functions' parameters in arguments, and the hot ones' declared", () => {
    expect((minified.match(/arguments\[0\]/g) || []).length).toBeGreaterThan(100);
    const sf = ts.createSourceFile("b.js", minified, ts.ScriptTarget.ES2015, true, ts.ScriptKind.JS);
    const declared = sf.statements.filter(ts.isFunctionDeclaration).reduce((n, f) => n + f.parameters.length, 0);
    // The hot functions' parameters, and only theirs, stay declared.
    const nsf = ts.createSourceFile("n.js", named, ts.ScriptTarget.ES2015, true, ts.ScriptKind.JS);
    const hot = new Set(HOT_FUNCTIONS);
    const hotParams = nsf.statements.filter(ts.isFunctionDeclaration).filter((f) => hot.has(f.name!.text)).reduce((n, f) => n + f.parameters.length, 0);
    expect(declared).toBe(hotParams);
  });
});
