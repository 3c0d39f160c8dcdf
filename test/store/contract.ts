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
import type { Message } from "../../src/broker/state";
import { queuedQos, queuedRetain } from "../../src/qos/flows";
import { CONNACK_OK, CONNACK_PRESENT, type Harness, pkt } from "../broker/harness";
import { p5, take5 } from "../broker-v5/harness5";

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
  /**
   * A broker restored from the store (logs of the restore included) and kept in it from now on.
   * downtimeMs: how long the broker was down since the last one stopped (time a store must
   * count against MQTT 5.0 deadlines; given, the clock goes on from the last broker's, as a
   * wall clock would). Omitted, the new broker's clock begins again.
   */
  start(limits?: Partial<Limits>, downtimeMs?: number): Harness;
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
    .filter((x) => x.s.clientId !== "" && !x.s.cleanSession)
    .map(({ s, slot }) => {
      const subscriptions: Array<[string, number]> = [];
      for (let i = 0; i < b.subTop; i++) if (b.subSession[i] === slot) subscriptions.push([b.subFilter[i], b.subQos[i]]);
      const flights = s.flights.slice(0, s.flightCount).map((f) => [f.packetId, f.state, f.qos, f.retain, f.message.topic, text(f.message.payload)]);
      const queued: unknown[] = [];
      for (let k = 0; k < s.queueCount; k++) {
        const at = (s.queueHead + k) % b.limits.maxQueued;
        queued.push([queuedQos(s, at), queuedRetain(s, at), s.queue[at].topic, text(s.queue[at].payload)]);
      }
      return { clientId: s.clientId, subscriptions: subscriptions.sort(), flights, queued, inbound: s.inboundIds.slice(0, s.inboundCount).sort((x, y) => x - y) };
    })
    .sort((x, y) => (x.clientId < y.clientId ? -1 : 1));
  return { retained, sessions };
}

/** The MQTT 5.0 state of a broker, to compare: times as what is left of them. */
export function dump5(b: Broker) {
  const hex = (x: unknown) => (x === undefined ? "" : Buffer.from(x as Uint8Array).toString("hex"));
  const now = b.clock.now();
  const left = (t: number | undefined) => (t === undefined || t < 0 ? -1 : t - now);
  const msg = (m: Message) => [m.topic, hex(m.payload), hex(m.props), left(m.expiresAt), m.subIds ?? []];
  const retained = b.retained
    .slice(0, b.retainedCount)
    .filter((m) => !m.topic.startsWith("$SYS/"))
    .map(msg)
    .sort();
  const sessions = b.sessions
    .map((s, slot) => ({ s, slot }))
    .filter((x) => x.s.clientId !== "" && !x.s.cleanSession)
    .map(({ s, slot }) => {
      const subscriptions: unknown[] = [];
      for (let i = 0; i < b.subTop; i++) if (b.subSession[i] === slot) subscriptions.push([b.subFilter[i], b.subFlags[i], b.subIds[i]]);
      const messages = s.flights.slice(0, s.flightCount).map((f) => msg(f.message));
      for (let k = 0; k < s.queueCount; k++) messages.push(msg(s.queue[(s.queueHead + k) % b.limits.maxQueued]));
      const will = s.willAt >= 0 ? [left(s.willAt), s.willRetain, s.willMessage.qos, ...msg(s.willMessage)] : null;
      return { clientId: s.clientId, expiry: s.expiry, expiresIn: left(s.expiresAt), will, subscriptions: subscriptions.sort(), messages };
    })
    .sort((x, y) => (x.clientId < y.clientId ? -1 : 1));
  return { retained, sessions };
}

/** Properties a publisher gives its messages, passed through by the broker (MQTT-3.3.2-17 ...). */
const PROPS5 = { contentType: "text/x", responseTopic: "reply/1", correlationDataHex: "c0ffee", userProperties: [["k", "v"], ["k", "w"]] };

