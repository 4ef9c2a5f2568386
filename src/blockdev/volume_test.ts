import assert from "node:assert/strict";
import { isAppError } from "../errors.ts";
import { CHUNK, eventually, KiB, pattern, volumeFixture } from "./_testing/fixtures.ts";

Deno.test("volume reads zeros where nothing was written, and stores no chunk for it", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open();
  try {
    assert.deepEqual(await vol.read(0, 2 * CHUNK), new Uint8Array(2 * CHUNK));
    assert.deepEqual(await vol.read(15 * CHUNK, CHUNK), new Uint8Array(CHUNK));
    await vol.flush();
    assert.deepEqual(await fx.chunkKeys(), []);
  } finally {
    await vol.close();
  }
});

Deno.test("volume keeps unaligned-in-chunk writes that cross a chunk boundary, before and after flushing", async () => {
  await using fx = await volumeFixture();
  const data = pattern(CHUNK + 8 * 512, 1);
  const offset = CHUNK - 5 * 512;
  let vol = await fx.open({ flushDelayMs: 60_000 });
  try {
    await vol.write(offset, data);
    assert.deepEqual(await vol.read(offset, data.length), data, "read from the write-back cache");
    const around = await vol.read(CHUNK - 8 * 512, 4 * 512);
    assert.deepEqual(around.subarray(0, 3 * 512), new Uint8Array(3 * 512));
    assert.deepEqual(around.subarray(3 * 512), data.subarray(0, 512));
    await vol.flush();
    assert.equal((await fx.chunkKeys()).length, 3, "chunks 0, 1 and 2 uploaded");
    assert.equal(vol.stats().dirtyBytes, 0);
  } finally {
    await vol.close();
  }
  // A fresh cache dir proves the bytes are in the bucket, not only in the local journal.
  await Deno.remove(fx.cacheDir, { recursive: true });
  vol = await fx.open();
  try {
    assert.deepEqual(await vol.read(offset, data.length), data);
    assert.deepEqual(await vol.read(0, offset), new Uint8Array(offset));
    const tail = offset + data.length;
    assert.deepEqual(await vol.read(tail, 3 * CHUNK - tail), new Uint8Array(3 * CHUNK - tail));
  } finally {
    await vol.close();
  }
});

Deno.test("volume merges a partial rewrite with the chunk already in the bucket", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open();
  try {
    const first = pattern(CHUNK, 2);
    await vol.write(CHUNK, first, { fua: true });
    const patch = pattern(4 * KiB, 3);
    await vol.write(CHUNK + 8 * KiB, patch, { fua: true });
    const expected = first.slice();
    expected.set(patch, 8 * KiB);
    assert.deepEqual(await vol.read(CHUNK, CHUNK), expected);
    assert.equal(vol.stats().dirtyChunks, 0, "FUA writes are in the bucket when acknowledged");
    const keys = [...vol.chunkMap.entries()];
    assert.equal(keys.length, 1);
    assert.notEqual(keys[0]![1], undefined);
  } finally {
    await vol.close();
  }
});

Deno.test("volume chunks are immutable: a rewrite creates a new object and leaves the old one for GC", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open();
  try {
    await vol.write(0, pattern(CHUNK, 4), { fua: true });
    const before = vol.chunkMap.get(0);
    await vol.write(0, pattern(CHUNK, 5), { fua: true });
    const after = vol.chunkMap.get(0);
    assert.notEqual(before, after);
    assert.deepEqual((await fx.chunkKeys()).sort(), [before, after].sort());
  } finally {
    await vol.close();
  }
});

Deno.test("volume unmap of whole chunks deletes them; a partial unmap zero-fills", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open();
  try {
    await vol.write(0, pattern(3 * CHUNK, 6), { fua: true });
    assert.equal(vol.chunkMap.count, 3);
    await vol.unmap(CHUNK - 1024, CHUNK + 2048);
    await vol.flush();
    assert.equal(vol.chunkMap.count, 2, "chunk 1 deallocated");
    assert.equal(vol.chunkMap.get(1), undefined);
    const all = await vol.read(0, 3 * CHUNK);
    const expected = pattern(3 * CHUNK, 6);
    expected.fill(0, CHUNK - 1024, 2 * CHUNK + 1024);
    assert.deepEqual(all, expected);
  } finally {
    await vol.close();
  }
});

Deno.test("volume flushes a chunk that became all zeros as a deallocation", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open();
  try {
    await vol.write(2 * CHUNK, pattern(CHUNK, 7), { fua: true });
    await vol.write(2 * CHUNK, new Uint8Array(CHUNK), { fua: true });
    assert.equal(vol.chunkMap.count, 0);
    assert.equal(vol.stats().chunksFreed, 1);
  } finally {
    await vol.close();
  }
});

Deno.test("volume rejects misaligned, out-of-range and read-only access with clear errors", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open();
  const ro = await fx.open({ readOnly: true });
  try {
    await assert.rejects(vol.write(100, new Uint8Array(512)), /not a multiple of the 512-byte block size/);
    await assert.rejects(vol.read(16 * CHUNK, 512), /volume has 1048576 bytes/);
    await assert.rejects(ro.write(0, new Uint8Array(512)), (e) => isAppError(e, "Forbidden"));
    await assert.rejects(ro.unmap(0, CHUNK), (e) => isAppError(e, "Forbidden"));
  } finally {
    await ro.close();
    await vol.close();
  }
});

Deno.test("volume background flush uploads idle dirty chunks without an explicit flush", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open({ flushDelayMs: 10 });
  try {
    await vol.write(4 * CHUNK, pattern(4 * KiB, 8));
    for (let i = 0; i < 200 && vol.stats().dirtyChunks > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(vol.stats().dirtyChunks, 0);
    assert.equal((await fx.chunkKeys()).length, 1);
  } finally {
    await vol.close();
  }
});

Deno.test("volume read cache serves repeated reads and read-ahead prefetches sequential chunks", async () => {
  await using fx = await volumeFixture();
  const writer = await fx.open();
  await writer.write(0, pattern(8 * CHUNK, 9), { fua: true });
  await writer.close();
  await Deno.remove(fx.cacheDir, { recursive: true });
  const vol = await fx.open({ readAheadChunks: 2 });
  try {
    await vol.read(0, CHUNK);
    await vol.read(0, 4 * KiB);
    assert.equal(vol.stats().cacheHits, 1);
    assert.equal(vol.stats().chunkDownloads, 1);
    await vol.read(4 * KiB, CHUNK - 4 * KiB); // sequential: chunks 1 and 2 are fetched ahead
    assert.equal(await eventually(() => vol.stats().chunkDownloads, 3), 3);
    const data = await vol.read(CHUNK, 2 * CHUNK);
    assert.deepEqual(data, pattern(8 * CHUNK, 9).subarray(CHUNK, 3 * CHUNK));
    assert.equal(await eventually(() => vol.stats().chunkDownloads, 5), 5, "1-2 came from the cache, 3-4 read ahead");
  } finally {
    await vol.close();
  }
});
