import { describe, expect, test } from "vitest";
import { brokerOpen, brokerSetPolicy } from "../../src/broker/broker";
import { Policy } from "../../src/platform";
import { CONNACK_OK, harness, pkt } from "./harness";

// brokerOpen(b, peer, identity): a user name vouched for by the transport (the CN of a verified
// TLS client certificate, use_identity_as_username) replaces the CONNECT's user name, and the
// password is not checked.
describe("connection identity (use_identity_as_username)", () => {
  function recording(seen: string[]): Policy {
    return {
      authenticate: (_id, hasUsername, username) => {
        seen.push("auth " + (hasUsername ? username : "-"));
        return 5;
      },
      allow: (_id, hasUsername, username, topic) => {
        seen.push("allow " + (hasUsername ? username : "-") + " " + topic);
        return true;
      },
    };
  }

  test("the identity is the user name for every check; authenticate is not asked", () => {
    const h = harness();
    const seen: string[] = [];
    brokerSetPolicy(h.broker, recording(seen));
    const c = brokerOpen(h.broker, "test:9", "alice");
    h.send(c, pkt.connect("a", { will: { topic: "w", payload: "x" } }) + pkt.subscribe(1, [["t/#", 0]]));
    expect(h.take(c)[0]).toBe(CONNACK_OK);
    expect(seen).toEqual(["allow alice w", "allow alice t/#"]);
  });

  test("without an identity the policy authenticates as before", () => {
    const h = harness();
    const seen: string[] = [];
    brokerSetPolicy(h.broker, recording(seen));
    const c = h.open();
    h.send(c, pkt.connect("a"));
    expect(h.take(c)).toEqual(["20020005"]);
    expect(seen).toEqual(["auth -"]);
  });

  test("a reused slot forgets the previous connection's identity", () => {
    const h = harness({ maxConnections: 1 });
    const seen: string[] = [];
    brokerSetPolicy(h.broker, recording(seen));
    const first = brokerOpen(h.broker, "test:9", "alice");
    h.peerClose(first);
    const c = h.open();
    expect(c).toBe(first);
    h.send(c, pkt.connect("b"));
    expect(h.take(c)).toEqual(["20020005"]);
  });
});
