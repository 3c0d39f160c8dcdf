/**
 * A syntactic lint for the portable core (src/), built on the TypeScript compiler API.
 * It enforces the measured rules of /work/shared/notes/portability.md that neither esbuild
 * nor typescript-to-lua turn into errors by themselves (and a few that they do, so the
 * message names the rule and the line).
 *
 * Each rule has a scope: "core" rules apply to src/**\/*.ts (code that runs on Node,
 * Espruino and Lua); "js" rules also apply to the hand-written JavaScript of the core
 * (src/bytes/bytes.js, which runs on Node and Espruino only).
 */
import * as path from "node:path";
import ts from "typescript";

export interface Violation {
  file: string;
  line: number;
  column: number;
  rule: string;
  detail: string;
}

export interface LintOptions {
  /** "ts" for core TypeScript (all rules), "js" for the JS sibling files (Espruino rules only). */
  kind: "ts" | "js";
  /** Absolute path of the src/ directory: imports must stay inside it. */
  srcDir: string;
}

/** Lua reserved words. A property or exported name spelled like one needs ["x"] in Lua. */
export const LUA_KEYWORDS = [
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
  "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

const BITWISE_BINARY = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.AmpersandToken,
  ts.SyntaxKind.BarToken,
  ts.SyntaxKind.CaretToken,
  ts.SyntaxKind.LessThanLessThanToken,
  ts.SyntaxKind.GreaterThanGreaterThanToken,
  ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken,
  ts.SyntaxKind.AmpersandEqualsToken,
  ts.SyntaxKind.BarEqualsToken,
  ts.SyntaxKind.CaretEqualsToken,
  ts.SyntaxKind.LessThanLessThanEqualsToken,
  ts.SyntaxKind.GreaterThanGreaterThanEqualsToken,
  ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken,
]);

/**
 * Globals the core must not reference. Value: [rule, reason, scope]. "core" = only in
 * src/*.ts (fine in bytes.js, e.g. Uint8Array), "js" = in every core file.
 */
const FORBIDDEN_GLOBALS: Record<string, [string, string, "core" | "js"]> = {
  Map: ["no-map-set", "Map is missing in typescript-to-lua's cheap runtime (7-8 KB) and costly on Espruino: use arrays with a count or a string-keyed object", "js"],
  Set: ["no-map-set", "Set: use arrays with a count or a string-keyed object", "js"],
  WeakMap: ["no-map-set", "WeakMap is not portable", "js"],
  WeakSet: ["no-map-set", "WeakSet is not portable", "js"],
  WeakRef: ["no-map-set", "WeakRef is not portable", "js"],
  Proxy: ["no-proxy", "Proxy is missing on Espruino and in Lua", "js"],
  Reflect: ["no-proxy", "Reflect is missing on Espruino and in Lua", "js"],
  Symbol: ["no-symbol", "Symbol is missing on Espruino", "js"],
  BigInt: ["no-bigint", "BigInt is missing on Espruino and in Lua", "js"],
  TextEncoder: ["no-text-codec", "TextEncoder is missing on Espruino: use utf8Encode from bytes", "js"],
  TextDecoder: ["no-text-codec", "TextDecoder is missing on Espruino: use utf8Decode from bytes", "js"],
  Buffer: ["no-target-global", "Buffer is Node-only: the core uses Bytes", "js"],
  process: ["no-target-global", "process is Node-only (Espruino has no process.argv/exit)", "js"],
  require: ["no-target-global", "require belongs to the target shell", "js"],
  __dirname: ["no-target-global", "__dirname is Node-only", "js"],
  __filename: ["no-target-global", "__filename is Node-only", "js"],
  globalThis: ["no-target-global", "globalThis is not portable", "js"],
  console: ["no-target-global", "console: log through the platform Log interface", "js"],
  setTimeout: ["no-target-global", "timers belong to the target: the core gets time from Clock", "js"],
  setInterval: ["no-target-global", "timers belong to the target: the core gets time from Clock", "js"],
  setImmediate: ["no-target-global", "timers belong to the target", "js"],
  clearTimeout: ["no-target-global", "timers belong to the target", "js"],
  clearInterval: ["no-target-global", "timers belong to the target", "js"],
  queueMicrotask: ["no-target-global", "microtasks are not portable", "js"],
  Promise: ["no-target-global", "Promise/async is not portable (Espruino cannot run async/await; Lua has no event loop)", "js"],
  eval: ["no-target-global", "eval is not portable", "js"],
  Function: ["no-target-global", "the Function constructor is not portable", "js"],
  // Below: fine in the JS implementation of Bytes, absent in Lua.
  Uint8Array: ["no-typed-arrays", "typed arrays do not exist in Lua: go through the Bytes functions of src/bytes", "core"],
  Uint16Array: ["no-typed-arrays", "typed arrays do not exist in Lua", "core"],
  Uint32Array: ["no-typed-arrays", "typed arrays do not exist in Lua", "core"],
  Int8Array: ["no-typed-arrays", "typed arrays do not exist in Lua", "core"],
  Int16Array: ["no-typed-arrays", "typed arrays do not exist in Lua", "core"],
  Int32Array: ["no-typed-arrays", "typed arrays do not exist in Lua", "core"],
  Float32Array: ["no-typed-arrays", "typed arrays do not exist in Lua", "core"],
  Float64Array: ["no-typed-arrays", "typed arrays do not exist in Lua", "core"],
  ArrayBuffer: ["no-typed-arrays", "ArrayBuffer does not exist in Lua", "core"],
  DataView: ["no-typed-arrays", "DataView does not exist in Lua", "core"],
  JSON: ["no-target-global", "JSON does not exist in Lua: parse configuration in the target shell", "core"],
  RegExp: ["no-regexp", "regular expressions do not exist in Lua", "core"],
  Date: ["no-target-global", "Date: the core gets time from the platform Clock", "core"],
};

