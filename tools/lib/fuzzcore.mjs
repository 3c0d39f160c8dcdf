// The network fuzzer (issue 9). Many concurrent connections send mutated valid streams at a
// running broker (bit flips, truncations, wrong lengths, reserved flags, invalid UTF-8, huge
// remaining lengths, packets before CONNECT, floods, clients that stop reading, slow
// trickles, takeovers, kills) while the Workload's well-behaved clients publish and
// subscribe at QoS 0/1/2. Pass: the broker never dies and logs no internal error, its memory
// stays bounded, the well-behaved clients lose nothing and get no QoS 2 duplicate, and a few
// rules that must hold under any load are kept (oracles below).
//
// Reproducible: fuzz connection k draws everything it sends from prng(subSeed(seed, k)), so a
// seed names the same inputs on every run (the interleaving with other connections is up to
// the scheduler). Used by tools/fuzz.mjs and test/reliability/fuzz.test.ts.
import { createConnection } from "node:net";
import { frame, pk, prng, str, subSeed, u16, vbi } from "./wire.mjs";
import { Workload } from "./workload.mjs";
import { mb, processAlive, rssBytes } from "./proc.mjs";

/** Every kind of fuzz connection, with its weight. */
export const SCENARIOS = {
  bitflip: 14, // a valid session with 1..8 flipped bits
  truncate: 8, // a valid session cut anywhere, then held open (partial packet that never completes)
  length: 8, // one packet's Remaining Length made wrong
  flags: 6, // reserved fixed-header flags changed, or PUBLISH QoS 3
  utf8: 6, // ill-formed UTF-8 / U+0000 in client id, topic or filter
  huge: 5, // Remaining Length 268,435,455 (or just over the limit), then body bytes
  preconnect: 5, // a packet other than CONNECT first
  garbage: 5, // random bytes
  flood: 5, // valid CONNECT then hundreds of PUBLISH at QoS 0/1/2, replies unread
  pingflood: 3, // thousands of PINGREQ, replies unread
  subflood: 3, // SUBSCRIBE with many filters, several times
  slowsub: 4, // subscribes to '#' and stops reading its socket
  trickle: 4, // a valid or mutated session sent a few bytes at a time
  connflood: 2, // 20..60 connections opened at once, CONNECT, gone
  takeover: 3, // two connections with one client id
  willkill: 3, // CONNECT with a will, then killed
  secondconnect: 2, // CONNECT twice on one connection
  valid: 4, // a valid session (ensures valid paths are mixed with the rest)
  v5valid: 4, // an MQTT 5.0 session with random valid properties, topic aliases and subscription options
  v5hostile: 6, // an MQTT 5.0 CONNECT or packet with a broken property block (closed at once)
};

const BAD_UTF8 = [
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xff],
  [0x80],
  [0xe2, 0x82],
  [0x00],
  [0xf0, 0x80, 0x80, 0x80],
  [0xc3],
];

const FUZZ_ID_POOL = 64;

function fuzzTopic(rnd) {
  const levels = rnd.range(1, 4);
  const parts = ["fz"];
  for (let i = 1; i < levels; i++) parts.push(rnd.pick(["a", "b", "c", "", "x y", "\u00e9", "\uFEFF", "$d", "long".repeat(rnd.range(1, 10))]));
  return parts.join("/");
}

function fuzzFilter(rnd) {
  return rnd.pick(["fz/#", "fz/+", "fz/+/+", "fz/a", "#", "+/#", "+", "fz/#/x", "fz+", "", "$SYS/#", "fz/a/#", fuzzTopic(rnd)]);
}

function payloadOf(rnd, maxPacket) {
  const r = rnd.next();
  if (r < 0.7) return rnd.bytes(rnd.range(0, 64));
  if (r < 0.95) return rnd.bytes(rnd.range(64, 2048));
  return rnd.bytes(rnd.range(2048, Math.max(2048, Math.min(maxPacket - 64, 60000))));
}

/** A valid CONNECT for a fuzz client (ids come from a small pool: takeovers happen). */
function fuzzConnect(rnd, extra = {}) {
  const o = {
    clientId: "fz" + rnd.int(FUZZ_ID_POOL),
    clean: rnd.chance(0.7),
    keepalive: rnd.pick([0, 0, 1, 2, 5, 60]),
    ...extra,
  };
  if (rnd.chance(0.2)) o.will = { topic: fuzzTopic(rnd), payload: rnd.bytes(rnd.range(0, 30)), qos: rnd.int(3), retain: rnd.chance(0.3) };
  if (rnd.chance(0.15)) {
    o.username = "u" + rnd.int(10);
    if (rnd.chance(0.5)) o.password = rnd.bytes(rnd.range(0, 10));
  }
  if (rnd.chance(0.1)) {
    o.protocolName = "MQIsdp";
    o.protocolLevel = 3;
  }
  return pk.connect(o);
}

