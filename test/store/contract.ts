/**
 * The Store contract: what every kind of durable state (the SQLite store on Node, the
 * Espruino whole-state snapshot) must keep across a restart, and how every one of them treats
 * records that are not valid. A store file registers it with storeContract(name, factory).
 *
 * State is written through a live broker driven over the in-memory transport, the broker is
 * "restarted" (a new one restored from the store; the old one is dropped without closing
 * anything, as in a crash) and the restored broker is checked against the one that wrote it:
 * the same persistent state, and the same answers to the same clients.
 */
import { describe, expect, test } from "vitest";
import { brokerSetStore, type Broker } from "../../src/broker/broker";
import type { Limits } from "../../src/limits";
import { CONNACK_OK, CONNACK_PRESENT, type Harness, pkt } from "../broker/harness";

/** A stored outbound message; state 0 queued, 1 sent (awaiting PUBACK/PUBREC), 2 released (awaiting PUBCOMP). */
export interface RawMessage {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  packetId: number;
  state: number;
}

export interface RawSession {
  clientId: string;
  subscriptions: Array<[string, number]>;
  /** In sequence order. */
  messages: RawMessage[];
  inbound: number[];
}

/** Records as a store keeps them, possibly invalid: written straight into the store's format. */
export interface RawRecords {
  retained: Array<{ topic: string; payload: string; qos: number }>;
  sessions: RawSession[];
}

export interface StoreUnderTest {
  /** A broker restored from the store (logs of the restore included) and kept in it from now on. */
  start(limits?: Partial<Limits>): Harness;
  /** What the target does with the last started broker's changes before it could crash (save a snapshot, or nothing when every call commits). */
  settle(): void;
  /** Replaces the store's content with these records. */
  write(records: RawRecords): void;
  /** Releases files and handles. */
  close(): void;
}

/** The persistent state of a broker, in a form to compare (sequence numbers and slots left out). */
export function dump(b: Broker) {
  const text = (x: unknown) => Buffer.from(x as Uint8Array).toString();
  const retained = b.retained
    .slice(0, b.retainedCount)
    .filter((m) => !m.topic.startsWith("$SYS/"))
    .map((m) => [m.topic, text(m.payload), m.qos])
    .sort();
  const sessions = b.sessions
    .map((s, slot) => ({ s, slot }))
    .filter((x) => x.s.used && !x.s.cleanSession)
    .map(({ s, slot }) => {
      const subscriptions: Array<[string, number]> = [];
      for (let i = 0; i < b.subTop; i++) if (b.subSession[i] === slot) subscriptions.push([b.subFilter[i], b.subQos[i]]);
      const flights = s.flights.slice(0, s.flightCount).map((f) => [f.packetId, f.state, f.qos, f.retain, f.message.topic, text(f.message.payload)]);
      const queued: unknown[] = [];
      for (let k = 0; k < s.queueCount; k++) {
        const at = (s.queueHead + k) % b.limits.maxQueued;
        queued.push([s.queueQos[at], s.queueRetain[at], s.queue[at].topic, text(s.queue[at].payload)]);
      }
      return { clientId: s.clientId, subscriptions: subscriptions.sort(), flights, queued, inbound: s.inboundIds.slice(0, s.inboundCount).sort((x, y) => x - y) };
    })
    .sort((x, y) => (x.clientId < y.clientId ? -1 : 1));
  return { retained, sessions };
}

/**
 * The writing half of the scenario: retained set, replaced and deleted; a persistent session
 * "p" with subscriptions (one removed again), a QoS 1 message in flight, a QoS 2 one PUBREC'd
 * (awaiting PUBCOMP), two queued behind them, and an inbound QoS 2 id awaiting PUBREL; a
 * persistent session "o", offline, with messages queued for it.
 */
