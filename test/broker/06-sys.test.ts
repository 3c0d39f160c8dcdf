import { describe, expect, test } from "vitest";
import { brokerSysPublish } from "../../src/broker/broker";
import { harness, pkt } from "./harness";

describe("$SYS topics (in-memory)", () => {
  test("[SRV-IMPL-18] statistics are published retained under $SYS; '#' does not see them (MQTT-4.7.2-1)", () => {
    const h = harness();
    const all = h.open();
    h.send(all, pkt.connect("all") + pkt.subscribe(1, [["#", 0]]));
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("a", "1") + pkt.publish("b", "2", { retain: true }));
    h.take(all);
    brokerSysPublish(h.broker, "9.9.9", 42);
    expect(h.take(all)).toEqual([]);
    const sys = h.open();
    h.send(sys, pkt.connect("sys") + pkt.subscribe(1, [["$SYS/broker/#", 0]]));
    const got = new Map<string, string>();
    for (const hex of h.take(sys).slice(2)) {
      const b = Buffer.from(hex, "hex");
      const tl = b.readUInt16BE(2);
      got.set(b.subarray(4, 4 + tl).toString(), b.subarray(4 + tl).toString());
      expect(b[0]).toBe(0x31); // retained, QoS 0
    }
    expect(got.get("$SYS/broker/version")).toBe("midge version 9.9.9");
    expect(got.get("$SYS/broker/uptime")).toBe("42 seconds");
    expect(got.get("$SYS/broker/clients/connected")).toBe("2");
    expect(got.get("$SYS/broker/messages/received")).toBe("2");
    expect(got.get("$SYS/broker/retained messages/count")).toBe("1");
    expect(got.get("$SYS/broker/subscriptions/count")).toBe("1");
    expect(got.get("$SYS/broker/tables/sessions/used")).toBe("2");
    expect(got.get("$SYS/broker/tables/sessions/size")).toBe("16");
    expect(Number(got.get("$SYS/broker/bytes/received"))).toBeGreaterThan(20);
  });
});

describe("$SYS and the retained limits", () => {
  test("[SRV-IMPL-9] $SYS messages do not take the room maxRetained keeps for clients", () => {
    const h = harness({ maxRetained: 1 });
    brokerSysPublish(h.broker, "1.0.0", 1);
    const p = h.open();
    h.send(p, pkt.connect("p") + pkt.publish("app/r", "kept", { retain: true }));
    expect(h.logs.join("\n")).not.toMatch(/Retained store full/);
    h.send(p, pkt.publish("app/s", "over", { retain: true }));
    expect(h.logs.join("\n")).toMatch(/Retained store full/);
    brokerSysPublish(h.broker, "1.0.0", 2); // replacing $SYS values keeps working
    const s = h.open();
    h.send(s, pkt.connect("s") + pkt.subscribe(1, [["app/#", 0]]));
    expect(h.take(s)).toEqual(["20020000", "9003000100", pkt.publish("app/r", "kept", { retain: true })]);
  });
});