/** One random valid packet a connected client may send. */
function fuzzPacket(rnd, maxPacket) {
  const id = rnd.range(1, 65535);
  switch (rnd.int(10)) {
    case 0:
    case 1:
    case 2: {
      const qos = rnd.int(3);
      return pk.publish({ topic: fuzzTopic(rnd), payload: payloadOf(rnd, maxPacket), qos, retain: rnd.chance(0.2), dup: qos > 0 && rnd.chance(0.2), id });
    }
    case 3: {
      const n = rnd.range(1, 4);
      const entries = [];
      for (let i = 0; i < n; i++) entries.push([fuzzFilter(rnd), rnd.int(3)]);
      return pk.subscribe(id, entries);
    }
    case 4:
      return pk.unsubscribe(id, [fuzzFilter(rnd)]);
    case 5:
      return pk.puback(id);
    case 6:
      return pk.pubrec(id);
    case 7:
      return pk.pubrel(id);
    case 8:
      return pk.pubcomp(id);
    default:
      return pk.pingreq();
  }
}

/** CONNECT, 1..8 packets, sometimes DISCONNECT: as a list of packets. */
function validSession(rnd, maxPacket) {
  const packets = [fuzzConnect(rnd)];
  const n = rnd.range(1, 8);
  for (let i = 0; i < n; i++) packets.push(fuzzPacket(rnd, maxPacket));
  if (rnd.chance(0.3)) packets.push(pk.disconnect());
  return packets;
}

// ---- MQTT 5.0 (issue 16): properties written from the standard's Table 2-4 -----------------

function u32(n) {
  return Buffer.from([Math.floor(n / 16777216) % 256, Math.floor(n / 65536) % 256, Math.floor(n / 256) % 256, n % 256]);
}

/** A property block: Property Length, then the properties (each a Buffer: id and value). */
function propBlock(list) {
  const body = Buffer.concat(list);
  return Buffer.concat([vbi(body.length), body]);
}

/** Valid PUBLISH properties, at random. */
function fuzzPublishProps(rnd) {
  const list = [];
  if (rnd.chance(0.3)) list.push(Buffer.from([0x01, rnd.int(2)]));
  if (rnd.chance(0.3)) list.push(Buffer.concat([Buffer.from([0x02]), u32(rnd.range(1, 3600))]));
  if (rnd.chance(0.3)) list.push(Buffer.concat([Buffer.from([0x03]), str("text/plain")]));
  if (rnd.chance(0.2)) list.push(Buffer.concat([Buffer.from([0x08]), str("fz/reply")]));
  if (rnd.chance(0.2)) list.push(Buffer.concat([Buffer.from([0x09]), str(rnd.bytes(rnd.range(0, 16)))]));
  const users = rnd.int(4);
  for (let i = 0; i < users; i++) list.push(Buffer.concat([Buffer.from([0x26]), str("k" + rnd.int(5)), str("v" + rnd.int(100))]));
  return list;
}

function connect5(rnd, propsList, clientId) {
  const flags = rnd.chance(0.7) ? 0x02 : 0x00;
  return frame(0x10, str("MQTT"), Buffer.from([5, flags]), u16(rnd.pick([0, 30, 60])), propBlock(propsList), str(clientId ?? "fz" + rnd.int(FUZZ_ID_POOL)));
}

function publish5(topic, qos, id, propsList, payload) {
  return frame(0x30 + qos * 2, str(topic), qos > 0 ? u16(id) : Buffer.alloc(0), propBlock(propsList), payload);
}

