import assert from "node:assert/strict";
import { fakeClock } from "../clock.ts";
import { createReadCache, type ReadCacheOptions } from "./read_cache.ts";

/** A database of one table the test controls: answering, failing, or hanging until released. */
function fakeDatabase() {
  const rows = new Map<string, string>();
  let mode: "answer" | "fail" | "hang" = "answer";
  let release: (() => void)[] = [];
  const reads: string[] = [];
  return {
    rows,
    reads,
    set mode(m: "answer" | "fail" | "hang") {
      mode = m;
    },
    /** Lets the hanging reads answer. */
    wake() {
      release.forEach((r) => r());
      release = [];
    },
    read(key: string): Promise<string | undefined> {
      reads.push(key);
      if (mode === "fail") return Promise.reject(new Error("connection refused"));
      const answer = () => rows.get(key);
      if (mode === "hang") return new Promise((resolve) => release.push(() => resolve(answer())));
      return Promise.resolve(answer());
    },
  };
}

function setup(options: Partial<ReadCacheOptions<string | undefined>> = {}) {
  const db = fakeDatabase();
  const clock = fakeClock();
  const cache = createReadCache<string | undefined>({
    read: (key) => db.read(key),
    clock,
    ttlMs: 5_000,
    patienceMs: 40,
    retryMs: 1_000,
    unavailable: (key, cause) => new Error(`no answer for ${key}`, { cause }),
    ...options,
  });
  return { db, clock, cache };
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await p;
  return { value, ms: performance.now() - start };
}

Deno.test("read cache: values are read once per TTL while the database answers; changes show after it", async () => {
  const { db, clock, cache } = setup();
  db.rows.set("k", "v1");
  assert.equal(await cache.get("k"), "v1");
  db.rows.set("k", "v2");
  assert.equal(await cache.get("k"), "v1");
  assert.equal(cache.fresh("k"), "v1");
  assert.deepEqual(db.reads, ["k"]);
  clock.advance(5_000);
  assert.equal(cache.fresh("k"), undefined);
  assert.equal(await cache.get("k"), "v2", "an answering database is waited for");
  assert.deepEqual(db.reads, ["k", "k"]);
});

Deno.test("read cache: a failing database serves the value last read, reads again only after retryMs, fails keys never read", async () => {
  const { db, clock, cache } = setup();
  db.rows.set("k", "v1");
  await cache.get("k");
  db.mode = "fail";
  clock.advance(5_000);
  assert.equal(await cache.get("k"), "v1");
  assert.equal(await cache.get("k"), "v1");
  assert.equal(db.reads.length, 2, "no new read within retryMs of a failure");
  clock.advance(1_000);
  assert.equal(await cache.get("k"), "v1");
  assert.equal(db.reads.length, 3);
  await assert.rejects(cache.get("never"), (err: Error) => err.message === "no answer for never");
  db.mode = "answer";
  db.rows.set("k", "v2");
  clock.advance(1_000);
  assert.equal(await cache.get("k"), "v2", "back to the database once it answers");
});

Deno.test("read cache: a hanging database is waited for patienceMs once, then not at all until retryMs; its answer is kept", async () => {
  const { db, clock, cache } = setup();
  db.rows.set("k", "v1");
  await cache.get("k");
  db.mode = "hang";
  db.rows.set("k", "v2");
  clock.advance(5_000);
  const first = await timed(cache.get("k"));
  assert.equal(first.value, "v1");
  assert.ok(first.ms >= 30, `waited ${first.ms} ms`);
  const next = await timed(cache.get("k"));
  assert.equal(next.value, "v1");
  assert.ok(next.ms < 30, `served at once, not after ${next.ms} ms`);
  assert.equal(db.reads.length, 2, "one read in flight");
  db.wake();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(cache.fresh("k"), "v2", "the late answer is kept");
});

Deno.test("read cache: what this process writes or forgets wins over a read in flight", async () => {
  const { db, clock, cache } = setup();
  db.rows.set("a", "old");
  db.rows.set("b", "old");
  await cache.get("a");
  await cache.get("b");
  db.mode = "hang";
  clock.advance(5_000);
  const readA = cache.get("a");
  const readB = cache.get("b");
  cache.set("a", "written here");
  cache.delete("b");
  db.wake();
  await Promise.all([readA, readB]);
  assert.equal(cache.fresh("a"), "written here");
  assert.equal(cache.fresh("b"), undefined, "a forgotten key stays forgotten");
});

Deno.test("read cache: values `keep` refuses are read every time; a flood of keys empties the cache instead of growing it", async () => {
  const { db, cache } = setup({ keep: (v) => v !== undefined, maxEntries: 3 });
  assert.equal(await cache.get("missing"), undefined);
  assert.equal(await cache.get("missing"), undefined);
  assert.equal(db.reads.length, 2);
  for (const k of ["a", "b", "c"]) db.rows.set(k, k);
  for (const k of ["a", "b", "c"]) await cache.get(k);
  assert.equal(cache.fresh("a"), "a");
  db.rows.set("d", "d");
  await cache.get("d");
  assert.deepEqual(["a", "b", "c", "d"].map((k) => cache.fresh(k)), [undefined, undefined, undefined, "d"]);
});