/**
 * MQTT 5.0 state: "s5" (Session Expiry Interval 3600, offline) with subscriptions with options
 * and identifiers and messages queued for it (properties, expiry, identifiers; one QoS 2);
 * "w5", offline, its will waiting 60 s; "short5", offline, expiring after 10 s; "live5",
 * connected (expiry 30) when the broker goes; a retained message with properties and expiry.
 */
function populate5(h: Harness): void {
  const s = h.open();
  h.send(s, p5.connect("s5", { clean: false, props: { sessionExpiryInterval: 3600 } }));
  h.send(s, p5.subscribe(1, [["a/#", 1, true, true]], { subscriptionIds: [7] }) + p5.subscribe(2, [["b/#", 1]], { subscriptionIds: [9] }) + p5.subscribe(3, [["c/#", 2]]));
  h.peerClose(s);
  const w = h.open();
  h.send(w, p5.connect("w5", { clean: false, props: { sessionExpiryInterval: 3600 }, will: { topic: "will/w5", payload: "gone", qos: 1, props: { willDelayInterval: 60, contentType: "text/plain" } } }));
  h.peerClose(w);
  const short = h.open();
  h.send(short, p5.connect("short5", { clean: false, props: { sessionExpiryInterval: 10 } }) + p5.subscribe(1, [["a/#", 1]]));
  h.peerClose(short);
  const live = h.open();
  h.send(live, p5.connect("live5", { clean: false, props: { sessionExpiryInterval: 30 } }));
  const p = h.open();
  h.send(p, p5.connect("pub5"));
  h.send(p, p5.publish("a/1", "one", { qos: 1, id: 1, retain: true, props: { ...PROPS5, messageExpiryInterval: 100 } }));
  h.send(p, p5.publish("b/1", "short", { qos: 1, id: 2, props: { messageExpiryInterval: 5 } }));
  h.send(p, p5.publish("a/2", "plain", { qos: 1, id: 3 }));
  h.send(p, p5.publish("c/1", "two", { qos: 2, id: 4, props: { payloadFormatIndicator: 1 } }));
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
  describe(`Store contract, MQTT 5.0: ${name}`, () => {
    test("[MQTT-3.1.2-23] a restarted broker has the same MQTT 5.0 state: session expiry, waiting will, message properties, expiry and identifiers, subscription options", () => {
      const store = make();
      try {
        const a = store.start();
        populate5(a);
        store.settle();
        const b = store.start(undefined, 0);
        expect(b.logs.filter((l) => l.includes("refused") || l.includes("dropped"))).toEqual([]);
        const before = dump5(a.broker);
        const s5 = before.sessions.find((s) => s.clientId === "s5")!;
        expect(s5.messages.length).toBe(4); // the state is not trivial
        expect(s5.subscriptions).toEqual([["a/#", 3, 7], ["b/#", 0, 9], ["c/#", 0, 0]]);
        // "live5" was connected: restored, it counts down from the restart.
        const live = before.sessions.find((s) => s.clientId === "live5")!;
        expect(live.expiresIn).toBe(-1);
        const after = dump5(b.broker);
        expect(after.sessions.find((s) => s.clientId === "live5")!.expiresIn).toBe(30000);
        live.expiresIn = 30000;
        expect(after).toEqual(before);
      } finally {
        store.close();
      }
    });

    test("[MQTT-3.1.2-23, MQTT-3.3.2-5, MQTT-3.3.2-6, MQTT-3.3.4-3] after 20 s down: the session is present, its messages come with their properties, what is left of their expiry and their identifiers; an expired one and an expired session are gone", () => {
      const store = make();
      try {
        populate5(store.start());
        store.settle();
        const b = store.start(undefined, 20000);
        const short = b.open();
        b.send(short, p5.connect("short5", { clean: false, props: { sessionExpiryInterval: 10 } }));
        expect(take5(b, short)[0]).toMatchObject({ type: 2, sessionPresent: false });
        const s = b.open();
        b.send(s, p5.connect("s5", { clean: false, props: { sessionExpiryInterval: 3600 } }));
        const got = take5(b, s);
        expect(got[0]).toMatchObject({ type: 2, sessionPresent: true, returnCode: 0 });
        const pubs = got.slice(1).map((r) => [r.topic, Buffer.from(r.payloadHex as string, "hex").toString(), r.qos, r.retain, r.props]);
        expect(pubs).toEqual([
          ["a/1", "one", 1, true, { ...PROPS5, messageExpiryInterval: 80, subscriptionIds: [7] }], // Retain As Published
          ["a/2", "plain", 1, false, { subscriptionIds: [7] }],
          ["c/1", "two", 2, false, { payloadFormatIndicator: 1 }],
        ]); // b/1 (5 s) expired while the broker was down
        // No Local: its own message does not come back to it.
        b.send(s, p5.publish("a/own", "mine", { qos: 1, id: 1 }));
        expect(take5(b, s).map((r) => r.type)).toEqual([4]);
        // The retained message keeps its properties and expiry.
        const r = b.open();
        b.send(r, p5.connect("r5") + p5.subscribe(1, [["a/1", 0]]));
        const retained = take5(b, r)[2];
        expect(retained).toMatchObject({ topic: "a/1", retain: true, props: { ...PROPS5, messageExpiryInterval: 80 } });
      } finally {
        store.close();
      }
    });

    test("[MQTT-3.1.3-9] a will waiting for its delay at the restart goes out when the delay runs out, the time down counted", () => {
      const store = make();
      try {
        populate5(store.start());
        store.settle();
        const b = store.start(undefined, 20000);
        const watch = b.open();
        b.send(watch, p5.connect("watch") + p5.subscribe(1, [["will/#", 1]]));
        take5(b, watch);
        b.advance(39000);
        expect(take5(b, watch)).toEqual([]);
        b.advance(2000);
        const got = take5(b, watch);
        expect(got).toMatchObject([{ type: 3, topic: "will/w5", qos: 1, props: { contentType: "text/plain" } }]);
        store.settle();
        // Published: it does not wait in the store any more.
        const c = store.start(undefined, 0);
        expect(dump5(c.broker).sessions.find((s) => s.clientId === "w5")!.will).toBeNull();
      } finally {
        store.close();
      }
    });

    test("[MQTT-3.1.3-9] a will whose delay ran out while the broker was down goes out at the first tick; one whose client came back does not", () => {
      const store = make();
      try {
        const a = store.start();
        populate5(a);
        const back = a.open();
        a.send(back, p5.connect("back5", { clean: false, props: { sessionExpiryInterval: 3600 }, will: { topic: "will/back5", payload: "x", props: { willDelayInterval: 5 } } }));
        a.peerClose(back);
        const again = a.open();
        a.send(again, p5.connect("back5", { clean: false, props: { sessionExpiryInterval: 3600 } }) + p5.disconnect());
        store.settle();
        const b = store.start(undefined, 70000);
        const watch = b.open();
        b.send(watch, p5.connect("watch") + p5.subscribe(1, [["will/#", 1]]));
        take5(b, watch);
        b.advance(0);
        expect(take5(b, watch).map((r) => r.topic)).toEqual(["will/w5"]);
      } finally {
        store.close();
      }
    });

    test("[MQTT-3.1.2-23] a session resumed with Session Expiry Interval 0 leaves the store: a restart does not bring it back", () => {
      const store = make();
      try {
        const a = store.start();
        populate5(a);
        const s = a.open();
        a.send(s, p5.connect("s5", { clean: false })); // expiry 0: ends with this connection
        store.settle();
        const b = store.start(undefined, 0);
        expect(dump5(b.broker).sessions.map((x) => x.clientId)).not.toContain("s5");
      } finally {
        store.close();
      }
    });
  });

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