/** A valid MQTT 5.0 session: CONNECT with properties, SUBSCRIBE with options, PUBLISH with properties and aliases. */
function validSession5(rnd, maxPacket) {
  const connectProps = [];
  if (rnd.chance(0.5)) connectProps.push(Buffer.concat([Buffer.from([0x11]), u32(rnd.pick([0, 5, 3600, 4294967295]))]));
  if (rnd.chance(0.3)) connectProps.push(Buffer.concat([Buffer.from([0x21]), u16(rnd.range(1, 20))]));
  if (rnd.chance(0.3)) connectProps.push(Buffer.concat([Buffer.from([0x27]), u32(rnd.range(64, 65536))]));
  const packets = [connect5(rnd, connectProps)];
  const filter = fuzzFilter(rnd);
  const options = rnd.int(3) + (rnd.chance(0.3) ? 4 : 0) + (rnd.chance(0.3) ? 8 : 0) + rnd.int(3) * 16;
  const subProps = rnd.chance(0.5) ? [Buffer.concat([Buffer.from([0x0b]), vbi(rnd.range(1, 268435455))])] : [];
  packets.push(frame(0x82, u16(rnd.range(1, 65535)), propBlock(subProps), str(filter), Buffer.from([options])));
  const n = rnd.range(1, 6);
  for (let i = 0; i < n; i++) {
    const qos = rnd.int(3);
    const props = fuzzPublishProps(rnd);
    let topic = fuzzTopic(rnd);
    if (i > 0 && rnd.chance(0.3)) {
      props.push(Buffer.from([0x23, 0, 1])); // alias 1, set by the first PUBLISH below
      topic = "";
    } else if (rnd.chance(0.3)) props.push(Buffer.from([0x23, 0, 1]));
    if (topic === "" && i === 0) topic = "fz/a";
    packets.push(publish5(topic, qos, rnd.range(1, 65535), props, payloadOf(rnd, Math.min(maxPacket, 2048))));
  }
  if (rnd.chance(0.3)) packets.push(frame(0xa2, u16(rnd.range(1, 65535)), propBlock([]), str(filter)));
  if (rnd.chance(0.3)) packets.push(frame(0xe0, Buffer.from([rnd.pick([0x00, 0x04])]), propBlock([])));
  return packets;
}

/**
 * A CONNECT or PUBLISH whose properties break the standard: each is a Malformed Packet or a
 * Protocol Error (or an unsupported authentication method), so the broker closes at once;
 * one without MQTT 5 closes after CONNACK 0x01.
 */
function hostile5(rnd) {
  const broken = rnd.pick([
    () => Buffer.concat([vbi(20), Buffer.from([0x26, 0, 1, 0x6b])]), // Property Length past the end
    () => Buffer.concat([vbi(268435455), Buffer.from([0x02, 0, 0, 0, 1])]), // huge Property Length
    () => propBlock([Buffer.from([0x05, 0x00])]), // unknown property id
    () => propBlock([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01])]), // property id as a 5-byte VBI
    () => propBlock([Buffer.concat([Buffer.from([0x02]), u32(5)]), Buffer.concat([Buffer.from([0x02]), u32(6)])]), // twice
    () => propBlock([Buffer.from([0x26, 0, 9, 0x6b])]), // User Property whose string runs out
    () => propBlock([Buffer.from([0x01, 7])]), // Payload Format Indicator 7
  ]);
  const where = rnd.int(2);
  if (where === 0) {
    // In CONNECT: the broken block, or a value the standard forbids there.
    const block = rnd.pick([
      broken,
      () => propBlock([Buffer.from([0x21, 0, 0])]), // Receive Maximum 0
      () => propBlock([Buffer.concat([Buffer.from([0x27]), u32(0)])]), // Maximum Packet Size 0
      () => propBlock([Buffer.from([0x23, 0, 1])]), // Topic Alias: not a CONNECT property
      () => propBlock([Buffer.concat([Buffer.from([0x15]), str("SCRAM-SHA-256")])]), // unsupported auth method
    ])();
    return [frame(0x10, str("MQTT"), Buffer.from([5, 2]), u16(60), block, str("fz" + rnd.int(FUZZ_ID_POOL))), pk.pingreq()];
  }
  const block = rnd.pick([
    broken,
    () => propBlock([Buffer.from([0x23, 0, 0])]), // Topic Alias 0
    () => propBlock([Buffer.from([0x23, 0xff, 0xff])]), // Topic Alias over the maximum
    () => propBlock([Buffer.from([0x0b, 0x01])]), // Subscription Identifier from a client
    () => propBlock([Buffer.concat([Buffer.from([0x11]), u32(1)])]), // Session Expiry: not a PUBLISH property
  ])();
  return [connect5(rnd, []), frame(0x32, str("fz/x"), u16(rnd.range(1, 65535)), block, Buffer.from("x")), pk.pingreq()];
}

/** Offsets of each packet's fixed header inside the concatenation. */
function offsets(packets) {
  const out = [];
  let at = 0;
  for (const p of packets) {
    out.push(at);
    at += p.length;
  }
  return out;
}

