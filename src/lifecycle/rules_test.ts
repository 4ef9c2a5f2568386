import assert from "node:assert/strict";
import { abortsUpload, dueAfterDays, expiresObject, hasRuleTags, type LifecycleRule, objectExpiry } from "./rules.ts";

const at = (iso: string) => new Date(iso);

Deno.test("dueAfterDays adds the days and rounds up to the next midnight UTC, as S3 does", () => {
  assert.deepEqual(dueAfterDays(at("2026-03-01T10:30:00Z"), 1), at("2026-03-03T00:00:00Z"));
  assert.deepEqual(dueAfterDays(at("2026-03-01T00:00:00Z"), 1), at("2026-03-02T00:00:00Z"), "midnight stays");
  assert.deepEqual(dueAfterDays(at("2026-12-31T23:59:59Z"), 30), at("2027-01-31T00:00:00Z"));
});

Deno.test("expiresObject: enabled rules, their prefix and size bounds, days or date", () => {
  const rule: LifecycleRule = { enabled: true, prefix: "logs/", expiration: { days: 7 } };
  const object = { key: "logs/a", size: 100, lastModified: at("2026-03-01T10:00:00Z") };
  assert.equal(expiresObject(rule, object, at("2026-03-08T23:59:59Z")), false);
  assert.equal(expiresObject(rule, object, at("2026-03-09T00:00:00Z")), true);
  assert.equal(expiresObject(rule, { ...object, key: "log/a" }, at("2027-01-01T00:00:00Z")), false);
  assert.equal(expiresObject({ ...rule, enabled: false }, object, at("2027-01-01T00:00:00Z")), false);
  const later = at("2027-01-01T00:00:00Z");
  assert.equal(expiresObject({ ...rule, sizeGreaterThan: 100 }, object, later), false, "strictly greater");
  assert.equal(expiresObject({ ...rule, sizeGreaterThan: 99 }, object, later), true);
  assert.equal(expiresObject({ ...rule, sizeLessThan: 100 }, object, later), false, "strictly less");
  assert.equal(expiresObject({ ...rule, sizeLessThan: 101 }, object, later), true);
  const dated: LifecycleRule = { enabled: true, prefix: "", expiration: { date: at("2026-06-01T00:00:00Z") } };
  assert.equal(expiresObject(dated, object, at("2026-05-31T23:59:59Z")), false);
  assert.equal(expiresObject(dated, object, at("2026-06-01T00:00:00Z")), true, "every object from the date on");
  assert.equal(expiresObject({ enabled: true, prefix: "", abortIncompleteUploadDays: 1 }, object, later), false);
});

Deno.test("abortsUpload: days after initiation, under the rule's prefix", () => {
  const rule: LifecycleRule = { enabled: true, prefix: "dump/", abortIncompleteUploadDays: 2 };
  const upload = { key: "dump/vzdump.vma.zst", initiated: at("2026-03-01T18:00:00Z") };
  assert.equal(abortsUpload(rule, upload, at("2026-03-03T23:00:00Z")), false);
  assert.equal(abortsUpload(rule, upload, at("2026-03-04T00:00:00Z")), true);
  assert.equal(abortsUpload(rule, { ...upload, key: "iso/x" }, at("2027-01-01T00:00:00Z")), false);
  assert.equal(abortsUpload({ ...rule, abortIncompleteUploadDays: undefined }, upload, at("2027-01-01Z")), false);
});

Deno.test("objectExpiry: the earliest date among the enabled rules that apply", async () => {
  const object = { key: "dump/a.vma", size: 10, lastModified: at("2026-03-01T10:00:00Z") };
  const rules: LifecycleRule[] = [
    { id: "all", enabled: true, prefix: "", expiration: { days: 30 } },
    { id: "dumps", enabled: true, prefix: "dump/", expiration: { days: 7 } },
    { id: "off", enabled: false, prefix: "", expiration: { days: 1 } },
    { id: "big", enabled: true, prefix: "", sizeGreaterThan: 100, expiration: { days: 2 } },
    { id: "aborts", enabled: true, prefix: "", abortIncompleteUploadDays: 1 },
  ];
  const noTags = () => Promise.reject(new Error("no rule filters on tags: they must not be read"));
  assert.deepEqual(await objectExpiry(rules, object, noTags), { date: at("2026-03-09T00:00:00Z"), rule: rules[1] });
  assert.equal(await objectExpiry(rules.slice(2), object, noTags), undefined);
});

Deno.test("rules with tags: an object must have every one; its tags are read once, only when such a rule would decide", async () => {
  const object = { key: "dump/a.vma", size: 10, lastModified: at("2026-03-01T10:00:00Z") };
  const rule: LifecycleRule = {
    id: "tmp",
    enabled: true,
    prefix: "",
    tags: { kind: "tmp", team: "ops" },
    expiration: { days: 1 },
  };
  assert.equal(hasRuleTags(rule, { kind: "tmp", team: "ops", extra: "x" }), true);
  assert.equal(hasRuleTags(rule, { kind: "tmp" }), false);
  assert.equal(hasRuleTags(rule, { kind: "tmp", team: "dev" }), false);
  assert.equal(hasRuleTags({ ...rule, tags: undefined }, {}), true);
  let reads = 0;
  const tagsOf = (tags: Record<string, string>) => () => (reads++, Promise.resolve(tags));
  const all: LifecycleRule = { id: "all", enabled: true, prefix: "", expiration: { days: 30 } };
  const second = { ...rule, id: "tmp2", tags: { kind: "tmp" }, expiration: { days: 2 } };
  assert.deepEqual((await objectExpiry([all, rule, second], object, tagsOf({ kind: "tmp" })))?.rule, second);
  assert.equal(reads, 1, "read once for two rules with tags");
  assert.deepEqual((await objectExpiry([all, rule], object, tagsOf({})))?.rule, all);
  reads = 0;
  // A rule with tags that comes due later than one without is never the first: no read.
  await objectExpiry([{ ...all, expiration: { days: 1 } }, { ...rule, expiration: { days: 9 } }], object, tagsOf({}));
  assert.equal(reads, 0);
});
