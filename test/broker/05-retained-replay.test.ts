// Retained replay paced by the subscriber (src/broker/replay.ts): at every board profile's full
// retained table a subscriber that reads slowly gets every retained message exactly once,
// through the in-flight window and the send buffer, with nothing dropped for room.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { CONNACK_OK, CONNACK_PRESENT, Harness, harness, pkt } from "./harness";
import { Limits } from "../../src/limits";
import { brokerAwaitsDrain } from "../../src/broker/broker";

interface Pub {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  id: number;
}

/** Decodes one written packet (hex); PUBLISH fields, or just the type for others. */
function decode(hex: string): { type: number; pub?: Pub; id: number } {
  const b = Buffer.from(hex, "hex");
  const type = b[0] >> 4;
  let i = 1;
  let len = 0;
  let mult = 1;
  for (;;) {
    len += (b[i] & 127) * mult;
    mult *= 128;
    if (b[i++] < 128) break;
  }
  const end = i + len;
  if (type !== 3) return { type, id: len >= 2 ? b.readUInt16BE(i) : 0 };
  const qos = (b[0] >> 1) & 3;
  const tl = b.readUInt16BE(i);
  const topic = b.subarray(i + 2, i + 2 + tl).toString("utf8");
  i += 2 + tl;
  let id = 0;
  if (qos > 0) {
    id = b.readUInt16BE(i);
    i += 2;
  }
  return { type, id, pub: { topic, payload: b.subarray(i, end).toString("utf8"), qos, retain: (b[0] & 1) === 1, id } };
}

/**
 * A client that reads everything it is sent, in rounds: takes what was written, acknowledges
 * QoS 1/2, then empties its receive side (drain, or with `tick` a brokerTick after the buffer
 * emptied, for targets without a drain event). Returns the PUBLISHes; stops when a round
 * brings nothing new, or after `rounds` rounds.
 */
function readAll(h: Harness, conn: number, got: Pub[], opts: { tick?: boolean; rounds?: number } = {}): void {
  const rounds = opts.rounds ?? 1e6;
  for (let round = 0; round < rounds; round++) {
    const out = h.take(conn);
    if (out.length === 0 && round > 0) return;
    for (const x of out) {
      const d = decode(x);
      if (d.pub !== undefined) {
        got.push(d.pub);
        if (d.pub.qos === 1) h.send(conn, pkt.ack("puback", d.id));
        if (d.pub.qos === 2) h.send(conn, pkt.ack("pubrec", d.id));
      } else if (d.type === 6) {
        h.send(conn, pkt.ack("pubcomp", d.id));
      }
    }
    if (opts.tick) {
      h.pending[conn] = 0;
      h.advance(10);
    } else {
      h.drain(conn);
    }
  }
}

function loadLimits(board: string): Partial<Limits> {
  return (JSON.parse(readFileSync(new URL(`../../boards/${board}.json`, import.meta.url), "utf8")) as { limits: Partial<Limits> }).limits;
}

/** Fills the retained table with n messages of about `bytes` (topic + payload), QoS 0 and 1 alternating. */
function fill(h: Harness, n: number, bytes: number): Map<string, { payload: string; qos: number }> {
  const p = h.open("pub:1");
  h.send(p, pkt.connect("filler"));
  const stored = new Map<string, { payload: string; qos: number }>();
  for (let i = 0; i < n; i++) {
    const topic = `r/${i}`;
    const payload = `${i}:`.padEnd(Math.max(2, bytes - topic.length), "x");
    const qos = i % 2;
    h.send(p, pkt.publish(topic, payload, { retain: true, qos, id: 1 }));
    stored.set(topic, { payload, qos });
  }
  h.send(p, pkt.disconnect);
  return stored;
}

function expectAllOnce(got: Pub[], stored: Map<string, { payload: string; qos: number }>, granted: number): void {
  const topics = got.map((m) => m.topic);
  expect(new Set(topics).size, "no message twice").toBe(topics.length);
  expect(topics.length, "every retained message").toBe(stored.size);
  for (const m of got) {
    const s = stored.get(m.topic)!;
    expect(s, m.topic).toBeDefined();
    expect([m.payload, m.retain, m.qos]).toEqual([s.payload, true, Math.min(s.qos, granted)]);
  }
}

