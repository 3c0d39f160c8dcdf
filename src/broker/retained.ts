import { bytesLength } from "../bytes/bytes";
import { logf } from "../log/log";
import { Msg } from "../log/messages";
import { LogLevel } from "../platform";
import { storeOf } from "./persist";
import { Broker, Message } from "./state";

/** The retained store: one message per topic name (MQTT-3.3.1-5), bounded in count and bytes. */

function messageBytes(m: Message): number {
  return bytesLength(m.topicBytes) + bytesLength(m.payload);
}

/** Drops the retained message of a topic from memory; returns whether there was one. */
function retainedRemove(b: Broker, topic: string): boolean {
  const key = "t" + topic;
  const slot = b.retainedIndex[key];
  if (slot === undefined) return false;
  b.retainedBytes -= messageBytes(b.retained[slot]);
  if (topic.charCodeAt(0) === 36 && topic.indexOf("$SYS/") === 0) b.systemRetained--;
  delete b.retainedIndex[key];
  // The hole left at slot is filled from the slots above it and the last slot goes. With no
  // replay under way (replay.ts) the last message fills it at once. A replay's bounds at and
  // end (Broker.rp) split the table into runs (done, still to send, appended since SUBSCRIBE): the hole
  // is filled from the top of its own run, moves to that slot, each bound above it moves down
  // by one as it passes, and so on up to the last slot. Every run keeps its messages, so a
  // replay neither skips a survivor nor sends a message twice, nor one appended since.
  const top = b.retainedCount;
  const span = b.rpSpan;
  let hole = slot;
  for (;;) {
    let q = top;
    for (let i = 0; i < b.rpCount; i++) {
      const at = Math.floor(b.rp[i] / span) % span;
      const end = b.rp[i] % span;
      if (at > hole && at < q) q = at;
      if (end > hole && end < q) q = end;
    }
    if (q - 1 !== hole) {
      const moved = b.retained[q - 1];
      b.retained[hole] = moved;
      b.retainedIndex["t" + moved.topic] = hole;
      hole = q - 1;
    }
    for (let i = 0; i < b.rpCount; i++) {
      // A bound at q moves down by one: at is counted in spans, end in ones.
      if (Math.floor(b.rp[i] / span) % span === q) b.rp[i] -= span;
      if (b.rp[i] % span === q) b.rp[i] -= 1;
    }
    if (q === top) break;
  }
  b.retained.pop();
  b.retainedCount = top - 1;
  b.changes++;
  b.stats.retained = b.retainedCount;
  b.stats.retainedBytes = b.retainedBytes;
  return true;
}

/**
 * Stores m as the retained message of its topic, replacing the previous one. A zero-length
 * payload only deletes (MQTT-3.3.1-10, MQTT-3.3.1-11). When the store is full the message
 * is not retained (it is still delivered; SRV-IMPL-9) and false is returned.
 */
export function retainedStore(b: Broker, m: Message): boolean {
  const existed = retainedRemove(b, m.topic);
  if (bytesLength(m.payload) === 0) {
    const st = existed ? storeOf(b) : undefined;
    if (st !== undefined) st.retainedDelete(m.topic);
    return true;
  }
  const size = messageBytes(m);
  // The broker's own $SYS topics are a small fixed set: they neither use the room the limits
  // keep for clients' retained messages nor go to the store (they are rebuilt at start-up).
  const system = m.topic.charCodeAt(0) === 36 && m.topic.indexOf("$SYS/") === 0;
  if (!system && (b.retainedCount - b.systemRetained >= b.limits.maxRetained || b.retainedBytes + size > b.limits.maxRetainedBytes)) {
    logf(b.log, LogLevel.WARNING, Msg.RETAINED_FULL, b.retainedCount, b.retainedBytes, m.topic);
    const st = existed ? storeOf(b) : undefined;
    if (st !== undefined) st.retainedDelete(m.topic);
    return false;
  }
  const st = system ? undefined : storeOf(b);
  if (st !== undefined) {
    if (MIDGE_FEATURES.mqtt5) st.retainedSet(m.topic, m.payload, m.qos, m.props, m.expiresAt);
    else st.retainedSet(m.topic, m.payload, m.qos);
  }
  if (system) b.systemRetained++;
  b.retained[b.retainedCount] = m;
  b.retainedIndex["t" + m.topic] = b.retainedCount;
  b.retainedCount++;
  b.changes++;
  b.retainedBytes += size;
  b.stats.retained = b.retainedCount;
  b.stats.retainedBytes = b.retainedBytes;
  return true;
}
