import { describe, expect, test } from "vitest";
import { aclAllow, aclParse, filterCovers, filtersIntersect, newAcl } from "../../src/auth/acl";

const READ = 1;
const WRITE = 2;
const SUBSCRIBE = 4;

function parse(text: string) {
  const acl = newAcl();
  expect(aclParse(text, acl)).toBe(true);
  return acl;
}

describe("ACL filter algebra", () => {
  test.each([
    ["a/#", "a/b", true], ["a/+", "+/b", true], ["a/b", "a/c", false], ["#", "x/y/z", true],
    ["a/#", "a", true], ["a", "a/#", true], ["a/+", "a", false], ["+/+", "/", true], ["a/b/c", "a/+", false],
  ])("filtersIntersect(%s, %s) = %s", (a, b, want) => {
    expect(filtersIntersect(a, b)).toBe(want);
    expect(filtersIntersect(b, a)).toBe(want);
  });
  test.each([
    ["a/#", "a/b/#", true], ["a/#", "a", true], ["a/+", "a/b", true], ["a/+", "a/#", false], ["a/b", "a/+", false],
    ["#", "anything/#", true], ["a/+/c", "a/+/c", true], ["a/b", "a/b", true], ["a/b", "a/b/c", false],
  ])("filterCovers(%s, %s) = %s", (outer, inner, want) => {
    expect(filterCovers(outer, inner)).toBe(want);
  });
});

describe("mosquitto ACL semantics", () => {
  const acl = parse(
    "# comment\ntopic read public/#\n\nuser alice\ntopic alice/#\ntopic read $SYS/#\ntopic deny alice/private\nuser bob\ntopic write bob/out\npattern readwrite clients/%c/#\npattern read users/%u\n",
  );

  test("anonymous section applies to clients without a user name only", () => {
    expect(aclAllow(acl, "c", false, "", "public/x", READ)).toBe(true);
    expect(aclAllow(acl, "c", false, "", "public/x", WRITE)).toBe(false);
    expect(aclAllow(acl, "c", true, "bob", "public/x", READ)).toBe(false);
  });
  test("no access word means readwrite; deny wins over a broader grant", () => {
    expect(aclAllow(acl, "c", true, "alice", "alice/x", WRITE)).toBe(true);
    expect(aclAllow(acl, "c", true, "alice", "alice/private", READ)).toBe(false);
    expect(aclAllow(acl, "c", true, "alice", "alice/private", WRITE)).toBe(false);
  });
  test("$ topics only match rules that start with $", () => {
    expect(aclAllow(acl, "c", true, "alice", "$SYS/broker/uptime", READ)).toBe(true);
    const all = parse("user root\ntopic #\n");
    expect(aclAllow(all, "c", true, "root", "$SYS/broker/uptime", READ)).toBe(false);
    expect(aclAllow(all, "c", true, "root", "any/thing", READ)).toBe(true);
  });
  test("patterns substitute %c and %u; %u patterns skip anonymous clients; unsafe ids are refused", () => {
    expect(aclAllow(acl, "dev1", true, "bob", "clients/dev1/t", WRITE)).toBe(true);
    expect(aclAllow(acl, "dev1", true, "bob", "clients/dev2/t", WRITE)).toBe(false);
    expect(aclAllow(acl, "dev1", true, "bob", "users/bob", READ)).toBe(true);
    expect(aclAllow(acl, "dev1", false, "", "users/", READ)).toBe(false);
    expect(aclAllow(acl, "evil/#", true, "bob", "clients/evil/#/x", WRITE)).toBe(false);
  });
  test("SUBSCRIBE: refused when no read rule intersects or a deny rule covers the filter", () => {
    expect(aclAllow(acl, "c", true, "alice", "#", SUBSCRIBE)).toBe(true);
    expect(aclAllow(acl, "c", true, "alice", "alice/private", SUBSCRIBE)).toBe(false);
    expect(aclAllow(acl, "c", true, "alice", "other/#", SUBSCRIBE)).toBe(false);
    expect(aclAllow(acl, "c", true, "bob", "bob/out", SUBSCRIBE)).toBe(false); // write-only
  });
  test("parse errors name the line", () => {
    const bad = newAcl();
    expect(aclParse("user a\ntopic sometimes a/b\n", bad)).toBe(false);
    expect(bad.error).toBe("line 2: unknown access 'sometimes' (read, write, readwrite or deny)");
    expect(aclParse("frobnicate x\n", newAcl())).toBe(false);
  });
});