/** Replaces packet i's Remaining Length with `len` (the body stays as it was). */
function withLength(packet, len) {
  let i = 1;
  while (i < packet.length && packet[i] >= 128) i++;
  return Buffer.concat([packet.subarray(0, 1), vbi(len), packet.subarray(i + 1)]);
}

function bodyLength(packet) {
  let len = 0;
  let mult = 1;
  let i = 1;
  for (;;) {
    const b = packet[i++];
    len += (b & 127) * mult;
    mult *= 128;
    if (b < 128) break;
  }
  return len;
}

/**
 * Builds the plan of one fuzz connection: what to send, how (at once or in small pieces), and
 * whether to read replies. `expect` is the oracle for this input, checked when it ends.
 */
export function buildPlan(kind, rnd, maxPacket) {
  const plan = { kind, sends: [], chunk: 0, delayMs: 0, read: true, holdMs: rnd.range(50, 600), faults: 0, expect: null, extra: null };
  switch (kind) {
    case "valid": {
      plan.sends = validSession(rnd, maxPacket);
      break;
    }
    case "v5valid": {
      plan.sends = validSession5(rnd, maxPacket);
      break;
    }
    case "v5hostile": {
      plan.sends = hostile5(rnd);
      plan.faults = 1;
      plan.expect = "closed";
      break;
    }
    case "bitflip": {
      const b = Buffer.concat(validSession(rnd, maxPacket));
      const n = rnd.range(1, 8);
      for (let i = 0; i < n; i++) b[rnd.int(b.length)] ^= 1 << rnd.int(8);
      plan.sends = [b];
      plan.faults = n;
      break;
    }
    case "truncate": {
      const b = Buffer.concat(validSession(rnd, maxPacket));
      plan.sends = [b.subarray(0, rnd.int(b.length))];
      plan.holdMs = rnd.range(500, 4000);
      plan.faults = 1;
      plan.expect = "partial";
      break;
    }
    case "length": {
      const packets = validSession(rnd, maxPacket);
      const i = rnd.int(packets.length);
      const len = bodyLength(packets[i]);
      const wrong = rnd.chance(0.5) ? Math.max(0, len + rnd.pick([-3, -2, -1, 1, 2, 3])) : rnd.int(300);
      packets[i] = withLength(packets[i], wrong === len ? len + 1 : wrong);
      plan.sends = [Buffer.concat(packets)];
      plan.holdMs = rnd.range(200, 2500);
      plan.faults = 1;
      break;
    }
    case "flags": {
      const packets = validSession(rnd, maxPacket);
      const i = rnd.int(packets.length);
      const p = Buffer.from(packets[i]);
      if (p[0] >> 4 === 3 && rnd.chance(0.5)) p[0] |= 0x06; // QoS 3 (MQTT-3.3.1-4)
      else p[0] = (p[0] & 0xf0) | ((p[0] & 0x0f) ^ (1 + rnd.int(15)));
      packets[i] = p;
      plan.sends = packets;
      plan.faults = 1;
      break;
    }
    case "utf8": {
      const bad = Buffer.from(rnd.pick(BAD_UTF8));
      const good = Buffer.from("fz" + rnd.int(FUZZ_ID_POOL));
      const s = Buffer.concat([good.subarray(0, 1), bad, good.subarray(1)]);
      const where = rnd.int(3);
      const packets = [];
      if (where === 0) packets.push(frame(0x10, str("MQTT"), Buffer.from([4, 2]), u16(0), str(s)));
      else packets.push(fuzzConnect(rnd));
      if (where === 1) packets.push(frame(0x30, str(Buffer.concat([Buffer.from("fz/"), bad])), Buffer.from("x")));
      if (where === 2) packets.push(frame(0x82, u16(rnd.range(1, 65535)), str(Buffer.concat([Buffer.from("fz/"), bad])), Buffer.from([rnd.int(3)])));
      packets.push(pk.pingreq());
      plan.sends = packets;
      plan.faults = 1;
      plan.expect = where === 0 ? "closed-silent" : "closed";
      break;
    }
    case "huge": {
      const pre = rnd.chance(0.7) ? [fuzzConnect(rnd)] : [];
      const len = rnd.chance(0.5) ? 268435455 : Math.min(268435455, maxPacket + rnd.range(0, 300000));
      const head = Buffer.concat([Buffer.from([rnd.pick([0x30, 0x32, 0x10, 0x82, 0x34])]), vbi(len)]);
      plan.sends = [...pre, head, rnd.bytes(rnd.range(0, 20000))];
      plan.faults = 1;
      plan.expect = "closed";
      break;
    }
    case "preconnect": {
      const first = rnd.pick([pk.pingreq(), pk.publish({ topic: fuzzTopic(rnd), payload: Buffer.from("x"), qos: rnd.int(3), id: 1 }), pk.subscribe(1, [["#", 0]]), pk.puback(1), pk.disconnect(), pk.pubrel(3)]);
      plan.sends = [first, fuzzConnect(rnd)];
      plan.faults = 1;
      plan.expect = "closed-silent";
      break;
    }
    case "garbage": {
      plan.sends = [rnd.bytes(rnd.range(1, 2000))];
      plan.faults = 1;
      break;
    }
    case "flood": {
      const n = rnd.range(100, 800);
      const packets = [fuzzConnect(rnd, { keepalive: 0 })];
      for (let i = 0; i < n; i++) {
        const qos = rnd.int(3);
        packets.push(pk.publish({ topic: fuzzTopic(rnd), payload: rnd.bytes(rnd.range(0, 200)), qos, retain: rnd.chance(0.05), id: 1 + (i % 65535) }));
      }
      plan.sends = [Buffer.concat(packets)];
      plan.read = rnd.chance(0.3);
      plan.faults = 1;
      break;
    }
    case "pingflood": {
      const n = rnd.range(1000, 5000);
      plan.sends = [fuzzConnect(rnd, { keepalive: 0 }), Buffer.alloc(2 * n).fill(Buffer.from([0xc0, 0x00]))];
      plan.read = false;
      plan.faults = 1;
      break;
    }
    case "subflood": {
      const packets = [fuzzConnect(rnd)];
      const rounds = rnd.range(1, 5);
      for (let r = 0; r < rounds; r++) {
        const entries = [];
        const n = rnd.range(10, 200);
        for (let i = 0; i < n; i++) entries.push([`fz/s${rnd.int(5000)}/${rnd.pick(["#", "+", "a"])}`, rnd.int(3)]);
        packets.push(pk.subscribe(rnd.range(1, 65535), entries));
      }
      plan.sends = packets;
      plan.faults = rounds;
      break;
    }
    case "slowsub": {
      plan.sends = [fuzzConnect(rnd, { keepalive: 0 }), pk.subscribe(1, [[rnd.pick(["#", "good/#", "fz/#"]), rnd.int(3)]])];
      plan.read = false;
      plan.holdMs = rnd.range(500, 3000);
      plan.faults = 1;
      break;
    }
    case "trickle": {
      let b = Buffer.concat(validSession(rnd, Math.min(maxPacket, 4096)));
      if (rnd.chance(0.5)) {
        b = Buffer.from(b);
        b[rnd.int(b.length)] ^= 1 << rnd.int(8);
        plan.faults = 1;
      }
      plan.sends = [b.subarray(0, Math.min(b.length, 600))];
      plan.chunk = rnd.range(1, 3);
      plan.delayMs = rnd.range(0, 5);
      break;
    }
    case "connflood": {
      plan.extra = { connections: rnd.range(20, 60) };
      plan.sends = [fuzzConnect(rnd)];
      plan.faults = 1;
      break;
    }
    case "takeover": {
      const id = "fz" + rnd.int(FUZZ_ID_POOL);
      plan.extra = { second: pk.connect({ clientId: id, clean: rnd.chance(0.5), keepalive: 0 }) };
      plan.sends = [pk.connect({ clientId: id, clean: rnd.chance(0.5), keepalive: 0, will: { topic: "fz/will", payload: Buffer.from("w"), qos: rnd.int(3) } }), pk.subscribe(1, [["fz/#", rnd.int(3)]])];
      plan.faults = 1;
      break;
    }
    case "willkill": {
      plan.sends = [pk.connect({ clientId: "fz" + rnd.int(FUZZ_ID_POOL), clean: rnd.chance(0.5), keepalive: 0, will: { topic: fuzzTopic(rnd), payload: rnd.bytes(20), qos: rnd.int(3), retain: rnd.chance(0.5) } })];
      plan.holdMs = rnd.range(0, 200);
      plan.extra = { kill: true };
      plan.faults = 1;
      break;
    }
    case "secondconnect": {
      plan.sends = [fuzzConnect(rnd), fuzzConnect(rnd)];
      plan.faults = 1;
      plan.expect = "closed";
      break;
    }
    default:
      throw new Error(`unknown scenario ${kind}`);
  }
  return plan;
}

