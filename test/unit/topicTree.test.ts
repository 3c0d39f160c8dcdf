// The topic tree index must route exactly as the table scan does (topicMatches).
import { describe, expect, it } from "vitest";
import { topicMatches } from "../../src/topics/topic";
import { createTopicTree } from "../../src/topics/topicTree";
import { TopicFixtures, loadFixture, prng } from "./helpers";

const t = loadFixture<TopicFixtures>("topics.json");

function matches(tree: ReturnType<typeof createTopicTree>, topic: string): number[] {
  const out: number[] = [];
  const n = tree.match(topic, out);
  return out.slice(0, n).sort((a, b) => a - b);
}

describe("topic tree index", () => {
  it("agrees with topicMatches on every row of topics.json", () => {
    const rows = t.match.concat(t.noMatch);
    const tree = createTopicTree();
    rows.forEach((row, slot) => tree.add(slot, row[0]));
    for (const row of rows) {
      const want = rows.map((r, slot) => (topicMatches(r[0], row[1]) ? slot : -1)).filter((s) => s >= 0);
      expect(matches(tree, row[1]), row[1]).toEqual(want);
    }
  });

  it("agrees with topicMatches on 2,000 random filter sets (seeded), through adds and removes", () => {
    const rand = prng(20261125);
    const levels = ["a", "b", "", "$x", "+", "#"];
    const pick = (): string => levels[Math.floor(rand() * levels.length)];
    const randomFilter = (): string => {
      const n = 1 + Math.floor(rand() * 4);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const l = pick();
        if (l === "#") {
          parts.push("#");
          break;
        }
        parts.push(l);
      }
      return parts.join("/");
    };
    const randomTopic = (): string => {
      const n = 1 + Math.floor(rand() * 4);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) parts.push(["a", "b", "", "$x"][Math.floor(rand() * 4)]);
      return parts.join("/");
    };
    for (let round = 0; round < 2000; round++) {
      const tree = createTopicTree();
      const filters: string[] = [];
      for (let i = 0; i < 12; i++) {
        filters.push(randomFilter());
        tree.add(i, filters[i]);
      }
      const removed = new Set<number>();
      for (let i = 0; i < 4; i++) {
        const slot = Math.floor(rand() * 12);
        if (!removed.has(slot)) tree.remove(slot, filters[slot]);
        removed.add(slot);
      }
      const topic = randomTopic();
      const want = filters.map((f, slot) => (!removed.has(slot) && topicMatches(f, topic) ? slot : -1)).filter((s) => s >= 0);
      expect(matches(tree, topic), `${JSON.stringify(filters)} ${topic}`).toEqual(want);
    }
  });

  it("exact() finds a filter's slots; removing the last one prunes the path", () => {
    const tree = createTopicTree();
    tree.add(1, "a/b/c");
    tree.add(2, "a/b/c");
    const out: number[] = [];
    expect(tree.exact("a/b/c", out)).toBe(2);
    expect(tree.exact("a/b", out)).toBe(0);
    tree.remove(1, "a/b/c");
    tree.remove(2, "a/b/c");
    expect(tree.exact("a/b/c", out)).toBe(0);
    expect(tree.match("a/b/c", out)).toBe(0);
    tree.add(3, "a/#");
    expect(tree.match("a/b/c", out)).toBe(1);
  });
});
