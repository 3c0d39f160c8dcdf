// MQTT 5.0 shared subscriptions ($share/{ShareName}/{filter}, OASIS MQTT 5.0 §4.8.2) through the
// in-memory transport: one member per group gets each message, members take turns, online
// members first, what a leaving member held, and 3.1.1 clients in the same groups. Titles name
// the ids of docs/spec/mqtt-5.0.md they check. Routing runs both ways: scanning the table and
// through the topic tree index (the index holds the inner filter).
import { describe, expect, test } from "vitest";
import { CONNACK_OK, harness, pkt, recordingStore } from "../broker/harness";
import { brokerSetStore } from "../../src/broker/broker";
import { restoreSession, restoreSubscription } from "../../src/broker/restore";
import { PacketRecord } from "../unit/helpers";
import { p5, take5, CONNACK, DISCONNECT, PUBLISH, SUBACK, UNSUBACK, connected, payloadOf } from "./harness5";

type H = ReturnType<typeof harness>;

/** A 5.0 client in the session `id` subscribed to filters (one SUBACK taken). */
function member(h: H, id: string, filters: Array<[string, number]>, o: Parameters<typeof p5.connect>[1] = {}, props: Record<string, unknown> = {}): number {
  const c = connected(h, id, o);
  h.send(c, p5.subscribe(1, filters, props));
  const out = take5(h, c);
  expect(out[0].type).toBe(SUBACK);
  expect(out[0].returnCodes).toEqual(filters.map((f) => f[1]));
  return c;
}

/** The PUBLISH packets the broker wrote to conn since the last take. */
function pubs(h: H, conn: number): PacketRecord[] {
  return take5(h, conn).filter((r) => r.type === PUBLISH);
}

function publishAll(h: H, from: number, topic: string, n: number, qos: number): void {
  for (let i = 0; i < n; i++) h.send(from, p5.publish(topic, "m" + i, { qos, id: i + 1 }));
  take5(h, from); // the publisher's acks
}

