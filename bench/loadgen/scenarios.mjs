// The scenarios, as run inside a load-generator worker process. Each takes (params, ctx):
//   ctx.host, ctx.port, ctx.shard, ctx.shards
//   ctx.mark(name)        tells the coordinator a measurement window starts/ends (CPU sampling)
//   ctx.checkpoint(name)  waits while the coordinator measures the broker (memory, heap)
// and resolves with plain numbers (and sample arrays) that the coordinator merges.
import { Client, openMany } from "./client.mjs";
import { PUBACK, PUBCOMP, publishTemplate } from "../lib/mqtt.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Bounded sample store for latencies (ms). */
class Samples {
  constructor(cap) {
    this.a = new Float64Array(cap);
    this.n = 0;
    this.on = false;
  }
  add(v) {
    if (this.on && this.n < this.a.length) this.a[this.n++] = v;
  }
  /** A thinned copy (at most `max` values) to send to the coordinator. */
  export(max = 100000) {
    const step = Math.max(1, Math.ceil(this.n / max));
    const out = [];
    for (let i = 0; i < this.n; i += step) out.push(Math.round(this.a[i] * 1000) / 1000);
    return out;
  }
}

/**
 * One publishing connection and its pre-encoded messages. `topics` are cycled through (all of
 * the same byte length); a batch is a copy of the pre-built template, stamped per message with
 * the packet id, a timestamp, the stream id and the sequence number.
 */
class Stream {
  constructor(client, topics, qos, payloadSize, streamId, maxBatch, version = 4) {
    this.client = client;
    this.streamId = streamId;
    this.qos = qos;
    this.sent = 0;
    this.acked = 0;
    this.tpls = topics.map((t) => publishTemplate(t, payloadSize, qos, false, { version }));
    const len = this.tpls[0].bytes.length;
    for (const t of this.tpls) if (t.bytes.length !== len) throw new Error("stream topics must have the same byte length");
    this.len = len;
    this.idAt = this.tpls[0].idAt;
    this.payloadAt = this.tpls[0].payloadAt;
    // maxBatch + topics.length - 1 messages, so a batch can start at any topic.
    const n = maxBatch + topics.length - 1;
    this.batchTpl = Buffer.allocUnsafe(n * len);
    for (let j = 0; j < n; j++) this.tpls[j % topics.length].bytes.copy(this.batchTpl, j * len);
    this.cycle = topics.length;
    this.completed = () => this.sent; // replaced by the scenario
    client.onAck = (type) => {
      if (type === PUBACK || type === PUBCOMP) this.acked++;
    };
  }

  send(k) {
    const len = this.len;
    const first = this.sent % this.cycle;
    const buf = Buffer.from(this.batchTpl.subarray(first * len, (first + k) * len));
    const now = performance.now();
    for (let j = 0; j < k; j++) {
      const o = j * len;
      const seq = this.sent + j;
      if (this.idAt >= 0) {
        const id = (seq % 65535) + 1;
        buf[o + this.idAt] = id >> 8;
        buf[o + this.idAt + 1] = id & 255;
      }
      const p = o + this.payloadAt;
      buf.writeDoubleLE(now, p);
      buf.writeUInt32LE(this.streamId, p + 8);
      buf.writeUInt32LE(seq >>> 0, p + 12);
    }
    this.sent += k;
    this.client.write(buf);
  }
}

/**
 * Runs streams with an end-to-end window: a stream may have at most `window` messages sent
 * and not yet completed (received by every subscriber, and acknowledged for QoS 1/2), so no
 * broker ever has to queue or drop, and the rate measured is what it sustains.
 */
