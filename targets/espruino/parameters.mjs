// Parameters cost variables on Espruino even when the code stays in flash: each declared
// parameter is a variable of its function from the moment the function is defined (Espruino's
// src/jsparse.c jspeFunctionArguments), about a quarter of a bundle's start-up (466 of the
// ESP32 bundle's 1,647). A function that reads its arguments from `arguments` declares none,
// and pays instead at each call (the arguments array and one local per parameter, freed on
// return). So the build moves the parameters of the functions a message rarely runs through
// into `arguments`, and leaves the ones it always runs through as they are (HOT_FUNCTIONS).

/**
 * The top-level functions of the core that keep their parameters: those a published message
 * runs through, measured on the real interpreter by counting calls per function while one
 * client published QoS 0 and QoS 1 messages to two subscribers (the ESP32 bundle; every
 * function called at least once per ten messages, log rendering and the ticker left out).
 * test/espruino/parameters.test.ts checks that each is still a function of the ESP32 bundle.
 */
export const HOT_FUNCTIONS = [
  // bytes and fields
  "byteAt", "bytesCopy", "bytesLength", "bytesView", "ensure", "fieldU16", "fieldVariable", "readField", "readString", "readU16",
  "utf8Decode", "validateUtf8", "checkTopicName", "writerByte", "writerBytes", "writerReset", "writerTake",
  // framing, decoding, encoding
  "frameFeed", "frameNext", "framePending", "decodePacket", "requiredFlags", "decodePublish", "decodeIdOnly", "encodePublish", "encodeAck",
  // the broker's per-message path
  "onData", "onDrain", "brokerData", "brokerDrained", "handleData", "dispatch", "handlePublish", "handlePuback",
  "publishFromClient", "publishAccepted", "route", "subscriptionMatch", "topicMatches", "matched", "sessionOf", "accept",
  "admit", "deliver", "keep", "enqueue", "sendQos0", "sendFlight", "sendBytes", "notReadingLimit", "storeFor", "storeCommit",
  // QoS flows
  "packetIdInUse", "packetIdNext", "flowsCanSend", "flightStart", "flightFind", "flightRemove", "flightAcked", "flightFromQueue",
  "endFlight", "ackEnds", "pumpQueue", "queueAdd", "queuedQos", "queuedRetain", "queuedSeq",
];

/** The top-level function declarations of a bundle, in order: [name, parameter count, node]. */
function topLevelFunctions(sf, ts) {
  return sf.statements.filter((s) => ts.isFunctionDeclaration(s) && s.body && s.name).map((f) => [f.name.text, f.parameters.length, f]);
}

/**
 * Rewrites every top-level function of `code` (a minified bundle) that is not in `hot` so that
 * it reads its parameters from `arguments`: `function xy(a,b){...}` becomes
 * `function xy(){var a=arguments[0],b=arguments[1];...}`, the same function for every caller.
 * `named` is the same bundle built with its names kept (build.mjs bundleFor, options.names):
 * esbuild emits the top-level statements in the same order either way, which is how a minified
 * function is known by its name; the build fails if the two do not line up. Parameters with a
 * default value or a pattern (none in a bundle built for Espruino) are left alone.
 * Returns { code, functions, parameters } (the functions rewritten and the parameters moved).
 */
export function coldParameters(code, named, ts, hot = HOT_FUNCTIONS) {
  const sf = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.ES2015, true, ts.ScriptKind.JS);
  const minified = topLevelFunctions(sf, ts);
  const names = topLevelFunctions(ts.createSourceFile("named.js", named, ts.ScriptTarget.ES2015, true, ts.ScriptKind.JS), ts);
  if (names.length !== minified.length || names.some((n, i) => n[1] !== minified[i][1])) {
    throw new Error(`coldParameters: the bundle's ${minified.length} top-level functions do not line up with the named build's ${names.length}`);
  }
  const keep = new Set(hot);
  const edits = [];
  let functions = 0;
  let parameters = 0;
  minified.forEach(([, count, f], i) => {
    if (count === 0 || keep.has(names[i][0])) return;
    if (f.parameters.some((p) => !ts.isIdentifier(p.name) || p.initializer || p.dotDotDotToken)) return;
    const list = f.parameters.map((p, k) => p.name.text + "=arguments[" + k + "]").join(",");
    // From the "(" of the parameter list through the "{" of the body.
    const open = f.parameters.pos - 1;
    const body = f.body.getStart(sf);
    if (code[open] !== "(" || code[body] !== "{") throw new Error(`coldParameters: unexpected text around function ${names[i][0]}`);
    edits.push([open, body + 1, "(){var " + list + ";"]);
    functions++;
    parameters += count;
  });
  edits.sort((a, b) => b[0] - a[0]);
  let out = code;
  for (const [from, to, text] of edits) out = out.slice(0, from) + text + out.slice(to);
  return { code: out, functions, parameters };
}
