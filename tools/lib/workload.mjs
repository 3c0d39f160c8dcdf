// The well-behaved side of the fuzzer and the soak: publishers and subscribers at QoS 0/1/2,
// some of them killed and reconnected at random (CleanSession 0), and a ledger that proves
// nothing acknowledged was lost and nothing was delivered twice at QoS 2.
//
// Every message carries "<run>|<publisher>|<qos>|<seq>|" in its payload, on topic
// good/<run>/<publisher>/q<qos>. A subscriber at QoS s receives a message published at QoS q
// at min(q, s) (MQTT-3.3.5-1). What each subscriber must receive:
//   - steady subscribers (connected all the time): every message its publisher confirmed
//     (QoS 0: written to the socket; QoS 1/2: PUBACK / PUBCOMP received);
//   - flaky subscribers (killed and reconnected, CleanSession 0): every confirmed message
//     delivered to them at QoS 1 or 2 (QoS 0 is not queued for offline sessions, SRV-IMPL-7).
// Counted: lost (expected, never received), duplicated (a message received again: an error
// at QoS 2 and QoS 0, allowed at QoS 1), out of order (a first receipt older than one already
// seen on the same stream), anomalies (protocol errors by the broker) and unexpected closes.
import { GoodClient } from "./client.mjs";

const DEFAULT_SUBSCRIBERS = [
  { name: "s2", qos: 2, flaky: false },
  { name: "s1", qos: 1, flaky: false },
  { name: "s0", qos: 0, flaky: false },
  { name: "f2", qos: 2, flaky: true },
  { name: "f1", qos: 1, flaky: true },
];
const DEFAULT_PUBLISHERS = [
  { name: "p", flaky: false, qos: [0, 1, 2] },
  { name: "k", flaky: true, qos: [1, 2] },
];

export class Workload {
  /**
   * o: { host, port, run (string), rnd (prng), rate (messages/s over all publishers, default 100),
   *      window (outstanding flows per publisher, default 20), maxPayload (bytes, default 2000),
   *      killEveryMs ([min, max] connected time of flaky clients, default [400, 2500]),
   *      offlineMs ([min, max], default [20, 400]), subscribers, publishers, log,
   *      expectQos0 (default true; false for boards whose slow-consumer limit may drop QoS 0
   *      on purpose: QoS 0 is then counted but not required) }
   */
  constructor(o) {
    this.host = o.host ?? "127.0.0.1";
    this.port = o.port;
    this.run = o.run;
    this.rnd = o.rnd;
    this.rate = o.rate ?? 100;
    this.window = o.window ?? 20;
    this.maxPayload = o.maxPayload ?? 2000;
    this.killEveryMs = o.killEveryMs ?? [400, 2500];
    this.offlineMs = o.offlineMs ?? [20, 400];
    this.subSpecs = o.subscribers ?? DEFAULT_SUBSCRIBERS;
    this.pubSpecs = o.publishers ?? DEFAULT_PUBLISHERS;
    this.log = o.log ?? (() => {});
    this.expectQos0 = o.expectQos0 ?? true;
    this.subs = [];
    this.pubs = [];
    this.stopping = false;
    this.timers = new Set();
    this.errors = [];
    this.counts = { published: [0, 0, 0], confirmed: [0, 0, 0], delivered: 0, foreign: 0, kills: 0, reconnects: 0 };
  }

  topic(pub, qos) {
    return `good/${this.run}/${pub}/q${qos}`;
  }