const PROFILES: Array<[string, number]> = [
  ["esp8266", 0],
  ["esp32", 0],
  ["espruino-wifi", 0],
  ["host", 2000], // the host's table holds 100,000: a reasonable count of it
];

describe("retained replay paced by the subscriber", () => {
  for (const [board, count] of PROFILES) {
    const limits = loadLimits(board);
    const n = count > 0 ? count : (limits.maxRetained as number);
    // Topic plus payload per message: the profile's retained bytes shared out, within its packet size.
    const bytes = Math.min(Math.floor((limits.maxRetainedBytes as number) / n), (limits.maxPacketSize as number) - 16, 120);
    for (const granted of [0, 1, 2]) {
      for (const tick of [false, true]) {
        test(`[MQTT-3.3.1-6] [MQTT-3.3.1-8] [SRV-PUB-4] ${board}: a full table (${n}) to a slow # subscriber at QoS ${granted}, every message once${tick ? " (brokerTick, no drain event)" : ""}`, () => {
          const h = harness(limits);
          const stored = fill(h, n, bytes);
          expect(h.broker.stats.retained).toBe(n);
          h.slow = true;
          const s = h.open();
          h.send(s, pkt.connect("s") + pkt.subscribe(1, [["#", granted]]));
          const first = h.take(s);
          expect(first.slice(0, 2)).toEqual([CONNACK_OK, "900300010" + granted]);
          const got: Pub[] = [];
          // The first rounds: the broker sent only what the window and the buffer hold.
          for (const x of first.slice(2)) got.push(decode(x).pub!);
          if (n * bytes > (limits.maxPendingBytes as number)) expect(got.length).toBeLessThan(n);
          for (const m of got) {
            if (m.qos === 1) h.send(s, pkt.ack("puback", m.id));
            if (m.qos === 2) h.send(s, pkt.ack("pubrec", m.id));
          }
          if (tick) {
            h.pending[s] = 0;
            h.advance(10);
          } else h.drain(s);
          readAll(h, s, got, { tick });
          expectAllOnce(got, stored, granted);
          expect(h.broker.stats.messagesDropped).toBe(0);
          expect(h.logs.join("\n")).not.toMatch(/queue full|not reading/i);
          expect(h.broker.rpCount, "the replay ended").toBe(0);
        });
      }
    }
  }

  test("[MQTT-3.3.1-6] brokerAwaitsDrain: true for a connection while its replay waits, false for the others and once it ended", () => {
    const limits = loadLimits("esp32");
    const h = harness(limits);
    const stored = fill(h, limits.maxRetained as number, 60);
    h.slow = true;
    const other = h.open();
    h.send(other, pkt.connect("other"));
    const s = h.open();
    expect(brokerAwaitsDrain(h.broker, s), "no replay yet").toBe(false);
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["#", 0]]));
    const got: Pub[] = [];
    for (const x of h.take(s).slice(2)) got.push(decode(x).pub!);
    expect(got.length, "the send buffer holds only part of the table").toBeLessThan(stored.size);
    expect(brokerAwaitsDrain(h.broker, s)).toBe(true);
    expect(brokerAwaitsDrain(h.broker, other)).toBe(false);
    h.drain(s);
    readAll(h, s, got);
    expectAllOnce(got, stored, 0);
    expect(brokerAwaitsDrain(h.broker, s), "the replay ended").toBe(false);
  });

  for (const [board] of PROFILES) {
    const limits = loadLimits(board);
    test(`[MQTT-3.1.2-5] [SRV-OPS-8] ${board}: a full queue comes after reconnect through the window, nothing dropped; a SUBSCRIBE's QoS 1 replay waits behind it`, () => {
      const h = harness(limits);
      const n = Math.min(limits.maxRetained as number, 50);
      const stored = fill(h, n, 20);
      let s = h.open();
      h.send(s, pkt.connect("q", { clean: false }) + pkt.subscribe(1, [["live", 1]]) + pkt.disconnect);
      const p = h.open();
      h.send(p, pkt.connect("p"));
      const queued = limits.maxQueued as number;
      for (let i = 0; i < queued; i++) h.send(p, pkt.publish("live", `m${i}`, { qos: 1, id: 1 }));
      h.slow = true;
      s = h.open();
      h.send(s, pkt.connect("q", { clean: false }) + pkt.subscribe(2, [["r/#", 1]]));
      const got: Pub[] = [];
      readAll(h, s, got);
      expect(got.filter((m) => m.topic === "live").map((m) => m.payload)).toEqual(Array.from({ length: queued }, (_, i) => `m${i}`));
      // QoS 1 copies of the replay wait until the queue is empty; QoS 0 ones may come between.
      const lastQueued = got.map((m) => m.topic).lastIndexOf("live");
      expect(got.slice(0, lastQueued).some((m) => m.retain && m.qos === 1)).toBe(false);
      expectAllOnce(got.filter((m) => m.retain), stored, 1);
      expect(h.broker.stats.messagesDropped).toBe(0);
    });
  }

  test("[SRV-OPS-11] the replay waits for the window: no more than maxInflight unacknowledged, none queued", () => {
    const h = harness({ maxInflight: 2, maxQueued: 1 });
    const stored = fill(h, 10, 8);
    for (const v of stored.values()) v.qos = 1;
    const p = h.open();
    h.send(p, pkt.connect("p2"));
    for (const [t, v] of stored) h.send(p, pkt.publish(t, v.payload, { retain: true, qos: 1, id: 2 }));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r/#", 1]]));
    const out = h.take(s).map(decode);
    expect(out.filter((d) => d.pub !== undefined)).toHaveLength(2);
    expect(h.broker.sessions[h.broker.conns[s].session].queueCount).toBe(0);
    const got = out.filter((d) => d.pub !== undefined).map((d) => d.pub!);
    for (const m of got) h.send(s, pkt.ack("puback", m.id));
    readAll(h, s, got);
    expectAllOnce(got, stored, 1);
  });

  test("[MQTT-3.3.1-6] retained messages removed and replaced during a replay: survivors once, removed ones not after removal, replacements live only", () => {
    const h = harness({ maxInflight: 1 });
    const p = h.open();
    h.send(p, pkt.connect("p"));
    for (let i = 0; i < 10; i++) h.send(p, pkt.publish(`r/${i}`, `old${i}`, { retain: true, qos: 1, id: 1 }));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r/#", 1]]));
    const got: Pub[] = [];
    for (const x of h.take(s).slice(2)) got.push(decode(x).pub!);
    expect(got.map((m) => m.topic)).toEqual(["r/0"]); // the window holds one
    // r/0 (sent) goes: the last slot moves into its place and must still come, once.
    h.send(p, pkt.publish("r/0", "", { retain: true }));
    h.send(p, pkt.publish("r/5", "", { retain: true })); // not sent yet: never comes
    h.send(p, pkt.publish("r/7", "new7", { retain: true })); // replaced: the new one comes live
    h.send(p, pkt.publish("r/x", "newx", { retain: true })); // retained after SUBSCRIBE: live only
    h.send(p, pkt.publish("r/8", "", { retain: true })); // now last: removed as it is
    h.send(s, pkt.ack("puback", got[0].id));
    readAll(h, s, got);
    const retained = got.filter((m) => m.retain).map((m) => `${m.topic}=${m.payload}`);
    expect(retained.sort()).toEqual(["r/0=old0", "r/1=old1", "r/2=old2", "r/3=old3", "r/4=old4", "r/6=old6", "r/9=old9"]);
    const live = got.filter((m) => !m.retain).map((m) => `${m.topic}=${m.payload}`);
    expect(live).toEqual(["r/0=", "r/5=", "r/7=new7", "r/x=newx", "r/8="]);
  });

  test("[MQTT-3.3.1-6] random removals, replacements and additions during replays of several subscriptions and sessions: no skip, no repeat, nothing retained since", () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    for (let run = 0; run < 40; run++) {
      const h = harness({ maxInflight: 1 + (run % 3), maxPendingBytes: 60 + run * 5, maxQueued: 1000 }, run % 2 === 1);
      h.slow = true;
      const p = h.open();
      h.send(p, pkt.connect("p"));
      let version = 0;
      const current = new Map<string, string>();
      const put = (topic: string, payload: string): void => {
        h.send(p, pkt.publish(topic, payload, { retain: true, qos: rand(2), id: 1 }));
        if (payload === "") current.delete(topic);
        else current.set(topic, payload);
      };
      const topics: string[] = [];
      for (let i = 0; i < 12; i++) topics.push(`a/${i}`, `b/${i}`);
      for (const t of topics) put(t, `${t}:${version++}`);
      h.take(p);
      // Session A: a/# at QoS 1 and b/# at QoS 0; session B: # at QoS 1.
      const A = h.open();
      h.send(A, pkt.connect("A") + pkt.subscribe(1, [["a/#", 1], ["b/#", 0]]));
      const B = h.open();
      h.send(B, pkt.connect("B") + pkt.subscribe(1, [["#", 1]]));
      const original = new Map(current);
      const changed = new Set<string>();
      const got: Record<number, Pub[]> = { [A]: [], [B]: [] };
      const step = (conn: number): void => readAll(h, conn, got[conn], { rounds: 1 });
      for (let k = 0; k < 60; k++) {
        const op = rand(6);
        const t = topics[rand(topics.length)];
        if (op === 0) {
          put(t, "");
          changed.add(t);
        } else if (op === 1) {
          put(t, `${t}:${version++}`);
          changed.add(t);
        } else if (op === 2) {
          const nt = `${rand(2) === 0 ? "a" : "b"}/n${version}`;
          put(nt, `${nt}:${version++}`);
        } else {
          step(rand(2) === 0 ? A : B);
        }
        h.take(p);
      }
      readAll(h, A, got[A]);
      readAll(h, B, got[B]);
      for (const [conn, filters] of [[A, ["a/", "b/"]], [B, [""]]] as const) {
        for (const prefix of filters) {
          const r = got[conn].filter((m) => m.retain && m.topic.startsWith(prefix)).map((m) => m.topic);
          expect(new Set(r).size, `run ${run}: no repeat`).toBe(r.length);
        }
        const retained = got[conn].filter((m) => m.retain);
        for (const m of retained) expect(original.get(m.topic), `run ${run}: ${m.topic} was retained at SUBSCRIBE`).toBe(m.payload);
        const topicsGot = new Set(retained.map((m) => m.topic));
        for (const t of original.keys()) if (!changed.has(t)) expect(topicsGot.has(t), `run ${run}: survivor ${t}`).toBe(true);
      }
      expect(h.broker.rpCount).toBe(0);
    }
  });

  test("two subscriptions of one SUBSCRIBE replay one after the other, both complete", () => {
    const h = harness({ maxInflight: 1, maxPendingBytes: 40 });
    h.slow = true;
    const p = h.open();
    h.send(p, pkt.connect("p"));
    for (let i = 0; i < 5; i++) h.send(p, pkt.publish(`a/${i}`, "aaaaaaaaaa", { retain: true, qos: 1, id: 1 }) + pkt.publish(`b/${i}`, "bbbbbbbbbb", { retain: true }));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["a/#", 1], ["b/#", 0]]));
    expect(h.broker.rpCount).toBe(2);
    const got: Pub[] = [];
    readAll(h, s, got);
    expect(got.map((m) => m.topic)).toEqual(["a/0", "a/1", "a/2", "a/3", "a/4", "b/0", "b/1", "b/2", "b/3", "b/4"]);
    expect(got.map((m) => m.qos)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  });

  test("[MQTT-3.1.2-6] a clean session that ends mid-replay ends its replay; another subscriber's goes on", () => {
    const h = harness({ maxInflight: 1 });
    const p = h.open();
    h.send(p, pkt.connect("p"));
    for (let i = 0; i < 6; i++) h.send(p, pkt.publish(`r/${i}`, "v", { retain: true, qos: 1, id: 1 }));
    const s1 = h.open();
    h.send(s1, pkt.connect("s1") + pkt.subscribe(1, [["r/#", 1]]));
    const s2 = h.open();
    h.send(s2, pkt.connect("s2") + pkt.subscribe(1, [["r/#", 1]]));
    expect(h.broker.rpCount).toBe(2);
    h.peerClose(s1);
    expect(h.broker.rpCount).toBe(1);
    const got: Pub[] = [];
    for (const x of h.take(s2).slice(2)) got.push(decode(x).pub!);
    h.send(s2, pkt.ack("puback", got[0].id));
    readAll(h, s2, got);
    expect(got.map((m) => m.topic)).toEqual(["r/0", "r/1", "r/2", "r/3", "r/4", "r/5"]);
  });

  test("[MQTT-3.1.2-5] [SRV-OPS-8] a persistent session offline mid-replay: the replay ends, the messages queued meanwhile come on reconnect", () => {
    const h = harness({ maxInflight: 1, maxQueued: 4 });
    const p = h.open();
    h.send(p, pkt.connect("p"));
    for (let i = 0; i < 6; i++) h.send(p, pkt.publish(`r/${i}`, "v", { retain: true, qos: 1, id: 1 }));
    let s = h.open();
    h.send(s, pkt.connect("s", { clean: false }) + pkt.subscribe(1, [["r/#", 1]]));
    expect(h.take(s).slice(2).map((x) => decode(x).pub!.topic)).toEqual(["r/0"]);
    h.peerClose(s);
    expect(h.broker.rpCount).toBe(0);
    for (let i = 0; i < 3; i++) h.send(p, pkt.publish("r/live", `${i}`, { qos: 1, id: 2 }));
    s = h.open();
    h.send(s, pkt.connect("s", { clean: false }));
    const out = h.take(s);
    expect(out[0]).toBe(CONNACK_PRESENT);
    const got = out.slice(1).map((x) => decode(x).pub!);
    // r/0 again with DUP (MQTT-4.4.0-1), then the queue through the window of 1.
    expect(got.map((m) => m.topic)).toEqual(["r/0"]);
    h.send(s, pkt.ack("puback", got[0].id));
    readAll(h, s, got);
    expect(got.map((m) => `${m.topic}=${m.payload}`)).toEqual(["r/0=v", "r/live=0", "r/live=1", "r/live=2"]);
  });

  test("[MQTT-3.10.4-2] UNSUBSCRIBE mid-replay ends it", () => {
    const h = harness({ maxInflight: 1 });
    const p = h.open();
    h.send(p, pkt.connect("p"));
    for (let i = 0; i < 6; i++) h.send(p, pkt.publish(`r/${i}`, "v", { retain: true, qos: 1, id: 1 }));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r/#", 1]]));
    const got = h.take(s).slice(2).map((x) => decode(x).pub!);
    h.send(s, pkt.unsubscribe(2, ["r/#"]));
    expect(h.broker.rpCount).toBe(0);
    h.send(s, pkt.ack("puback", got[0].id));
    readAll(h, s, got);
    expect(got.map((m) => m.topic)).toEqual(["r/0"]);
  });

  test("[MQTT-3.8.4-3] a SUBSCRIBE to the same filter mid-replay starts it again from the first message", () => {
    const h = harness({ maxInflight: 1 });
    const p = h.open();
    h.send(p, pkt.connect("p"));
    for (let i = 0; i < 4; i++) h.send(p, pkt.publish(`r/${i}`, "v", { retain: true, qos: 1, id: 1 }));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r/#", 1]]));
    const got = h.take(s).slice(2).map((x) => decode(x).pub!);
    h.send(s, pkt.ack("puback", got[0].id));
    got.push(...h.take(s).map((x) => decode(x).pub!));
    expect(got.map((m) => m.topic)).toEqual(["r/0", "r/1"]);
    h.send(s, pkt.subscribe(2, [["r/#", 1]]));
    expect(h.take(s)).toEqual(["9003000201"]); // r/1 still holds the window
    expect(h.broker.rpCount).toBe(1);
    h.send(s, pkt.ack("puback", got[1].id));
    readAll(h, s, got);
    expect(got.map((m) => m.topic)).toEqual(["r/0", "r/1", "r/0", "r/1", "r/2", "r/3"]);
  });

  test("[SRV-PUB-4] ACLs apply per replayed message (READ)", () => {
    const h = harness({ maxInflight: 1 });
    h.broker.policy = {
      authenticate: () => 0,
      allow: (_c: string, _h: boolean, _u: string, topic: string, access: number) => access !== 1 || !topic.endsWith("/secret"),
    };
    const p = h.open();
    h.send(p, pkt.connect("p"));
    for (const t of ["r/1", "r/secret", "r/2"]) h.send(p, pkt.publish(t, "v", { retain: true, qos: 1, id: 1 }));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r/#", 1]]));
    const got = h.take(s).slice(2).map((x) => decode(x).pub!);
    h.send(s, pkt.ack("puback", got[0].id));
    readAll(h, s, got);
    expect(got.map((m) => m.topic)).toEqual(["r/1", "r/2"]);
  });
});