function pickKind(rnd, weights) {
  let total = 0;
  for (const k in weights) total += weights[k];
  let r = rnd.next() * total;
  for (const k in weights) {
    r -= weights[k];
    if (r < 0) return k;
  }
  return Object.keys(weights)[0];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens a socket; resolves with it once connected, or null if refused/reset (max_connections). */
function open(host, port) {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.setNoDelay(true);
    const t = setTimeout(() => {
      s.destroy();
      resolve(null);
    }, 5000);
    s.once("connect", () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once("error", () => {
      clearTimeout(t);
      resolve(null);
    });
  });
}

/** Watches one socket: bytes received, and when the broker closed it. */
function watch(s) {
  const w = { received: 0, first: -1, closedByBroker: false, closed: false, wake: null };
  s.on("data", (d) => {
    if (w.first < 0) w.first = d[0];
    w.received += d.length;
  });
  s.on("error", () => {});
  s.on("end", () => {
    w.closedByBroker = true;
  });
  s.on("close", () => {
    w.closed = true;
    if (!w.ended) w.closedByBroker = true;
    if (w.wake) w.wake();
  });
  return w;
}

function waitClosed(w, ms) {
  if (w.closed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      w.wake = null;
      resolve(false);
    }, ms);
    w.wake = () => {
      clearTimeout(t);
      resolve(true);
    };
  });
}

