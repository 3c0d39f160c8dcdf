// Background churn for the soak: short-lived clients (clean and persistent sessions from a
// bounded pool of ids) that subscribe, publish, and leave cleanly or by a kill, and a
// retained-message publisher that rewrites and deletes retained topics. It keeps every broker
// table moving (connections, sessions, subscriptions, retained store) so a leak in any of
// them shows in the soak's memory and table figures.
import { GoodClient } from "./client.mjs";

export class Churn {
  /** o: { host, port, run, rnd, everyMs (default 40), idPool (default 200), retainedTopics (default 500) } */
  constructor(o) {
    this.o = { everyMs: 40, idPool: 200, retainedTopics: 500, ...o };
    this.rnd = o.rnd;
    this.live = new Set();
    this.timer = null;
    this.retainer = null;
    this.stopped = false;
    this.stats = { sessions: 0, subscribes: 0, publishes: 0, retained: 0, retainedDeletes: 0, kills: 0, failures: 0 };
  }

  async start() {
    this.retainer = new GoodClient({ host: this.o.host, port: this.o.port, clientId: `churn-${this.o.run}-retainer`, keepalive: 30 });
    await this.retainer.connect();
    this.timer = setInterval(() => this.step(), this.o.everyMs);
  }

  step() {
    if (this.stopped) return;
    const r = this.rnd;
    // Retained: write or delete one of a bounded set of topics (the store size stays bounded).
    if (this.retainer.connected) {
      const t = `churn/${this.o.run}/ret/${r.int(this.o.retainedTopics)}`;
      if (r.chance(0.1)) {
        this.stats.retainedDeletes++;
        this.retainer.publish(t, Buffer.alloc(0), r.int(2), true);
      } else {
        this.stats.retained++;
        this.retainer.publish(t, Buffer.alloc(r.range(1, 600), 0x72), r.int(3), true);
      }
    }
    if (this.live.size < 40) this.session();
  }

  async session() {
    const r = this.rnd;
    const c = new GoodClient({
      host: this.o.host,
      port: this.o.port,
      clientId: `churn-${this.o.run}-${r.int(this.o.idPool)}`,
      clean: r.chance(0.6),
      keepalive: r.pick([0, 10, 60]),
    });
    this.live.add(c);
    this.stats.sessions++;
    try {
      await c.connect();
      const filters = [[`churn/${this.o.run}/${r.int(20)}/#`, r.int(3)]];
      if (r.chance(0.3)) filters.push([`churn/${this.o.run}/ret/+`, r.int(3)]);
      if (r.chance(0.1)) filters.push(["churn/#", 0]);
      await c.subscribe(filters);
      this.stats.subscribes++;
      const n = r.int(10);
      for (let i = 0; i < n && !this.stopped; i++) {
        this.stats.publishes++;
        c.publish(`churn/${this.o.run}/${r.int(20)}/${r.int(5)}`, Buffer.alloc(r.range(0, 300), 0x63), r.int(3));
        await new Promise((res) => setTimeout(res, r.range(5, 100)));
      }
      await new Promise((res) => setTimeout(res, r.range(50, 3000)));
      if (r.chance(0.3)) {
        this.stats.kills++;
        c.kill();
      } else {
        await c.end();
      }
    } catch {
      this.stats.failures++;
      c.kill();
    } finally {
      this.live.delete(c);
    }
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const c of this.live) c.kill();
    if (this.retainer) await this.retainer.end();
  }
}