class Pump {
  constructor(streams, window, maxBatch) {
    this.streams = streams;
    this.window = window;
    this.maxBatch = maxBatch;
    this.running = false;
    this.scheduled = false;
    this.limit = Infinity; // total messages to send (count-bounded runs)
    this.run = () => {
      this.scheduled = false;
      this.pump();
    };
  }
  schedule() {
    if (!this.scheduled && this.running) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }
  sentTotal() {
    let n = 0;
    for (const s of this.streams) n += s.sent;
    return n;
  }
  pump() {
    if (!this.running) return;
    let again = false;
    for (const s of this.streams) {
      // At most 16 batches per stream per turn: a sink that never pushes back (the self-test)
      // must not keep this loop from yielding to the event loop.
      for (let turn = 0; !s.client.blocked && this.running; turn++) {
        if (turn === 16) {
          again = true;
          break;
        }
        let room = this.window - (s.sent - s.completed());
        if (room <= 0) break;
        if (room > this.maxBatch) room = this.maxBatch;
        if (this.limit !== Infinity) {
          const left = this.limit - this.sentTotal();
          if (left <= 0) {
            this.running = false;
            break;
          }
          if (room > left) room = left;
        }
        s.send(room);
      }
    }
    if (again) this.schedule();
  }
  start() {
    this.running = true;
    this.pump();
  }
  stop() {
    this.running = false;
  }
  /** Waits until every stream has completed all it sent, or timeoutMs. */
  async drain(timeoutMs) {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end) {
      if (this.streams.every((s) => s.completed() >= s.sent)) return true;
      await sleep(10);
    }
    return false;
  }
}

function client(ctx, id, extra = {}) {
  return new Client({ host: ctx.host, port: ctx.port, clientId: id, keepAlive: 60, ...extra });
}

/** The MQTT version of a scenario's clients: params.version 5 for the 5.0 rows, else 3.1.1. */
const versionOf = (p) => (p.version === 5 ? 5 : 4);

/** 5.0 refusals and unreadable PUBLISHes over some clients (0 with 3.1.1). */
function refusals(clients) {
  let rejected = 0;
  let malformed = 0;
  for (const c of clients) {
    rejected += c.rejected;
    malformed += c.malformed;
  }
  return { rejected, malformed };
}

/** Warm-up, then a measured window; returns rate (deliveries/s) and what was lost. */
async function measureWindow(ctx, pump, deliveries, expected, samples, p, marked = true) {
  pump.start();
  await sleep(p.warmupMs);
  const c0 = deliveries();
  const t0 = performance.now();
  if (samples) samples.on = true;
  if (marked) ctx.mark("start");
  await sleep(p.durationMs);
  const c1 = deliveries();
  const t1 = performance.now();
  if (marked) ctx.mark("end");
  if (samples) samples.on = false;
  pump.stop();
  const drained = await pump.drain(5000);
  return {
    rate: ((c1 - c0) * 1000) / (t1 - t0),
    delivered: deliveries(),
    expected: expected(),
    lost: expected() - deliveries(),
    drained,
  };
}

function latencyOf(samples) {
  return samples ? samples.export() : [];
}

async function closeAll(clients) {
  await Promise.all(clients.map((c) => c.close(1000)));
}

/** QoS 0 fan-in: `publishers` publishers, one subscriber on a `+` filter (3.1.1, or 5.0 with version 5). */
async function fanin(p, ctx) {
  const tag = `${ctx.runId}`;
  const version = versionOf(p);
  const sub = client(ctx, `fi-sub-${tag}`, { version });
  await sub.open();
  await sub.subscribe([`bench/fanin/${tag}/+`], 0);
  const recv = new Array(p.publishers).fill(0);
  const pubs = await openMany(p.publishers, p.publishers, (i) => client(ctx, `fi-pub-${tag}-${i}`, { version }));
  const streams = pubs.map((c, i) => new Stream(c, [`bench/fanin/${tag}/${String(i).padStart(2, "0")}`], 0, p.payload, i, p.maxBatch, version));
  for (let i = 0; i < streams.length; i++) streams[i].completed = () => recv[i];
  const pump = new Pump(streams, p.window, p.maxBatch);
  sub.onPublish = (qos, id, buf, at) => {
    recv[buf.readUInt32LE(at + 8)]++;
  };
  sub.onData = () => pump.schedule();
  for (const c of pubs) c.onData = () => pump.schedule();
  const r = await measureWindow(ctx, pump, () => sub.received, () => pump.sentTotal(), null, p);
  Object.assign(r, refusals([...pubs, sub]));
  await closeAll([...pubs, sub]);
  return r;
}

