// The bridge with an MQTT 5.0 upstream (bridge_protocol_version mqttv50), in memory: the broker
// harness (manual clock) plus a fake BridgeLink whose "upstream" is scripted. What the bridge
// writes is parsed back as 5.0 records (test/unit/v5/helpers5.ts); what the upstream sends is
// built from records, or hand-typed where the bytes themselves are the point. Titles name ids of
// docs/spec/mqtt-5.0.md; in their own folder, apart from the 3.1.1 bridge tests.
import { describe, expect, test } from "vitest";
import { BridgeConfig, Bridges, LinkState, bridgeLinkData, bridgeLinkDown, bridgeLinkUp, bridgePending, bridgesCreate, newBridgeConfig } from "../../../src/bridge/bridge";
import { Direction, TopicLineStatus, bridgeTopicInit, newBridgeTopic } from "../../../src/bridge/topicMap";
import type { Bytes } from "../../../src/bytes/bytes";
import type { Limits } from "../../../src/limits";
import { harness, pkt } from "../../broker/harness";
import { p5, take5, v5 } from "../../broker-v5/harness5";
import { PacketRecord, fromHex } from "../../unit/helpers";
import { packetToRecord5, parseOne5 } from "../../unit/v5/helpers5";

type Line = [string, Direction, number, string?, string?];
type Props = Record<string, unknown>;

const NOTIFY = "$SYS/broker/connection/edge.up/state";

function bridgeConfig(lines: Line[], edit?: (c: BridgeConfig) => void): BridgeConfig {
  const c = newBridgeConfig("up");
  c.host = "upstream.example";
  c.port = 1884;
  c.clientId = "edge.up";
  c.protocolLevel = 5;
  c.attemptUnsubscribe = false;
  c.notifications = false;
  c.restartBase = 1;
  c.restartCap = 0;
  for (let i = 0; i < lines.length; i++) {
    const [pattern, dir, qos, lp, rp] = lines[i];
    const t = newBridgeTopic();
    expect(bridgeTopicInit(t, pattern, dir, qos, lp ?? "", rp ?? "")).toBe(TopicLineStatus.OK);
    c.topics.push(t);
  }
  c.topicCount = lines.length;
  if (edit) edit(c);
  return c;
}

/** One packet the bridge wrote, as a 5.0 record. */
function rec(hex: string): PacketRecord {
  const r = parseOne5(fromHex(hex), 1 << 28);
  if (r.status !== "OK") throw new Error("the bridge wrote a packet that does not parse as 5.0 (" + r.status + "): " + hex);
  return packetToRecord5(r.packet);
}

function setup(lines: Line[], edit?: (c: BridgeConfig) => void, limits?: Partial<Limits>) {
  const h = harness(limits);
  let writes: string[] = [];
  const link = {
    opens: 0,
    closes: 0,
    open() {
      link.opens++;
    },
    write(_i: number, data: Bytes) {
      writes.push(Buffer.from(data as unknown as Uint8Array).toString("hex"));
    },
    close() {
      link.closes++;
    },
  };
  const set: Bridges = bridgesCreate(h.broker, link, [bridgeConfig(lines, edit)], 1);
  const up = {
    link,
    /** Hex of every packet written upstream since the last take. */
    takeHex(): string[] {
      const w = writes;
      writes = [];
      return w;
    },
    take(): PacketRecord[] {
      return up.takeHex().map(rec);
    },
    up: () => bridgeLinkUp(set, 0),
    send: (hex: string) => bridgeLinkData(set, 0, new Uint8Array(Buffer.from(hex.replace(/\s+/g, ""), "hex")) as unknown as Bytes),
    down: () => bridgeLinkDown(set, 0),
  };
  return { h, set, up, br: set.list[0] };
}

/** CONNACK Success with properties. */
function connack5(props: Props = {}, present = false): string {
  return v5({ type: 2, sessionPresent: present, returnCode: 0, props });
}

/** Tick, link up, CONNACK; returns what the bridge sent after CONNACK. */
function connect(s: ReturnType<typeof setup>, props: Props = {}, present = false): PacketRecord[] {
  s.h.advance(250);
  s.up.up();
  const sent = s.up.take();
  expect(sent.map((r) => r.type)).toEqual([1]);
  s.up.send(connack5(props, present));
  expect(s.br.state).toBe(LinkState.CONNECTED);
  return s.up.take();
}

function client5(h: ReturnType<typeof harness>, id: string, subs: Array<[string, number]> = []): number {
  const c = h.open();
  h.send(c, p5.connect(id) + (subs.length > 0 ? p5.subscribe(1, subs) : ""));
  take5(h, c);
  return c;
}

