// The QoS engine (src/qos/flows.ts) on its own: the state transitions the broker's sessions
// and the bridges both run on. Sending, logging and persistence are the callers' and are
// covered by test/broker and test/bridge.
import { describe, expect, it } from "vitest";
import {
  FlowState,
  Flows,
  Message,
  NO_MESSAGE,
  flightAcked,
  flightFind,
  flightFromQueue,
  flightReleased,
  flightRemove,
  flightStart,
  flightsRewind,
  flowsCanSend,
  flowsClear,
  flowsRestore,
  inboundAdd,
  inboundClear,
  inboundHas,
  inboundRelease,
  newFlows,
  packetIdInUse,
  packetIdNext,
  queueAdd,
  queueDropOldest,
  queuedQos,
  queuedRetain,
  queuedSeq,
} from "../../src/qos/flows";
import { utf8Encode } from "../../src/bytes/bytes";

function msg(topic: string): Message {
  return { topic: topic, topicBytes: utf8Encode(topic), payload: utf8Encode("x"), qos: 2 };
}

function start(o: Flows, topic: string, qos: number): number {
  const f = flightStart(o, packetIdNext(o), 0, msg(topic), qos, false);
  return f.packetId;
}

function queuedTopics(o: Flows, capacity: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < o.queueCount; k++) out.push(o.queue[(o.queueHead + k) % capacity].topic);
  return out;
}

describe("packet ids", () => {
  it("counts up from 1 and wraps from 65535 to 1, never 0", () => {
    const o = newFlows();
    expect(packetIdNext(o)).toBe(1);
    expect(packetIdNext(o)).toBe(2);
    o.nextPacketId = 65535;
    expect(packetIdNext(o)).toBe(65535);
    expect(packetIdNext(o)).toBe(1);
  });

  it("skips ids still in flight (MQTT-2.3.1-2)", () => {
    const o = newFlows();
    const a = start(o, "a", 1);
    expect(a).toBe(1);
    expect(packetIdInUse(o, 1)).toBe(true);
    o.nextPacketId = 1;
    expect(packetIdNext(o)).toBe(2);
  });
});

describe("in-flight window and queue", () => {
  it("sends straight away only when nothing is queued and the window has room", () => {
    const o = newFlows();
    expect(flowsCanSend(o, 2)).toBe(true);
    start(o, "a", 1);
    start(o, "b", 1);
    expect(flowsCanSend(o, 2)).toBe(false);
    const i = flightAcked(o, 1, 1);
    flightRemove(o, i);
    expect(flowsCanSend(o, 2)).toBe(true);
    queueAdd(o, 4, 0, msg("c"), 1, false);
    expect(flowsCanSend(o, 2)).toBe(false);
  });

  it("keeps the queue a FIFO ring; dropping takes the oldest", () => {
    const o = newFlows();
    const capacity = 3;
    queueAdd(o, capacity, 1, msg("a"), 1, false);
    queueAdd(o, capacity, 2, msg("b"), 1, true);
    queueAdd(o, capacity, 3, msg("c"), 2, false);
    expect(o.queueCount).toBe(3);
    queueDropOldest(o, capacity);
    queueAdd(o, capacity, 4, msg("d"), 1, false);
    expect(queuedTopics(o, capacity)).toEqual(["b", "c", "d"]);
    const f = flightFromQueue(o, capacity, packetIdNext(o));
    expect(f.message.topic).toBe("b");
    expect(f.seq).toBe(2);
    expect(f.retain).toBe(true);
    expect(f.state).toBe(FlowState.AWAIT_ACK);
    expect(queuedTopics(o, capacity)).toEqual(["c", "d"]);
  });

  it("keeps each queued message's sequence number, RETAIN and QoS in one number, every combination", () => {
    const o = newFlows();
    const seqs = [0, 1, 7, 65535, 2 ** 31 + 5, 2 ** 40 + 3];
    const cases: Array<[number, boolean, number]> = [];
    for (const seq of seqs) for (const retain of [false, true]) for (const qos of [0, 1, 2]) cases.push([seq, retain, qos]);
    for (const [seq, retain, qos] of cases) queueAdd(o, cases.length, seq, msg("t"), qos, retain);
    for (let at = 0; at < cases.length; at++) expect([queuedSeq(o, at), queuedRetain(o, at), queuedQos(o, at)]).toEqual(cases[at]);
    for (const [seq, retain, qos] of cases) {
      const f = flightFromQueue(o, cases.length, packetIdNext(o));
      expect([f.seq, f.retain, f.qos]).toEqual([seq, retain, qos]);
      flightRemove(o, 0);
    }
  });

  it("removing a flight keeps the others in send order and recycles the slot", () => {
    const o = newFlows();
    start(o, "a", 1);
    start(o, "b", 1);
    start(o, "c", 1);
    const slot = o.flights[1];
    flightRemove(o, flightFind(o, 2));
    expect(o.flightCount).toBe(2);
    expect(o.flights[0].message.topic).toBe("a");
    expect(o.flights[1].message.topic).toBe("c");
    expect(o.flights[2]).toBe(slot);
    expect(slot.message).toBe(NO_MESSAGE);
    const again = flightStart(o, packetIdNext(o), 0, msg("d"), 1, false);
    expect(again).toBe(slot);
  });
});

