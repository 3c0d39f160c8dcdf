/** Record checks of src/broker/restore.ts that no store format can express (duplicates a store's keys forbid). */
import { describe, expect, test } from "vitest";
import { restoreInbound } from "../../src/broker/delivery";
import { restoreInboundId, restoreMessage, restoreRetained, restoreSession, restoreSessionExpiry, restoreSessionWill, restoreSubscription5, storedMessage5 } from "../../src/broker/restore";
import type { Bytes } from "../../src/bytes/bytes";
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

  test("MQTT 5.0 fields that are not valid are refused with a log line: properties, expiry, identifiers, subscription options", () => {
    const h = harness();
    const b = h.broker;
    const bytes = (a: number[]) => new Uint8Array(a) as unknown as Bytes;
    const none = bytes([]);
    const slot = restoreSession(b, "p", 1);
    expect(restoreSessionExpiry(b, slot, -5, -1)).toBe(false);
    expect(restoreSessionExpiry(b, slot, 4294967296, -1)).toBe(false);
    expect(restoreSessionExpiry(b, slot, 60, -1)).toBe(true);
    expect(b.sessions[slot].expiresAt).toBe(h.now.ms + 60000); // was connected: counts from now
    expect(restoreSubscription5(b, slot, "a", 1, 4, 0)).toBe(false);
    expect(restoreSubscription5(b, slot, "b", 1, 1, 268435456)).toBe(false);
    expect(restoreSubscription5(b, slot, "c", 1, 3, 268435455)).toBe(true);
    // Content Type "x": fine; Message Expiry Interval in the properties, a truncated one, an unknown id: not.
    const contentType = bytes([0x03, 0x00, 0x01, 0x78]);
    expect(restoreMessage(b, slot, 1, storedMessage5("t", none, 1, contentType, -1, [7]), false, 0, 0)).toBe(true);
    expect(restoreMessage(b, slot, 2, storedMessage5("t", none, 1, bytes([0x02, 0, 0, 0, 5]), -1, []), false, 0, 0)).toBe(false);
    expect(restoreMessage(b, slot, 3, storedMessage5("t", none, 1, bytes([0x03, 0x00, 0x05, 0x78]), -1, []), false, 0, 0)).toBe(false);
    expect(restoreMessage(b, slot, 4, storedMessage5("t", none, 1, bytes([0x7f]), -1, []), false, 0, 0)).toBe(false);
    expect(restoreMessage(b, slot, 5, storedMessage5("t", none, 1, none, -1, [0]), false, 0, 0)).toBe(false);
    expect(restoreMessage(b, slot, 6, storedMessage5("t", none, 1, none, -7, []), false, 0, 0)).toBe(false);
    expect(restoreRetained(b, storedMessage5("r", bytes([1]), 0, bytes([0x23, 0, 1]), -1, []))).toBe(false); // Topic Alias
    expect(restoreSessionWill(b, slot, -1, storedMessage5("w", none, 0, none, -1, []), false)).toBe(false);
    expect(restoreSessionWill(b, slot, 5000, storedMessage5("w/+", none, 0, none, -1, []), false)).toBe(false);
    expect(restoreSessionWill(b, slot, 5000, storedMessage5("w", none, 0, contentType, -1, []), true)).toBe(true);
    const bad = "MQTT 5.0 fields (expiry, properties, subscription options) not valid.";
    expect(h.logs).toEqual([
      "Stored session expiry of p refused: " + bad,
      "Stored session expiry of p refused: " + bad,
      "Stored subscription a of p refused: " + bad,
      "Stored subscription b of p refused: " + bad,
      "Stored message 2 of p refused: " + bad,
      "Stored message 3 of p refused: " + bad,
      "Stored message 4 of p refused: " + bad,
      "Stored message 5 of p refused: " + bad,
      "Stored message 6 of p refused: " + bad,
      "Stored retained message on r refused: " + bad,
      "Stored will of p refused: " + bad,
      "Stored will of p refused: not a valid topic name.",
    ]);
  });
});