function client311(h: ReturnType<typeof harness>, id: string, subs: Array<[string, number]> = []): number {
  const c = h.open();
  h.send(c, pkt.connect(id) + (subs.length > 0 ? pkt.subscribe(1, subs) : ""));
  h.take(c);
  return c;
}

const text = (r: PacketRecord) => Buffer.from(r.payloadHex as string, "hex").toString();

describe("bridge_protocol_version mqttv50: CONNECT and CONNACK", () => {
  test("[MQTT-3.1.2-4] cleansession true: level 5 (no 0x84 bridge bit), Clean Start 1, no Session Expiry Interval, Receive Maximum and Maximum Packet Size of this broker (hand-typed bytes)", () => {
    const s = setup([["a", Direction.OUT, 0]], (c) => (c.cleanSession = true));
    s.h.advance(250);
    s.up.up();
    // 10 1c | 0004 MQTT | 05 | flags 02 | keep alive 60 | properties 8: 0x21 100, 0x27 1048576 | "edge.up"
    expect(s.up.takeHex()).toEqual(["101c" + "00044d515454" + "05" + "02" + "003c" + "08" + "210064" + "2700100000" + "0007656467652e7570"]);
  });

  test("[MQTT-3.1.2-5, MQTT-3.1.2-23] cleansession false: Clean Start 0 with Session Expiry Interval 0xFFFFFFFF, so the upstream keeps the session; the notification will at QoS 1, retained", () => {
    const s = setup([["a", Direction.OUT, 0]], (c) => (c.notifications = true), { maxInboundQos2: 30, maxPacketSize: 5000 });
    s.h.advance(250);
    s.up.up();
    const [c] = s.up.take();
    expect(c).toMatchObject({ protocolLevel: 5, cleanSession: false, willFlag: true, willQos: 1, willRetain: true, willTopic: NOTIFY, keepAlive: 60 });
    expect(c.props).toEqual({ sessionExpiryInterval: 4294967295, receiveMaximum: 30, maximumPacketSize: 5000 });
  });

  test("bridge_session_expiry_interval and bridge_receive_maximum set the CONNECT's properties", () => {
    const s = setup([["a", Direction.OUT, 0]], (c) => {
      c.sessionExpiry = 600;
      c.receiveMaximum = 5;
    });
    s.h.advance(250);
    s.up.up();
    expect(s.up.take()[0].props).toEqual({ sessionExpiryInterval: 600, receiveMaximum: 5, maximumPacketSize: 1048576 });
  });

  test("[MQTT-3.2.2-7] CONNACK 0x86: logged with the reason code's name and string, retried after the backoff", () => {
    const s = setup([["a", Direction.OUT, 0]]);
    s.h.advance(250);
    s.up.up();
    s.up.send(v5({ type: 2, sessionPresent: false, returnCode: 0x86, props: { reasonString: "who are you" } }));
    expect(s.up.link.closes).toBe(1);
    expect(s.h.logs.some((l) => /refused the connection, CONNACK 0x86 bad user name or password: who are you/.test(l))).toBe(true);
    expect(s.br.state).toBe(LinkState.WAITING);
    s.h.advance(1100);
    expect(s.up.link.opens).toBe(2);
  });

  test("CONNACK 0x9A (retain not supported) to the retained notification will: retried at once with a will without RETAIN", () => {
    const s = setup([["a", Direction.OUT, 0]], (c) => (c.notifications = true));
    s.h.advance(250);
    s.up.up();
    expect(s.up.take()[0].willRetain).toBe(true);
    s.up.send(v5({ type: 2, sessionPresent: false, returnCode: 0x9a, props: {} }));
    s.h.advance(250);
    expect(s.up.link.opens).toBe(2);
    s.up.up();
    expect(s.up.take()[0]).toMatchObject({ willFlag: true, willRetain: false, willQos: 1 });
  });
});

