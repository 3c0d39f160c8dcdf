import { isValidFilter, isValidTopicName, topicMatches } from "../topics/topic";

/**
 * Bridge `topic` lines and topic remapping, with mosquitto's rules (mosquitto.conf(5), "topic
 * pattern [[[ out | in | both ] qos-level] local-prefix remote-prefix]"):
 * - out: local messages matching local-prefix + pattern are sent upstream, the local prefix
 *   replaced by the remote one; in: the bridge subscribes upstream to remote-prefix + pattern
 *   and publishes what arrives locally, the remote prefix replaced by the local one.
 * - An empty pattern ("" in the file) maps one topic: local-prefix <-> remote-prefix, both
 *   required. An empty prefix means none.
 * - Prefixes are topic names (no wildcards); prefix + pattern must be a valid filter.
 * - Remapping uses the first line (in file order) of the direction whose full topic matches and
 *   that has a prefix; a prefix is only removed when the topic starts with it.
 * Strings are compared as strings: the same on JS (UTF-16) and Lua (bytes) since both sides
 * use one representation.
 */

export const enum Direction {
  OUT = 1,
  IN = 2,
  BOTH = 3,
}

export const enum TopicLineStatus {
  OK = 0,
  /** An empty pattern needs both prefixes (mosquitto: "Invalid bridge remapping"). */
  BAD_REMAPPING = 1,
  BAD_LOCAL_PREFIX = 2,
  BAD_REMOTE_PREFIX = 3,
  /** prefix + pattern is not a valid topic filter on one side. */
  BAD_PATTERN = 4,
  BAD_QOS = 5,
  BAD_DIRECTION = 6,
}

/** Messages for TopicLineStatus, indexed by it. */
export const TOPIC_LINE_ERRORS = [
  "ok",
  "an empty topic pattern needs both a local and a remote prefix",
  "the local prefix must be a topic name (no + or #)",
  "the remote prefix must be a topic name (no + or #)",
  "prefix + pattern is not a valid topic filter",
  "QoS must be 0, 1 or 2",
  "direction must be in, out or both",
];

/** One `topic` line of a bridge. */
export interface BridgeTopic {
  direction: number;
  qos: number;
  /** "" = none. */
  localPrefix: string;
  remotePrefix: string;
  /** Local prefix + pattern: the filter matched against local messages (out). */
  localTopic: string;
  /** Remote prefix + pattern: the filter subscribed upstream (in). */
  remoteTopic: string;
}

export function newBridgeTopic(): BridgeTopic {
  return { direction: Direction.OUT, qos: 0, localPrefix: "", remotePrefix: "", localTopic: "", remoteTopic: "" };
}

/** Fills t from one topic line; "" for an empty pattern or prefix (the `""` marker). */
export function bridgeTopicInit(t: BridgeTopic, pattern: string, direction: number, qos: number, localPrefix: string, remotePrefix: string): TopicLineStatus {
  if (direction !== Direction.OUT && direction !== Direction.IN && direction !== Direction.BOTH) return TopicLineStatus.BAD_DIRECTION;
  if (qos !== 0 && qos !== 1 && qos !== 2) return TopicLineStatus.BAD_QOS;
  if (localPrefix !== "" && !isValidTopicName(localPrefix)) return TopicLineStatus.BAD_LOCAL_PREFIX;
  if (remotePrefix !== "" && !isValidTopicName(remotePrefix)) return TopicLineStatus.BAD_REMOTE_PREFIX;
  if (pattern === "" && (localPrefix === "" || remotePrefix === "")) return TopicLineStatus.BAD_REMAPPING;
  const localTopic = localPrefix + pattern;
  const remoteTopic = remotePrefix + pattern;
  if (!isValidFilter(localTopic) || !isValidFilter(remoteTopic)) return TopicLineStatus.BAD_PATTERN;
  t.direction = direction;
  t.qos = qos;
  t.localPrefix = localPrefix;
  t.remotePrefix = remotePrefix;
  t.localTopic = localTopic;
  t.remoteTopic = remoteTopic;
  return TopicLineStatus.OK;
}

function sendsOut(t: BridgeTopic): boolean {
  return t.direction !== Direction.IN;
}

function takesIn(t: BridgeTopic): boolean {
  return t.direction !== Direction.OUT;
}

/**
 * QoS a local message on `topic` is forwarded with: the highest QoS of the out/both lines whose
 * local topic matches (one copy per bridge, as one copy per client with overlapping
 * subscriptions), -1 when none matches. The caller caps it at the message's QoS.
 */
export function outQos(topics: BridgeTopic[], count: number, topic: string): number {
  let best = -1;
  for (let i = 0; i < count; i++) {
    const t = topics[i];
    if (sendsOut(t) && t.qos > best && topicMatches(t.localTopic, topic)) best = t.qos;
  }
  return best;
}

function strip(topic: string, prefix: string): string {
  if (prefix === "" || topic.length < prefix.length) return topic;
  return topic.substring(0, prefix.length) === prefix ? topic.substring(prefix.length) : topic;
}

/** The upstream topic for a local message that outQos accepted (may be "" for a degenerate mapping). */
export function mapOut(topics: BridgeTopic[], count: number, topic: string): string {
  for (let i = 0; i < count; i++) {
    const t = topics[i];
    if (!sendsOut(t) || (t.localPrefix === "" && t.remotePrefix === "")) continue;
    if (!topicMatches(t.localTopic, topic)) continue;
    return t.remotePrefix + strip(topic, t.localPrefix);
  }
  return topic;
}

/** True when some in/both line subscribed upstream to a filter matching this upstream topic. */
export function inAccepted(topics: BridgeTopic[], count: number, topic: string): boolean {
  for (let i = 0; i < count; i++) {
    const t = topics[i];
    if (takesIn(t) && topicMatches(t.remoteTopic, topic)) return true;
  }
  return false;
}

/** The local topic for a message from upstream (may be "" for a degenerate mapping). */
export function mapIn(topics: BridgeTopic[], count: number, topic: string): string {
  for (let i = 0; i < count; i++) {
    const t = topics[i];
    if (!takesIn(t) || (t.localPrefix === "" && t.remotePrefix === "")) continue;
    if (!topicMatches(t.remoteTopic, topic)) continue;
    return t.localPrefix + strip(topic, t.remotePrefix);
  }
  return topic;
}