  async start() {
    for (const spec of this.subSpecs) {
      const sub = {
        spec,
        /** stream "pub|qos" → Set of seqs received */
        got: new Map(),
        maxSeq: new Map(),
        dup: [0, 0, 0],
        outOfOrder: 0,
        client: null,
      };
      sub.client = new GoodClient({
        host: this.host,
        port: this.port,
        clientId: `good-${this.run}-${spec.name}`,
        clean: !spec.flaky,
        keepalive: 20,
        onMessage: (m) => this.received(sub, m),
      });
      await sub.client.connect();
      const codes = await sub.client.subscribe([[`good/${this.run}/#`, spec.qos]]);
      if (codes[0] !== spec.qos) throw new Error(`subscriber ${spec.name}: SUBACK ${codes[0]}, wanted ${spec.qos}`);
      this.subs.push(sub);
    }
    for (const spec of this.pubSpecs) {
      const pub = {
        spec,
        seq: [0, 0, 0],
        /** Confirmed messages: per QoS, a list of [seq, confirmedAt]. */
        confirmed: [[], [], []],
        outstanding: 0,
        client: new GoodClient({ host: this.host, port: this.port, clientId: `good-${this.run}-${spec.name}`, clean: !spec.flaky, keepalive: 20 }),
      };
      await pub.client.connect();
      this.pubs.push(pub);
    }
    for (const sub of this.subs) if (sub.spec.flaky) this.scheduleKill(sub.client);
    for (const pub of this.pubs) {
      if (pub.spec.flaky) this.scheduleKill(pub.client);
      this.publishLoop(pub);
    }
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Flaky clients: connected for a random while, killed (maybe mid-flow), offline a little, back. */
  scheduleKill(client) {
    if (this.stopping) return;
    this.later(this.rnd.range(this.killEveryMs[0], this.killEveryMs[1]), () => {
      if (this.stopping) return;
      client.kill();
      this.counts.kills++;
      this.later(this.rnd.range(this.offlineMs[0], this.offlineMs[1]), () => this.reconnect(client, true));
    });
  }

  async reconnect(client, again) {
    for (let attempt = 0; ; attempt++) {
      try {
        const present = await client.connect();
        this.counts.reconnects++;
        if (!client.clean && !present) this.error(`${client.clientId}: session lost (Session Present 0 after reconnect)`);
        break;
      } catch (e) {
        if (attempt >= 20) {
          this.error(`${client.clientId}: cannot reconnect: ${e.message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 100 + attempt * 100));
      }
    }
    if (again) this.scheduleKill(client);
  }

  error(what) {
    if (this.errors.length < 100) this.errors.push(what);
    this.log(`workload error: ${what}`);
  }

  publishLoop(pub) {
    const perPub = this.rate / this.pubs.length;
    const intervalMs = Math.max(1, 1000 / perPub);
    const step = () => {
      if (this.stopping) return;
      if (pub.outstanding < this.window && (pub.client.connected || pub.spec.flaky)) {
        const qos = this.rnd.pick(pub.spec.qos);
        const seq = ++pub.seq[qos];
        const head = `${this.run}|${pub.spec.name}|${qos}|${seq}|`;
        const size = this.rnd.chance(0.9) ? this.rnd.range(0, Math.min(200, this.maxPayload)) : this.rnd.range(0, this.maxPayload);
        const payload = Buffer.concat([Buffer.from(head), Buffer.alloc(size, 0x2e)]);
        this.counts.published[qos]++;
        pub.outstanding++;
        pub.client.publish(this.topic(pub.spec.name, qos), payload, qos).then((ok) => {
          pub.outstanding--;
          if (ok) {
            pub.confirmed[qos].push([seq, Date.now()]);
            this.counts.confirmed[qos]++;
          }
        });
      }
      this.later(intervalMs, step);
    };
    step();
  }

  received(sub, m) {
    const parts = m.payload.subarray(0, 80).toString("latin1").split("|");
    if (parts.length < 5 || parts[0] !== this.run) {
      this.counts.foreign++;
      return;
    }
    const key = parts[1] + "|" + parts[2];
    const seq = Number(parts[3]);
    let set = sub.got.get(key);
    if (!set) {
      set = new Set();
      sub.got.set(key, set);
    }
    if (set.has(seq)) {
      // Classified by the end-to-end QoS min(published, granted), which m.qos is. A QoS 1
      // message may come twice (the publisher resent it), also to a QoS 0 subscriber; a QoS 0
      // message never (nobody resends it), a QoS 2 one neither (exactly once).
      const pubQos = Number(parts[2]);
      if (m.qos === 0 && pubQos > 0) sub.dup[1]++;
      else sub.dup[m.qos]++;
      return;
    }
    set.add(seq);
    this.counts.delivered++;
    const max = sub.maxSeq.get(key) ?? 0;
    if (seq < max) sub.outOfOrder++;
    else sub.maxSeq.set(key, seq);
  }

  /** Which of a publisher's QoS streams a subscriber must receive completely. */
  expects(sub, qos) {
    if (!this.expectQos0 && Math.min(qos, sub.spec.qos) === 0) return false;
    if (!sub.spec.flaky) return true;
    return Math.min(qos, sub.spec.qos) >= 1;
  }

  /** Expected messages not received (confirmed before `olderThan`, if given). */
  missing(olderThan = Infinity) {
    let lost = 0;
    const samples = [];
    for (const sub of this.subs) {
      for (const pub of this.pubs) {
        for (let qos = 0; qos <= 2; qos++) {
          if (!this.expects(sub, qos)) continue;
          const set = sub.got.get(pub.spec.name + "|" + qos) ?? new Set();
          for (const [seq, at] of pub.confirmed[qos]) {
            if (at > olderThan) break;
            if (!set.has(seq)) {
              lost++;
              if (samples.length < 10) samples.push(`${sub.spec.name} missed ${pub.spec.name} q${qos} #${seq}`);
            }
          }
        }
      }
    }
    return { lost, samples };
  }

  /** Figures for a status line. */
  snapshot() {
    let dup2 = 0;
    let dup1 = 0;
    let dup0 = 0;
    let ooo = 0;
    for (const sub of this.subs) {
      dup0 += sub.dup[0];
      dup1 += sub.dup[1];
      dup2 += sub.dup[2];
      ooo += sub.outOfOrder;
    }
    return {
      published: this.counts.confirmed.reduce((a, b) => a + b, 0),
      delivered: this.counts.delivered,
      dupQos2: dup2,
      dupQos1: dup1,
      dupQos0: dup0,
      outOfOrder: ooo,
      kills: this.counts.kills,
      reconnects: this.counts.reconnects,
    };
  }

  /**
   * Stops publishing, lets every flow finish (flaky clients reconnect for it), waits for the
   * subscribers to catch up, and returns the final figures.
   */
  async stop(drainMs = 15000) {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const clients = [...this.subs.map((s) => s.client), ...this.pubs.map((p) => p.client)];
    // Bring every killed client back so its session's flows can complete.
    await Promise.all(clients.filter((c) => !c.connected).map((c) => this.reconnect(c, false)));
    const end = Date.now() + drainMs;
    while (Date.now() < end) {
      const busy = this.pubs.some((p) => p.outstanding > 0);
      if (!busy && this.missing().lost === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { lost, samples } = this.missing();
    const anomalies = [];
    let unexpectedCloses = 0;
    for (const c of clients) {
      anomalies.push(...c.anomalies);
      unexpectedCloses += c.unexpectedCloses;
    }
    const notConfirmed = this.pubs.reduce((a, p) => a + p.outstanding, 0);
    for (const c of clients) await c.end();
    const snap = this.snapshot();
    return {
      ...snap,
      publishedByQos: this.counts.confirmed.slice(),
      notConfirmed,
      lost,
      lostSamples: samples,
      foreign: this.counts.foreign,
      anomalies,
      // Steady clients must never be dropped by the broker; flaky ones are killed by us.
      unexpectedCloses,
      errors: this.errors.slice(),
    };
  }
}