function populate(h: Harness): number[] {
  const pub = h.open();
  h.send(pub, pkt.connect("pub"));
  h.send(pub, pkt.publish("r/1", "one", { retain: true, qos: 1, id: 1 }));
  h.send(pub, pkt.publish("r/2", "two", { retain: true }));
  h.send(pub, pkt.publish("r/3", "three", { retain: true }));
  h.send(pub, pkt.publish("r/1", "uno", { retain: true })); // replaced
  h.send(pub, pkt.publish("r/2", "", { retain: true })); // deleted (MQTT-3.3.1-10)
  const p = h.open();
  h.send(p, pkt.connect("p", { clean: false }));
  h.send(p, pkt.subscribe(1, [["t/#", 2], ["q/+", 1], ["x", 0]]));
  h.send(p, pkt.unsubscribe(2, ["x"]));
  h.send(p, pkt.publish("in/1", "inbound", { qos: 2, id: 9 })); // PUBREC, no PUBREL yet
  const o = h.open();
  h.send(o, pkt.connect("o", { clean: false }) + pkt.subscribe(1, [["t/#", 1]]) + pkt.disconnect); // queued for while offline
  h.send(pub, pkt.publish("t/1", "first", { qos: 1, id: 2 })); // in flight, id 1
  h.send(pub, pkt.publish("t/2", "second", { qos: 2, id: 3 })); // in flight, id 2
  h.send(pub, pkt.publish("t/3", "third", { qos: 1, id: 4 })); // queued (maxInflight 2)
  h.send(pub, pkt.publish("q/a", "fourth", { qos: 1, id: 5, retain: false }));
  h.send(p, pkt.ack("pubrec", 2)); // t/2 awaits PUBCOMP
  expect(h.take(p)).toEqual([
    CONNACK_OK,
    "90050001020100",
    "b0020002",
    "50020009",
    pkt.publish("t/1", "first", { qos: 1, id: 1 }),
    pkt.publish("t/2", "second", { qos: 2, id: 2 }),
    "62020002",
  ]);
  return [pub, p];
}

/** The reading half: the same clients come back and do the same things; returns everything they got. */
function followUp(h: Harness): string[][] {
  const got: string[][] = [];
  const w = h.open();
  h.send(w, pkt.connect("w") + pkt.subscribe(1, [["in/#", 2]]));
  got.push(h.take(w));
  const p = h.open();
  h.send(p, pkt.connect("p", { clean: false }));
  got.push(h.take(p)); // session present, t/1 again with DUP, PUBREL for t/2
  h.send(p, pkt.publish("in/1", "inbound", { qos: 2, id: 9, dup: true })); // known id: PUBREC, not routed again
  got.push(h.take(p), h.take(w));
  h.send(p, pkt.ack("pubrel", 9));
  got.push(h.take(p));
  h.send(p, pkt.ack("puback", 1) + pkt.ack("pubcomp", 2)); // frees the window for the queued two
  got.push(h.take(p));
  h.send(p, pkt.ack("puback", 3) + pkt.ack("puback", 4));
  const pub = h.open();
  h.send(pub, pkt.connect("pub2") + pkt.publish("t/new", "after", { qos: 1, id: 1 }) + pkt.publish("x", "unsubscribed", { qos: 1, id: 2 }));
  got.push(h.take(pub), h.take(p));
  const late = h.open();
  h.send(late, pkt.connect("late") + pkt.subscribe(1, [["r/#", 0]]));
  got.push(h.take(late).sort()); // retained messages come in table order, which a store need not keep
  const o = h.open();
  h.send(o, pkt.connect("o", { clean: false }));
  got.push(h.take(o));
  return got;
}

const EXPECTED_FOLLOW_UP: string[][] = [
  [CONNACK_OK, "9003000102"],
  [CONNACK_PRESENT, pkt.publish("t/1", "first", { qos: 1, id: 1, dup: true }), "62020002"],
  ["50020009"],
  [],
  ["70020009"],
  [pkt.publish("t/3", "third", { qos: 1, id: 3 }), pkt.publish("q/a", "fourth", { qos: 1, id: 4 })],
  [CONNACK_OK, "40020001", "40020002"],
  [pkt.publish("t/new", "after", { qos: 1, id: 5 })],
  [CONNACK_OK, "9003000100", pkt.publish("r/1", "uno", { retain: true }), pkt.publish("r/3", "three", { retain: true })].sort(),
  [CONNACK_PRESENT, pkt.publish("t/1", "first", { qos: 1, id: 1 }), pkt.publish("t/2", "second", { qos: 1, id: 2 })],
];

