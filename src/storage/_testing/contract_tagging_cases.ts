/** Contract cases: object tags, set with a write or on their own, and what setting them must leave alone. @module */
import assert from "node:assert/strict";
import { MIN_PART_SIZE } from "../mod.ts";
import type { ContractCase, ContractContext } from "./object_store_contract.ts";
import { bytes, collect, getBytes, put, raceRounds, rejectsWithCode, streamOf } from "./contract_helpers.ts";

const TAGS = { project: "pve", "owner name": "ops + backup/2026" };

/**
 * What setting tags must not change: data, ETag, size, last-modified time (unless the server declares otherwise),
 * metadata and headers.
 */
async function describe(ctx: ContractContext, key: string) {
  const { store, bucket, deviations } = ctx;
  const { tagCount: _count, lastModified, ...info } = await store.headObject(bucket, key);
  const time = deviations.taggingChangesLastModified ? {} : { lastModified };
  return { info: { ...info, ...time }, data: await getBytes(store, bucket, key) };
}

export const taggingCases: ContractCase[] = [
  {
    name: "object tags: set, replaced and removed on their own; data, ETag and metadata kept",
    async fn(ctx) {
      const { store, bucket } = ctx;
      const data = bytes(300_000, 3);
      await store.putObject(bucket, "big", streamOf(data), {
        contentLength: data.byteLength,
        contentType: "application/x-test",
        metadata: { origin: "contract" },
      });
      await put(store, bucket, "small", "tiny");
      for (const key of ["big", "small"]) {
        const before = await describe(ctx, key);
        assert.deepEqual(await store.getObjectTagging(bucket, key), {});
        await store.putObjectTagging(bucket, key, TAGS);
        assert.deepEqual(await store.getObjectTagging(bucket, key), TAGS);
        assert.deepEqual(await describe(ctx, key), before, `${key}: tagging changed the object`);
        await store.putObjectTagging(bucket, key, { only: "one" });
        assert.deepEqual(await store.getObjectTagging(bucket, key), { only: "one" });
        await store.putObjectTagging(bucket, key, {});
        assert.deepEqual(await store.getObjectTagging(bucket, key), {});
        assert.deepEqual(await describe(ctx, key), before);
      }
      await rejectsWithCode(store.getObjectTagging(bucket, "absent"), "NoSuchKey");
      await rejectsWithCode(store.putObjectTagging(bucket, "absent", TAGS), "NoSuchKey");
      await rejectsWithCode(store.headObject(bucket, "absent"), "NoSuchKey", "tagging created the key:");
    },
  },
  {
    name: "object tags: a multipart object keeps its ETag and parts when tagged",
    unsupportedWhen: "multipartUnsupported",
    async fn({ store, bucket, deviations }) {
      const parts = [bytes(MIN_PART_SIZE, 1), bytes(1000, 2)];
      const uploadId = await store.createMultipartUpload(bucket, "mp", { tags: { stage: "upload" } });
      const done = await Promise.all(
        parts.map((p, i) => store.uploadPart(bucket, "mp", { uploadId, partNumber: i + 1 }, streamOf(p))),
      );
      const info = await store.completeMultipartUpload(bucket, "mp", uploadId, done);
      await store.putObjectTagging(bucket, "mp", { stage: "tagged" });
      assert.deepEqual(await store.getObjectTagging(bucket, "mp"), { stage: "tagged" });
      assert.equal((await store.headObject(bucket, "mp")).etag, info.etag);
      if (deviations.partNumberIgnored) return;
      const second = await store.getObject(bucket, "mp", { partNumber: 2 });
      assert.deepEqual(await collect(second.body), parts[1]);
    },
  },
  {
    name: "object tags: given with a put, a multipart upload and a copy (kept by default, replaced on request)",
    unsupportedWhen: "tagsOnWritesIgnored",
    async fn({ store, bucket, deviations }) {
      await store.putObject(bucket, "tagged", streamOf(bytes(100, 1)), { contentLength: 100, tags: TAGS });
      assert.deepEqual(await store.getObjectTagging(bucket, "tagged"), TAGS);
      const got = await store.getObject(bucket, "tagged");
      await got.body.cancel();
      assert.equal(got.info.tagCount, 2);
      await put(store, bucket, "plain", "no tags");
      const plain = await store.getObject(bucket, "plain");
      await plain.body.cancel();
      assert.equal(plain.info.tagCount, undefined);

      await store.copyObject({ bucket, key: "tagged" }, { bucket, key: "copy-kept" });
      assert.deepEqual(await store.getObjectTagging(bucket, "copy-kept"), TAGS);
      await store.copyObject({ bucket, key: "tagged" }, { bucket, key: "copy-new" }, {
        taggingDirective: "REPLACE",
        tags: { fresh: "yes" },
      });
      assert.deepEqual(await store.getObjectTagging(bucket, "copy-new"), { fresh: "yes" });
      await store.copyObject({ bucket, key: "tagged" }, { bucket, key: "copy-none" }, { taggingDirective: "REPLACE" });
      assert.deepEqual(await store.getObjectTagging(bucket, "copy-none"), {});
      if (deviations.multipartTagsIgnored || deviations.multipartUnsupported) return;

      const uploadId = await store.createMultipartUpload(bucket, "mp", { tags: { via: "multipart" } });
      const part = await store.uploadPart(bucket, "mp", { uploadId, partNumber: 1 }, streamOf(bytes(10, 4)));
      await store.completeMultipartUpload(bucket, "mp", uploadId, [part]);
      assert.deepEqual(await store.getObjectTagging(bucket, "mp"), { via: "multipart" });
    },
  },
  {
    name: "object tags: written while the object is replaced, they never bring back the old data",
    unsupportedWhen: "taggingRacesFail",
    async fn({ store, bucket }) {
      await raceRounds([100, 300_000], async (key, size, round) => {
        await store.putObject(bucket, key, streamOf(bytes(size, 1)), { contentLength: size });
        const newer = bytes(size, 2);
        await Promise.all([
          store.putObjectTagging(bucket, key, { round: String(round) }),
          store.putObject(bucket, key, streamOf(newer), { contentLength: size }),
        ]);
        assert.deepEqual(await getBytes(store, bucket, key), newer, `${key}: the old data came back`);
      });
    },
  },
];
