// Worst-case memory of a board profile's full tables, in Espruino variables (JsVars), from
// per-item costs measured on the real Espruino interpreter (and, for the simulator's
// calibration, the same items measured in QuickJS). The costs come from
// targets/espruino/costs.json, written by `node targets/espruino/measure.mjs`; nothing here
// is a hard-coded answer: each item is count x (measured fixed cost + measured cost per byte
// x the profile's longest field), with per-byte costs converted from the Linux build's
// variable geometry to the board's.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const COSTS_FILE = fileURLToPath(new URL("./costs.json", import.meta.url));

/** A hash of the core's sources (src/), recorded with the measurements to tell when they are stale. */
export function coreHash() {
  const root = fileURLToPath(new URL("../../src/", import.meta.url));
  const h = createHash("sha256");
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        h.update(p.slice(root.length));
        h.update(readFileSync(p));
      }
    }
  };
  walk(root);
  return h.digest("hex").slice(0, 16);
}

export function loadCosts() {
  if (!existsSync(COSTS_FILE)) return null;
  return JSON.parse(readFileSync(COSTS_FILE, "utf8"));
}

/**
 * The measured item costs for one profile: those measured with its own bundle
 * (`node targets/espruino/measure.mjs --board <b>`, costs.json profiles.<b>) when there are
 * some, else the ESP32 bundle's (the default). { espruino, quickjs, own }.
 */
export function costsFor(profile, costs) {
  const own = costs && costs.profiles ? costs.profiles[profile.board] : undefined;
  return {
    espruino: own && own.espruino ? own.espruino : costs.espruino,
    quickjs: own && own.quickjs ? own.quickjs : costs.quickjs,
    own: !!(own && own.espruino),
  };
}

/**
 * Variable geometry of an Espruino build with `jsVars` fixed variables (Espruino's
 * src/jsutils.h): bits per reference, then characters in a string's first variable and in
 * each further one, and bytes per variable (the unit of flat strings, which back typed
 * arrays). 32-bit boards store 4 name bytes, 64-bit builds (Linux) 8. `varBytes` of a
 * 64-bit build is process.memory().blocksize, measured.
 */
export function geometry(jsVars, wordBytes, varBytes) {
  let refBits, refcountBits, packBits = 0, bytes;
  if (jsVars <= 254) [refBits, refcountBits, packBits, bytes] = [8, 6, 8, 12];
  else if (jsVars <= 1023) [refBits, refcountBits, packBits, bytes] = [10, 6, 2, 12];
  else if (jsVars <= 2047) [refBits, refcountBits, bytes] = [11, 4, 12];
  else if (jsVars <= 4095) [refBits, refcountBits, bytes] = [12, 8, 13];
  else if (jsVars <= 8191) [refBits, refcountBits, bytes] = [13, 4, 13];
  else if (jsVars <= 16383) [refBits, refcountBits, bytes] = [14, 8, 14];
  else [refBits, refcountBits, bytes] = [16, 8, 16];
  const nameLen = wordBytes === 8 ? 8 : 4;
  return {
    first: nameLen + Math.floor((refBits * 3 + packBits) / 8),
    next: nameLen + Math.floor((refBits * 3 + packBits + refcountBits) / 8),
    varBytes: varBytes || bytes,
  };
}

/** Variables of a String of n characters. */
export function stringVars(n, geo) {
  return n <= geo.first ? 1 : 1 + Math.ceil((n - geo.first) / geo.next);
}

/** Variables of a Uint8Array of n bytes (view + ArrayBuffer + its string, flat when long). */
export function bytesVars(n, geo) {
  if (n <= geo.first + geo.next) return 2 + stringVars(n, geo);
  return 3 + Math.ceil(n / geo.varBytes);
}

/** The longest topic, QoS 1 payload, and per-retained sizes a profile allows (the estimate's and loadtest.mjs's). */
export function sizes(limits) {
  const T = Math.max(1, Math.min(limits.maxTopicLength, limits.maxPacketSize - 12));
  let P = Math.max(0, limits.maxPacketSize - 5 - 2 - T - 2);
  if (limits.messageSizeLimit > 0) P = Math.min(P, limits.messageSizeLimit);
  const perRetained = limits.maxRetained > 0 ? Math.floor(limits.maxRetainedBytes / limits.maxRetained) : 0;
  const Tr = Math.max(1, Math.min(T, perRetained - 1));
  // Each retained message still fits one packet (a profile whose maxRetainedBytes allows more).
  const Pr = Math.max(1, Math.min(perRetained - Tr, limits.maxPacketSize - 5 - 2 - Tr));
  return { T, P, Tr, Pr };
}

/**
 * Items of the full tables of a profile, each { name, count, each, total }, in an engine's
 * unit: `c` holds that engine's measured item costs, `scale` converts measured per-byte costs
 * (1 for QuickJS bytes), `str(n)` and `buf(n)` cost a String and a Uint8Array of n bytes.
 */
