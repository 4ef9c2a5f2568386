import assert from "node:assert/strict";
import { isAppError } from "../errors.ts";
import { CHUNK, KiB, pattern, volumeFixture } from "./_testing/fixtures.ts";

// The abandoned instance keeps its journal file open and its (unref'd) flush timer: that is the crash.
Deno.test({
  name: "volume abandoned without close loses no acknowledged write: the journal is replayed on reopen",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using fx = await volumeFixture();
    const crashed = await fx.open({ flushDelayMs: 3_600_000 });
    const writes = [
      { offset: 512, data: pattern(3 * 512, 1) },
      { offset: CHUNK - 1024, data: pattern(4 * KiB, 2) },
      { offset: 7 * CHUNK, data: pattern(CHUNK, 3) },
      { offset: 1024, data: pattern(512, 4) }, // overwrites part of the first write
    ];
    await Promise.all(writes.slice(0, 3).map((w) => crashed.write(w.offset, w.data)));
    await crashed.write(writes[3]!.offset, writes[3]!.data);
    await crashed.unmap(7 * CHUNK + 4 * KiB, 4 * KiB);
    assert.equal(crashed.stats().chunkUploads, 0, "nothing reached the bucket before the crash");

    const expected = new Uint8Array(8 * CHUNK);
    for (const w of writes) expected.set(w.data, w.offset);
    expected.fill(0, 7 * CHUNK + 4 * KiB, 7 * CHUNK + 8 * KiB);

    const reopened = await fx.open();
    try {
      assert.deepEqual(await reopened.read(0, 8 * CHUNK), expected, "replayed from the journal");
      await reopened.flush();
      assert.equal(reopened.stats().journalBytes, 0, "journal released once everything is in the bucket");
    } finally {
      await reopened.close();
    }
    await Deno.remove(fx.cacheDir, { recursive: true });
    const fresh = await fx.open();
    try {
      assert.deepEqual(await fresh.read(0, 8 * CHUNK), expected, "and now from the bucket alone");
    } finally {
      await fresh.close();
    }
  },
});

Deno.test("volume with the backend down: writes ack within the dirty bound, then fail with Unavailable", async () => {
  await using fx = await volumeFixture();
  const seed = await fx.open();
  await seed.write(10 * CHUNK, pattern(CHUNK, 10), { fua: true });
  await seed.close();

  const vol = await fx.open({ maxDirtyBytes: 4 * CHUNK, stallTimeoutMs: 300, flushDelayMs: 5 });
  try {
    fx.store.down = true;
    for (let i = 0; i < 4; i++) await vol.write(i * CHUNK, pattern(CHUNK, 20 + i));
    const started = performance.now();
    await assert.rejects(vol.write(5 * CHUNK, pattern(CHUNK, 25)), (e) => {
      assert.ok(isAppError(e, "Unavailable"));
      assert.match(e.message, /write-back cache holds 262144 unflushed bytes \(limit 262144\).*ECONNREFUSED/);
      return true;
    });
    assert.ok(performance.now() - started >= 250, "the writer waited for space first");
    await vol.write(CHUNK + 4 * KiB, pattern(4 * KiB, 30)); // an already dirty chunk needs no new space
    await assert.rejects(vol.read(10 * CHUNK, 4 * KiB), (e) => isAppError(e, "Unavailable"));
    assert.deepEqual(await vol.read(2 * CHUNK, CHUNK), pattern(CHUNK, 22), "dirty data still reads");
    await assert.rejects(vol.flush(), (e) => isAppError(e, "Unavailable") && /ECONNREFUSED/.test(e.message));

    fx.store.down = false;
    await vol.flush();
    await vol.write(5 * CHUNK, pattern(CHUNK, 25));
    await vol.flush();
    const expected1 = pattern(CHUNK, 21);
    expected1.set(pattern(4 * KiB, 30), 4 * KiB);
    assert.deepEqual(await vol.read(CHUNK, CHUNK), expected1);
    assert.deepEqual(await vol.read(5 * CHUNK, CHUNK), pattern(CHUNK, 25));
    assert.deepEqual(await vol.read(10 * CHUNK, CHUNK), pattern(CHUNK, 10));
    assert.ok(vol.stats().flushErrors > 0);
  } finally {
    fx.store.down = false;
    await vol.close();
  }
});

Deno.test("volume applies backpressure: writers beyond the dirty bound wait for flushes, then all succeed", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open({ maxDirtyBytes: 2 * CHUNK, flushDelayMs: 1000 });
  try {
    await Promise.all(Array.from({ length: 12 }, (_, i) => vol.write(i * CHUNK, pattern(CHUNK, 40 + i))));
    assert.ok(vol.stats().writerStalls > 0);
    assert.ok(vol.stats().dirtyBytes <= 2 * CHUNK);
    await vol.flush();
    for (let i = 0; i < 12; i++) assert.deepEqual(await vol.read(i * CHUNK, CHUNK), pattern(CHUNK, 40 + i));
  } finally {
    await vol.close();
  }
});

Deno.test("volume in write-through mode acknowledges a write only once it is in the bucket", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open({ writeThrough: true, flushDelayMs: 3_600_000 });
  try {
    await vol.write(3 * CHUNK, pattern(8 * KiB, 50));
    assert.equal(vol.stats().dirtyChunks, 0);
    assert.ok(vol.chunkMap.get(3));
  } finally {
    await vol.close();
  }
});
