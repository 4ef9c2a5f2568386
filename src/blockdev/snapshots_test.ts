import assert from "node:assert/strict";
import { isAppError } from "../errors.ts";
import { CHUNK, pattern, volumeFixture } from "./_testing/fixtures.ts";
import { collectGarbage } from "./gc.ts";
import {
  cloneFromSnapshot,
  createSnapshot,
  deleteSnapshot,
  deleteVolumeObjects,
  initVolume,
  listSnapshots,
  rollbackToSnapshot,
} from "./snapshots.ts";
import { openVolume } from "./volume.ts";
import { systemClock } from "../clock.ts";
import { silentLogger } from "../log.ts";

const now = new Date("2026-03-01T12:00:00Z");

Deno.test("snapshot freezes the volume; rollback restores it; later writes never touch snapshot chunks", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open();
  try {
    await vol.write(0, pattern(2 * CHUNK, 1));
    const snap = await createSnapshot(vol, fx.loc, "before-upgrade", now);
    assert.deepEqual(snap, { name: "before-upgrade", createdAt: now.toISOString(), chunks: 2 });
    await assert.rejects(createSnapshot(vol, fx.loc, "before-upgrade", now), (e) => isAppError(e, "Conflict"));
    await assert.rejects(createSnapshot(vol, fx.loc, "../x", now), (e) => isAppError(e, "InvalidArgument"));

    await vol.write(512, pattern(1024, 2));
    await vol.unmap(CHUNK, CHUNK);
    await vol.write(5 * CHUNK, pattern(CHUNK, 3));
    await vol.flush();
    assert.notDeepEqual(await vol.read(0, 2 * CHUNK), pattern(2 * CHUNK, 1));

    await rollbackToSnapshot(vol, fx.loc, "before-upgrade");
    assert.deepEqual(await vol.read(0, 2 * CHUNK), pattern(2 * CHUNK, 1));
    assert.deepEqual(await vol.read(5 * CHUNK, CHUNK), new Uint8Array(CHUNK));
    assert.deepEqual((await listSnapshots(fx.loc)).map((s) => s.name), ["before-upgrade"]);
  } finally {
    await vol.close();
  }
});

Deno.test("clone shares its parent's chunks, diverges copy-on-write, and survives the parent's deletion", async () => {
  await using fx = await volumeFixture();
  const parent = await fx.open();
  const cloneLoc = { ...fx.loc, prefix: "blockdev/clone1" };
  const cloneDir = await Deno.makeTempDir();
  try {
    await parent.write(0, pattern(3 * CHUNK, 4), { fua: true });
    await createSnapshot(parent, fx.loc, "golden", now);
    await cloneFromSnapshot(fx.loc, "golden", cloneLoc, { ...fx.meta, id: crypto.randomUUID() }, fx.meta);
    const clone = await openVolume({ loc: cloneLoc, cacheDir: cloneDir, clock: systemClock(), logger: silentLogger() });
    try {
      assert.deepEqual(await clone.read(0, 3 * CHUNK), pattern(3 * CHUNK, 4));
      assert.equal(clone.chunkMap.get(0), parent.chunkMap.get(0), "no data copied");
      await clone.write(CHUNK, pattern(CHUNK, 5), { fua: true });
      assert.deepEqual(await parent.read(CHUNK, CHUNK), pattern(3 * CHUNK, 4).subarray(CHUNK, 2 * CHUNK));
      assert.ok(clone.chunkMap.get(1)!.startsWith("blockdev/clone1/chunks/"));

      // Delete the parent (volume objects and snapshot); its chunks 0 and 2 are still the clone's.
      await parent.close();
      await deleteVolumeObjects(fx.loc);
      const gc = await collectGarbage(fx.loc, [{ prefix: cloneLoc.prefix, open: clone }], [
        fx.loc.prefix,
        cloneLoc.prefix,
      ]);
      assert.deepEqual(gc.kept, { [fx.loc.prefix]: 2, [cloneLoc.prefix]: 1 });
      assert.equal(gc.deleted, 1, "the parent's chunk 1 only it referenced");
      const expected = pattern(3 * CHUNK, 4);
      expected.set(pattern(CHUNK, 5), CHUNK);
      await Deno.remove(cloneDir, { recursive: true });
      await clone.close();
      const reopened = await openVolume({
        loc: cloneLoc,
        cacheDir: cloneDir,
        clock: systemClock(),
        logger: silentLogger(),
      });
      assert.deepEqual(await reopened.read(0, 3 * CHUNK), expected);
      await reopened.close();
    } finally {
      await clone.close();
    }
  } finally {
    await parent.close();
    await Deno.remove(cloneDir, { recursive: true });
  }
});

Deno.test("garbage collection keeps snapshot chunks and deletes them once the snapshot is gone", async () => {
  await using fx = await volumeFixture();
  const vol = await fx.open();
  try {
    await vol.write(0, pattern(CHUNK, 6), { fua: true });
    const original = vol.chunkMap.get(0)!;
    await createSnapshot(vol, fx.loc, "s1", now);
    await vol.write(0, pattern(CHUNK, 7), { fua: true });
    await vol.write(0, pattern(CHUNK, 8), { fua: true }); // the middle version is garbage right away
    assert.equal((await fx.chunkKeys()).length, 3);

    let gc = await collectGarbage(fx.loc, [{ prefix: fx.loc.prefix, open: vol }], [fx.loc.prefix]);
    assert.equal(gc.deleted, 1);
    assert.deepEqual((await fx.chunkKeys()).sort(), [original, vol.chunkMap.get(0)!].sort());

    await deleteSnapshot(fx.loc, "s1");
    await assert.rejects(deleteSnapshot(fx.loc, "s1"), (e) => isAppError(e, "NotFound"));
    gc = await collectGarbage(fx.loc, [{ prefix: fx.loc.prefix }], [fx.loc.prefix]);
    assert.equal(gc.deleted, 1);
    assert.deepEqual(await fx.chunkKeys(), [vol.chunkMap.get(0)!]);
    assert.deepEqual(await vol.read(0, CHUNK), pattern(CHUNK, 8));
  } finally {
    await vol.close();
  }
});

Deno.test("initVolume validates geometry and refuses to overwrite an existing volume", async () => {
  await using fx = await volumeFixture();
  await assert.rejects(initVolume(fx.loc, fx.meta), (e) => isAppError(e, "Conflict"));
  const other = { ...fx.loc, prefix: "blockdev/other" };
  await assert.rejects(
    initVolume(other, { ...fx.meta, chunkSize: 1000 }),
    (e) => isAppError(e, "InvalidArgument") && /Chunk size/.test(e.message),
  );
  await assert.rejects(initVolume(other, { ...fx.meta, blockSize: 1024 }), /Block size must be 512 or 4096/);
  await assert.rejects(initVolume(other, { ...fx.meta, sizeBytes: 1000 }), /positive multiple of 512/);
});