/** QoS 0 fan-out: one publisher, `subscribers` subscribers of the same topic. */
async function fanout(p, ctx) {
  const tag = `${ctx.runId}`;
  const topic = `bench/fanout/${tag}`;
  const subs = await openMany(p.subscribers, 20, (i) => client(ctx, `fo-sub-${tag}-${i}`), (c) => c.subscribe([topic], 0));
  const pubClient = client(ctx, `fo-pub-${tag}`);
  await pubClient.open();
  const stream = new Stream(pubClient, [topic], 0, p.payload, 0, p.maxBatch);
  stream.completed = () => {
    let m = Infinity;
    for (const s of subs) if (s.received < m) m = s.received;
    return m;
  };
  const pump = new Pump([stream], p.window, p.maxBatch);
  for (const s of subs) s.onData = () => pump.schedule();
  pubClient.onData = () => pump.schedule();
  const deliveries = () => {
    let n = 0;
    for (const s of subs) n += s.received;
    return n;
  };
  const r = await measureWindow(ctx, pump, deliveries, () => stream.sent * subs.length, null, p);
  await closeAll([...subs, pubClient]);
  return r;
}

/**
 * QoS 1 or 2: `pairs` publisher/subscriber pairs, each a stream with a window of `window`
 * (3.1.1, or 5.0 with version 5).
 */
async function qosStream(p, ctx) {
  const tag = `${ctx.runId}`;
  const q = p.qos;
  const version = versionOf(p);
  const samples = new Samples(2000000);
  const subs = await openMany(p.pairs, p.pairs, (i) => client(ctx, `q${q}-sub-${tag}-${i}`, { version }), (c, i) => c.subscribe([`bench/q${q}/${tag}/${i}`], q));
  const pubs = await openMany(p.pairs, p.pairs, (i) => client(ctx, `q${q}-pub-${tag}-${i}`, { version }));
  const streams = pubs.map((c, i) => new Stream(c, [`bench/q${q}/${tag}/${i}`], q, p.payload, i, p.maxBatch, version));
  const pump = new Pump(streams, p.window, p.maxBatch);
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i];
    const sub = subs[i];
    s.completed = () => (s.acked < sub.received ? s.acked : sub.received);
    sub.onPublish = (qos, id, buf, at) => {
      samples.add(sub.now - buf.readDoubleLE(at));
    };
    sub.onData = () => pump.schedule();
    pubs[i].onData = () => pump.schedule();
  }
  const deliveries = () => {
    let n = 0;
    for (const s of subs) n += s.received;
    return n;
  };
  const r = await measureWindow(ctx, pump, deliveries, () => pump.sentTotal(), samples, p);
  let acked = 0;
  for (const s of streams) acked += s.acked;
  r.unacked = pump.sentTotal() - acked;
  Object.assign(r, refusals([...pubs, ...subs]));
  r.latency = latencyOf(samples);
  await closeAll([...pubs, ...subs]);
  return r;
}

/** Connect rate: `lanes` loops of TCP connect, CONNECT, CONNACK, DISCONNECT, close. */
async function connectRate(p, ctx) {
  const samples = new Samples(1000000);
  let measuring = false;
  let count = 0;
  let stop = false;
  let n = 0;
  let failures = 0;
  const tag = `${ctx.runId}-${ctx.shard}`;
  async function lane() {
    while (!stop) {
      const c = client(ctx, `cr-${tag}-${n++}`);
      try {
        const ms = await c.open();
        if (measuring) {
          count++;
          samples.add(ms);
        }
        await c.close(2000);
      } catch {
        failures++;
        c.destroy();
        await sleep(10);
      }
    }
  }
  const lanes = [];
  for (let i = 0; i < p.lanes; i++) lanes.push(lane());
  await sleep(p.warmupMs);
  measuring = true;
  samples.on = true;
  const t0 = performance.now();
  ctx.mark("start");
  await sleep(p.durationMs);
  measuring = false;
  const t1 = performance.now();
  ctx.mark("end");
  stop = true;
  await Promise.all(lanes);
  return { rate: (count * 1000) / (t1 - t0), count, failures, latency: latencyOf(samples) };
}

