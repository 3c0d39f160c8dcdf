import { topicMatches } from "../topics/topic";
import { Access } from "../platform";

/**
 * Access control lists in mosquitto's acl_file syntax (mosquitto.conf(5)):
 *   # comment
 *   topic [read|write|readwrite|deny] FILTER     (before any `user` line: anonymous clients)
 *   user NAME                                     (the topic lines after it are NAME's)
 *   pattern [read|write|readwrite|deny] FILTER   (every client; %c = client id, %u = user name)
 * Deny lines are checked before granting lines. Portable: usable on every target.
 */

const ACCESS_DENY = 0;
const ACCESS_READ = 1;
const ACCESS_WRITE = 2;

export interface AclRule {
  /** User name the rule belongs to; "" with anonymous = true for the anonymous section. */
  user: string;
  anonymous: boolean;
  pattern: boolean;
  /** 0 deny, 1 read, 2 write, 3 readwrite. */
  access: number;
  topic: string;
}

export interface Acl {
  rules: AclRule[];
  count: number;
  hasPatterns: boolean;
  /** Set by aclParse on failure: "line N: reason". */
  error: string;
}

export function newAcl(): Acl {
  return { rules: [], count: 0, hasPatterns: false, error: "" };
}

function trimSpaces(s: string): string {
  let a = 0;
  let z = s.length;
  while (a < z && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (z > a && (s.charCodeAt(z - 1) === 32 || s.charCodeAt(z - 1) === 9 || s.charCodeAt(z - 1) === 13)) z--;
  return s.substring(a, z);
}

/** Splits off the first space-separated word: returns [word, rest] in out (reused). */
function firstWord(s: string, out: string[]): void {
  const t = trimSpaces(s);
  const sp = t.indexOf(" ");
  if (sp < 0) {
    out[0] = t;
    out[1] = "";
  } else {
    out[0] = t.substring(0, sp);
    out[1] = trimSpaces(t.substring(sp + 1));
  }
}

function parseAccess(word: string): number {
  if (word === "read") return ACCESS_READ;
  if (word === "write") return ACCESS_WRITE;
  if (word === "readwrite") return ACCESS_READ + ACCESS_WRITE;
  if (word === "deny") return ACCESS_DENY;
  return -1;
}

/** Parses an acl_file's text into acl; returns false with acl.error set on a bad line. */
export function aclParse(text: string, acl: Acl): boolean {
  const lines = text.split("\n");
  const parts: string[] = ["", ""];
  let user = "";
  let anonymous = true;
  for (let n = 0; n < lines.length; n++) {
    const line = trimSpaces(lines[n]);
    if (line.length === 0 || line.charCodeAt(0) === 35) continue;
    firstWord(line, parts);
    const keyword = parts[0];
    const rest = parts[1];
    if (keyword === "user") {
      if (rest.length === 0) {
        acl.error = "line " + (n + 1) + ": user without a name";
        return false;
      }
      user = rest;
      anonymous = false;
    } else if (keyword === "topic" || keyword === "pattern") {
      firstWord(rest, parts);
      let access = parseAccess(parts[0]);
      let topic = parts[1];
      if (access < 0) {
        if (parts[1].length > 0) {
          acl.error = "line " + (n + 1) + ": unknown access '" + parts[0] + "' (read, write, readwrite or deny)";
          return false;
        }
        access = ACCESS_READ + ACCESS_WRITE; // no access word: readwrite
        topic = parts[0];
      }
      if (topic.length === 0) {
        acl.error = "line " + (n + 1) + ": " + keyword + " without a topic";
        return false;
      }
      const pattern = keyword === "pattern";
      acl.rules[acl.count] = { user: pattern ? "" : user, anonymous: pattern ? false : anonymous, pattern: pattern, access: access, topic: topic };
      acl.count++;
      if (pattern) acl.hasPatterns = true;
    } else {
      acl.error = "line " + (n + 1) + ": unknown keyword '" + keyword + "'";
      return false;
    }
  }
  return true;
}

/** A pattern's filter with %c and %u substituted (only whole levels, as mosquitto requires). */
function substitute(topic: string, clientId: string, username: string): string {
  if (topic.indexOf("%") < 0) return topic;
  let out = "";
  let i = 0;
  while (i < topic.length) {
    const c = topic.charCodeAt(i);
    if (c === 37 && i + 1 < topic.length) {
      const d = topic.charCodeAt(i + 1);
      if (d === 99) {
        out += clientId;
        i += 2;
        continue;
      }
      if (d === 117) {
        out += username;
        i += 2;
        continue;
      }
    }
    out += topic.charAt(i);
    i++;
  }
  return out;
}

function unsafeName(s: string): boolean {
  return s.indexOf("+") >= 0 || s.indexOf("#") >= 0 || s.indexOf("/") >= 0;
}

/** Next level boundary: index of the '/' at or after i, or the length. */
function levelEnd(s: string, i: number): number {
  const j = s.indexOf("/", i);
  return j < 0 ? s.length : j;
}

/** True when some topic name matches both filters (used for SUBSCRIBE against read rules). */
export function filtersIntersect(a: string, b: string): boolean {
  let i = 0;
  let j = 0;
  for (;;) {
    const ea = levelEnd(a, i);
    const eb = levelEnd(b, j);
    const la = a.substring(i, ea);
    const lb = b.substring(j, eb);
    if (la === "#" || lb === "#") return true;
    if (la !== "+" && lb !== "+" && la !== lb) return false;
    const aDone = ea >= a.length;
    const bDone = eb >= b.length;
    if (aDone && bDone) return true;
    if (aDone) return b.substring(eb) === "/#"; // "a/#" also matches "a"
    if (bDone) return a.substring(ea) === "/#";
    i = ea + 1;
    j = eb + 1;
  }
}

/** True when every topic matching `inner` also matches `outer` (deny rules against SUBSCRIBE). */
export function filterCovers(outer: string, inner: string): boolean {
  let i = 0;
  let j = 0;
  for (;;) {
    const eo = levelEnd(outer, i);
    const ei = levelEnd(inner, j);
    const lo = outer.substring(i, eo);
    const li = inner.substring(j, ei);
    if (lo === "#") return true;
    if (li === "#") return false;
    if (lo !== "+" && (li === "+" || lo !== li)) return false;
    const oDone = eo >= outer.length;
    const iDone = ei >= inner.length;
    if (oDone && iDone) return true;
    if (oDone || iDone) return !oDone && outer.substring(eo) === "/#";
    i = eo + 1;
    j = ei + 1;
  }
}

/** '$' topics are only matched by rules that start with '$' too (as mosquitto does). */
function dollarMismatch(rule: string, topic: string): boolean {
  return topic.charCodeAt(0) === 36 && rule.charCodeAt(0) !== 36;
}

function ruleApplies(r: AclRule, hasUsername: boolean, username: string): boolean {
  if (r.pattern) return true;
  return hasUsername ? !r.anonymous && r.user === username : r.anonymous;
}

function ruleTopic(r: AclRule, clientId: string, hasUsername: boolean, username: string): string {
  if (!r.pattern) return r.topic;
  if (!hasUsername && r.topic.indexOf("%u") >= 0) return ""; // no user name: skip %u patterns
  return substitute(r.topic, clientId, username);
}

/**
 * mosquitto's default ACL check. READ/WRITE test a topic name; SUBSCRIBE tests a filter:
 * refused when a deny rule covers it or no read rule can match any topic in it.
 */
export function aclAllow(acl: Acl, clientId: string, hasUsername: boolean, username: string, topic: string, access: number): boolean {
  if (acl.hasPatterns && ((hasUsername && unsafeName(username)) || unsafeName(clientId))) return false;
  const subscribe = access === Access.SUBSCRIBE;
  const want = access === Access.WRITE ? ACCESS_WRITE : ACCESS_READ;
  for (let k = 0; k < acl.count; k++) {
    const r = acl.rules[k];
    if (r.access !== ACCESS_DENY || !ruleApplies(r, hasUsername, username)) continue;
    const t = ruleTopic(r, clientId, hasUsername, username);
    if (t.length === 0 || dollarMismatch(t, topic)) continue;
    if (subscribe ? filterCovers(t, topic) : topicMatches(t, topic)) return false;
  }
  for (let k = 0; k < acl.count; k++) {
    const r = acl.rules[k];
    if (r.access === ACCESS_DENY || !ruleApplies(r, hasUsername, username)) continue;
    if (r.access !== want && r.access !== ACCESS_READ + ACCESS_WRITE) continue;
    const t = ruleTopic(r, clientId, hasUsername, username);
    if (t.length === 0 || dollarMismatch(t, topic)) continue;
    if (subscribe ? filtersIntersect(t, topic) : topicMatches(t, topic)) return true;
  }
  return false;
}