async function send(s, plan) {
  for (const b of plan.sends) {
    if (s.destroyed) return;
    if (plan.chunk > 0) {
      for (let i = 0; i < b.length && !s.destroyed; i += plan.chunk) {
        s.write(b.subarray(i, i + plan.chunk));
        if (plan.delayMs > 0) await sleep(plan.delayMs);
      }
    } else {
      s.write(b);
    }
  }
}

/**
 * Runs one fuzz connection to the end; returns { refused, closedByBroker, violation }.
 * A violation is an oracle failure: a rule that holds whatever the load.
 */
async function runPlan(o, plan, stats) {
  if (plan.kind === "connflood") {
    const sockets = await Promise.all(Array.from({ length: plan.extra.connections }, () => open(o.host, o.port)));
    for (const s of sockets) if (s) s.on("error", () => {}).write(plan.sends[0]);
    await sleep(plan.holdMs);
    for (const s of sockets) if (s) s.destroy();
    stats.refused += sockets.filter((s) => s === null).length;
    return null;
  }
  const s = await open(o.host, o.port);
  if (!s) {
    stats.refused++;
    return null;
  }
  const w = watch(s);
  if (!plan.read) s.pause();
  await send(s, plan);
  let second = null;
  if (plan.kind === "takeover") {
    second = await open(o.host, o.port);
    if (second) {
      second.on("error", () => {});
      second.write(plan.extra.second);
    }
  }
  let violation = null;
  if (plan.extra && plan.extra.kill) {
    await sleep(plan.holdMs);
  } else if (plan.expect === "closed" || plan.expect === "closed-silent") {
    // The broker must close these by itself, at once (malformed input, MQTT-4.8.0-1).
    const closed = await waitClosed(w, o.closeWithinMs);
    if (!closed) violation = `${plan.kind}: broker did not close the connection within ${o.closeWithinMs} ms`;
    // Closed "silent": nothing at all sent back (packet before CONNECT, malformed CONNECT).
    else if (plan.expect === "closed-silent" && plan.read && w.received > 0) violation = `${plan.kind}: broker replied (${w.received} bytes, first 0x${w.first.toString(16)}) before closing`;
  } else if (plan.expect === "partial") {
    const closed = await waitClosed(w, plan.holdMs);
    if (closed) stats.partialClosed++;
    else stats.partialHeld++;
  } else {
    await waitClosed(w, plan.holdMs);
  }
  if (w.closedByBroker) stats.closedByBroker++;
  w.ended = true;
  s.destroy();
  if (second) second.destroy();
  return violation;
}

/**
 * Runs the fuzzer against a broker listening on host:port.
 * o: { host, port, seed, seconds, concurrency (default 24), pid (broker process, for memory and
 *      liveness; 0 = not watched), maxPacket (the broker's max packet size, default 1 MiB),
 *      rate (well-behaved messages/s, default 100), memLimitMB (allowed RSS growth over the
 *      baseline, default 150), closeWithinMs (default 3000), weights, workload (Workload
 *      options), log (line printer), logs() (the broker's log so far, optional),
 *      sampleEveryMs (memory, default 500) }
 * Returns the report; report.pass tells the verdict and report.failures why not.
 */