/** object.member pairs missing on Espruino, as measured (portability.md rule 10). */
const FORBIDDEN_STATIC_MEMBERS: Record<string, string[]> = {
  Array: ["from"],
  Uint8Array: ["from"],
  Number: ["isInteger"],
  Math: ["trunc", "imul", "clz32", "log2", "sign"],
  Object: ["freeze"],
};

/** Methods called on any value that Espruino lacks (rule 10). */
const FORBIDDEN_METHODS: Record<string, string> = {
  codePointAt: "codePointAt is missing on Espruino",
  copyWithin: "copyWithin is missing on Espruino",
  at: ".at() is missing on Espruino: index with [i]",
};

const ERROR_CLASSES = new Set(["Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError"]);

function isLoopFunction(n: ts.Node): n is ts.FunctionLikeDeclaration {
  return ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n);
}

/**
 * True when the identifier is a reference to a binding (a free or bound variable), not a
 * property name, a declaration's own name or part of a qualified type name's right side.
 */
function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (!p) return true;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if (
    (ts.isPropertyAssignment(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isPropertySignature(p) ||
      ts.isMethodDeclaration(p) ||
      ts.isMethodSignature(p) ||
      ts.isGetAccessorDeclaration(p) ||
      ts.isSetAccessorDeclaration(p) ||
      ts.isEnumMember(p) ||
      ts.isVariableDeclaration(p) ||
      ts.isFunctionDeclaration(p) ||
      ts.isFunctionExpression(p) ||
      ts.isClassDeclaration(p) ||
      ts.isClassExpression(p) ||
      ts.isInterfaceDeclaration(p) ||
      ts.isTypeAliasDeclaration(p) ||
      ts.isEnumDeclaration(p) ||
      ts.isModuleDeclaration(p) ||
      ts.isParameter(p) ||
      ts.isTypeParameterDeclaration(p) ||
      ts.isBindingElement(p) ||
      ts.isImportSpecifier(p) ||
      ts.isExportSpecifier(p) ||
      ts.isImportClause(p) ||
      ts.isNamespaceImport(p) ||
      ts.isLabeledStatement(p) ||
      ts.isBreakOrContinueStatement(p)) &&
    (p as { name?: ts.Node }).name === id
  ) {
    return false;
  }
  if ((ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) && p.propertyName === id) return false;
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return false;
  return true;
}

