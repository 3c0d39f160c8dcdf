import { describe, expect, test } from "vitest";
import { CONNACK_OK, harness, pkt } from "./harness";

// Each case: a connected client sends bad bytes; it is closed with a log line naming the
// reason, and a second client keeps publishing and receiving.
const CASES: Array<[string, string, RegExp]> = [
  ["[MQTT-3.3.1-4] PUBLISH with QoS 3", "36050001740001", /invalid QoS/],
  ["[MQTT-3.3.2-2] wildcard in PUBLISH topic", "300500032f2b2f", /wildcard in a topic name/],
  ["[MQTT-1.5.3-1] invalid UTF-8 in topic", "30040002c080", /invalid UTF-8/],
  ["[MQTT-1.5.3-2] U+0000 in topic", "300400026100", /U\+0000/],
  ["[MQTT-3.6.1-1] PUBREL with flags 0000", "60020001", /invalid fixed header flags/],
  ["[MQTT-3.8.1-1] SUBSCRIBE with flags 0000", "8006000100017400", /invalid fixed header flags/],
  ["[MQTT-3.8.3-3] SUBSCRIBE without filters", "82020001", /no topic filters/],
  ["[MQTT-3.8.3-4] SUBSCRIBE requested QoS 3", "8206000100017403", /invalid QoS/],
  ["[MQTT-2.3.1-1] PUBLISH QoS 1 with packet id 0", "3205000174" + "0000", /packet identifier 0/],
  ["[SRV-ENC-3] remaining length over 4 bytes", "30ffffffff01", /longer than 4 bytes/],
  ["[SRV-FH-2] reserved packet type 15", "f000", /reserved packet type/],
  ["[SRV-FH-3] client sends CONNACK", "20020000", /only a server sends/],
  ["[SRV-FH-4] PUBACK with remaining length 3", "4003000100", /wrong remaining length/],
  ["[MQTT-3.3.1-2] QoS 0 PUBLISH with DUP", "380300017478", /DUP set on a QoS 0/],
];

describe("bad input (in-memory)", () => {
  for (const [name, bytes, reason] of CASES) {
    test(`${name}: offender closed with a reason, others unaffected`, () => {
      const h = harness();
      const good = h.open();
      h.send(good, pkt.connect("good") + pkt.subscribe(1, [["g", 1]]));
      h.take(good);
      const bad = h.open();
      h.send(bad, pkt.connect("bad"));
      h.send(bad, bytes);
      expect(h.isClosed(bad)).toBe(true);
      expect(h.logs.join("\n")).toMatch(reason);
      h.send(good, pkt.publish("g", "still here", { qos: 1, id: 2 }));
      expect(h.take(good)).toEqual([pkt.publish("g", "still here", { qos: 1, id: 1 }), "40020002"]);
    });
  }

  test("[SRV-ENC-6] oversized remaining length is refused from the header alone", () => {
    const h = harness({ maxPacketSize: 1024 });
    const c = h.open();
    h.send(c, pkt.connect("c"));
    h.send(c, "30808080" + "05"); // announces 10 MB; no body follows
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/larger than the maximum packet size/);
  });

  test("[MQTT-3.1.4-1] [MQTT-3.2.2-6] malformed CONNECT (password without user name) closes without CONNACK", () => {
    const h = harness();
    const c = h.open();
    h.send(c, "100e00044d5154540442003c0002" + "6964"); // flags 0x42: password, clean, no user name
    expect(h.take(c)).toEqual([]);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/password without user name/);
  });

  test("a flood of garbage before CONNECT closes at the first bad byte", () => {
    const h = harness();
    const c = h.open();
    h.send(c, "00".repeat(10000));
    expect(h.isClosed(c)).toBe(true);
  });

  test("[SRV-FH-1] one byte at a time gives the same result", () => {
    const h = harness();
    const c = h.open();
    const stream = pkt.connect("c") + pkt.subscribe(1, [["t", 0]]) + pkt.publish("t", "bytewise");
    for (let i = 0; i < stream.length; i += 2) h.send(c, stream.slice(i, i + 2));
    expect(h.take(c)).toEqual([CONNACK_OK, "9003000100", pkt.publish("t", "bytewise")]);
  });
});

describe("slow and silent clients (in-memory)", () => {
  test("a packet that never completes is closed after connectTimeoutMs, even with keep alive 0", () => {
    const h = harness({ connectTimeoutMs: 2000 });
    const c = h.open();
    h.send(c, pkt.connect("c", { keepAlive: 0 }));
    const publish = pkt.publish("t", "never finished");
    for (let i = 0; i < 8; i += 2) {
      h.send(c, publish.slice(i, i + 2)); // a byte every 500 ms keeps it incomplete
      h.advance(500);
    }
    expect(h.isClosed(c)).toBe(false);
    h.advance(1000);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/packet not completed within 2 s/);
  });

  test("a client whose replies pile up unread past 2 x maxPendingBytes is closed", () => {
    const h = harness({ maxPendingBytes: 1000 });
    const c = h.open();
    h.send(c, pkt.connect("c"));
    h.pending[c] = 1500;
    h.send(c, pkt.pingreq);
    expect(h.isClosed(c)).toBe(false);
    h.pending[c] = 2500;
    h.send(c, pkt.pingreq);
    expect(h.isClosed(c)).toBe(true);
    expect(h.logs.join("\n")).toMatch(/not reading its replies \(2500 bytes unsent\)/);
  });
});