export async function runFuzz(o) {
  const host = o.host ?? "127.0.0.1";
  const seed = o.seed >>> 0;
  const seconds = o.seconds ?? 10;
  const concurrency = o.concurrency ?? 24;
  const maxPacket = o.maxPacket ?? 1024 * 1024;
  const weights = o.weights ?? SCENARIOS;
  const log = o.log ?? (() => {});
  const pid = o.pid ?? 0;
  const memLimitMB = o.memLimitMB ?? 150;
  const cfg = { host, port: o.port, closeWithinMs: o.closeWithinMs ?? 3000 };
  const stats = newFuzzStats();
  const violations = [];
  const started = Date.now();

  const mem = { baseline: rssBytes(pid), peak: 0, end: 0, samples: [] };
  const sampler = setInterval(() => {
    const r = rssBytes(pid);
    if (r > mem.peak) mem.peak = r;
    mem.samples.push([Date.now() - started, r]);
  }, o.sampleEveryMs ?? 500);

  const run = `r${seed.toString(36)}`;
  const workload = new Workload({ host, port: o.port, run, rnd: prng(subSeed(seed, 0xffffffff)), rate: o.rate ?? 100, log, ...(o.workload ?? {}) });
  await workload.start();
  log(`fuzz seed ${seed}: ${concurrency} fuzz connections at a time for ${seconds} s, well-behaved clients at ${o.rate ?? 100} msg/s`);

  const fuzzers = startFuzzers({ ...cfg, seed, concurrency, maxPacket, weights, pid, stats, violations, until: started + seconds * 1000 });
  const progress = setInterval(() => {
    const snap = workload.snapshot();
    log(`  ${Math.round((Date.now() - started) / 1000)} s: ${stats.connections} fuzz connections, ${stats.faults} faults, broker RSS ${mb(rssBytes(pid))} MB, good messages ${snap.published} published / ${snap.delivered} delivered`);
  }, 5000);
  await fuzzers.done;
  clearInterval(progress);

  const good = await workload.stop(o.drainMs ?? 15000);
  const alive = pid ? processAlive(pid) : true;

  // Liveness: a fresh client still gets through (connect, subscribe, QoS 1 round trip).
  let probe = "ok";
  try {
    probe = await probeBroker(host, o.port, run);
  } catch (e) {
    probe = `failed: ${e.message}`;
  }
  clearInterval(sampler);
  mem.end = rssBytes(pid);
  if (mem.end > mem.peak) mem.peak = mem.end;

  const brokerLog = o.logs ? o.logs() : "";
  const internalErrors = (brokerLog.match(/Internal error|Uncaught|FATAL|RangeError|TypeError/g) ?? []).length;

  const failures = [];
  if (!alive) failures.push("broker process died");
  if (probe !== "ok") failures.push(`broker unusable after the fuzz: ${probe}`);
  if (internalErrors > 0) failures.push(`broker logged ${internalErrors} internal errors (exceptions caught by the transport)`);
  if (good.lost > 0) failures.push(`well-behaved clients lost ${good.lost} messages: ${good.lostSamples.join("; ")}`);
  if (good.dupQos2 > 0) failures.push(`${good.dupQos2} messages duplicated at QoS 2`);
  if (good.dupQos0 > 0) failures.push(`${good.dupQos0} messages duplicated at QoS 0`);
  if (good.notConfirmed > 0) failures.push(`${good.notConfirmed} publishes of well-behaved clients never completed`);
  if (good.anomalies.length > 0) failures.push(`protocol anomalies seen by well-behaved clients: ${good.anomalies.slice(0, 5).join("; ")}`);
  if (good.unexpectedCloses > 0) failures.push(`the broker closed well-behaved connections ${good.unexpectedCloses} times`);
  if (good.errors.length > 0) failures.push(`workload errors: ${good.errors.slice(0, 5).join("; ")}`);
  if (pid && mem.peak - mem.baseline > memLimitMB * 1024 * 1024) failures.push(`broker RSS grew by ${mb(mem.peak - mem.baseline)} MB (limit ${memLimitMB} MB)`);
  failures.push(...violations);

  return {
    pass: failures.length === 0,
    failures,
    seed,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    inputs: stats.connections,
    faults: stats.faults,
    bytes: stats.bytes,
    byKind: stats.byKind,
    refused: stats.refused,
    closedByBroker: stats.closedByBroker,
    partialClosed: stats.partialClosed,
    partialHeld: stats.partialHeld,
    good,
    memory: { baselineMB: mb(mem.baseline), peakMB: mb(mem.peak), endMB: mb(mem.end), samples: mem.samples },
    alive,
    internalErrors,
  };
}

