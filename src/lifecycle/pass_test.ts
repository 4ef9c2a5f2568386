import assert from "node:assert/strict";
import { fakeClock } from "../clock.ts";
import type { OperationEvent } from "../events/mod.ts";
import { createMemoryBucketConfigStore } from "../gateway/bucket_config.ts";
import { silentLogger } from "../log.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { getBytes, put, streamOf, text } from "../storage/_testing/contract_helpers.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { createLifecyclePass, LIFECYCLE_ACTOR } from "./pass.ts";

const DAY = 24 * 60 * 60 * 1000;

async function setup(wrap: (store: ObjectStore) => ObjectStore = (s) => s) {
  const clock = fakeClock(new Date("2026-03-01T12:00:00Z"));
  const store = createMemoryStore({ clock });
  const bucketConfig = createMemoryBucketConfigStore(store);
  const events: OperationEvent[] = [];
  const pass = createLifecyclePass({
    buckets: wrap(store),
    bucketConfig,
    clock,
    logger: silentLogger(),
    publish: (e) => events.push(e),
  });
  await store.createBucket("backups");
  return { clock, store, bucketConfig, events, pass };
}

const keys = async (store: ObjectStore, bucket = "backups") =>
  (await store.listObjects(bucket)).objects.map((o) => o.key);

Deno.test("a pass deletes what the rules expire, nothing else, and publishes each deletion as a recorded operation", async () => {
  const t = await setup();
  await put(t.store, "backups", "dump/old.vma", "old");
  await put(t.store, "backups", "dump/big-old.vma", "x".repeat(2000));
  await put(t.store, "backups", "iso/old.iso", "iso");
  t.clock.advance(5 * DAY);
  await put(t.store, "backups", "dump/new.vma", "new");
  await t.bucketConfig.setConfig("backups", "lifecycle", [
    { id: "dumps", enabled: true, prefix: "dump/", sizeLessThan: 1000, expiration: { days: 3 } },
    { enabled: false, prefix: "", expiration: { days: 1 } },
    // Actions on versions, which unversioned buckets never have: nothing to act on.
    { enabled: true, prefix: "", versionActions: { expiredObjectDeleteMarker: true, noncurrentDays: 1 } },
  ]);
  let result = await t.pass();
  assert.deepEqual([result.buckets, result.expired, result.aborted, result.errors], [1, 1, 0, 0]);
  assert.deepEqual(await keys(t.store), ["dump/big-old.vma", "dump/new.vma", "iso/old.iso"]);
  assert.equal(t.events.length, 1);
  const [event] = t.events;
  assert.equal(event!.actor, LIFECYCLE_ACTOR);
  assert.equal(event!.op, "DeleteObject");
  assert.equal(event!.key, "dump/old.vma");
  assert.equal(event!.status, 204);
  assert.equal(event!.size, 3);
  assert.match(event!.requestId, /^[0-9A-F]{16}$/);
  t.clock.advance(3 * DAY);
  assert.equal((await t.pass()).expired, 0, "3 days after noon end at the midnight after");
  t.clock.advance(DAY / 2);
  result = await t.pass();
  assert.equal(result.expired, 1, "the newer dump's day came");
  assert.deepEqual(await keys(t.store), ["dump/big-old.vma", "iso/old.iso"]);
});

Deno.test("a rule with tags deletes only the objects that have every one of them, tags set at write or later", async () => {
  const t = await setup();
  const putTagged = (key: string, tags: Record<string, string>) =>
    t.store.putObject("backups", key, streamOf(text("x")), { tags });
  await putTagged("dump/a", { kind: "tmp", team: "ops" });
  await putTagged("dump/b", { kind: "tmp" });
  await putTagged("dump/c", { kind: "keep", team: "ops" });
  await put(t.store, "backups", "dump/d", "untagged");
  await t.store.putObjectTagging("backups", "dump/d", { team: "ops", kind: "tmp" });
  t.clock.advance(3 * DAY);
  await t.bucketConfig.setConfig("backups", "lifecycle", [
    { id: "tmp", enabled: true, prefix: "dump/", tags: { kind: "tmp", team: "ops" }, expiration: { days: 1 } },
  ]);
  const result = await t.pass();
  assert.deepEqual([result.expired, result.errors], [2, 0]);
  assert.deepEqual(await keys(t.store), ["dump/b", "dump/c"]);
  assert.deepEqual(t.events.map((e) => e.key), ["dump/a", "dump/d"]);
});

Deno.test("a pass aborts the uploads a rule ends and pages through many objects", async () => {
  const t = await setup();
  const stale = await t.store.createMultipartUpload("backups", "dump/stale.vma");
  await t.store.uploadPart("backups", "dump/stale.vma", { uploadId: stale, partNumber: 1 }, streamOf(text("p")));
  for (let i = 0; i < 2500; i++) await put(t.store, "backups", `tmp/${String(i).padStart(5, "0")}`, "t");
  t.clock.advance(2 * DAY);
  const fresh = await t.store.createMultipartUpload("backups", "dump/fresh.vma");
  await t.bucketConfig.setConfig("backups", "lifecycle", [
    { enabled: true, prefix: "dump/", abortIncompleteUploadDays: 1 },
    { enabled: true, prefix: "tmp/", expiration: { date: new Date("2026-03-02T00:00:00Z") } },
  ]);
  const result = await t.pass();
  assert.deepEqual([result.expired, result.aborted, result.errors], [2500, 1, 0]);
  assert.deepEqual((await t.store.listMultipartUploads("backups")).uploads.map((u) => u.uploadId), [fresh]);
  assert.deepEqual(await keys(t.store), []);
  assert.equal(t.events.filter((e) => e.op === "AbortMultipartUpload" && e.key === "dump/stale.vma").length, 1);
});

Deno.test("an object written again or deleted after the listing is left alone; one bucket's failure does not stop the pass", async () => {
  let store: ObjectStore | undefined;
  const t = await setup((s) => {
    store = s;
    return {
      ...s,
      // The listing is taken, then a client writes the key again before the pass reaches it.
      async listObjects(bucket, options) {
        const page = await s.listObjects(bucket, options);
        if (bucket === "backups") {
          await put(s, bucket, "dump/a.vma", "rewritten");
          await s.deleteObject(bucket, "dump/b.vma");
        }
        return page;
      },
    };
  });
  await put(store!, "backups", "dump/a.vma", "first");
  await put(store!, "backups", "dump/b.vma", "deleted by a client meanwhile");
  await t.store.createBucket("gone");
  await t.bucketConfig.setConfig("gone", "lifecycle", [{ enabled: true, prefix: "", expiration: { days: 1 } }]);
  await t.store.deleteBucket("gone");
  t.clock.advance(10 * DAY);
  await t.bucketConfig.setConfig("backups", "lifecycle", [{ enabled: true, prefix: "", expiration: { days: 1 } }]);
  const result = await t.pass();
  assert.deepEqual([result.expired, result.errors], [0, 0], "neither the rewritten nor the deleted object counts");
  assert.equal(new TextDecoder().decode(await getBytes(t.store, "backups", "dump/a.vma")), "rewritten");
  const only = await t.pass("missing-bucket");
  assert.equal(only.errors, 1, "a bucket that cannot be walked is counted");
});
