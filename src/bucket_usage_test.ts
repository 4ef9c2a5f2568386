import assert from "node:assert/strict";
import { createBucketUsageCache, scanBucketUsage } from "./bucket_usage.ts";
import { fakeClock } from "./clock.ts";
import { AppError } from "./errors.ts";
import { bytes, streamOf } from "./storage/_testing/contract_helpers.ts";
import { createMemoryStore } from "./storage/memory.ts";
import type { ObjectStore } from "./storage/mod.ts";

const B = "usage-test";

const put = (store: ObjectStore, key: string, size: number) => store.putObject(B, key, streamOf(bytes(size)));

async function partUpload(store: ObjectStore, key: string, sizes: number[]) {
  const uploadId = await store.createMultipartUpload(B, key);
  for (const [i, size] of sizes.entries()) {
    await store.uploadPart(B, key, { uploadId, partNumber: i + 1 }, streamOf(bytes(size, i + 1)));
  }
  return uploadId;
}

Deno.test("scanBucketUsage() counts each object once at its current size, and the parts of unfinished uploads", async () => {
  const clock = fakeClock();
  const store = createMemoryStore({ clock });
  await store.createBucket(B);
  await put(store, "a", 10);
  await put(store, "dir/b", 1000);
  await put(store, "dir/b", 3000); // overwritten: counted once, at its new size
  await put(store, "gone", 77);
  await store.deleteObject(B, "gone");
  // A completed upload is an object, no longer an upload.
  const done = await partUpload(store, "big", [5 * 1024 * 1024, 123]);
  const listing = await store.listParts(B, "big", done);
  await store.completeMultipartUpload(
    B,
    "big",
    done,
    listing.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
  );
  await partUpload(store, "pending", [5 * 1024 * 1024, 5 * 1024 * 1024, 17]);
  await partUpload(store, "dir/pending", [4096]);
  await store.createMultipartUpload(B, "nothing-yet");

  const usage = await scanBucketUsage(store, B, clock);
  assert.deepEqual({ ...usage, scanMs: 0 }, {
    bucket: B,
    objects: 3,
    bytes: 10 + 3000 + 5 * 1024 * 1024 + 123,
    multipartUploads: 3,
    multipartParts: 4,
    multipartBytes: 10 * 1024 * 1024 + 17 + 4096,
    scannedAt: clock.now().toISOString(),
    scanMs: 0,
  });
});

Deno.test("scanBucketUsage() walks past a page of listing, and skips an upload that ends while it is walked", async () => {
  const clock = fakeClock();
  const store = createMemoryStore({ clock });
  await store.createBucket(B);
  for (let i = 0; i < 2345; i++) await put(store, `k/${String(i).padStart(5, "0")}`, i % 7);
  const ended = await partUpload(store, "ended", [100]);
  await partUpload(store, "open", [200]);
  let pages = 0;
  const racing: Pick<ObjectStore, "listObjects" | "listMultipartUploads" | "listParts"> = {
    listObjects: (bucket, options) => (pages++, store.listObjects(bucket, options)),
    listMultipartUploads: (bucket, options) => store.listMultipartUploads(bucket, options),
    listParts: async (bucket, key, uploadId, options) => {
      if (uploadId === ended) {
        await store.abortMultipartUpload(bucket, key, uploadId);
      }
      return await store.listParts(bucket, key, uploadId, options);
    },
  };
  const usage = await scanBucketUsage(racing, B, clock);
  assert.equal(pages, 3);
  assert.equal(usage.objects, 2345);
  assert.equal(usage.bytes, Array.from({ length: 2345 }, (_, i) => i % 7).reduce((a, b) => a + b, 0));
  assert.deepEqual([usage.multipartUploads, usage.multipartParts, usage.multipartBytes], [1, 1, 200]);
});

Deno.test("bucket usage cache: answers a result up to its age again, walks again when asked or older, one walk at a time", async () => {
  const clock = fakeClock();
  const store = createMemoryStore({ clock });
  await store.createBucket(B);
  await put(store, "a", 10);
  let walks = 0;
  const counted: Pick<ObjectStore, "listObjects" | "listMultipartUploads" | "listParts"> = {
    listObjects: (bucket, options) => (walks++, store.listObjects(bucket, options)),
    listMultipartUploads: (bucket, options) => store.listMultipartUploads(bucket, options),
    listParts: (bucket, key, uploadId, options) => store.listParts(bucket, key, uploadId, options),
  };
  const cache = createBucketUsageCache({ store: counted, clock, maxAgeMs: 60_000 });

  const [first, second] = await Promise.all([cache.usage(B), cache.usage(B)]);
  assert.equal(walks, 1, "concurrent requests share one walk");
  assert.equal(first, second);
  await put(store, "later", 5);
  clock.advance(59_000);
  assert.equal((await cache.usage(B)).bytes, 10, "kept for up to a minute");
  assert.equal((await cache.usage(B, { refresh: true })).bytes, 15);
  assert.equal(walks, 2);
  await put(store, "more", 1);
  clock.advance(61_000);
  assert.equal((await cache.usage(B)).bytes, 16);
  assert.equal(walks, 3);

  await assert.rejects(cache.usage("missing"), (err) => err instanceof AppError && err.code === "NoSuchBucket");
  await assert.rejects(cache.usage("missing"), (err) => err instanceof AppError && err.code === "NoSuchBucket");
  assert.equal(walks, 5, "a failed walk is not kept");
});
