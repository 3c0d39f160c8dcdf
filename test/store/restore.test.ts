/** Record checks of src/broker/restore.ts that no store format can express (duplicates a store's keys forbid). */
import { describe, expect, test } from "vitest";
import { restoreInbound } from "../../src/broker/delivery";
import { restoreInboundId, restoreSession } from "../../src/broker/restore";
import { harness } from "../broker/harness";

describe("restore checks", () => {
  test("restoreInbound refuses id 0, a duplicate and more than maxInboundQos2", () => {
    const h = harness({ maxInboundQos2: 2 });
    const slot = restoreSession(h.broker, "p", 1);
    const s = h.broker.sessions[slot];
    expect(restoreInbound(h.broker, s, 0)).toBe(false);
    expect(restoreInbound(h.broker, s, 5)).toBe(true);
    expect(restoreInbound(h.broker, s, 5)).toBe(false);
    expect(restoreInbound(h.broker, s, 6)).toBe(true);
    expect(restoreInbound(h.broker, s, 7)).toBe(false);
    expect(s.inboundIds.slice(0, s.inboundCount)).toEqual([5, 6]);
  });

  test("a duplicate inbound id or session is dropped with a log line", () => {
    const h = harness();
    const slot = restoreSession(h.broker, "p", 1);
    expect(restoreInboundId(h.broker, slot, 70000)).toBe(false);
    expect(restoreInboundId(h.broker, slot, 5)).toBe(true);
    expect(restoreInboundId(h.broker, slot, 5)).toBe(false);
    expect(restoreSession(h.broker, "p", 1)).toBe(-1);
    expect(h.logs).toEqual([
      "Stored inbound QoS 2 id 70000 of p refused: packet id not in 1..65535.",
      "Stored inbound QoS 2 id 5 of p dropped: a duplicate or over maxInboundQos2.",
      "Stored session p (with its subscriptions and messages) refused: a duplicate.",
    ]);
  });
});