describe("acknowledgements", () => {
  it("PUBACK ends a QoS 1 flight only", () => {
    const o = newFlows();
    const one = start(o, "a", 1);
    const two = start(o, "b", 2);
    expect(flightAcked(o, two, 1)).toBe(-1);
    expect(flightAcked(o, 999, 1)).toBe(-1);
    expect(flightAcked(o, one, 1)).toBe(0);
  });

  it("QoS 2: PUBREC moves to AWAIT_PUBCOMP, then PUBCOMP ends it", () => {
    const o = newFlows();
    const one = start(o, "a", 1);
    const two = start(o, "b", 2);
    expect(flightAcked(o, two, 2)).toBe(-1); // PUBCOMP before PUBREC
    expect(flightReleased(o, one)).toBe(-1); // PUBREC for a QoS 1 flight
    expect(flightReleased(o, two)).toBe(1);
    expect(o.flights[1].state).toBe(FlowState.AWAIT_PUBCOMP);
    expect(flightReleased(o, two)).toBe(1); // a repeated PUBREC is answered again
    expect(flightAcked(o, two, 2)).toBe(1);
  });

  it("rewinding puts every flight back to AWAIT_ACK", () => {
    const o = newFlows();
    const two = start(o, "b", 2);
    flightReleased(o, two);
    flightsRewind(o);
    expect(o.flights[0].state).toBe(FlowState.AWAIT_ACK);
  });
});

describe("restore", () => {
  it("puts sent messages in flight with their ids and queues the rest, in order", () => {
    const o = newFlows();
    expect(flowsRestore(o, 2, 2, 5, msg("a"), 1, false, 7, FlowState.AWAIT_ACK)).toBe(true);
    expect(flowsRestore(o, 2, 2, 6, msg("b"), 2, false, 7, FlowState.AWAIT_ACK)).toBe(true); // id taken: queued
    expect(flowsRestore(o, 2, 2, 7, msg("c"), 2, false, 9, FlowState.AWAIT_PUBCOMP)).toBe(true);
    expect(flowsRestore(o, 2, 2, 8, msg("d"), 1, false, 0, 0)).toBe(true);
    expect(flowsRestore(o, 2, 2, 9, msg("e"), 1, false, 0, 0)).toBe(false); // queue full
    expect(flowsRestore(o, 2, 2, 10, msg("f"), 2, false, 11, FlowState.AWAIT_PUBCOMP)).toBe(false); // window full, cannot queue
    expect(o.flightCount).toBe(2);
    expect(o.flights[1].state).toBe(FlowState.AWAIT_PUBCOMP);
    expect(queuedTopics(o, 2)).toEqual(["b", "d"]);
    expect(o.nextSeq).toBe(11);
    expect(o.nextPacketId).toBe(10);
  });
});

describe("inbound QoS 2 ids", () => {
  it("adds, finds and releases; refuses 0, duplicates and past the maximum", () => {
    const o = newFlows();
    expect(inboundAdd(o, 0, 2)).toBe(false);
    expect(inboundAdd(o, 5, 2)).toBe(true);
    expect(inboundAdd(o, 5, 2)).toBe(false);
    expect(inboundAdd(o, 6, 2)).toBe(true);
    expect(inboundAdd(o, 7, 2)).toBe(false);
    expect(inboundHas(o, 5)).toBe(true);
    expect(inboundRelease(o, 5)).toBe(true);
    expect(inboundRelease(o, 5)).toBe(false);
    expect(inboundHas(o, 5)).toBe(false);
    expect(inboundHas(o, 6)).toBe(true);
    inboundClear(o);
    expect(inboundHas(o, 6)).toBe(false);
  });
});

describe("clear", () => {
  it("forgets flights, queue and inbound ids and frees the message references", () => {
    const o = newFlows();
    start(o, "a", 1);
    queueAdd(o, 4, 0, msg("b"), 1, false);
    inboundAdd(o, 3, 4);
    o.queueDropped = 2;
    const slot = o.flights[0];
    flowsClear(o);
    expect(o.flightCount + o.queueCount + o.inboundCount + o.queueDropped).toBe(0);
    expect(slot.message).toBe(NO_MESSAGE);
    expect(o.queue[0]).toBe(NO_MESSAGE);
  });
});