/** Property-like names declared or accessed by this node (for the Lua keyword rule). */
function propertyNameOf(n: ts.Node): ts.Node | undefined {
  if (
    ts.isPropertyAssignment(n) ||
    ts.isPropertyDeclaration(n) ||
    ts.isPropertySignature(n) ||
    ts.isMethodDeclaration(n) ||
    ts.isMethodSignature(n) ||
    ts.isGetAccessorDeclaration(n) ||
    ts.isSetAccessorDeclaration(n) ||
    ts.isEnumMember(n) ||
    ts.isShorthandPropertyAssignment(n) ||
    ts.isPropertyAccessExpression(n)
  ) {
    return n.name;
  }
  if (ts.isElementAccessExpression(n) && ts.isStringLiteral(n.argumentExpression)) return n.argumentExpression;
  return undefined;
}

function nameText(n: ts.Node): string | undefined {
  if (ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) return n.text;
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  return undefined;
}

function hasModifier(n: ts.Node, kind: ts.SyntaxKind): boolean {
  const mods = ts.canHaveModifiers(n) ? ts.getModifiers(n) : undefined;
  return !!mods && mods.some((m) => m.kind === kind);
}

/** Lints one file's text. fileName is used for messages and to resolve relative imports. */
export function lintSource(fileName: string, text: string, options: LintOptions): Violation[] {
  const isCore = options.kind === "ts";
  const scriptKind = fileName.endsWith(".js") ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, scriptKind);
  const out: Violation[] = [];
  const report = (node: ts.Node, rule: string, detail: string): void => {
    const start = node.getStart(sf);
    const lc = sf.getLineAndCharacterOfPosition(start);
    out.push({ file: fileName, line: lc.line + 1, column: lc.character + 1, rule, detail });
  };

  // Parse errors make every other answer unreliable.
  const parseDiagnostics = (sf as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  for (const d of parseDiagnostics) {
    const lc = sf.getLineAndCharacterOfPosition(d.start);
    out.push({ file: fileName, line: lc.line + 1, column: lc.character + 1, rule: "parse-error", detail: ts.flattenDiagnosticMessageText(d.messageText, " ") });
  }

  // Rule 8: every file is a module (otherwise Lua gets globals).
  const isModule = sf.statements.some(
    (s) =>
      ts.isImportDeclaration(s) ||
      ts.isExportDeclaration(s) ||
      ts.isExportAssignment(s) ||
      ts.isImportEqualsDeclaration(s) ||
      hasModifier(s, ts.SyntaxKind.ExportKeyword),
  );
  if (!isModule) {
    out.push({ file: fileName, line: 1, column: 1, rule: "module-file", detail: "file has no import or export: typescript-to-lua would make its declarations Lua globals" });
  }

  const checkImportSpecifier = (node: ts.Node, spec: ts.Expression): void => {
    if (!ts.isStringLiteral(spec)) {
      report(node, "import-outside-src", "non-literal module specifier");
      return;
    }
    const s = spec.text;
    if (!s.startsWith("./") && !s.startsWith("../")) {
      report(node, "import-outside-src", `"${s}": the core imports only its own files (relative paths inside src/)`);
      return;
    }
    const resolved = path.resolve(path.dirname(fileName), s);
    const rel = path.relative(options.srcDir, resolved);
    if (rel.startsWith("..") || path.isAbsolute(rel)) {
      report(node, "import-outside-src", `"${s}" resolves outside src/`);
    }
  };

  // Rule 3: closures created inside `for (let i ...)` share one i on Espruino.
  const checkLoopClosures = (loop: ts.ForStatement): void => {
    const init = loop.initializer;
    if (!init || !ts.isVariableDeclarationList(init)) return;
    if ((init.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) === 0) return;
    const names = new Set<string>();
    for (const d of init.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text);
    if (names.size === 0) return;
    const visitBody = (n: ts.Node, insideFn: boolean): void => {
      if (isLoopFunction(n)) insideFn = true;
      if (insideFn && ts.isIdentifier(n) && names.has(n.text) && isReference(n)) {
        report(n, "no-loop-closure", `closure captures loop variable '${n.text}' (Espruino shares one binding across iterations)`);
      }
      ts.forEachChild(n, (c) => visitBody(c, insideFn));
    };
    visitBody(loop.statement, false);
    if (loop.condition) visitBody(loop.condition, false);
    if (loop.incrementor) visitBody(loop.incrementor, false);
  };

  const visit = (node: ts.Node): void => {
    // --- Rule 1: bitwise operators (core only: JS targets may use them, Lua may not).
    if (isCore) {
      if (ts.isBinaryExpression(node) && BITWISE_BINARY.has(node.operatorToken.kind)) {
        report(node.operatorToken, "no-bitwise", `operator '${node.operatorToken.getText(sf)}': use Math.floor(x / 2^k) and % (Lua 5.1 has no bit operators)`);
      }
      if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.TildeToken) {
        report(node, "no-bitwise", "operator '~'");
      }
      // Loose equality behaves differently in Lua (no coercion; null == undefined both nil).
      if (
        ts.isBinaryExpression(node) &&
        (node.operatorToken.kind === ts.SyntaxKind.EqualsEqualsToken || node.operatorToken.kind === ts.SyntaxKind.ExclamationEqualsToken)
      ) {
        report(node.operatorToken, "no-loose-equality", `'${node.operatorToken.getText(sf)}': use === / !== (Lua == never coerces)`);
      }
    }

    // --- Globals and constructors.
    if (ts.isIdentifier(node) && Object.prototype.hasOwnProperty.call(FORBIDDEN_GLOBALS, node.text) && isReference(node)) {
      const entry = FORBIDDEN_GLOBALS[node.text];
      if (entry[2] === "js" || isCore) report(node, entry[0], `${node.text}: ${entry[1]}`);
    }
    if (ts.isBigIntLiteral(node)) report(node, "no-bigint", "BigInt literal");
    if (isCore && ts.isRegularExpressionLiteral(node)) report(node, "no-regexp", "regular expression literal (none in Lua)");

    // --- Rule 4: no `extends Error`; no try/catch for control flow.
    if (ts.isHeritageClause(node) && node.token === ts.SyntaxKind.ExtendsKeyword) {
      for (const t of node.types) {
        if (ts.isIdentifier(t.expression) && ERROR_CLASSES.has(t.expression.text)) {
          report(t, "no-extends-error", `extends ${t.expression.text}: broken on Espruino; return status codes instead`);
        }
      }
    }
    if (isCore && ts.isTryStatement(node)) {
      report(node, "no-try-catch", "exceptions are not control flow in the core (a closure per call in Lua): return status codes");
    }

    // --- Rule 3: syntax Espruino cannot run and esbuild does not lower.
    if (ts.isLabeledStatement(node)) report(node, "no-labels", `label '${node.label.text}'`);
    if (ts.isObjectBindingPattern(node) || ts.isArrayBindingPattern(node)) report(node, "no-destructuring", "destructuring pattern");
    if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      (ts.isArrayLiteralExpression(node.left) || ts.isObjectLiteralExpression(node.left))
    ) {
      report(node.left, "no-destructuring", "destructuring assignment");
    }
    if (ts.isSpreadElement(node) || ts.isSpreadAssignment(node)) report(node, "no-spread", "spread");
    if (ts.isParameter(node)) {
      if (node.dotDotDotToken) report(node, "no-rest", "rest parameter");
      if (node.initializer) report(node, "no-default-param", "default parameter value");
    }
    if (ts.isBindingElement(node) && node.dotDotDotToken) report(node, "no-rest", "rest element");
    if (ts.isForOfStatement(node)) report(node, "no-for-of", "for-of: use an index loop");
    if (ts.isForStatement(node)) checkLoopClosures(node);
    if (
      (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isMethodDeclaration(node)) &&
      node.asteriskToken
    ) {
      report(node, "no-generators", "generator function");
    }
    if (ts.isYieldExpression(node)) report(node, "no-generators", "yield");
    if (hasModifier(node, ts.SyntaxKind.AsyncKeyword)) report(node, "no-async", "async function");
    if (ts.isAwaitExpression(node)) report(node, "no-async", "await");

    // --- Rule 10: built-ins missing on Espruino.
    if (ts.isPropertyAccessExpression(node)) {
      const member = node.name.text;
      if (member === "prototype") {
        report(node, "no-prototype-access", `${node.getText(sf)}: built-ins are not reachable through .prototype on Espruino`);
      }
      if (ts.isIdentifier(node.expression)) {
        const owner = node.expression.text;
        const banned = FORBIDDEN_STATIC_MEMBERS[owner];
        if (banned && banned.indexOf(member) >= 0) report(node, "no-missing-builtin", `${owner}.${member} is missing on Espruino`);
      }
      if (
        Object.prototype.hasOwnProperty.call(FORBIDDEN_METHODS, member) &&
        ts.isCallExpression(node.parent) &&
        node.parent.expression === node
      ) {
        report(node.name, "no-missing-builtin", FORBIDDEN_METHODS[member]);
      }
    }

    // --- Imports stay inside src/.
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      checkImportSpecifier(node, node.moduleSpecifier);
    }
    if (ts.isImportEqualsDeclaration(node)) report(node, "import-outside-src", "import = require() is not portable");
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      report(node, "no-async", "dynamic import()");
    }
    if (ts.isImportTypeNode(node)) report(node, "import-outside-src", "import() type: import the type from src/ instead");

    // --- Rule 8: Lua keywords as property names or exported names (core only).
    if (isCore) {
      const pn = propertyNameOf(node);
      const t = pn ? nameText(pn) : undefined;
      if (pn && t !== undefined && LUA_KEYWORDS.indexOf(t) >= 0) {
        report(pn, "no-lua-keyword-property", `property '${t}' is a Lua keyword`);
      }
      if (
        (ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node) || ts.isVariableStatement(node) || ts.isEnumDeclaration(node)) &&
        hasModifier(node, ts.SyntaxKind.ExportKeyword)
      ) {
        const names: ts.Node[] = [];
        if (ts.isVariableStatement(node)) {
          for (const d of node.declarationList.declarations) names.push(d.name);
        } else if (node.name) {
          names.push(node.name);
        }
        for (const n of names) {
          if (ts.isIdentifier(n) && LUA_KEYWORDS.indexOf(n.text) >= 0) {
            report(n, "no-lua-keyword-property", `exported name '${n.text}' is a Lua keyword (module tables are Lua tables)`);
          }
        }
      }
      if (ts.isExportSpecifier(node) && LUA_KEYWORDS.indexOf(node.name.text) >= 0) {
        report(node, "no-lua-keyword-property", `exported name '${node.name.text}' is a Lua keyword`);
      }
    }

    ts.forEachChild(node, visit);
  };
  visit(sf);

  // --- JS sibling files: Function.apply takes at most 256 arguments on Espruino. Light check:
  // every `.apply(` call must sit in a function that bounds something by a literal <= 256.
  if (!isCore) {
    const applyVisit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === "apply" &&
        node.arguments.length === 2
      ) {
        let fn: ts.Node | undefined = node.parent;
        while (fn && !ts.isFunctionLike(fn)) fn = fn.parent;
        const body = fn ? fn.getText(sf) : sf.text;
        const bound = /<=?\s*(\d+)/g;
        let ok = false;
        let m: RegExpExecArray | null;
        while ((m = bound.exec(body)) !== null) if (Number(m[1]) > 0 && Number(m[1]) <= 256) ok = true;
        if (!ok) report(node, "apply-args-limit", "Function.apply with an argument list not visibly bounded by <= 256 (Espruino's limit)");
      }
      ts.forEachChild(node, applyVisit);
    };
    applyVisit(sf);
  }

  out.sort((a, b) => a.line - b.line || a.column - b.column);
  return out;
}

export function formatViolation(v: Violation, root: string): string {
  return `${path.relative(root, v.file)}:${v.line}:${v.column}: ${v.rule}: ${v.detail}`;
}
