import { describe, expect, test } from "vitest";
import { CONNACK_OK, harness, pkt } from "./harness";

// The same routing cases with the table scan and with the topic tree index (hosts use the tree).
for (const tree of [false, true]) {
  describe(`routing (${tree ? "topic tree" : "table scan"})`, () => {
    test("[MQTT-3.3.5-1] overlapping filters: one copy at the highest QoS", () => {
      const h = harness({}, tree);
      const s = h.open();
      h.send(s, pkt.connect("s") + pkt.subscribe(1, [["a/+", 0], ["a/#", 2], ["#", 1], ["a/b", 1]]));
      h.take(s);
      const p = h.open();
      h.send(p, pkt.connect("p") + pkt.publish("a/b", "x", { qos: 2, id: 1 }));
      expect(h.take(s)).toEqual([pkt.publish("a/b", "x", { qos: 2, id: 1 })]);
    });

    test("[MQTT-4.7.2-1] [MQTT-4.7.1-2] $ topics, parent match of a/#, empty levels", () => {
      const h = harness({}, tree);
      const s = h.open();
      h.send(s, pkt.connect("s") + pkt.subscribe(1, [["#", 0], ["+/+", 0]]));
      const d = h.open();
      h.send(d, pkt.connect("d") + pkt.subscribe(1, [["$x/#", 0], ["a/#", 0]]));
      h.take(s);
      h.take(d);
      const p = h.open();
      h.send(p, pkt.connect("p") + pkt.publish("$x/y", "1") + pkt.publish("a", "2") + pkt.publish("/", "3"));
      expect(h.take(s)).toEqual([pkt.publish("a", "2"), pkt.publish("/", "3")]);
      expect(h.take(d)).toEqual([pkt.publish("$x/y", "1"), pkt.publish("a", "2")]);
    });

    test("[MQTT-3.10.4-1] unsubscribe removes only the literal filter; replaced filters are not duplicated", () => {
      const h = harness({}, tree);
      const c = h.open();
      h.send(c, pkt.connect("c") + pkt.subscribe(1, [["a/+", 0], ["a/b", 0]]) + pkt.subscribe(2, [["a/b", 1]]));
      expect(h.broker.stats.subscriptions).toBe(2);
      h.send(c, pkt.unsubscribe(3, ["a/b"]) + pkt.publish("a/b", "via a/+"));
      expect(h.take(c)).toEqual([CONNACK_OK, "9004000100" + "00", "9003000201", "b0020003", pkt.publish("a/b", "via a/+")]);
      h.send(c, pkt.unsubscribe(4, ["a/+"]) + pkt.publish("a/b", "nobody"));
      expect(h.take(c)).toEqual(["b0020004"]);
    });

    test("a clean session's subscriptions leave the index when it ends", () => {
      const h = harness({}, tree);
      const c = h.open();
      h.send(c, pkt.connect("c") + pkt.subscribe(1, [["t/#", 0]]));
      h.peerClose(c);
      const s = h.open();
      h.send(s, pkt.connect("s") + pkt.subscribe(1, [["t/x", 0]]));
      const p = h.open();
      h.send(p, pkt.connect("p") + pkt.publish("t/x", "only s"));
      expect(h.take(s)).toEqual([CONNACK_OK, "9003000100", pkt.publish("t/x", "only s")]);
      expect(h.broker.stats.subscriptions).toBe(1);
    });
  });
}