function items(limits, c, scale, str, buf, replayEach) {
  const { T, P, Tr, Pr } = sizes(limits);
  const perByte = (item, key) => item[key] * scale;
  const msg = (item) => item.fixed + perByte(item, "perTopicByte") * T + perByte(item, "perPayloadByte") * P;
  // Unsent data per connection: QoS 0 stops at maxPendingBytes (+ the packet that crossed it),
  // QoS 1/2 at the in-flight window; past 2 x maxPendingBytes the core closes the connection.
  const sendBuffer = Math.max(limits.maxPendingBytes + limits.maxPacketSize * (1 + limits.maxInflight), 2 * limits.maxPendingBytes + limits.maxPacketSize);
  const list = [
    // Slots are created as first needed and kept: in the worst case all of them exist.
    ["connections (slot + socket)", limits.maxConnections, (c.connSlot || 0) + c.socket.fixed],
    ["sessions (slot + client id " + limits.maxClientIdLength + " B)", limits.maxSessions, (c.sessionSlot || 0) + c.session.fixed + perByte(c.session, "perByte") * limits.maxClientIdLength],
    ["subscriptions (filter " + T + " B)", limits.maxSubscriptions, c.subscription.fixed + perByte(c.subscription, "perByte") * T],
    ["retained (" + Tr + " + " + Pr + " B)", limits.maxRetained, c.retained.fixed + perByte(c.retained, "perTopicByte") * Tr + perByte(c.retained, "perPayloadByte") * Pr],
    ["queued (" + T + " + " + P + " B)", limits.maxSessions * limits.maxQueued, msg(c.queued)],
    ["in flight (" + T + " + " + P + " B)", limits.maxSessions * limits.maxInflight, msg(c.inflight)],
    ["inbound QoS 2 ids", limits.maxSessions * limits.maxInboundQos2, c.inboundId],
    ["partial packets (" + limits.maxPacketSize + " B)", limits.maxConnections, c.partial.fixed + perByte(c.partial, "perByte") * limits.maxPacketSize],
    ["wills (" + limits.maxPacketSize + " B)", limits.maxConnections, buf(limits.maxPacketSize) + str(T)],
    ["send buffers (" + sendBuffer + " B)", limits.maxConnections, str(sendBuffer)],
    // Retained replays under way (src/broker/replay.ts): one number each, at most one per
    // subscription of an online session. Not measured: one array element holding a small
    // integer (one variable on Espruino, a 16-byte value in a QuickJS array).
    ["retained replays under way", Math.min(limits.maxSubscriptions, limits.maxConnections * limits.maxSubscriptionsPerClient), replayEach],
    // The encoder's writer grows to the largest packet (doubling) and stays; each send takes a
    // copy and converts it to a String; each received chunk (<= 536 B) is converted once.
    ["packet buffers", 1, buf(2 * limits.maxPacketSize) + buf(limits.maxPacketSize) + str(limits.maxPacketSize) + str(536) + buf(536)],
  ];
  return list.map(([name, count, each]) => ({ name, count, each, total: Math.ceil(count * each) }));
}

/** Variables after boot and start, before any client: measured, linear in the table slots. */
export function startVars(limits, costs) {
  const s = costs.espruino.start;
  return Math.round(s.fixed + s.perConnSlot * limits.maxConnections + s.perSessionSlot * limits.maxSessions);
}

/**
 * The worst case of a profile in the board's variables: { jsVars, reserve, budget, start,
 * items, total }. budget = jsVars - reserveVars (headroom for the interpreter, its event
 * queue and the network stack's objects). `limits` defaults to the profile's; `geo` (default:
 * the board's, 32-bit) is for comparing with a measurement on the Linux build.
 */
export function worstCase(profile, costs, _bundleBytes, limits, geo, startupOverride) {
  const lim = limits || profile.limits;
  const jsVars = profile.espruino.jsVars;
  const reserve = profile.espruino.reserveVars || 0;
  const budget = jsVars - reserve;
  if (!costs) return { jsVars, reserve, budget, start: NaN, items: [], total: NaN, missing: true };
  const linux = costs.espruino.geometry;
  const board = geo || geometry(jsVars, 4);
  // Measured per-byte costs are for the Linux build's geometry; a board packs fewer bytes
  // per variable. Scale by the worse of the two ratios (strings and flat strings).
  const scale = Math.max(linux.next / board.next, linux.varBytes / board.varBytes);
  // Start-up: given (the build's figure for this bundle), else measured for this board
  // (startup.mjs), else the older single measurement scaled by table slots.
  const measured = costs.startup && costs.startup.boards ? costs.startup.boards[profile.board] : undefined;
  const start = startupOverride !== undefined ? startupOverride : measured !== undefined ? measured.vars : startVars(lim, costs);
  const list = items(lim, costsFor(profile, costs).espruino.items, scale, (n) => stringVars(n, board), (n) => bytesVars(n, board), 1);
  const total = start + list.reduce((n, i) => n + i.total, 0);
  return { jsVars, reserve, budget, start, items: list, total, scale, board };
}

