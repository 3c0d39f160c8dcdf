// The bridge client in memory: the broker harness (manual clock) plus a fake BridgeLink whose
// "upstream" is scripted with hand-written bytes (the harness' independent packet builder).
import { describe, expect, test } from "vitest";
import {
  BridgeConfig,
  Bridges,
  LinkState,
  bridgeLinkData,
  bridgeLinkDown,
  bridgeLinkUp,
  bridgePending,
  bridgesCreate,
  newBridgeConfig,
} from "../../src/bridge/bridge";
import { Direction, TopicLineStatus, bridgeTopicInit, newBridgeTopic } from "../../src/bridge/topicMap";
import type { Bytes } from "../../src/bytes/bytes";
import { CONNACK_OK, harness, pkt } from "../broker/harness";

type Line = [string, Direction, number, string?, string?];

interface Upstream {
  opens: Array<{ host: string; port: number }>;
  closes: number;
  /** Hex of every packet written to the upstream since the last take. */
  take(): string[];
  up(): void;
  send(hex: string): void;
  down(): void;
}

function bridgeConfig(lines: Line[], edit?: (c: BridgeConfig) => void): BridgeConfig {
  const c = newBridgeConfig("up");
  c.host = "upstream.example";
  c.port = 1884;
  c.clientId = "edge.up";
  c.attemptUnsubscribe = false; // tested on its own below
  for (const [pattern, dir, qos, lp, rp] of lines) {
    const t = newBridgeTopic();
    expect(bridgeTopicInit(t, pattern, dir, qos, lp ?? "", rp ?? "")).toBe(TopicLineStatus.OK);
    c.topics.push(t);
  }
  c.topicCount = lines.length;
  if (edit) edit(c);
  return c;
}

function setup(lines: Line[], edit?: (c: BridgeConfig) => void) {
  const h = harness();
  let writes: string[] = [];
  const up: Upstream = {
    opens: [],
    closes: 0,
    take() {
      const w = writes;
      writes = [];
      return w;
    },
    up: () => bridgeLinkUp(set, 0),
    send: (hex) => bridgeLinkData(set, 0, new Uint8Array(Buffer.from(hex.replace(/\s+/g, ""), "hex")) as unknown as Bytes),
    down: () => bridgeLinkDown(set, 0),
  };
  const link = {
    open(_i: number, host: string, port: number) {
      up.opens.push({ host, port });
    },
    write(_i: number, data: Bytes) {
      writes.push(Buffer.from(data as unknown as Uint8Array).toString("hex"));
    },
    close() {
      up.closes++;
    },
  };
  const set: Bridges = bridgesCreate(h.broker, link, [bridgeConfig(lines, edit)], 1);
  return { h, set, up };
}

const NOTIFY = "$SYS/broker/connection/edge.up/state";
const connectHex = (level = 0x84, notifications = true, keepAlive = 60) =>
  pkt.connect("edge.up", { clean: false, keepAlive, level, will: notifications ? { topic: NOTIFY, payload: "0", qos: 1, retain: true } : undefined });
const connack = (rc: number, present = false) => "2002" + (present ? "01" : "00") + rc.toString(16).padStart(2, "0");
const suback = (id: number, codes: number[]) => "90" + (2 + codes.length).toString(16).padStart(2, "0") + id.toString(16).padStart(4, "0") + codes.map((c) => c.toString(16).padStart(2, "0")).join("");

/** Ticks (connect attempt), link up, CONNACK 0; returns what the bridge sent after CONNACK. */
function connectBridge(s: ReturnType<typeof setup>, present = false): string[] {
  const c = s.set.list[0].config;
  s.h.advance(250);
  s.up.up();
  expect(s.up.take()).toEqual([connectHex(0x84, c.notifications, c.keepAlive)]);
  s.up.send(connack(0, present));
  expect(s.set.list[0].state).toBe(LinkState.CONNECTED);
  return s.up.take();
}