for (const tree of [false, true]) {
  describe(`MQTT 5.0 shared subscriptions (in-memory, ${tree ? "topic tree" : "table scan"})`, () => {
    test("[SRV5-SHR-2, SRV5-SHR-5, SRV5-SUB-7] each message goes to exactly one member; members take turns", () => {
      const h = harness({}, tree);
      const ms = ["a", "b", "c"].map((id) => member(h, id, [["$share/g/jobs/+", 1]]));
      const p = connected(h, "pub");
      publishAll(h, p, "jobs/x", 9, 1);
      const got = ms.map((m) => pubs(h, m).map(payloadOf));
      expect(got.map((g) => g.length)).toEqual([3, 3, 3]);
      expect(got.flat().sort()).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"]);
    });

    test("[SRV5-SHR-3, SRV5-SHR-7] matching ignores the $share prefix; each ShareName, and each filter under one ShareName, is a group of its own; a non-shared subscription gets its copy too", () => {
      const h = harness({}, tree);
      const g1 = member(h, "g1", [["$share/one/s/#", 0]]);
      const g2 = member(h, "g2", [["$share/two/s/t", 0]]);
      const g3 = member(h, "g3", [["$share/one/s/t", 0]]);
      const plain = member(h, "plain", [["s/t", 0]]);
      const literal = member(h, "lit", [["$share/one/s/t/#", 0]]);
      const p = connected(h, "pub");
      h.send(p, p5.publish("s/t", "x"));
      for (const c of [g1, g2, g3, plain]) expect(pubs(h, c).map((r) => [r.topic, payloadOf(r)])).toEqual([["s/t", "x"]]);
      expect(pubs(h, literal)).toHaveLength(1); // inner filter s/t/# matches s/t (MQTT-4.7.1-2)
      h.send(p, p5.publish("$share/one/s/t", "y")); // a topic name beginning with $share matches no shared filter
      for (const c of [g1, g2, g3, plain, literal]) expect(pubs(h, c)).toEqual([]);
    });

    test("[MQTT-4.8.2-1, MQTT-4.8.2-2] an empty ShareName, one with + or #, or no filter after it gets SUBACK 0x8F; the inner filter is checked as any filter", () => {
      const h = harness({}, tree);
      const c = connected(h, "c");
      const filters: Array<[string, number]> = [
        ["$share//a", 1],
        ["$share/g", 1],
        ["$share/g/", 1],
        ["$share/g+/a", 1],
        ["$share/#/a", 1],
        ["$share/+/a", 1],
        ["$share/g/a/#/b", 1],
        ["$share/g/a+", 1],
        ["$share/g/#", 1],
        ["$share/g/+/b", 2],
        ["$sharex/a", 1],
      ];
      h.send(c, p5.subscribe(3, filters));
      expect(take5(h, c)).toEqual([{ type: SUBACK, packetId: 3, returnCodes: [0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 1, 2, 1], props: {} }]);
      expect(h.broker.stats.subscriptions).toBe(3);
    });

    test("[MQTT-4.8.2-3] each member receives at its own granted QoS", () => {
      const h = harness({}, tree);
      const q0 = member(h, "q0", [["$share/g/t", 0]]);
      const q2 = member(h, "q2", [["$share/g/t", 2]]);
      const p = connected(h, "pub");
      publishAll(h, p, "t", 2, 2);
      const a = pubs(h, q0);
      const b = pubs(h, q2);
      expect(a.map((r) => r.qos)).toEqual([0]);
      expect(b.map((r) => r.qos)).toEqual([2]);
      h.send(p, p5.publish("t", "low", { qos: 1, id: 9 }));
      take5(h, p);
      expect([...pubs(h, q0), ...pubs(h, q2)].map((r) => r.qos)).toEqual([0]); // q0's turn: min(1, 0)
    });

    test("[SRV5-PUB-4, SRV5-SUB-7] no retained message is sent for a shared subscription, even with Retain Handling 0", () => {
      const h = harness({}, tree);
      const p = connected(h, "pub");
      h.send(p, p5.publish("r/t", "kept", { retain: true }));
      const c = connected(h, "c");
      h.send(c, p5.subscribe(2, [["$share/g/r/#", 1, false, false, 0], ["r/#", 1]]));
      const out = take5(h, c);
      expect(out[0]).toEqual({ type: SUBACK, packetId: 2, returnCodes: [1, 1], props: {} });
      expect(out.slice(1).map((r) => [r.type, r.retain])).toEqual([[PUBLISH, true]]); // the non-shared one only
    });

    test("[SRV5-PUB-12, MQTT-3.3.4-3] a member gets its own Subscription Identifier only; its non-shared copy carries that subscription's", () => {
      const h = harness({}, tree);
      const a = member(h, "a", [["$share/g/i/#", 1]], {}, { subscriptionIds: [5] });
      h.send(a, p5.subscribe(2, [["i/x", 0]], { subscriptionIds: [9] }));
      take5(h, a);
      const b = member(h, "b", [["$share/g/i/+", 1], ["$share/h/i/+", 0]], {}, { subscriptionIds: [7] });
      const p = connected(h, "pub");
      h.send(p, p5.publish("i/x", "1", { qos: 1, id: 1 }) + p5.publish("i/x", "2", { qos: 1, id: 2 }));
      take5(h, p);
      const idsOf = (rs: PacketRecord[]) => rs.map((r) => [payloadOf(r), r.qos, (r.props as Record<string, unknown>).subscriptionIds]);
      // $share/g/i/# and $share/g/i/+ are different groups: each gets both messages.
      expect(idsOf(pubs(h, a))).toEqual([["1", 0, [9]], ["1", 1, [5]], ["2", 0, [9]], ["2", 1, [5]]]);
      expect(idsOf(pubs(h, b))).toEqual([["1", 1, [7]], ["1", 0, [7]], ["2", 1, [7]], ["2", 0, [7]]]);
    });

    test("[SRV5-SUB-17, SRV5-SHR-4] UNSUBSCRIBE of a $share filter leaves the group, keeps what the session was sent, and leaves its non-shared subscription alone; the group ends with its last member", () => {
      const h = harness({}, tree);
      const a = member(h, "a", [["$share/g/u", 1], ["u", 0]]);
      const b = member(h, "b", [["$share/g/u", 1]]);
      const p = connected(h, "pub");
      h.send(p, p5.publish("u", "1", { qos: 1, id: 1 }));
      take5(h, p);
      const first = pubs(h, a);
      expect(first.map((r) => [payloadOf(r), r.qos])).toEqual([["1", 0], ["1", 1]]); // a's turn (joined first)
      expect(pubs(h, b)).toEqual([]);
      h.send(a, p5.unsubscribe(2, ["$share/g/u"]));
      expect(take5(h, a)).toEqual([{ type: UNSUBACK, packetId: 2, returnCodes: [0], props: {} }]);
      publishAll(h, p, "u", 3, 1);
      expect(pubs(h, a).map((r) => r.qos)).toEqual([0, 0, 0]); // only its non-shared copies
      expect(pubs(h, b)).toHaveLength(3);
      // a's unacknowledged shared message is still its own: it can acknowledge it.
      h.send(a, p5.ack(4, first[1].packetId as number));
      expect(h.isClosed(a)).toBe(false);
      expect(h.broker.sessions[h.broker.conns[a].session].flightCount).toBe(0);
      h.send(b, p5.unsubscribe(3, ["$share/g/u", "$share/g/u"]));
      expect(take5(h, b)).toEqual([{ type: UNSUBACK, packetId: 3, returnCodes: [0, 0x11], props: {} }]);
      h.send(p, p5.publish("u", "gone", { qos: 1, id: 7 }));
      expect(pubs(h, b)).toEqual([]);
    });

    test("[SRV5-SHR-5] a message goes to an online member before an offline one; with every member offline it is queued for one of them (QoS 1/2), members still taking turns", () => {
      const h = harness({}, tree);
      const persistent = { clean: false, props: { sessionExpiryInterval: 300 } };
      const a = member(h, "a", [["$share/g/o", 1]], persistent);
      const b = member(h, "b", [["$share/g/o", 1]], persistent);
      const c = member(h, "c", [["$share/g/o", 1]], persistent);
      h.send(a, p5.disconnect());
      h.send(b, p5.disconnect());
      const p = connected(h, "pub");
      publishAll(h, p, "o", 4, 1);
      const online = pubs(h, c);
      expect(online).toHaveLength(4);
      for (const r of online) h.send(c, p5.ack(4, r.packetId as number));
      h.send(c, p5.disconnect());
      publishAll(h, p, "o", 6, 1);
      h.send(p, p5.publish("o", "qos0 is not queued"));
      const back = ["a", "b", "c"].map((id) => {
        const conn = h.open();
        h.send(conn, p5.connect(id, persistent));
        return pubs(h, conn).length;
      });
      expect(back).toEqual([2, 2, 2]);
    });

    test("[SRV5-SHR-5] an online member whose in-flight window is full gives its turn to one with room", () => {
      const h = harness({}, tree);
      const slow = member(h, "slow", [["$share/g/w", 1]], { props: { receiveMaximum: 1 } });
      const fast = member(h, "fast", [["$share/g/w", 1]]);
      const p = connected(h, "pub");
      publishAll(h, p, "w", 5, 1);
      expect(pubs(h, slow)).toHaveLength(1); // never acknowledges: its window stays full
      expect(pubs(h, fast)).toHaveLength(4);
    });

    test("[SRV5-SHR-6] when a member's session ends, its unacknowledged QoS 1 and queued messages go to another member", () => {
      const h = harness({ maxInflight: 1 }, tree);
      const a = member(h, "a", [["$share/g/e", 1]]);
      const b = member(h, "b", [["$share/g/e", 1]], { props: { receiveMaximum: 1 } });
      const p = connected(h, "pub");
      h.send(p, p5.publish("e", "1", { qos: 1, id: 1 }) + p5.publish("e", "2", { qos: 1, id: 2 }));
      take5(h, p);
      expect(pubs(h, a).map(payloadOf)).toEqual(["1"]);
      expect(pubs(h, b).map(payloadOf)).toEqual(["2"]);
      // Both windows full: the next two wait in the queue of whichever member's turn it is.
      h.send(p, p5.publish("e", "3", { qos: 1, id: 3 }) + p5.publish("e", "4", { qos: 1, id: 4 }));
      take5(h, p);
      h.peerClose(a); // clean session: it ends, and with it a's share of the work
      const moved = pubs(h, b);
      expect(moved).toEqual([]); // b's window is full: they wait in its queue
      h.send(b, p5.ack(4, 1));
      h.send(b, p5.ack(4, 2));
      h.send(b, p5.ack(4, 3));
      h.send(b, p5.ack(4, 4));
      expect(pubs(h, b).map(payloadOf).sort()).toEqual(["1", "3", "4"]);
    });

    test("[MQTT-4.8.2-5, MQTT-4.8.2-4] a QoS 2 delivery under way stays with its member: finished after it reconnects, never sent to another when its session ends", () => {
      const h = harness({}, tree);
      const persistent = { clean: false, props: { sessionExpiryInterval: 300 } };
      const a = member(h, "a", [["$share/g/q2", 2]], persistent);
      const b = member(h, "b", [["$share/g/q2", 2]]);
      const p = connected(h, "pub");
      h.send(p, p5.publish("q2", "once", { qos: 2, id: 1 }));
      take5(h, p);
      expect(pubs(h, a).map((r) => r.qos)).toEqual([2]);
      h.peerClose(a);
      expect(pubs(h, b)).toEqual([]);
      const a2 = h.open();
      h.send(a2, p5.connect("a", persistent));
      const again = pubs(h, a2);
      expect(again.map((r) => [payloadOf(r), r.dup])).toEqual([["once", true]]);
      // Its session ends now (Clean Start): the message is not offered to b.
      h.peerClose(a2);
      const a3 = h.open();
      h.send(a3, p5.connect("a", { clean: true }));
      expect(pubs(h, a3)).toEqual([]);
      expect(pubs(h, b)).toEqual([]);
    });

    test("[MQTT-4.8.2-6] a message the chosen member refuses (PUBACK 0x80) is not offered to another", () => {
      const h = harness({}, tree);
      const a = member(h, "a", [["$share/g/n", 1]]);
      const b = member(h, "b", [["$share/g/n", 1]]);
      const p = connected(h, "pub");
      h.send(p, p5.publish("n", "no", { qos: 1, id: 1 }));
      take5(h, p);
      const [got] = pubs(h, a);
      h.send(a, p5.ack(4, got.packetId as number, 0x80));
      expect(pubs(h, b)).toEqual([]);
      h.peerClose(a);
      expect(pubs(h, b)).toEqual([]);
    });

    test("[MQTT-3.8.3-4] No Local on a $share filter is a Protocol Error: DISCONNECT 0x82", () => {
      const h = harness({}, tree);
      const c = connected(h, "c");
      h.send(c, p5.subscribe(1, [["$share/g/t", 1, true]]));
      expect(take5(h, c)).toEqual([{ type: DISCONNECT, reasonCode: 0x82, props: {} }]);
      expect(h.isClosed(c)).toBe(true);
    });

    test("[SRV5-V311-30] 3.1.1 clients share too, with 5.0 clients in one group; an invalid ShareName gets 0x80", () => {
      const h = harness({}, tree);
      const old = h.open();
      h.send(old, pkt.connect("old"));
      expect(h.take(old)).toEqual([CONNACK_OK]);
      h.send(old, pkt.subscribe(1, [["$share/g/v/#", 1], ["$share/+/v", 1]]));
      expect(h.take(old)).toEqual(["9004000101" + "80"]);
      const neu = member(h, "new", [["$share/g/v/#", 1]]);
      const p = connected(h, "pub");
      h.send(p, p5.publish("v/1", "r", { qos: 1, id: 1, retain: true }));
      take5(h, p);
      h.send(p, p5.publish("v/2", "s", { qos: 1, id: 2 }));
      take5(h, p);
      expect(h.take(old)).toHaveLength(1);
      expect(pubs(h, neu)).toHaveLength(1);
      // Re-subscribing sends no retained message to a 3.1.1 member either.
      h.send(old, pkt.subscribe(2, [["$share/g/v/#", 1]]));
      expect(h.take(old)).toEqual(["9003000201"]);
      h.send(old, pkt.unsubscribe(3, ["$share/g/v/#"]));
      expect(h.take(old)).toEqual(["b0020003"]);
      h.send(p, p5.publish("v/3", "t", { qos: 1, id: 3 }));
      expect(pubs(h, neu)).toHaveLength(1);
      expect(h.take(old)).toEqual([]);
    });

    test("[SRV5-SUB-7] SUBSCRIBE again to the same $share filter replaces the member's subscription (one slot), a new QoS taking effect", () => {
      const h = harness({}, tree);
      const a = member(h, "a", [["$share/g/r", 1]]);
      h.send(a, p5.subscribe(2, [["$share/g/r", 0]]));
      expect(take5(h, a)).toEqual([{ type: SUBACK, packetId: 2, returnCodes: [0], props: {} }]);
      expect(h.broker.stats.subscriptions).toBe(1);
      const p = connected(h, "pub");
      h.send(p, p5.publish("r", "x", { qos: 1, id: 1 }));
      expect(pubs(h, a).map((r) => r.qos)).toEqual([0]);
    });
  });
}