/** Invalid records mixed with valid ones; restored with LIMITS_FOR_BAD. */
const BAD: RawRecords = {
  retained: [
    { topic: "ok/r", payload: "kept", qos: 1 },
    { topic: "bad/qos", payload: "v", qos: 3 },
    { topic: "bad/+", payload: "v", qos: 0 },
    { topic: "long/" + "x".repeat(200), payload: "v", qos: 0 },
    { topic: "big", payload: "b".repeat(600), qos: 0 },
  ],
  sessions: [
    {
      clientId: "good",
      subscriptions: [["s/#", 1], ["s/q", 3], ["s/#/x", 0]],
      messages: [
        { topic: "m/1", payload: "queued", qos: 1, retain: false, packetId: 0, state: 0 },
        { topic: "m/2", payload: "qos 3", qos: 3, retain: false, packetId: 0, state: 0 },
        { topic: "m/3", payload: "sent, id 0", qos: 1, retain: false, packetId: 0, state: 1 },
        { topic: "m/4", payload: "", qos: 1, retain: false, packetId: 4, state: 2 },
        { topic: "long/" + "y".repeat(200), payload: "v", qos: 1, retain: false, packetId: 0, state: 0 },
        { topic: "m/+", payload: "wildcard", qos: 1, retain: false, packetId: 0, state: 0 },
        { topic: "m/5", payload: "sent", qos: 2, retain: true, packetId: 7, state: 1 },
      ],
      inbound: [0, 5],
    },
    { clientId: "x".repeat(40), subscriptions: [["a", 0]], messages: [], inbound: [1] },
  ],
};
const LIMITS_FOR_BAD: Partial<Limits> = { maxTopicLength: 100, maxRetainedBytes: 500, maxClientIdLength: 23 };

const BAD_LOGS = [
  "Stored inbound QoS 2 id 0 of good refused: packet id not in 1..65535.",
  "Stored message 2 of good refused: QoS out of range.",
  "Stored message 3 of good refused: packet id not in 1..65535.",
  "Stored message 4 of good refused: unknown state.",
  "Stored message 5 of good refused: not a valid topic name.",
  "Stored message 6 of good refused: not a valid topic name.",
  "Stored retained message on bad/+ refused: not a valid topic name.",
  "Stored retained message on bad/qos refused: QoS out of range.",
  "Stored retained message on big refused: over the size limits.",
  "Stored retained message on long/" + "x".repeat(59) + "... refused: not a valid topic name.",
  "Stored session " + "x".repeat(40) + " (with its subscriptions and messages) refused: not a valid client id.",
  "Stored subscription s/#/x of good refused: not a valid topic filter.",
  "Stored subscription s/q of good refused: QoS out of range.",
];

