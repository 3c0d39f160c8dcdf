/**
 * Topic names and filters (§4.7). Functions work on strings but only compare the ASCII
 * characters '/', '+', '#' and '$', which never occur inside a multi-byte UTF-8 sequence,
 * so they give the same answers on JS strings (UTF-16) and Lua strings (bytes).
 */

const SLASH = 47;
const PLUS = 43;
const HASH = 35;
const DOLLAR = 36;

/** A valid topic filter: non-empty, '#' only as the whole last level, '+' only as a whole level (MQTT-4.7.1-2, MQTT-4.7.1-3, MQTT-4.7.3-1). */
export function isValidFilter(filter: string): boolean {
  const n = filter.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === PLUS || c === HASH) {
      if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return false;
      if (c === HASH && i !== n - 1) return false;
      if (c === PLUS && i + 1 < n && filter.charCodeAt(i + 1) !== SLASH) return false;
    } else if (c === 0) {
      return false; // MQTT-4.7.3-2
    }
  }
  return true;
}

/** A valid topic name: non-empty, no wildcards, no U+0000 (MQTT-4.7.1-1, MQTT-4.7.3-1, MQTT-4.7.3-2). */
export function isValidTopicName(topic: string): boolean {
  const n = topic.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH || c === 0) return false;
  }
  return true;
}

/**
 * True when a valid filter matches a valid topic name. No normalisation (MQTT-4.7.3-4);
 * a filter starting with a wildcard never matches a topic starting with '$' (MQTT-4.7.2-1).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fn = filter.length;
  const tn = topic.length;
  let fi = 0;
  let ti = 0;
  if (fn > 0 && tn > 0 && topic.charCodeAt(0) === DOLLAR) {
    const first = filter.charCodeAt(0);
    if (first === PLUS || first === HASH) return false;
  }
  while (fi < fn) {
    const fc = filter.charCodeAt(fi);
    if (fc === HASH) return true;
    if (fc === PLUS) {
      while (ti < tn && topic.charCodeAt(ti) !== SLASH) ti++;
      fi++;
      continue;
    }
    if (ti >= tn) {
      // "a/#" also matches its parent level "a" (MQTT-4.7.1-2).
      return fc === SLASH && fi + 2 === fn && filter.charCodeAt(fi + 1) === HASH;
    }
    if (fc !== topic.charCodeAt(ti)) return false;
    fi++;
    ti++;
  }
  return ti === tn;
}
