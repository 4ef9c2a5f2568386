import assert from "node:assert/strict";
import { contentRange, parseRange } from "./range.ts";

Deno.test("parseRange() resolves the three single-range forms", () => {
  assert.deepEqual(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange("bytes=90-200", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=95-", 100), { start: 95, end: 99 });
  assert.deepEqual(parseRange("bytes=-10", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=-500", 100), { start: 0, end: 99 });
});

Deno.test("parseRange() reports unsatisfiable ranges", () => {
  assert.equal(parseRange("bytes=100-", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=100-200", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=0-", 0), "unsatisfiable");
});

Deno.test("parseRange() ignores absent, multi-range and malformed headers", () => {
  for (const h of [null, "bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=-", "bytes=a-b"]) {
    assert.equal(parseRange(h, 100), undefined, String(h));
  }
});

Deno.test("contentRange() formats the served range", () => {
  assert.equal(contentRange({ start: 0, end: 9 }, 100), "bytes 0-9/100");
});