describe("bridge_protocol_version mqttv50: subscriptions", () => {
  test("[MQTT-3.8.3-3, MQTT-3.3.1-13] SUBSCRIBE of in/both lines with No Local and Retain As Published (no loops without the 0x84 marker); UNSUBSCRIBE in 5.0 form", () => {
    const s = setup(
      [
        ["o/#", Direction.OUT, 1, "", "edge/"],
        ["cmd/#", Direction.IN, 2, "local/", "central/"],
        ["b/#", Direction.BOTH, 0],
      ],
      (c) => (c.attemptUnsubscribe = true),
    );
    const after = connect(s);
    expect(after).toEqual([
      { type: 10, packetId: 1, filters: ["edge/o/#"], props: {} },
      { type: 8, packetId: 2, filters: [["central/cmd/#", 2, true, true, 0], ["b/#", 0, true, true, 0]], props: {} },
    ]);
    // SUBACK with a 5.0 failure code is logged by name.
    s.up.send(v5({ type: 9, packetId: 2, returnCodes: [2, 0x87], props: {} }));
    expect(s.h.logs.some((l) => /refused the subscription to b\/# \(0x87 not authorised\)/.test(l))).toBe(true);
  });
});

describe("bridge_protocol_version mqttv50: messages going up", () => {
  test("[MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.2-6] a 5.0 client's message goes up with its properties, in order, and what is left of its expiry; a 3.1.1 client's without", () => {
    const s = setup([["#", Direction.OUT, 1, "sensors/", "site1/sensors/"]]);
    connect(s);
    const pub = client5(s.h, "dev5");
    const props = { payloadFormatIndicator: 1, messageExpiryInterval: 120, contentType: "text/plain", userProperties: [["unit", "C"], ["room", "kitchen"], ["unit", "again"]] };
    s.h.send(pub, p5.publish("sensors/t1", "21.5", { qos: 1, id: 7, retain: true, props }));
    const [up] = s.up.take();
    expect(up).toMatchObject({ type: 3, topic: "site1/sensors/t1", qos: 1, retain: true, packetId: 1 });
    expect(text(up)).toBe("21.5");
    expect(up.props).toEqual(props);
    s.up.send(p5.ack(4, 1));
    expect(bridgePending(s.set, 0)).toBe(0);
    const old = client311(s.h, "dev3");
    s.h.send(old, pkt.publish("sensors/t2", "q0"));
    expect(s.up.take()).toEqual([{ type: 3, dup: false, qos: 0, retain: false, topic: "site1/sensors/t2", payloadHex: Buffer.from("q0").toString("hex"), props: {} }]);
  });

  test("[MQTT-3.3.2-6, MQTT-3.3.2-5] queued while the upstream is away: the expiry counts the wait; a message whose expiry passed is not sent", () => {
    const s = setup([["q/#", Direction.OUT, 1]]);
    const pub = client5(s.h, "dev");
    s.h.send(pub, p5.publish("q/long", "a", { qos: 1, id: 1, props: { messageExpiryInterval: 100 } }));
    s.h.send(pub, p5.publish("q/short", "b", { qos: 1, id: 2, props: { messageExpiryInterval: 2 } }));
    s.h.advance(10000);
    while (s.br.state !== LinkState.OPENING) s.h.advance(250);
    s.up.up();
    s.up.take();
    s.up.send(connack5());
    const sent = s.up.take();
    expect(sent.map((r) => r.topic)).toEqual(["q/long"]);
    expect((sent[0].props as Props).messageExpiryInterval).toBeLessThanOrEqual(91);
    expect(s.h.logs.some((l) => /message on q\/short not sent upstream: its Message Expiry Interval has passed/.test(l))).toBe(true);
  });

  test("[MQTT-3.3.4-9, MQTT-3.2.2-11, MQTT-3.2.2-14] the upstream's Receive Maximum bounds the in-flight window, its Maximum QoS the QoS, Retain Available 0 clears RETAIN", () => {
    const s = setup([["w/#", Direction.OUT, 2]], (c) => (c.maxInflight = 20));
    connect(s, { receiveMaximum: 2, maximumQos: 1, retainAvailable: 0 });
    const pub = client5(s.h, "dev");
    for (let i = 1; i <= 3; i++) s.h.send(pub, p5.publish("w/" + i, "m", { qos: 2, id: i, retain: true }));
    const sent = s.up.take();
    expect(sent.map((r) => [r.topic, r.qos, r.retain])).toEqual([
      ["w/1", 1, false],
      ["w/2", 1, false],
    ]);
    s.up.send(p5.ack(4, sent[0].packetId as number));
    expect(s.up.take().map((r) => [r.topic, r.qos])).toEqual([["w/3", 1]]);
  });

  test("[MQTT-3.3.4-9, MQTT-4.4.0-1] an upstream back with a lower Receive Maximum gets that many unacknowledged messages again, the others in order as it acknowledges", () => {
    const s = setup([["w/#", Direction.OUT, 1]], (c) => (c.maxInflight = 20));
    connect(s, { receiveMaximum: 4 });
    const pub = client5(s.h, "dev");
    for (let i = 1; i <= 4; i++) s.h.send(pub, p5.publish("w/" + i, "m", { qos: 1, id: i }));
    const first = s.up.take();
    expect(first.map((r) => r.topic)).toEqual(["w/1", "w/2", "w/3", "w/4"]);
    s.up.down();
    s.h.advance(1100);
    s.up.up();
    s.up.take();
    s.up.send(connack5({ receiveMaximum: 2 }, true));
    const again = s.up.take();
    expect(again.map((r) => [r.topic, r.dup, r.packetId]), "two, the new Receive Maximum").toEqual([
      ["w/1", true, first[0].packetId],
      ["w/2", true, first[1].packetId],
    ]);
    // w/4 was not sent again on this connection: its PUBACK ends it and sends nothing more.
    s.up.send(p5.ack(4, first[3].packetId as number));
    expect(s.up.take()).toEqual([]);
    s.up.send(p5.ack(4, first[0].packetId as number));
    expect(s.up.take().map((r) => [r.topic, r.dup])).toEqual([["w/3", true]]);
    s.up.send(p5.ack(4, first[1].packetId as number) + p5.ack(4, first[2].packetId as number));
    expect(s.up.take()).toEqual([]);
    expect(s.br.flightCount).toBe(0);
  });

  test("[MQTT-3.2.2-15] a message larger than the upstream's Maximum Packet Size is not sent, with a log line; the next one goes", () => {
    const s = setup([["big/#", Direction.OUT, 1]]);
    connect(s, { maximumPacketSize: 64 });
    const pub = client5(s.h, "dev");
    s.h.send(pub, p5.publish("big/1", "x".repeat(100), { qos: 1, id: 1 }));
    s.h.send(pub, p5.publish("big/2", "small", { qos: 1, id: 2 }));
    expect(s.up.take().map((r) => r.topic)).toEqual(["big/2"]);
    expect(s.h.logs.some((l) => /message on big\/1 not sent upstream: it is larger than the upstream's Maximum Packet Size \(64 bytes\)/.test(l))).toBe(true);
    expect(bridgePending(s.set, 0)).toBe(1);
  });

  test("[MQTT-3.4.2-1] PUBACK 0x87 ends the flow with a log line; PUBREC 0x80 ends a QoS 2 flow without PUBREL", () => {
    const s = setup([["r/#", Direction.OUT, 2]]);
    connect(s);
    const pub = client5(s.h, "dev");
    s.h.send(pub, p5.publish("r/1", "a", { qos: 1, id: 1 }));
    s.h.send(pub, p5.publish("r/2", "b", { qos: 2, id: 2 }));
    const sent = s.up.take();
    s.up.send(p5.ack(4, sent[0].packetId as number, 0x87));
    s.up.send(p5.ack(5, sent[1].packetId as number, 0x80));
    expect(s.up.take()).toEqual([]);
    expect(bridgePending(s.set, 0)).toBe(0);
    expect(s.h.logs.some((l) => /refused the message on r\/1 \(0x87 not authorised\)/.test(l))).toBe(true);
    expect(s.h.logs.some((l) => /refused the message on r\/2 \(0x80 unspecified error\)/.test(l))).toBe(true);
  });

  test("[MQTT-3.2.2-21] the upstream's Server Keep Alive replaces keepalive_interval", () => {
    const s = setup([["a", Direction.OUT, 0]], (c) => (c.keepAlive = 60));
    connect(s, { serverKeepAlive: 5 });
    s.h.advance(4100);
    expect(s.up.takeHex()).toEqual(["c000"]);
  });
});

describe("bridge_protocol_version mqttv50: messages coming down", () => {
  test("[MQTT-3.3.2-17, MQTT-3.3.2-18, MQTT-3.3.4-4] a message from upstream keeps its properties locally (Subscription Identifiers of the upstream are its own and dropped); the acknowledgement is 5.0's short PUBACK", () => {
    const s = setup([["cmd/#", Direction.IN, 1, "local/", "central/"]]);
    const sub5 = client5(s.h, "dev5", [["local/#", 1]]);
    const sub3 = client311(s.h, "dev3", [["local/#", 1]]);
    connect(s);
    const props = { contentType: "application/json", responseTopic: "central/reply", correlationDataHex: "0102", userProperties: [["from", "central"], ["n", "1"]] };
    // Built from a record, then given two Subscription Identifiers as a server may (0x0B 3, 0x0B 9).
    const plain = v5({ type: 3, dup: false, qos: 1, retain: false, topic: "central/cmd/go", packetId: 9, payloadHex: "6e6f77", props });
    const b = Buffer.from(plain, "hex");
    const at = 2 + 2 + "central/cmd/go".length + 2; // fixed header (2 bytes), topic, packet id: the Property Length
    const body = Buffer.concat([b.subarray(2, at), Buffer.from([b[at] + 4, 0x0b, 3, 0x0b, 9]), b.subarray(at + 1)]);
    s.up.send(Buffer.concat([Buffer.from([0x32, body.length]), body]).toString("hex"));
    expect(s.up.takeHex()).toEqual(["40020009"]);
    const [got] = take5(s.h, sub5);
    expect(got).toMatchObject({ type: 3, topic: "local/cmd/go", qos: 1 });
    expect(text(got)).toBe("now");
    expect(got.props).toEqual(props); // no subscriptionIds: dev5 subscribed without one
    expect(s.h.take(sub3)).toEqual([pkt.publish("local/cmd/go", "now", { qos: 1, id: 1 })]);
  });

  test("[MQTT-3.3.2-6] the Message Expiry Interval from upstream goes on counting locally", () => {
    const s = setup([["cfg/#", Direction.IN, 1]]);
    connect(s);
    s.up.send(p5.publish("cfg/rate", "10", { qos: 1, id: 1, retain: true, props: { messageExpiryInterval: 30 } }));
    s.h.advance(10000);
    const late = client5(s.h, "late");
    s.h.send(late, p5.subscribe(2, [["cfg/#", 1]]));
    const got = take5(s.h, late).filter((r) => r.type === 3);
    expect(got.length).toBe(1);
    const left = (got[0].props as Props).messageExpiryInterval as number;
    expect(left).toBeGreaterThan(15);
    expect(left).toBeLessThanOrEqual(20);
  });

  test("no loops: a both line does not send a message from upstream back up; a local message on it goes up once", () => {
    const s = setup([["b/#", Direction.BOTH, 1]]);
    const sub = client5(s.h, "dev", [["b/#", 1]]);
    connect(s);
    s.up.send(p5.publish("b/echo", "from upstream", { qos: 1, id: 3 }));
    expect(s.up.takeHex()).toEqual(["40020003"]);
    expect(take5(s.h, sub).length).toBe(1);
    const pub = client5(s.h, "pub");
    s.h.send(pub, p5.publish("b/local", "up", { qos: 1, id: 1 }));
    expect(s.up.take().map((r) => r.topic)).toEqual(["b/local"]);
  });

  test("[MQTT-3.1.2-26] a Topic Alias from the upstream (the bridge announces none): DISCONNECT 0x94 and reconnect", () => {
    const s = setup([["t/#", Direction.IN, 0]]);
    connect(s);
    s.up.send(p5.publish("t/1", "x", { props: { topicAlias: 1 } }));
    expect(s.up.takeHex()).toEqual(["e00194"]);
    expect(s.up.link.closes).toBe(1);
    expect(s.br.state).toBe(LinkState.WAITING);
  });
});

describe("bridge_protocol_version mqttv50: disconnects", () => {
  test("[MQTT-3.14.2-1] DISCONNECT 0x8B from the upstream: logged with its reason and reason string, unacknowledged messages go again after the reconnect", () => {
    const s = setup([["d/#", Direction.OUT, 1]]);
    connect(s);
    const pub = client5(s.h, "dev");
    s.h.send(pub, p5.publish("d/1", "m1", { qos: 1, id: 1, props: { userProperties: [["k", "v"]] } }));
    expect(s.up.take().length).toBe(1);
    s.up.send(p5.disconnect(0x8b, { reasonString: "maintenance" }));
    expect(s.h.logs.some((l) => /connection lost \(upstream sent DISCONNECT 0x8b server shutting down: maintenance\); next attempt in 1000 ms/.test(l))).toBe(true);
    expect(s.up.link.closes).toBe(1);
    s.h.advance(1100);
    expect(s.up.link.opens).toBe(2);
    s.up.up();
    s.up.take();
    s.up.send(connack5({}, true));
    const again = s.up.take();
    expect(again.map((r) => [r.topic, r.dup, r.packetId])).toEqual([["d/1", true, 1]]);
    expect((again[0].props as Props).userProperties).toEqual([["k", "v"]]);
  });

  test("shutdown: state 0 upstream as a 5.0 PUBLISH, then DISCONNECT (Normal disconnection)", async () => {
    const { brokerShutdown } = await import("../../../src/broker/broker");
    const s = setup([["a", Direction.OUT, 0]], (c) => (c.notifications = true));
    connect(s);
    brokerShutdown(s.h.broker);
    const hex = s.up.takeHex();
    expect(hex.length).toBe(2);
    expect(rec(hex[0])).toMatchObject({ type: 3, topic: NOTIFY, retain: true, qos: 0, props: {} });
    expect(text(rec(hex[0]))).toBe("0");
    expect(hex[1]).toBe("e000");
  });
});
