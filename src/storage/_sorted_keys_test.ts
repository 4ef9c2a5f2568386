import assert from "node:assert/strict";
import { compareKeys } from "./_keys.ts";
import { type KeyPage, SortedKeys } from "./_sorted_keys.ts";

/** The listing of `keys` (sorted, distinct) spelled out entry by entry, as S3 defines it. */
function naiveList(
  keys: string[],
  o: { prefix?: string; delimiter?: string; startAfter?: string; maxKeys: number },
): KeyPage {
  const prefix = o.prefix ?? "";
  const entries: { entry: string; prefix: boolean }[] = [];
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const d = o.delimiter ? key.indexOf(o.delimiter, prefix.length) : -1;
    const entry = d >= 0 ? key.slice(0, d + o.delimiter!.length) : key;
    if (o.startAfter !== undefined && compareKeys(entry, o.startAfter) <= 0) continue;
    if (entries.at(-1)?.entry !== entry) entries.push({ entry, prefix: d >= 0 });
  }
  const page = entries.slice(0, o.maxKeys);
  const isTruncated = entries.length > o.maxKeys;
  return {
    keys: page.filter((e) => !e.prefix).map((e) => e.entry),
    commonPrefixes: page.filter((e) => e.prefix).map((e) => e.entry),
    isTruncated,
    ...(isTruncated ? { nextStartAfter: page.at(-1)?.entry } : {}),
  };
}

function random(seed: number) {
  let x = seed;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

Deno.test("SortedKeys: thousands of adds and deletes in any order agree with a sorted array, listings included", () => {
  const next = random(7);
  const keyOf = () => `${["a", "b/", "b/c/", "é", ""][next(5)]}${next(4000)}${next(3) === 0 ? "/x" : ""}`;
  const set = SortedKeys.from(Array.from({ length: 1500 }, keyOf));
  const model = new Set(set.list({ maxKeys: 1000 }).keys);
  for (let page = set.list({ maxKeys: 1000 }); page.isTruncated;) {
    page = set.list({ maxKeys: 1000, startAfter: page.nextStartAfter });
    for (const k of page.keys) model.add(k);
  }
  assert.equal(model.size, set.size);
  for (let round = 0; round < 12_000; round++) {
    const key = keyOf();
    if (next(3) === 0) {
      set.delete(key);
      model.delete(key);
    } else {
      set.add(key);
      model.add(key);
    }
    assert.equal(set.has(key), model.has(key));
    if (round % 1000 !== 999) continue;
    const sorted = [...model].sort(compareKeys);
    assert.equal(set.size, sorted.length);
    for (
      const o of [
        { maxKeys: 5000 },
        { maxKeys: 7, startAfter: sorted[next(sorted.length)] },
        { prefix: "b/", delimiter: "/", maxKeys: 1000 },
        { prefix: "b/", delimiter: "/", maxKeys: 3, startAfter: "b/c/" },
        { delimiter: "/", maxKeys: 2, startAfter: "a" },
        { prefix: "é1", maxKeys: 1000 },
        { prefix: "zz", maxKeys: 10 },
      ]
    ) {
      const all = set.list({ ...o, maxKeys: Math.min(o.maxKeys, 1000) });
      assert.deepEqual(all, naiveList(sorted, { ...o, maxKeys: Math.min(o.maxKeys, 1000) }), JSON.stringify(o));
    }
  }
  for (const key of [...model]) set.delete(key);
  assert.equal(set.size, 0);
  assert.deepEqual(set.list(), { keys: [], commonPrefixes: [], isTruncated: false });
  set.add("again");
  assert.deepEqual(set.list().keys, ["again"]);
});