function localClient(h: ReturnType<typeof harness>, id: string, subs: Array<[string, number]> = []): number {
  const c = h.open();
  h.send(c, pkt.connect(id) + (subs.length > 0 ? pkt.subscribe(1, subs) : ""));
  h.take(c);
  return c;
}

describe("bridge connection (client rules on the outbound connection, MQTT-7.0.0-1)", () => {
  test("first tick opens the link; CONNECT carries level 0x84 (try_private), clean session 0, keep alive and the notification will", () => {
    const s = setup([["a/#", Direction.OUT, 1]]);
    expect(s.up.opens).toEqual([]);
    s.h.advance(250);
    expect(s.up.opens).toEqual([{ host: "upstream.example", port: 1884 }]);
    s.up.up();
    expect(s.up.take()).toEqual([connectHex()]);
  });

  test("CONNACK 1 to level 0x84: reconnects at once as an ordinary level 4 client", () => {
    const s = setup([["a/#", Direction.OUT, 1]]);
    s.h.advance(250);
    s.up.up();
    s.up.take();
    s.up.send(connack(1));
    expect(s.up.closes).toBe(1);
    expect(s.h.logs.some((l) => /try_private/.test(l))).toBe(true);
    s.h.advance(250);
    expect(s.up.opens.length).toBe(2);
    s.up.up();
    expect(s.up.take()).toEqual([connectHex(4)]);
  });

  test("CONNACK 0: SUBSCRIBE for in/both lines (remote prefix applied), UNSUBSCRIBE for out lines, state 1 upstream and locally", () => {
    const s = setup(
      [
        ["o/#", Direction.OUT, 1, "", "edge/"],
        ["cmd/#", Direction.IN, 2, "local/", "central/"],
        ["b/#", Direction.BOTH, 0],
      ],
      (c) => (c.attemptUnsubscribe = true),
    );
    const local = localClient(s.h, "watcher", [["$SYS/broker/connection/#", 1]]);
    // The initial "0" is retained: a late subscriber gets it.
    expect(s.h.take(local)).toEqual([]);
    const after = connectBridge(s);
    expect(after).toEqual([
      pkt.publish(NOTIFY, "1", { qos: 1, id: 1, retain: true }),
      pkt.unsubscribe(2, ["edge/o/#"]),
      pkt.subscribe(3, [["central/cmd/#", 2], ["b/#", 0]]),
    ]);
    expect(s.h.take(local)).toEqual([pkt.publish(NOTIFY, "1", { qos: 1, id: 2 })]); // id 1 carried the retained "0"
    s.up.send(pkt.ack("puback", 1) + suback(3, [2, 0]));
    expect(bridgePending(s.set, 0)).toBe(0);
  });

  test("a refused subscription is logged", () => {
    const s = setup([["cmd/#", Direction.IN, 1]], (c) => (c.notifications = false));
    const after = connectBridge(s);
    expect(after).toEqual([pkt.subscribe(1, [["cmd/#", 1]])]);
    s.up.send(suback(1, [0x80]));
    expect(s.h.logs.some((l) => /refused the subscription to cmd\/#/.test(l))).toBe(true);
  });

  test("refused with CONNACK 5: backoff from restart_timeout, then a new attempt", () => {
    const s = setup([["a", Direction.OUT, 0]], (c) => {
      c.restartBase = 2;
      c.restartCap = 0; // constant
    });
    s.h.advance(250);
    s.up.up();
    s.up.send(connack(5));
    expect(s.h.logs.some((l) => /CONNACK 5 \(not authorised\)/.test(l))).toBe(true);
    s.h.advance(1500);
    expect(s.up.opens.length).toBe(1);
    s.h.advance(600);
    expect(s.up.opens.length).toBe(2);
  });

  test("jittered backoff stays between base and cap and returns to base after a success", () => {
    const s = setup([["a", Direction.OUT, 0]], (c) => {
      c.restartBase = 1;
      c.restartCap = 4;
    });
    const br = s.set.list[0];
    for (let i = 0; i < 6; i++) {
      s.h.advance(250);
      while (br.state === LinkState.WAITING) s.h.advance(250);
      s.up.down(); // cannot connect
      const wait = br.since - s.h.now.ms;
      expect(wait).toBeGreaterThanOrEqual(1000);
      expect(wait).toBeLessThanOrEqual(4000);
    }
    while (br.state === LinkState.WAITING) s.h.advance(250);
    s.up.up();
    s.up.send(connack(0));
    expect(br.delayMs).toBe(1000);
  });

  test("start_type once: no new attempt after a failure", () => {
    const s = setup([["a", Direction.OUT, 1]], (c) => (c.restart = false));
    connectBridge(s);
    s.up.down();
    expect(s.set.list[0].state).toBe(LinkState.STOPPED);
    s.h.advance(60000);
    expect(s.up.opens.length).toBe(1);
    // Nothing is queued for a bridge that will not come back.
    const pub = localClient(s.h, "dev");
    s.h.send(pub, pkt.publish("a", "x", { qos: 1, id: 1 }));
    expect(bridgePending(s.set, 0)).toBe(0);
  });

  test("no CONNACK within the connect timeout: closed and retried", () => {
    const s = setup([["a", Direction.OUT, 0]]);
    s.h.advance(250);
    s.up.up();
    s.h.advance(10500);
    expect(s.up.closes).toBe(1);
    expect(s.set.list[0].state).toBe(LinkState.WAITING);
  });

  test("[MQTT-3.1.2-23] PINGREQ when idle for the keep alive (one tick early); no PINGRESP: link dropped", () => {
    const s = setup([["a", Direction.OUT, 0]], (c) => {
      c.keepAlive = 5;
      c.notifications = false;
    });
    connectBridge(s);
    s.h.advance(3000);
    expect(s.up.take()).toEqual([]);
    s.h.advance(1000);
    expect(s.up.take()).toEqual(["c000"]);
    s.up.send("d000");
    s.h.advance(4000);
    expect(s.up.take()).toEqual(["c000"]);
    s.h.advance(5100);
    expect(s.up.closes).toBe(1);
    expect(s.h.logs.some((l) => /no PINGRESP within 5 s/.test(l))).toBe(true);
  });
});

describe("local messages going upstream", () => {
  test("out line with prefixes: mapped topic, QoS min(message, line), retain as published, ordinary QoS flows", () => {
    const s = setup([["#", Direction.OUT, 1, "sensors/", "site1/sensors/"]], (c) => (c.notifications = false));
    connectBridge(s);
    const pub = localClient(s.h, "dev");
    s.h.send(pub, pkt.publish("sensors/t1", "21.5", { qos: 2, id: 7, retain: true }));
    expect(s.up.take()).toEqual([pkt.publish("site1/sensors/t1", "21.5", { qos: 1, id: 1, retain: true })]);
    s.h.send(pub, pkt.publish("sensors/t2", "q0"));
    s.h.send(pub, pkt.publish("other/t", "not bridged", { qos: 1, id: 8 }));
    expect(s.up.take()).toEqual([pkt.publish("site1/sensors/t2", "q0")]);
    expect(bridgePending(s.set, 0)).toBe(1);
    s.up.send(pkt.ack("puback", 1));
    expect(bridgePending(s.set, 0)).toBe(0);
  });

  test("QoS 2 upstream: PUBREC -> PUBREL, PUBCOMP ends the flow", () => {
    const s = setup([["q2/#", Direction.OUT, 2]], (c) => (c.notifications = false));
    connectBridge(s);
    const pub = localClient(s.h, "dev");
    s.h.send(pub, pkt.publish("q2/a", "x", { qos: 2, id: 1 }));
    expect(s.up.take()).toEqual([pkt.publish("q2/a", "x", { qos: 2, id: 1 })]);
    s.up.send(pkt.ack("pubrec", 1));
    expect(s.up.take()).toEqual([pkt.ack("pubrel", 1)]);
    s.up.send(pkt.ack("pubcomp", 1));
    expect(bridgePending(s.set, 0)).toBe(0);
  });

  test("bridge_outgoing_retain false clears RETAIN", () => {
    const s = setup([["#", Direction.OUT, 0]], (c) => {
      c.notifications = false;
      c.outgoingRetain = false;
    });
    connectBridge(s);
    const pub = localClient(s.h, "dev");
    s.h.send(pub, pkt.publish("r", "v", { retain: true }));
    expect(s.up.take()).toEqual([pkt.publish("r", "v")]);
  });

  test("upstream down: QoS 1/2 queued, QoS 0 dropped; after reconnect unacked flights go again with DUP, then the queue, in order", () => {
    const s = setup([["d/#", Direction.OUT, 2]], (c) => {
      c.notifications = false;
      c.restartBase = 1;
      c.restartCap = 0;
    });
    connectBridge(s);
    const pub = localClient(s.h, "dev");
    s.h.send(pub, pkt.publish("d/1", "m1", { qos: 1, id: 1 }));
    s.h.send(pub, pkt.publish("d/2", "m2", { qos: 2, id: 2 }));
    expect(s.up.take()).toEqual([pkt.publish("d/1", "m1", { qos: 1, id: 1 }), pkt.publish("d/2", "m2", { qos: 2, id: 2 })]);
    s.up.send(pkt.ack("pubrec", 2));
    expect(s.up.take()).toEqual([pkt.ack("pubrel", 2)]);
    s.up.down();
    // Local clients carry on: the publisher still gets its acknowledgements.
    s.h.take(pub);
    s.h.send(pub, pkt.publish("d/3", "m3", { qos: 1, id: 3 }));
    s.h.send(pub, pkt.publish("d/4", "lost", { qos: 0 }));
    s.h.send(pub, pkt.publish("d/5", "m5", { qos: 2, id: 5 }));
    expect(s.h.take(pub)).toEqual([pkt.ack("puback", 3), "50020005"]);
    expect(s.up.take()).toEqual([]);
    expect(bridgePending(s.set, 0)).toBe(4);
    s.h.advance(1100);
    s.up.up();
    s.up.take();
    s.up.send(connack(0, true));
    expect(s.up.take()).toEqual([
      pkt.publish("d/1", "m1", { qos: 1, id: 1, dup: true }),
      pkt.ack("pubrel", 2),
      pkt.publish("d/3", "m3", { qos: 1, id: 3 }),
      pkt.publish("d/5", "m5", { qos: 2, id: 4 }),
    ]);
    expect(s.set.list[0].stats.droppedQos0).toBe(1);
  });

  test("the upstream lost our session (session present 0): a QoS 2 message past PUBREC is published again", () => {
    const s = setup([["d/#", Direction.OUT, 2]], (c) => {
      c.notifications = false;
      c.restartBase = 1;
      c.restartCap = 0;
    });
    connectBridge(s);
    const pub = localClient(s.h, "dev");
    s.h.send(pub, pkt.publish("d/2", "m2", { qos: 2, id: 2 }));
    s.up.send(pkt.ack("pubrec", 1));
    s.up.take();
    s.up.down();
    s.h.advance(1100);
    s.up.up();
    s.up.take();
    s.up.send(connack(0, false));
    expect(s.up.take()).toEqual([pkt.publish("d/2", "m2", { qos: 2, id: 1, dup: true })]);
  });

  test("queue bound: when full the oldest is dropped with a log line", () => {
    const s = setup([["q/#", Direction.OUT, 1]], (c) => {
      c.notifications = false;
      c.maxQueued = 3;
    });
    const pub = localClient(s.h, "dev");
    for (let i = 1; i <= 5; i++) s.h.send(pub, pkt.publish("q/" + i, "m" + i, { qos: 1, id: i }));
    expect(s.h.logs.filter((l) => /queue full \(3 messages\): dropping the oldest, first on q\/1/.test(l)).length).toBe(1);
    expect(s.set.list[0].stats.droppedQueueFull).toBe(2);
    s.h.advance(250);
    s.up.up();
    s.up.take();
    s.up.send(connack(0));
    expect(s.up.take()).toEqual([3, 4, 5].map((i) => pkt.publish("q/" + i, "m" + i, { qos: 1, id: i - 2 })));
    expect(s.h.logs.some((l) => /2 messages were dropped while it was full/.test(l))).toBe(true);
  });

  test("in-flight window: past maxInflight messages wait and go out as acknowledgements come", () => {
    const s = setup([["w/#", Direction.OUT, 1]], (c) => {
      c.notifications = false;
      c.maxInflight = 2;
    });
    connectBridge(s);
    const pub = localClient(s.h, "dev");
    for (let i = 1; i <= 3; i++) s.h.send(pub, pkt.publish("w/" + i, "m", { qos: 1, id: i }));
    expect(s.up.take().length).toBe(2);
    s.up.send(pkt.ack("puback", 1));
    expect(s.up.take()).toEqual([pkt.publish("w/3", "m", { qos: 1, id: 3 })]);
  });
});

describe("messages from upstream", () => {
  test("in line with prefixes: published locally under the local prefix; QoS 1 acknowledged after publishing", () => {
    const s = setup([["cmd/#", Direction.IN, 2, "local/", "central/"]], (c) => (c.notifications = false));
    const sub = localClient(s.h, "dev", [["local/#", 2]]);
    connectBridge(s);
    s.up.send(pkt.publish("central/cmd/reboot", "now", { qos: 1, id: 9 }));
    expect(s.h.take(sub)).toEqual([pkt.publish("local/cmd/reboot", "now", { qos: 1, id: 1 })]);
    expect(s.up.take()).toEqual([pkt.ack("puback", 9)]);
  });

  test("[MQTT-4.3.3-2] QoS 2 from upstream: PUBREC, a repeated PUBLISH before PUBREL is not published again, PUBCOMP", () => {
    const s = setup([["x/#", Direction.IN, 2]], (c) => (c.notifications = false));
    const sub = localClient(s.h, "dev", [["x/#", 2]]);
    connectBridge(s);
    s.up.send(pkt.publish("x/1", "once", { qos: 2, id: 4 }));
    s.up.send(pkt.publish("x/1", "once", { qos: 2, id: 4, dup: true }));
    expect(s.up.take()).toEqual(["50020004", "50020004"]);
    expect(s.h.take(sub).length).toBe(1);
    s.up.send(pkt.ack("pubrel", 4));
    expect(s.up.take()).toEqual(["70020004"]);
  });

  test("retained messages from upstream are stored locally", () => {
    const s = setup([["cfg/#", Direction.IN, 1]], (c) => (c.notifications = false));
    connectBridge(s);
    s.up.send(pkt.publish("cfg/rate", "10", { qos: 1, id: 1, retain: true }));
    const late = localClient(s.h, "late", [["cfg/#", 1]]);
    void late;
    expect(s.h.broker.retainedCount).toBeGreaterThan(0);
  });

  test("a message on a topic no in line subscribed to is dropped", () => {
    const s = setup([["cmd/#", Direction.IN, 1]], (c) => (c.notifications = false));
    const sub = localClient(s.h, "dev", [["#", 1]]);
    connectBridge(s);
    s.up.send(pkt.publish("stale/subscription", "x", { qos: 1, id: 2 }));
    expect(s.h.take(sub)).toEqual([]);
    expect(s.up.take()).toEqual([pkt.ack("puback", 2)]); // still acknowledged (MQTT-4.5.0-2)
  });

  test("no loops: a both line does not send a message from upstream back upstream", () => {
    const s = setup([["b/#", Direction.BOTH, 1]], (c) => (c.notifications = false));
    const sub = localClient(s.h, "dev", [["b/#", 1]]);
    connectBridge(s);
    s.up.take();
    s.up.send(pkt.publish("b/echo", "from upstream", { qos: 1, id: 3 }));
    expect(s.up.take()).toEqual([pkt.ack("puback", 3)]);
    expect(s.h.take(sub).length).toBe(1);
    // A local publish on the same line does go up.
    const pub = localClient(s.h, "pub");
    s.h.send(pub, pkt.publish("b/local", "up", { qos: 1, id: 1 }));
    expect(s.up.take()).toEqual([pkt.publish("b/local", "up", { qos: 1, id: 2 })]); // id 1 was the SUBSCRIBE
  });

  test("notifications: state 0 locally when the link goes", () => {
    const s = setup([["a", Direction.OUT, 0]]);
    connectBridge(s);
    const watcher = s.h.open();
    s.h.send(watcher, pkt.connect("w") + pkt.subscribe(1, [[NOTIFY, 0]]));
    expect(s.h.take(watcher)).toEqual([CONNACK_OK, "9003000100", pkt.publish(NOTIFY, "1", { retain: true })]);
    s.up.down();
    expect(s.h.take(watcher)).toEqual([pkt.publish(NOTIFY, "0")]);
  });

  test("shutdown: state 0 upstream (the will is void after DISCONNECT), DISCONNECT, close", async () => {
    const { brokerShutdown } = await import("../../src/broker/broker");
    const s = setup([["a", Direction.OUT, 0]]);
    connectBridge(s);
    brokerShutdown(s.h.broker);
    expect(s.up.take()).toEqual([pkt.publish(NOTIFY, "0", { retain: true }), "e000"]);
    expect(s.up.closes).toBe(1);
    s.h.advance(60000);
    expect(s.up.opens.length).toBe(1);
  });
});

describe("the broker side of a bridge (a client connecting with level 0x84, SRV-V31-11)", () => {
  test("is accepted; its own messages are not routed back to it; deliveries to it keep RETAIN", () => {
    const h = harness();
    const br = h.open();
    h.send(br, pkt.connect("bridge-in", { level: 0x84 }) + pkt.subscribe(1, [["t/#", 1]]));
    expect(h.take(br)).toEqual([CONNACK_OK, "9003000101"]);
    expect(h.logs.some((l) => /as bridge-in \(p2, c1, k60, bridge\)/.test(l))).toBe(true);
    const other = localClient(h, "other", [["t/#", 1]]);
    h.send(br, pkt.publish("t/from-bridge", "x", { qos: 1, id: 5 }));
    expect(h.take(br)).toEqual([pkt.ack("puback", 5)]);
    expect(h.take(other)).toEqual([pkt.publish("t/from-bridge", "x", { qos: 1, id: 1 })]);
    const c = h.open();
    h.send(c, pkt.connect("pub") + pkt.publish("t/r", "kept", { retain: true }));
    expect(h.take(br)).toEqual([pkt.publish("t/r", "kept", { retain: true })]);
    expect(h.take(other)).toEqual([pkt.publish("t/r", "kept")]);
  });

  test("MQIsdp with level 0x83 is an MQTT 3.1 bridge", () => {
    const h = harness();
    const br = h.open();
    h.send(br, pkt.connect("b31", { level: 0x83, name: "MQIsdp" }));
    expect(h.take(br)).toEqual([CONNACK_OK]);
  });

  test("[MQTT-3.1.2-2] other levels with bit 7 set are still refused with CONNACK 1", () => {
    const h = harness();
    const c = h.open();
    h.send(c, pkt.connect("x", { level: 0x85 }));
    expect(h.take(c)).toEqual(["20020001"]);
  });
});
