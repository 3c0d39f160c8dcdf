import { describe, expect, test } from "vitest";
import { CONNACK_OK, harness, pkt } from "./harness";

describe("retained messages (in-memory)", () => {
  test("[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [SRV-PUB-5] stored, and sent after the SUBACK with RETAIN=1", () => {
    const h = harness();
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("r/a", "A", { retain: true, qos: 1, id: 1 }) + pkt.publish("r/b", "B", { retain: true }));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r/#", 2]]));
    expect(h.take(s)).toEqual([CONNACK_OK, "9003000102", pkt.publish("r/a", "A", { qos: 1, id: 1, retain: true }), pkt.publish("r/b", "B", { retain: true })]);
  });

  test("[MQTT-3.3.1-9] live delivery of a retained publish carries RETAIN=0", () => {
    const h = harness();
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r", 0]]));
    h.take(s);
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("r", "live", { retain: true }));
    expect(h.take(s)).toEqual([pkt.publish("r", "live")]);
  });

  test("[MQTT-3.3.1-10] [MQTT-3.3.1-11] a zero-length retained publish deletes and is still delivered", () => {
    const h = harness();
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r", 0]]));
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("r", "x", { retain: true }) + pkt.publish("r", "", { retain: true }));
    h.take(s);
    expect(h.broker.stats.retained).toBe(0);
    const late = h.open();
    h.send(late, pkt.connect("late") + pkt.subscribe(1, [["r", 0]]));
    expect(h.take(late)).toEqual([CONNACK_OK, "9003000100"]);
  });

  test("[MQTT-3.3.1-12] RETAIN=0 leaves the retained message alone", () => {
    const h = harness();
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("r", "kept", { retain: true }) + pkt.publish("r", "not retained"));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r", 0]]));
    expect(h.take(s)).toEqual([CONNACK_OK, "9003000100", pkt.publish("r", "kept", { retain: true })]);
  });

  test("[SRV-PUB-4] retained QoS is min(stored, granted); [MQTT-4.7.2-1] # does not return $ topics", () => {
    const h = harness();
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("q/2", "two", { retain: true, qos: 2, id: 1 }) + pkt.publish("$x/y", "dollar", { retain: true }));
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["#", 1]]));
    expect(h.take(s)).toEqual([CONNACK_OK, "9003000101", pkt.publish("q/2", "two", { retain: true, qos: 1, id: 1 })]);
  });

  test("[MQTT-3.1.2-7] retained messages outlive the publisher's session", () => {
    const h = harness();
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("r", "stays", { retain: true }) + pkt.disconnect);
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r", 0]]));
    expect(h.take(s)).toContain(pkt.publish("r", "stays", { retain: true }));
  });

  test("[SRV-IMPL-9] a full retained store delivers without retaining and logs", () => {
    const h = harness({ maxRetained: 1 });
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("r/1", "a", { retain: true }) + pkt.publish("r/2", "b", { retain: true }));
    expect(h.broker.stats.retained).toBe(1);
    expect(h.logs.join("\n")).toMatch(/Retained store full/);
    h.send(p, pkt.publish("r/1", "replaced", { retain: true })); // replacing needs no new slot
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["r/#", 0]]));
    expect(h.take(s)).toEqual([CONNACK_OK, "9003000100", pkt.publish("r/1", "replaced", { retain: true })]);
  });

  test("retain_available false: a retained PUBLISH closes the connection", () => {
    const h = harness({ retainAvailable: false });
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("r", "x", { retain: true }));
    expect(h.isClosed(p)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/retain_available is false/);
  });
});

describe("will (in-memory)", () => {
  function watcher(h: ReturnType<typeof harness>, filter = "will/#", qos = 2) {
    const w = h.open();
    h.send(w, pkt.connect("w") + pkt.subscribe(1, [[filter, qos]]));
    h.take(w);
    return w;
  }

  test("[MQTT-3.1.2-8] published when the network connection drops", () => {
    const h = harness();
    const w = watcher(h);
    const c = h.open();
    h.send(c, pkt.connect("c", { will: { topic: "will/c", payload: "dead", qos: 1 } }));
    h.peerClose(c);
    expect(h.take(w)).toEqual([pkt.publish("will/c", "dead", { qos: 1, id: 1 })]);
  });

  test("[MQTT-3.14.4-3] [MQTT-3.1.2-10] [SRV-OPS-2] not published after DISCONNECT; the server closes", () => {
    const h = harness();
    const w = watcher(h);
    const c = h.open();
    h.send(c, pkt.connect("c", { will: { topic: "will/c", payload: "dead" } }) + pkt.disconnect + pkt.pingreq);
    expect(h.isClosed(c)).toBe(true);
    expect(h.take(c)).toEqual([CONNACK_OK]); // bytes after DISCONNECT are ignored
    h.peerClose(c);
    expect(h.take(w)).toEqual([]);
  });

  test("[MQTT-3.14.1-1] an invalid DISCONNECT (flags set) closes and publishes the will", () => {
    const h = harness();
    const w = watcher(h);
    const c = h.open();
    h.send(c, pkt.connect("c", { will: { topic: "will/c", payload: "dead" } }) + "e100");
    expect(h.isClosed(c)).toBe(true);
    expect(h.take(w)).toEqual([pkt.publish("will/c", "dead")]);
  });

  test("[MQTT-3.1.2-17] will retain 1 is stored as retained; [MQTT-3.1.2-16] retain 0 is not", () => {
    const h = harness();
    const a = h.open();
    h.send(a, pkt.connect("a", { will: { topic: "will/a", payload: "ra", retain: true } }));
    const b = h.open();
    h.send(b, pkt.connect("b", { will: { topic: "will/b", payload: "nb" } }));
    h.peerClose(a);
    h.peerClose(b);
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["will/#", 0]]));
    expect(h.take(s)).toEqual([CONNACK_OK, "9003000100", pkt.publish("will/a", "ra", { retain: true })]);
  });

  test("[MQTT-3.1.2-12] no will flag, nothing published", () => {
    const h = harness();
    const w = watcher(h, "#", 0);
    const c = h.open();
    h.send(c, pkt.connect("c"));
    h.peerClose(c);
    expect(h.take(w)).toEqual([]);
  });
});