describe("MQTT 5.0 shared subscriptions and the ACL", () => {
  test("[SRV5-SHR-3] the SUBSCRIBE check sees the inner filter; a member without read permission is passed over", () => {
    const h = harness();
    const asked: string[] = [];
    h.broker.policy = {
      authenticate: () => 0,
      allow: (id: string, _hu: boolean, _u: string, topic: string, access: number) => {
        if (access === 4) asked.push(topic);
        return !(id === "blind" && access === 1);
      },
    };
    const blind = member(h, "blind", [["$share/g/acl/#", 1]]);
    const sees = member(h, "sees", [["$share/g/acl/#", 1]]);
    expect(asked).toEqual(["acl/#", "acl/#"]);
    const p = connected(h, "pub");
    publishAll(h, p, "acl/x", 3, 1);
    expect(pubs(h, blind)).toEqual([]);
    expect(pubs(h, sees)).toHaveLength(3);
  });
});

describe("MQTT 5.0 shared subscriptions and persistence", () => {
  test("[SRV5-SUB-7] the store keeps a member's whole $share filter, and a session read back from it is a member again", () => {
    const h = harness();
    const calls: string[] = [];
    brokerSetStore(h.broker, recordingStore(calls));
    const a = member(h, "a", [["$share/g/p/#", 1]], { clean: false, props: { sessionExpiryInterval: 60 } });
    h.send(a, p5.unsubscribe(2, ["$share/g/p/#"]));
    expect(calls.filter((c) => c.startsWith("subscription"))).toEqual(["subscriptionSet a $share/g/p/# 1 0 0", "subscriptionDelete a $share/g/p/#"]);

    const h2 = harness();
    const slot = restoreSession(h2.broker, "r", 1);
    expect(restoreSubscription(h2.broker, slot, "$share/g/p/#", 1)).toBe(true);
    const other = member(h2, "o", [["$share/g/p/#", 1]]);
    const r = h2.open();
    h2.send(r, p5.connect("r", { clean: false, props: { sessionExpiryInterval: 60 } }));
    take5(h2, r);
    const p = connected(h2, "pub");
    publishAll(h2, p, "p/q", 4, 1);
    expect([pubs(h2, r).length, pubs(h2, other).length]).toEqual([2, 2]);
    // Unsubscribing the whole filter finds the restored membership.
    h2.send(r, p5.unsubscribe(3, ["$share/g/p/#"]));
    expect(take5(h2, r)).toEqual([{ type: UNSUBACK, packetId: 3, returnCodes: [0], props: {} }]);
  });
});