/**
 * Idle connections: broker memory before and after `connections` clients connect, then after
 * `more` clients join them. The first step is the average cost from a lightly warmed broker
 * (one-time growth included: code paged in, compiled, heap reserved); the second, with the
 * first clients still connected, is what one more idle connection costs (the marginal cost).
 */
async function idle(p, ctx) {
  const tag = `${ctx.runId}-${ctx.shard}`;
  // Warm the broker's connect path so the baseline includes its code, not just its start-up.
  const warm = await openMany(p.warm, 10, (i) => client(ctx, `idw-${tag}-${i}`));
  await closeAll(warm);
  await sleep(200);
  await ctx.checkpoint("baseline");
  const t0 = performance.now();
  const clients = await openMany(p.connections, p.concurrency, (i) => client(ctx, `id-${tag}-${i}`));
  const connectMs = performance.now() - t0;
  await sleep(p.settleMs);
  await ctx.checkpoint("loaded");
  let more = [];
  if (p.more > 0) {
    more = await openMany(p.more, p.concurrency, (i) => client(ctx, `idm-${tag}-${i}`));
    await sleep(p.settleMs);
    await ctx.checkpoint("more");
  }
  for (const c of clients) c.destroy();
  for (const c of more) c.destroy();
  await sleep(200);
  return { connections: clients.length, more: more.length, connectMs };
}

/** 10,000 retained messages, then a `#` subscriber: time until it has them all. */
async function retained(p, ctx) {
  const tag = `${ctx.runId}`;
  const pub = client(ctx, `rt-pub-${tag}`);
  await pub.open();
  // Topics bench/rt/<tag>/<i>: retained QoS 0, written in bounded chunks.
  const chunk = [];
  let chunkBytes = 0;
  for (let i = 0; i < p.messages; i++) {
    const t = publishTemplate(`bench/rt/${tag}/${i}`, p.payload, 0, true);
    chunk.push(t.bytes);
    chunkBytes += t.bytes.length;
    if (chunkBytes > 65536 || i === p.messages - 1) {
      if (!pub.write(Buffer.concat(chunk))) await new Promise((r) => pub.socket.once("drain", r));
      chunk.length = 0;
      chunkBytes = 0;
    }
  }
  // A QoS 1 PUBLISH after them: its PUBACK means the broker has processed everything before it.
  const acked = new Promise((r) => {
    pub.onAck = () => r();
  });
  const sentinel = publishTemplate(`bench/rtdone/${tag}`, 16, 1);
  sentinel.bytes.writeUInt16BE(1, sentinel.idAt);
  pub.write(sentinel.bytes);
  const closed = new Promise((r) => pub.socket.once("close", () => r("closed")));
  if ((await Promise.race([acked, closed, sleep(p.timeoutMs).then(() => "timeout")])) !== undefined) throw new Error("no PUBACK for the message after the retained ones");
  await sleep(100);
  const times = [];
  let counts = [];
  for (let k = 0; k < p.rounds + 1; k++) {
    const sub = client(ctx, `rt-sub-${tag}-${k}`);
    await sub.open();
    let got = 0;
    const t0 = performance.now();
    const done = new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), p.timeoutMs);
      sub.onPublish = (qos, id, buf, at, end, flags) => {
        if ((flags & 1) === 1) got++;
        if (got === p.messages) {
          clearTimeout(timer);
          resolve(true);
        }
      };
    });
    if (k === 1) ctx.mark("start");
    sub.socket.write(Buffer.from([0x82, 6, 0, 1, 0, 1, 0x23, 0])); // SUBSCRIBE 1 "#" QoS 0
    const complete = await done;
    const ms = performance.now() - t0;
    if (k > 0) {
      times.push(complete ? ms : Infinity);
      counts.push(got);
    }
    await sub.close(1000);
  }
  ctx.mark("end");
  await pub.close(1000);
  const sorted = times.slice().sort((a, b) => a - b);
  return { ms: sorted[Math.floor(sorted.length / 2)], times, received: Math.min(...counts), expected: p.messages };
}

