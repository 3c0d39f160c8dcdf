import { SubscriptionIndex } from "../platform";

/**
 * A topic tree over subscription filters (one node per filter level, '+' and '#' as their own
 * children), so routing costs grow with the topic's depth and the matches, not with the number
 * of subscriptions. Portable: plain objects as string dictionaries, no Map, recursion only as
 * deep as the topic has levels. Keys are prefixed with "k" so no level can clash with Object members.
 */
interface TopicNode {
  children: { [key: string]: TopicNode };
  childCount: number;
  /** Slots of subscriptions whose filter ends at this node. */
  slots: number[];
  slotCount: number;
  parent: TopicNode | undefined;
  key: string;
}

function newNode(parent: TopicNode | undefined, key: string): TopicNode {
  return { children: {}, childCount: 0, slots: [], slotCount: 0, parent: parent, key: key };
}

/** Level i of s starting at position start: end index (exclusive) of the level. */
function levelEnd(s: string, start: number): number {
  const j = s.indexOf("/", start);
  return j < 0 ? s.length : j;
}

function findNode(root: TopicNode, filter: string, create: boolean): TopicNode | undefined {
  let node = root;
  let start = 0;
  for (;;) {
    const end = levelEnd(filter, start);
    const key = "k" + filter.substring(start, end);
    let next = node.children[key];
    if (next === undefined) {
      if (!create) return undefined;
      next = newNode(node, key);
      node.children[key] = next;
      node.childCount++;
    }
    node = next;
    if (end >= filter.length) return node;
    start = end + 1;
  }
}

function collect(node: TopicNode, out: number[], count: number): number {
  let n = count;
  for (let i = 0; i < node.slotCount; i++) {
    out[n] = node.slots[i];
    n++;
  }
  return n;
}

/**
 * Matches the topic's levels from `start` below node. `first` is true at the root, where
 * wildcards do not match topics beginning with '$' (MQTT-4.7.2-1).
 */
function matchFrom(node: TopicNode, topic: string, start: number, first: boolean, out: number[], count: number): number {
  let n = count;
  const dollar = first && topic.charCodeAt(0) === 36;
  if (!dollar) {
    const hash = node.children["k#"];
    if (hash !== undefined) n = collect(hash, out, n); // '#' matches this level and everything below
  }
  const end = levelEnd(topic, start);
  const last = end >= topic.length;
  const exact = node.children["k" + topic.substring(start, end)];
  if (exact !== undefined) n = last ? matchEnd(exact, out, n) : matchFrom(exact, topic, end + 1, false, out, n);
  if (!dollar) {
    const plus = node.children["k+"];
    if (plus !== undefined) n = last ? matchEnd(plus, out, n) : matchFrom(plus, topic, end + 1, false, out, n);
  }
  return n;
}

/** The topic ends at node: its own subscriptions, and "x/#" also matches "x" (MQTT-4.7.1-2). */
function matchEnd(node: TopicNode, out: number[], count: number): number {
  let n = collect(node, out, count);
  const hash = node.children["k#"];
  if (hash !== undefined) n = collect(hash, out, n);
  return n;
}

export function createTopicTree(): SubscriptionIndex {
  const root = newNode(undefined, "");
  return {
    add(slot: number, filter: string): void {
      const node = findNode(root, filter, true) as TopicNode;
      node.slots[node.slotCount] = slot;
      node.slotCount++;
    },
    remove(slot: number, filter: string): void {
      let node = findNode(root, filter, false);
      if (node === undefined) return;
      for (let i = 0; i < node.slotCount; i++) {
        if (node.slots[i] === slot) {
          node.slotCount--;
          node.slots[i] = node.slots[node.slotCount];
          node.slots.pop();
          break;
        }
      }
      // Prune nodes left with nothing, so the tree stays as small as the table.
      while (node !== undefined && node.parent !== undefined && node.slotCount === 0 && node.childCount === 0) {
        const parent: TopicNode = node.parent;
        delete parent.children[node.key];
        parent.childCount--;
        node = parent;
      }
    },
    match(topic: string, out: number[]): number {
      return matchFrom(root, topic, 0, true, out, 0);
    },
    exact(filter: string, out: number[]): number {
      const node = findNode(root, filter, false);
      return node === undefined ? 0 : collect(node, out, 0);
    },
  };
}