export function newFuzzStats() {
  return { connections: 0, bytes: 0, faults: 0, refused: 0, closedByBroker: 0, partialClosed: 0, partialHeld: 0, byKind: {} };
}

/**
 * Starts `concurrency` fuzz workers; each runs fuzz connections one after another until
 * `until` (ms timestamp), stop() is called, or the broker process dies. Input k is drawn from
 * prng(subSeed(seed, k)). Counts go to o.stats, oracle failures to o.violations.
 * o: { host, port, closeWithinMs, seed, concurrency, maxPacket, weights, pid, stats, violations, until }
 */
export function startFuzzers(o) {
  let next = 0;
  let stopped = false;
  const stats = o.stats;
  const worker = async () => {
    while (!stopped && Date.now() < o.until) {
      const k = next++;
      const rnd = prng(subSeed(o.seed, k));
      const kind = pickKind(rnd, o.weights ?? SCENARIOS);
      const plan = buildPlan(kind, rnd, o.maxPacket);
      stats.connections += plan.kind === "connflood" ? plan.extra.connections : 1;
      stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
      stats.faults += plan.faults;
      for (const b of plan.sends) stats.bytes += b.length;
      let v = null;
      try {
        v = await runPlan(o, plan, stats);
      } catch (e) {
        v = `${kind}: fuzzer error ${e.message}`;
      }
      if (v !== null && o.violations.length < 50) o.violations.push(`input ${k} (seed ${o.seed}): ${v}`);
      if (o.pid && !processAlive(o.pid)) break;
    }
  };
  const done = Promise.all(Array.from({ length: o.concurrency }, worker));
  return {
    done,
    stop() {
      stopped = true;
      return done;
    },
  };
}

/** Connects a fresh client, subscribes, and does a QoS 1 round trip. Resolves "ok" or throws. */
export async function probeBroker(host, port, run) {
  const { GoodClient } = await import("./client.mjs");
  let got = null;
  const c = new GoodClient({ host, port, clientId: `probe-${run}-${Date.now() % 100000}`, keepalive: 0, onMessage: (m) => (got = m) });
  await c.connect();
  try {
    const codes = await c.subscribe([[`probe/${run}`, 1]]);
    if (codes[0] !== 1) throw new Error(`SUBACK ${codes[0]}`);
    await Promise.race([c.publish(`probe/${run}`, Buffer.from("alive"), 1), sleep(5000).then(() => Promise.reject(new Error("no PUBACK")))]);
    const end = Date.now() + 5000;
    while (got === null && Date.now() < end) await sleep(20);
    if (got === null) throw new Error("own message not delivered");
    return "ok";
  } finally {
    await c.end();
  }
}

/**
 * Fuzz settings that fit a board's limits ({ maxConnections, maxPacketSize, maxInboundQos2,
 * ... }): on a small board (under 40 connections, e.g. ESP32: 16 connections and sessions,
 * 256-byte packets, queues of 4, 2 inbound QoS 2 flows) a slow well-behaved load that fits its
 * tables (payloads under the packet limit, at most maxInboundQos2 flows per publisher, short
 * offline spells so the killed subscriber's queue never overflows), room left for the
 * well-behaved clients and the final probe, no connection floods (they would only be
 * refused), and QoS 0 counted but not required (its slow-consumer limit may drop QoS 0).
 * Returns { small, concurrency, rate, maxPacket, weights, workload } for runFuzz.
 */
export function tuneForBoard(limits, concurrency = 16, rate = 100) {
  const maxConnections = limits.maxConnections ?? 10000;
  const maxPacket = limits.maxPacketSize ?? 1024 * 1024;
  const small = maxConnections < 40;
  if (!small) return { small, concurrency, rate, maxPacket, weights: { ...SCENARIOS }, workload: {} };
  return {
    small,
    concurrency: Math.max(1, Math.min(concurrency, maxConnections - 12)),
    rate: Math.min(rate, 5),
    maxPacket,
    weights: { ...SCENARIOS, connflood: 0 },
    workload: {
      window: Math.max(1, limits.maxInboundQos2 ?? 2),
      maxPayload: Math.max(8, maxPacket - 120),
      offlineMs: [20, 100],
      expectQos0: false,
      subscribers: [
        { name: "s2", qos: 2, flaky: false },
        { name: "s1", qos: 1, flaky: false },
        { name: "f2", qos: 2, flaky: true },
      ],
    },
  };
}