export function storeContract(name: string, make: () => StoreUnderTest): void {
  describe(`Store contract: ${name}`, () => {
    test("[MQTT-3.1.2-4] a restarted broker has the same persistent state and answers the same clients the same way", () => {
      const store = make();
      try {
        const a = store.start({ maxInflight: 2 });
        const conns = populate(a);
        store.settle();
        const b = store.start({ maxInflight: 2 });
        expect(b.logs.filter((l) => l.includes("refused") || l.includes("dropped"))).toEqual([]);
        expect(dump(b.broker)).toEqual(dump(a.broker));
        // The broker that wrote the state, its clients gone (and no longer writing to the
        // store), against the restored one.
        brokerSetStore(a.broker, undefined);
        for (const c of conns) a.peerClose(c);
        const before = followUp(a);
        expect(before).toEqual(EXPECTED_FOLLOW_UP);
        expect(followUp(b)).toEqual(before);
      } finally {
        store.close();
      }
    });

    test("restoring writes nothing back: restarted again, the state is the same", () => {
      const store = make();
      try {
        const a = store.start({ maxInflight: 2 });
        populate(a);
        store.settle();
        const b = store.start({ maxInflight: 2 });
        store.settle();
        const c = store.start({ maxInflight: 2 });
        expect(dump(c.broker)).toEqual(dump(a.broker));
        expect(dump(b.broker)).toEqual(dump(a.broker));
      } finally {
        store.close();
      }
    });

    test("later changes replace earlier ones: acknowledged messages, ended sessions and removed subscriptions do not come back", () => {
      const store = make();
      try {
        const a = store.start({ maxInflight: 2 });
        const conns = populate(a);
        const p = conns[1];
        a.send(p, pkt.ack("puback", 1) + pkt.ack("pubcomp", 2));
        a.take(p);
        a.send(p, pkt.ack("puback", 3) + pkt.ack("puback", 4) + pkt.ack("pubrel", 9) + pkt.unsubscribe(3, ["q/+"]));
        const q = a.open();
        a.send(q, pkt.connect("q", { clean: false }) + pkt.subscribe(1, [["t/#", 1]]));
        a.send(q, pkt.disconnect);
        const q2 = a.open();
        a.send(q2, pkt.connect("q", { clean: true })); // MQTT-3.1.2-6: the stored session ends
        store.settle();
        const b = store.start({ maxInflight: 2 });
        expect(dump(b.broker)).toEqual({
          retained: [["r/1", "uno", 0], ["r/3", "three", 0]],
          sessions: [
            {
              clientId: "o",
              subscriptions: [["t/#", 1]],
              flights: [],
              queued: [[1, false, "t/1", "first"], [1, false, "t/2", "second"], [1, false, "t/3", "third"]],
              inbound: [],
            },
            { clientId: "p", subscriptions: [["t/#", 2]], flights: [], queued: [], inbound: [] },
          ],
        });
      } finally {
        store.close();
      }
    });

    test("what no longer fits the limits is dropped with a log line, not overflowed", () => {
      const store = make();
      try {
        populate(store.start({ maxInflight: 2 }));
        store.settle();
        const b = store.start({ maxInflight: 1, maxRetained: 1, maxSubscriptionsPerClient: 1, maxQueued: 1 });
        const d = dump(b.broker);
        const p = d.sessions.find((s) => s.clientId === "p")!;
        const o = d.sessions.find((s) => s.clientId === "o")!;
        expect(d.retained.length).toBe(1);
        expect(p.subscriptions.length).toBe(1);
        // In flight: t/1 (id 1); t/2 awaits PUBCOMP and has no room in a window of one; one queued.
        expect(p.flights.length).toBe(1);
        expect(p.queued.length).toBe(1);
        expect(o.queued.length).toBe(1);
        expect(b.logs.some((l) => l.startsWith("Retained store full"))).toBe(true);
        expect(b.logs.some((l) => /Stored subscription .* does not fit/.test(l))).toBe(true);
        expect(b.logs.some((l) => /Stored message \d+ of p does not fit/.test(l))).toBe(true);
      } finally {
        store.close();
      }
    });

    test("invalid records are refused one by one, each with a log line, and the rest is restored", () => {
      const store = make();
      try {
        store.write(BAD);
        const b = store.start(LIMITS_FOR_BAD);
        expect(b.logs.filter((l) => l.includes(" refused: ")).sort()).toEqual([...BAD_LOGS].sort());
        expect(dump(b.broker)).toEqual({
          retained: [["ok/r", "kept", 1]],
          sessions: [
            {
              clientId: "good",
              subscriptions: [["s/#", 1]],
              flights: [[7, 1, 2, true, "m/5", "sent"]],
              queued: [[1, false, "m/1", "queued"]],
              inbound: [5],
            },
          ],
        });
        // The restored session works: its in-flight message is resent, then the queued one.
        const g = b.open();
        b.send(g, pkt.connect("good", { clean: false }));
        expect(b.take(g)).toEqual([CONNACK_PRESENT, pkt.publish("m/5", "sent", { qos: 2, id: 7, dup: true, retain: true }), pkt.publish("m/1", "queued", { qos: 1, id: 8 })]);
      } finally {
        store.close();
      }
    });
  });
}
