/**
 * A small JSON reader for the Lua target's board profiles (Lua has no JSON built in). Values
 * come back as tagged records so object keys keep their order and no Lua-side `nil` is
 * ambiguous. Strings are byte strings: \u escapes are written as UTF-8.
 */

export const enum JsonKind {
  NULL = 0,
  BOOLEAN = 1,
  NUMBER = 2,
  STRING = 3,
  ARRAY = 4,
  OBJECT = 5,
}

export interface JsonValue {
  kind: JsonKind;
  bool: boolean;
  num: number;
  str: string;
  /** ARRAY items, or OBJECT values (in key order). */
  items: JsonValue[];
  /** OBJECT keys, parallel to items. */
  keys: string[];
}

export interface JsonResult {
  ok: boolean;
  value: JsonValue;
  error: string;
}

declare function tonumber(this: void, text: string): number | undefined;

let text = "";
let at = 0;
let failure = "";

function newValue(kind: JsonKind): JsonValue {
  return { kind: kind, bool: false, num: 0, str: "", items: [], keys: [] };
}

function fail(message: string): JsonValue {
  if (failure === "") failure = message + " at offset " + at;
  return newValue(JsonKind.NULL);
}

function skipSpace(): void {
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
    at++;
  }
}

/** UTF-8 of a code point as a string of bytes (Lua strings are bytes). */
function utf8Char(cp: number): string {
  if (cp < 0x80) return String.fromCharCode(cp);
  if (cp < 0x800) return String.fromCharCode(0xc0 + Math.floor(cp / 64), 0x80 + (cp % 64));
  if (cp < 0x10000) {
    return String.fromCharCode(0xe0 + Math.floor(cp / 4096), 0x80 + (Math.floor(cp / 64) % 64), 0x80 + (cp % 64));
  }
  return String.fromCharCode(
    0xf0 + Math.floor(cp / 262144),
    0x80 + (Math.floor(cp / 4096) % 64),
    0x80 + (Math.floor(cp / 64) % 64),
    0x80 + (cp % 64),
  );
}

function hex4(): number {
  if (at + 4 > text.length) return -1;
  const n = tonumber("0x" + text.substring(at, at + 4));
  for (let i = at; i < at + 4; i++) {
    const c = text.charCodeAt(i);
    const isHex = (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
    if (!isHex) return -1;
  }
  at += 4;
  return n === undefined ? -1 : n;
}

function parseString(): string {
  // at is on the opening quote.
  at++;
  let out = "";
  let runStart = at;
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c === 34) {
      out += text.substring(runStart, at);
      at++;
      return out;
    }
    if (c < 32) {
      fail("control character in string");
      return "";
    }
    if (c !== 92) {
      at++;
      continue;
    }
    out += text.substring(runStart, at);
    at++;
    const e = text.charCodeAt(at);
    at++;
    if (e === 34) out += '"';
    else if (e === 92) out += "\\";
    else if (e === 47) out += "/";
    else if (e === 98) out += "\b";
    else if (e === 102) out += "\f";
    else if (e === 110) out += "\n";
    else if (e === 114) out += "\r";
    else if (e === 116) out += "\t";
    else if (e === 117) {
      let cp = hex4();
      if (cp < 0) {
        fail("bad \\u escape");
        return "";
      }
      if (cp >= 0xd800 && cp <= 0xdbff && text.charCodeAt(at) === 92 && text.charCodeAt(at + 1) === 117) {
        at += 2;
        const lo = hex4();
        if (lo < 0xdc00 || lo > 0xdfff) {
          fail("bad surrogate pair");
          return "";
        }
        cp = 0x10000 + (cp - 0xd800) * 1024 + (lo - 0xdc00);
      }
      out += utf8Char(cp);
    } else {
      fail("bad escape");
      return "";
    }
    runStart = at;
  }
  fail("unterminated string");
  return "";
}

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;
}

function parseValue(depth: number): JsonValue {
  if (depth > 64) return fail("nested too deeply");
  skipSpace();
  if (at >= text.length) return fail("unexpected end");
  const c = text.charCodeAt(at);
  if (c === 123) {
    const v = newValue(JsonKind.OBJECT);
    at++;
    skipSpace();
    if (text.charCodeAt(at) === 125) {
      at++;
      return v;
    }
    for (;;) {
      skipSpace();
      if (text.charCodeAt(at) !== 34) return fail("expected a key");
      const key = parseString();
      if (failure !== "") return v;
      skipSpace();
      if (text.charCodeAt(at) !== 58) return fail("expected ':'");
      at++;
      const item = parseValue(depth + 1);
      if (failure !== "") return v;
      v.keys.push(key);
      v.items.push(item);
      skipSpace();
      const d = text.charCodeAt(at);
      at++;
      if (d === 125) return v;
      if (d !== 44) return fail("expected ',' or '}'");
    }
  }
  if (c === 91) {
    const v = newValue(JsonKind.ARRAY);
    at++;
    skipSpace();
    if (text.charCodeAt(at) === 93) {
      at++;
      return v;
    }
    for (;;) {
      const item = parseValue(depth + 1);
      if (failure !== "") return v;
      v.items.push(item);
      skipSpace();
      const d = text.charCodeAt(at);
      at++;
      if (d === 93) return v;
      if (d !== 44) return fail("expected ',' or ']'");
    }
  }
  if (c === 34) {
    const v = newValue(JsonKind.STRING);
    v.str = parseString();
    return v;
  }
  if (text.startsWith("true", at)) {
    at += 4;
    const v = newValue(JsonKind.BOOLEAN);
    v.bool = true;
    return v;
  }
  if (text.startsWith("false", at)) {
    at += 5;
    return newValue(JsonKind.BOOLEAN);
  }
  if (text.startsWith("null", at)) {
    at += 4;
    return newValue(JsonKind.NULL);
  }
  if (c === 45 || (c >= 48 && c <= 57)) {
    const start = at;
    while (at < text.length && isNumberChar(text.charCodeAt(at))) at++;
    const n = tonumber(text.substring(start, at));
    if (n === undefined) return fail("bad number");
    const v = newValue(JsonKind.NUMBER);
    v.num = n;
    return v;
  }
  return fail("unexpected character");
}

export function parseJson(source: string): JsonResult {
  text = source;
  at = 0;
  failure = "";
  const value = parseValue(0);
  if (failure === "") {
    skipSpace();
    if (at < text.length) fail("trailing characters");
  }
  const result: JsonResult = { ok: failure === "", value: value, error: failure };
  text = "";
  return result;
}

/** The value of key in an OBJECT, or undefined. */
export function jsonGet(obj: JsonValue, key: string): JsonValue | undefined {
  for (let i = 0; i < obj.keys.length; i++) if (obj.keys[i] === key) return obj.items[i];
  return undefined;
}

/**
 * The value as plain data (objects as string-keyed tables, arrays as arrays, null as
 * undefined), the shape src/config/profile.ts validates.
 */
export function jsonPlain(v: JsonValue): unknown {
  switch (v.kind) {
    case JsonKind.BOOLEAN:
      return v.bool;
    case JsonKind.NUMBER:
      return v.num;
    case JsonKind.STRING:
      return v.str;
    case JsonKind.ARRAY: {
      const out: unknown[] = [];
      for (let i = 0; i < v.items.length; i++) out.push(jsonPlain(v.items[i]));
      return out;
    }
    case JsonKind.OBJECT: {
      const out: { [key: string]: unknown } = {};
      for (let i = 0; i < v.keys.length; i++) out[v.keys[i]] = jsonPlain(v.items[i]);
      return out;
    }
  }
  return undefined;
}