/**
 * Matching cost: the same publish stream (to the topics of the first `matching` subscribers,
 * one subscriber per message) with `matching` subscriptions, then with `total` distinct
 * wildcard subscriptions of which the extra ones match nothing.
 */
function wildFilter(i) {
  switch (i % 4) {
    case 0:
      return `m/${i}/+/${i}`;
    case 1:
      return `m/${i}/#`;
    case 2:
      return `m/+/t/${i}`;
    default:
      return `+/${i}/t/+`;
  }
}

async function wildcard(p, ctx) {
  const tag = `${ctx.runId}`;
  // Topic m/<i>/t/<i> matches exactly subscriber i's filter (and no other).
  const topicOf = (i) => `m/${i}/t/${i}`;
  const subs = await openMany(p.matching, 10, (i) => client(ctx, `wc-sub-${tag}-${i}`), (c, i) => c.subscribe([wildFilter(i)], 0));
  const pubClient = client(ctx, `wc-pub-${tag}`);
  await pubClient.open();
  const topics = [];
  for (let i = 0; i < p.matching; i++) topics.push(topicOf(i));
  const stream = new Stream(pubClient, topics, 0, p.payload, 0, p.maxBatch);
  const deliveries = () => {
    let n = 0;
    for (const s of subs) n += s.received;
    return n;
  };
  stream.completed = deliveries;
  let pump = new Pump([stream], p.window, p.maxBatch);
  const schedule = () => pump.schedule();
  for (const s of subs) s.onData = schedule;
  pubClient.onData = schedule;
  const few = await measureWindow(ctx, pump, deliveries, () => stream.sent, null, p, false);
  // Now the other subscribers, each with its own distinct filter that matches nothing sent.
  const others = await openMany(p.total - p.matching, 50, (i) => client(ctx, `wc-sub-${tag}-${p.matching + i}`), (c, i) =>
    c.subscribe([wildFilter(p.matching + i)], 0),
  );
  pump = new Pump([stream], p.window, p.maxBatch);
  const base = stream.sent;
  const many = await measureWindow(ctx, pump, deliveries, () => stream.sent, null, p);
  let stray = 0;
  for (const c of others) stray += c.received;
  // The other subscribers leave (their clean sessions, and subscriptions, end) and the few
  // are measured again: the mean of before and after cancels warm-up drift.
  await closeAll(others);
  await sleep(300);
  pump = new Pump([stream], p.window, p.maxBatch);
  const fewAgain = await measureWindow(ctx, pump, deliveries, () => stream.sent, null, p, false);
  await closeAll([...subs, pubClient]);
  return {
    rateFew: (few.rate + fewAgain.rate) / 2,
    rateFewBefore: few.rate,
    rateFewAfter: fewAgain.rate,
    rate: many.rate,
    lost: few.lost + many.lost + fewAgain.lost,
    stray,
    subscriptions: p.total,
    sentMany: stream.sent - base,
  };
}

/**
 * Heap growth per QoS 0 message: fan-in traffic until warm, checkpoint (the coordinator
 * forces a GC and reads the heap), `messages` more, drain, checkpoint again.
 */
