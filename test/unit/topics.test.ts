// Topic names, filters and matching (§4.7), driven by test/fixtures/topics.json.
import { describe, it, expect } from "vitest";
import { isValidFilter, isValidTopicName, topicMatches } from "../../src/topics/topic";
import { TopicFixtures, loadFixture, label } from "./helpers";

const t = loadFixture<TopicFixtures>("topics.json");

const show = (s: string) => JSON.stringify(s);

describe("topics.json itself", () => {
  it("uses only valid filters and valid topic names in the match tables", () => {
    for (const row of t.match.concat(t.noMatch)) {
      expect(isValidFilter(row[0]), "filter " + show(row[0])).toBe(true);
      expect(isValidTopicName(row[1]), "topic " + show(row[1])).toBe(true);
    }
  });

  it("gives spec ids on every row", () => {
    for (const row of t.match.concat(t.noMatch)) expect(row.length, show(row[0])).toBeGreaterThan(2);
    const singles = t.validFilters.concat(t.invalidFilters, t.validTopics, t.invalidTopics);
    for (const row of singles) expect(row.length, show(row[0])).toBeGreaterThan(1);
  });
});

describe("topicMatches: matching rows", () => {
  for (const row of t.match) {
    it(label(row.slice(2), show(row[0]) + " matches " + show(row[1])), () => {
      expect(topicMatches(row[0], row[1])).toBe(true);
    });
  }
});

describe("topicMatches: non-matching rows", () => {
  for (const row of t.noMatch) {
    it(label(row.slice(2), show(row[0]) + " does not match " + show(row[1])), () => {
      expect(topicMatches(row[0], row[1])).toBe(false);
    });
  }
});

describe("isValidFilter", () => {
  for (const row of t.validFilters) {
    it(label(row.slice(1), show(row[0]) + " is a valid filter"), () => {
      expect(isValidFilter(row[0])).toBe(true);
    });
  }
  for (const row of t.invalidFilters) {
    it(label(row.slice(1), show(row[0]) + " is not a valid filter"), () => {
      expect(isValidFilter(row[0])).toBe(false);
    });
  }
});

describe("isValidTopicName", () => {
  for (const row of t.validTopics) {
    it(label(row.slice(1), show(row[0]) + " is a valid topic name"), () => {
      expect(isValidTopicName(row[0])).toBe(true);
    });
  }
  for (const row of t.invalidTopics) {
    it(label(row.slice(1), show(row[0]) + " is not a valid topic name"), () => {
      expect(isValidTopicName(row[0])).toBe(false);
    });
  }
});

describe("properties over every valid topic name in the tables", () => {
  const topics: string[] = [];
  const add = (topic: string) => {
    if (topics.indexOf(topic) < 0) topics.push(topic);
  };
  for (const row of t.validTopics) add(row[0]);
  for (const row of t.match.concat(t.noMatch)) add(row[1]);
  const levels = (s: string) => s.split("/").length;

  it("[MQTT-4.7.3-4] a topic name is a valid filter that matches exactly itself", () => {
    for (const topic of topics) {
      expect(isValidFilter(topic), show(topic)).toBe(true);
      expect(topicMatches(topic, topic), show(topic)).toBe(true);
    }
    for (const a of topics) for (const b of topics) if (a !== b) expect(topicMatches(a, b), show(a) + " vs " + show(b)).toBe(false);
  });

  it("[MQTT-4.7.1-2 MQTT-4.7.2-1] # matches every topic that does not start with $", () => {
    for (const topic of topics) expect(topicMatches("#", topic), show(topic)).toBe(topic.charAt(0) !== "$");
  });

  it("[MQTT-4.7.1-3 MQTT-4.7.2-1] + matches exactly the one-level topics not starting with $", () => {
    for (const topic of topics) {
      expect(topicMatches("+", topic), show(topic)).toBe(levels(topic) === 1 && topic.charAt(0) !== "$");
      expect(topicMatches("+/+", topic), show(topic)).toBe(levels(topic) === 2 && topic.charAt(0) !== "$");
    }
  });

  it("[MQTT-4.7.1-2] x/# matches x and everything below it", () => {
    for (const topic of topics) {
      if (topic.charAt(0) === "$") continue;
      const parts = topic.split("/");
      for (let n = 1; n <= parts.length; n++) {
        const prefix = parts.slice(0, n).join("/");
        expect(topicMatches(prefix + "/#", topic), show(prefix + "/#") + " vs " + show(topic)).toBe(true);
      }
    }
  });

  it("[MQTT-4.7.1-3] replacing any one level by + still matches", () => {
    for (const topic of topics) {
      const parts = topic.split("/");
      for (let i = 0; i < parts.length; i++) {
        if (i === 0 && topic.charAt(0) === "$") continue;
        const f = parts.slice(0, i).concat(["+"], parts.slice(i + 1)).join("/");
        expect(topicMatches(f, topic), show(f) + " vs " + show(topic)).toBe(true);
      }
    }
  });
});
