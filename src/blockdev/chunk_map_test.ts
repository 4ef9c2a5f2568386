import assert from "node:assert/strict";
import { isAppError } from "../errors.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { loadChunkMap, writeInitialManifest } from "./chunk_map.ts";
import { layout, listKeys, type VolumeLocation, writeJson } from "./layout.ts";

async function location(): Promise<VolumeLocation> {
  const store = createMemoryStore();
  await store.createBucket("maps");
  const loc = { store, bucket: "maps", prefix: "v" };
  await writeInitialManifest(loc, new Map());
  return loc;
}

Deno.test("chunk map commits one delta object per batch and reloads to the same state", async () => {
  const loc = await location();
  const map = await loadChunkMap(loc, { compactEvery: 100 });
  await map.commit(new Map([[0, "v/chunks/a"], [5, "v/chunks/b"]]));
  await map.commit(new Map<number, string | null>([[0, null], [7, "v/chunks/c"]]));
  assert.deepEqual(await listKeys(loc, layout.manifestDir("v")), [
    layout.base("v", 0),
    layout.delta("v", 1),
    layout.delta("v", 2),
  ]);
  const again = await loadChunkMap(loc);
  assert.deepEqual([...again.entries()].sort(), [[5, "v/chunks/b"], [7, "v/chunks/c"]]);
  assert.equal(again.seq, 2);
});

Deno.test("chunk map compacts deltas into a new base instead of rewriting the map on every commit", async () => {
  const loc = await location();
  const map = await loadChunkMap(loc, { compactEvery: 4 });
  for (let i = 0; i < 10; i++) await map.commit(new Map([[i, `v/chunks/${i}`]]));
  assert.deepEqual(await listKeys(loc, layout.manifestDir("v")), [
    layout.base("v", 8),
    layout.delta("v", 9),
    layout.delta("v", 10),
  ]);
  const again = await loadChunkMap(loc);
  assert.equal(again.count, 10);
  assert.equal(again.get(9), "v/chunks/9");
});

Deno.test("chunk map ignores leftovers of an interrupted compaction", async () => {
  const loc = await location();
  const map = await loadChunkMap(loc, { compactEvery: 100 });
  await map.commit(new Map([[1, "v/chunks/old"]]));
  await map.commit(new Map([[1, "v/chunks/new"]]));
  // Crash after writing base-2 but before deleting base-0 and the deltas it covers.
  await writeJson(loc, layout.base("v", 2), { chunks: [[1, "v/chunks/new"]] });
  const again = await loadChunkMap(loc);
  assert.equal(again.get(1), "v/chunks/new");
  await again.commit(new Map([[2, "v/chunks/two"]]));
  const third = await loadChunkMap(loc);
  assert.deepEqual([...third.entries()].sort(), [[1, "v/chunks/new"], [2, "v/chunks/two"]]);
});

Deno.test("chunk map refuses a manifest with a missing delta", async () => {
  const loc = await location();
  const map = await loadChunkMap(loc, { compactEvery: 100 });
  for (let i = 0; i < 3; i++) await map.commit(new Map([[i, `v/chunks/${i}`]]));
  await loc.store.deleteObject(loc.bucket, layout.delta("v", 2));
  await assert.rejects(loadChunkMap(loc), (e) => isAppError(e, "Integrity") && /misses delta 2/.test(e.message));
});

Deno.test("chunk map rollback replaces the whole map with a new base", async () => {
  const loc = await location();
  const map = await loadChunkMap(loc, { compactEvery: 100 });
  await map.commit(new Map([[0, "v/chunks/x"], [1, "v/chunks/y"]]));
  await map.replace(new Map([[3, "v/chunks/z"]]));
  assert.deepEqual(await listKeys(loc, layout.manifestDir("v")), [layout.base("v", 2)]);
  assert.deepEqual([...(await loadChunkMap(loc)).entries()], [[3, "v/chunks/z"]]);
});