async function heap(p, ctx) {
  const tag = `${ctx.runId}`;
  const sub = client(ctx, `hp-sub-${tag}`);
  await sub.open();
  await sub.subscribe([`bench/heap/${tag}/+`], 0);
  const recv = new Array(p.publishers).fill(0);
  const pubs = await openMany(p.publishers, p.publishers, (i) => client(ctx, `hp-pub-${tag}-${i}`));
  const streams = pubs.map((c, i) => new Stream(c, [`bench/heap/${tag}/${String(i).padStart(2, "0")}`], 0, p.payload, i, p.maxBatch));
  for (let i = 0; i < streams.length; i++) streams[i].completed = () => recv[i];
  sub.onPublish = (qos, id, buf, at) => {
    recv[buf.readUInt32LE(at + 8)]++;
  };
  const run = async (count) => {
    const pump = new Pump(streams, p.window, p.maxBatch);
    sub.onData = () => pump.schedule();
    for (const c of pubs) c.onData = () => pump.schedule();
    const start = pump.sentTotal();
    pump.limit = start + count;
    const t0 = performance.now();
    pump.start();
    while (pump.running && performance.now() - t0 < p.maxMs) await sleep(50);
    pump.stop();
    await pump.drain(5000);
    return pump.sentTotal() - start;
  };
  // Warm-up, then two equal halves with a heap reading after each: the first half still sees
  // one-off growth (optimised code, buffers reaching their final size); the second is the
  // steady state.
  await run(p.warmMessages);
  await sleep(100);
  await ctx.checkpoint("before");
  const r0 = sub.received;
  const t0 = performance.now();
  ctx.mark("start");
  const half = Math.floor(p.messages / 2);
  await run(half);
  await sleep(100);
  await ctx.checkpoint("middle");
  const r1 = sub.received;
  await run(half);
  ctx.mark("end");
  const ms = performance.now() - t0;
  await sleep(100);
  await ctx.checkpoint("after");
  const r2 = sub.received;
  await closeAll([...pubs, sub]);
  return { messages: r2 - r0, firstHalf: r1 - r0, secondHalf: r2 - r1, rate: ((r2 - r0) * 1000) / ms };
}

// --- Self-test against null brokers (the generator's own ceiling) ---

/** Publishers into a sink that only answers CONNACK and discards: the generator's send rate. */
async function selfSend(p, ctx) {
  const version = versionOf(p);
  const pubs = await openMany(p.publishers, p.publishers, (i) => client(ctx, `ss-pub-${i}`, { version }));
  const streams = pubs.map((c, i) => new Stream(c, [`bench/fanin/x/${String(i).padStart(2, "0")}`], 0, p.payload, i, p.maxBatch, version));
  // No receiver: the window is the socket's own backpressure.
  const pump = new Pump(streams, Infinity, p.maxBatch);
  for (const c of pubs) c.onData = () => pump.schedule();
  pump.start();
  // The pump loops until each socket is blocked; 'drain' resumes it.
  await sleep(p.warmupMs);
  const c0 = pump.sentTotal();
  const t0 = performance.now();
  ctx.mark("start");
  await sleep(p.durationMs);
  const c1 = pump.sentTotal();
  const t1 = performance.now();
  ctx.mark("end");
  pump.stop();
  for (const c of pubs) c.destroy();
  return { rate: ((c1 - c0) * 1000) / (t1 - t0) };
}

/** One subscriber fed by a firehose that sends pre-encoded PUBLISHes: the generator's receive rate. */
async function selfReceive(p, ctx) {
  const sub = client(ctx, `sr-sub`, { version: versionOf(p) });
  await sub.open();
  await sub.subscribe(["#"], 0);
  let seen = 0;
  sub.onPublish = (qos, id, buf, at) => {
    seen += buf.readUInt32LE(at + 8) >= 0 ? 1 : 0; // the same work as fan-in's subscriber
  };
  await sleep(p.warmupMs);
  const c0 = sub.received;
  const t0 = performance.now();
  ctx.mark("start");
  await sleep(p.durationMs);
  const c1 = sub.received;
  const t1 = performance.now();
  ctx.mark("end");
  sub.destroy();
  return { rate: ((c1 - c0) * 1000) / (t1 - t0), seen };
}

export const SCENARIOS = { fanin, fanout, qosStream, connectRate, idle, retained, wildcard, heap, selfSend, selfReceive };
