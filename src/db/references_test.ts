// Deletes leave no row behind that refers to a deleted one, on a database that does not enforce foreign keys: a
// shared sqld database runs each request on a connection of its own, where `PRAGMA foreign_keys` is off.
import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { createRepo as createBlockdevRepo } from "../blockdev/repo.ts";
import { fakeClock } from "../clock.ts";
import { createSecretBox } from "../secret_box.ts";
import { createSyncRepo } from "../sync/repo.ts";
import { createDb } from "./client.ts";
import { migrateDb } from "./migrate.ts";
import { createAccessKeyStore } from "./repos/access_keys.ts";
import { backendUsers, insertBackend } from "./repos/backends.ts";
import {
  accessGrants,
  blockdevLuns,
  blockdevSnapshots,
  syncEntries,
  syncJobs,
  syncRunItems,
  syncRuns,
} from "./schema.ts";

async function databaseWithoutForeignKeys() {
  const handle = createDb(":memory:");
  await migrateDb(handle);
  await handle.client.execute("PRAGMA foreign_keys = OFF");
  return handle;
}

/** The rows that refer to a missing row, as SQLite finds them whether or not it enforces foreign keys. */
async function danglingReferences(handle: { client: { execute(sql: string): Promise<{ rows: unknown[] }> } }) {
  return (await handle.client.execute("PRAGMA foreign_key_check")).rows;
}

const volume = (id: string, backendId: string) => ({
  id,
  name: `disk-${id}`,
  backendId,
  bucket: "blockdev",
  prefix: `volumes/${id}/`,
  sizeBytes: 1 << 20,
  chunkSize: 1 << 16,
  blockSize: 512,
  parentId: null,
  parentSnapshot: null,
  createdAt: new Date(0),
});

Deno.test("references: an access key's grants go with it, and replacing grants leaves exactly the new ones", async () => {
  const handle = await databaseWithoutForeignKeys();
  try {
    const { db } = handle;
    const sealer = await createSecretBox({ key: crypto.getRandomValues(new Uint8Array(32)) });
    const keys = createAccessKeyStore({ db, sealer, clock: fakeClock() });
    const grants = [
      { bucket: "a", prefix: "", permission: "read" as const },
      { bucket: "b", prefix: "u1/", permission: "write" as const },
    ];
    const kept = await keys.create({ description: "kept", admin: false, grants });
    const gone = await keys.create({ description: "gone", admin: false, grants });
    assert.equal((await db.select().from(accessGrants)).length, 4);

    assert.equal(await keys.delete(gone.info.accessKeyId), true);
    assert.equal(await keys.delete(gone.info.accessKeyId), false);
    assert.equal((await db.select().from(accessGrants)).length, 2);
    assert.deepEqual(
      (await db.select().from(accessGrants)).map((g) => g.accessKeyId),
      [kept.info.accessKeyId, kept.info.accessKeyId],
    );

    await keys.setGrants(kept.info.accessKeyId, [{ bucket: "c", prefix: "", permission: "read" }]);
    assert.deepEqual((await keys.get(kept.info.accessKeyId))?.grants, [{
      bucket: "c",
      prefix: "",
      permission: "read",
    }]);
    await keys.setGrants(kept.info.accessKeyId, []);
    assert.deepEqual((await keys.get(kept.info.accessKeyId))?.grants, []);
    assert.deepEqual(await danglingReferences(handle), []);
  } finally {
    handle.close();
  }
});

Deno.test("references: a sync job's runs, plan items and entries go with it; another job's stay", async () => {
  const handle = await databaseWithoutForeignKeys();
  try {
    const { db } = handle;
    const repo = createSyncRepo(db);
    const job = (id: string) => ({
      id,
      sourceBackend: "local",
      sourceBucket: "src",
      targetBackend: "local",
      targetBucket: "dst",
      mode: "mirror" as const,
      detection: "manifest" as const,
      createdAt: new Date(0),
    });
    for (const id of ["gone", "kept"]) {
      await repo.insertJob(job(id));
      for (const generation of [1, 2]) {
        await repo.createRun(
          { jobId: id, generation, status: "succeeded", detection: "manifest", startedAt: new Date(0) },
          [{ op: "copy", key: `k${generation}`, size: 1, etag: "e", reason: "new" }, {
            op: "delete",
            key: "old",
            size: 0,
            etag: null,
            reason: "deleted",
          }],
        );
      }
      await db.insert(syncEntries).values({
        jobId: id,
        key: "k1",
        fromGen: 1,
        size: 1,
        etag: "e",
        mirrorEtag: "e",
        lastModified: new Date(0),
      });
    }

    await repo.deleteJob("gone");
    assert.deepEqual((await db.select().from(syncJobs)).map((j) => j.id), ["kept"]);
    const runs = await db.select().from(syncRuns);
    assert.deepEqual(runs.map((r) => r.jobId), ["kept", "kept"]);
    const items = await db.select().from(syncRunItems);
    assert.equal(items.length, 4);
    assert.ok(items.every((i) => runs.some((r) => r.id === i.runId)));
    assert.deepEqual((await db.select().from(syncEntries)).map((e) => e.jobId), ["kept"]);
    assert.deepEqual(await danglingReferences(handle), []);
  } finally {
    handle.close();
  }
});

Deno.test("references: a volume's snapshots and a target's LUNs go with them; a backend holding a volume says so", async () => {
  const handle = await databaseWithoutForeignKeys();
  try {
    const { db } = handle;
    const sealer = await createSecretBox({ key: crypto.getRandomValues(new Uint8Array(32)) });
    await insertBackend(db, sealer, { id: "spare", kind: "fs", config: { root: "/srv" }, createdAt: new Date(0) });
    const repo = createBlockdevRepo(db);
    await repo.insertVolume(volume("v1", "spare"));
    await repo.insertVolume(volume("v2", "spare"));
    for (const name of ["monday", "tuesday"]) {
      await repo.insertSnapshot({ volumeId: "v1", name, chunks: 3, createdAt: new Date(0) });
    }
    await repo.insertSnapshot({ volumeId: "v2", name: "monday", chunks: 1, createdAt: new Date(0) });
    await repo.upsertTarget({ iqn: "iqn.2026-11.test:t1", chapUser: null, chapSecret: null, createdAt: new Date(0) });
    await repo.insertLun({ targetIqn: "iqn.2026-11.test:t1", lun: 0, volumeId: "v2" });
    assert.deepEqual(await backendUsers(db, "spare"), ["2 block device volume(s)"]);

    await repo.deleteVolume("v1");
    assert.deepEqual(
      (await db.select().from(blockdevSnapshots)).map((s) => [s.volumeId, s.name]),
      [["v2", "monday"]],
    );
    await repo.deleteTarget("iqn.2026-11.test:t1");
    assert.deepEqual(await db.select().from(blockdevLuns).where(eq(blockdevLuns.volumeId, "v2")), []);
    assert.deepEqual(await backendUsers(db, "spare"), ["1 block device volume(s)"]);
    assert.deepEqual(await backendUsers(db, "local"), []);
    assert.deepEqual(await danglingReferences(handle), []);
  } finally {
    handle.close();
  }
});