/**
 * Calibration of the simulator's QuickJS heap limit for a profile: bytes of QuickJS heap per
 * Espruino variable for this profile's full tables (both engines' measured item costs), and
 * the start and budget in variables. null when costs are missing.
 */
export function calibration(profile, costs) {
  if (!costs || !costs.quickjs) return null;
  const e = worstCase(profile, costs);
  const qjs = costsFor(profile, costs).quickjs;
  const q = items(
    profile.limits,
    qjs.items,
    1,
    (n) => n + qjs.stringOverhead,
    (n) => n + qjs.bytesOverhead,
    16,
  );
  const eDynamic = e.total - e.start;
  const qDynamic = q.reduce((n, i) => n + i.total, 0);
  return { bytesPerVar: qDynamic / eDynamic, startVars: e.start, budgetVars: e.budget, jsVars: e.jsVars };
}

/** The table printed by the build for one board. */
export function formatEstimate(board, est) {
  if (est.missing) return `espruino ${board}: no measured costs (run node targets/espruino/measure.mjs)`;
  const lines = [`espruino ${board}: worst case in variables (${est.jsVars} on the board, ${est.reserve} reserved, budget ${est.budget})`];
  lines.push(`  ${"boot + code + empty tables".padEnd(38)} ${String(est.start).padStart(6)}`);
  for (const i of est.items) lines.push(`  ${(i.count + " x " + i.name).padEnd(38)} ${String(i.total).padStart(6)}   (${i.each.toFixed(1)} each)`);
  lines.push(`  ${"total".padEnd(38)} ${String(est.total).padStart(6)}   ${est.total <= est.budget ? "fits" : "OVER by " + (est.total - est.budget)}`);
  return lines.join("\n");
}

/**
 * What a bundle holds at start-up, counted from its code: functions, their parameters, and
 * the values built at the top level outside any function (constant tables, object literals'
 * properties, array elements, strings). On Espruino a function run from flash still costs
 * variables (at the top level 4: the function, its name, its code reference and the flash
 * string, plus one per parameter; one more, its scope link, inside another function), and every value
 * built at start-up is a variable or more; code inside functions stays in flash.
 */
export function bundleShape(code, ts) {
  const sf = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.ES2015, true, ts.ScriptKind.JS);
  let functions = 0, params = 0, values = 0;
  const visit = (node, inFunction) => {
    const isFunction = ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node) || ts.isConstructorDeclaration(node);
    if (isFunction) {
      functions++;
      params += node.parameters.length;
    } else if (!inFunction && (ts.isStringLiteral(node) || ts.isNumericLiteral(node) || ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node) || ts.isVariableDeclaration(node) || ts.isNoSubstitutionTemplateLiteral(node))) {
      values++;
    }
    ts.forEachChild(node, (child) => visit(child, inFunction || isFunction));
  };
  // The bundle's code runs at the top level (build.mjs ESPRUINO_ESBUILD). A bundle wrapped in
  // one IIFE, (()=>{...})(), as they were before issue 15, is counted from the IIFE's body.
  const stmt = sf.statements.length === 1 ? sf.statements[0] : undefined;
  let call = stmt && ts.isExpressionStatement(stmt) ? stmt.expression : undefined;
  while (call && ts.isParenthesizedExpression(call)) call = call.expression;
  let callee = call && ts.isCallExpression(call) ? call.expression : undefined;
  while (callee && ts.isParenthesizedExpression(callee)) callee = callee.expression;
  if (callee && (ts.isArrowFunction(callee) || ts.isFunctionExpression(callee))) ts.forEachChild(callee.body, (child) => visit(child, false));
  else visit(sf, false);
  return { functions, params, values };
}

/** The key of a bundle's start-up measurement in costs.json (startup.mjs writes it, the build reads it). */
export function bundleHash(code) {
  return createHash("sha256").update(code).digest("hex").slice(0, 16);
}

/**
 * Start-up variables of a bundle: measured on the real interpreter when costs.json holds a
 * measurement of this exact bundle (by hash), else estimated from its shape with the model
 * fitted to the measured bundles (measure.mjs startup). { vars, measured, shape }.
 */
export function startupVars(board, code, costs, ts) {
  const hash = bundleHash(code);
  const shape = bundleShape(code, ts);
  const rec = costs && costs.startup && costs.startup.boards ? costs.startup.boards[board] : undefined;
  if (rec && rec.bundleHash === hash) return { vars: rec.vars, measured: true, shape, hash };
  const m = costs && costs.startup && costs.startup.model ? costs.startup.model : DEFAULT_STARTUP_MODEL;
  const vars = Math.round(m.base + m.perFunction * shape.functions + m.perParam * shape.params + m.perValue * shape.values);
  return { vars, measured: false, shape, hash };
}

/** Until measured: the figures of portability.md (4 per function, 1 per parameter, a fresh interpreter ~45). */
const DEFAULT_STARTUP_MODEL = { base: 45, perFunction: 4, perParam: 1, perValue: 1 };
