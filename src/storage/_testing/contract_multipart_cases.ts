/** Contract cases: multipart uploads (ETag, part rules, listing, abort, part copy, reads by part). @module */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { scanBucketUsage } from "../../bucket_usage.ts";
import { fakeClock } from "../../clock.ts";
import { MIN_PART_SIZE, type ObjectStore } from "../mod.ts";
import type { ContractCase } from "./object_store_contract.ts";
import {
  bytes,
  collect,
  failingStream,
  getBytes,
  md5Hex,
  put,
  rejectsWithCode,
  streamOf,
  text,
} from "./contract_helpers.ts";

function multipartEtag(parts: Uint8Array[]): string {
  const hash = createHash("md5");
  for (const p of parts) hash.update(Buffer.from(md5Hex(p), "hex"));
  return `"${hash.digest("hex")}-${parts.length}"`;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export const multipartCases: ContractCase[] = [
  {
    unsupportedWhen: "multipartUnsupported",
    name: "multipart: md5-of-md5s-N ETag, part overwrite, skipped part, listings, headers",
    async fn({ store, bucket, deviations }) {
      // Part 2 is left out of the completion, unless the server cannot do that.
      const allParts = Boolean(deviations.completeRequiresAllParts);
      const p2 = allParts ? bytes(MIN_PART_SIZE, 8) : bytes(7, 8);
      const key = "big/object.bin";
      const uploadId = await store.createMultipartUpload(bucket, key, {
        contentType: "application/x-mp",
        metadata: { m: "v" },
      });
      const p1 = bytes(MIN_PART_SIZE, 1);
      const p3 = bytes(MIN_PART_SIZE + 10, 2);
      const p4 = bytes(1234, 3);
      await store.uploadPart(bucket, key, { uploadId, partNumber: 1 }, streamOf(bytes(100, 9)));
      const r1 = await store.uploadPart(bucket, key, { uploadId, partNumber: 1 }, streamOf(p1));
      const r2 = await store.uploadPart(bucket, key, { uploadId, partNumber: 2 }, streamOf(p2));
      const r3 = await store.uploadPart(bucket, key, { uploadId, partNumber: 3 }, streamOf(p3), {
        contentLength: p3.byteLength,
      });
      const r4 = await store.uploadPart(bucket, key, { uploadId, partNumber: 4 }, streamOf(p4));
      assert.equal(r1.etag, `"${md5Hex(p1)}"`);
      assert.equal(r1.size, MIN_PART_SIZE);

      const listed = await store.listParts(bucket, key, uploadId);
      assert.deepEqual(listed.parts.map((p) => [p.partNumber, p.etag, p.size]), [
        [1, r1.etag, p1.byteLength],
        [2, r2.etag, p2.byteLength],
        [3, r3.etag, p3.byteLength],
        [4, r4.etag, p4.byteLength],
      ]);
      const paged = await store.listParts(bucket, key, uploadId, { maxParts: 2 });
      assert.deepEqual([paged.parts.length, paged.isTruncated, paged.nextPartNumberMarker], [2, true, 2]);
      const rest = await store.listParts(bucket, key, uploadId, { partNumberMarker: 2 });
      assert.deepEqual(rest.parts.map((p) => p.partNumber), [3, 4]);
      const uploads = await store.listMultipartUploads(bucket);
      assert.deepEqual(uploads.uploads.map((u) => [u.key, u.uploadId]), [[key, uploadId]]);
      await rejectsWithCode(store.headObject(bucket, key), "NoSuchKey", "before completion");

      const expectedParts = allParts ? [p1, p2, p3, p4] : [p1, p3, p4];
      const done = await store.completeMultipartUpload(bucket, key, uploadId, [
        { partNumber: 1, etag: r1.etag },
        ...(allParts ? [{ partNumber: 2, etag: r2.etag }] : []),
        { partNumber: 3, etag: r3.etag },
        { partNumber: 4, etag: r4.etag },
      ]);
      const etag = multipartEtag(expectedParts);
      assert.equal(done.etag, etag);
      const head = await store.headObject(bucket, key);
      assert.equal(head.etag, etag);
      assert.equal(head.size, expectedParts.reduce((n, p) => n + p.byteLength, 0));
      assert.equal(head.contentType, "application/x-mp");
      assert.deepEqual(head.metadata, { m: "v" });
      assert.deepEqual(await getBytes(store, bucket, key), concat(expectedParts));
      const tail = await store.getObject(bucket, key, { range: { start: MIN_PART_SIZE - 2, end: MIN_PART_SIZE + 2 } });
      assert.deepEqual(await collect(tail.body), concat(expectedParts).subarray(MIN_PART_SIZE - 2, MIN_PART_SIZE + 3));
      await rejectsWithCode(store.listParts(bucket, key, uploadId), "NoSuchUpload", "after completion");
      assert.equal((await store.listMultipartUploads(bucket)).uploads.length, 0);
    },
  },
  {
    unsupportedWhen: "multipartUnsupported",
    name: "multipart: EntityTooSmall, InvalidPart, InvalidPartOrder; upload survives failed completes",
    async fn({ store, bucket, deviations }) {
      const key = "rules";
      const uploadId = await store.createMultipartUpload(bucket, key);
      const a = await store.uploadPart(bucket, key, { uploadId, partNumber: 1 }, streamOf(bytes(1000, 1)));
      const b = await store.uploadPart(bucket, key, { uploadId, partNumber: 2 }, streamOf(bytes(1000, 2)));
      const parts = [{ partNumber: 1, etag: a.etag }, { partNumber: 2, etag: b.etag }];
      await rejectsWithCode(store.completeMultipartUpload(bucket, key, uploadId, parts), "EntityTooSmall");
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, key, uploadId, [parts[1]!, parts[0]!]),
        "InvalidPartOrder",
      );
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, key, uploadId, [{ partNumber: 1, etag: `"${md5Hex(bytes(1, 1))}"` }]),
        "InvalidPart",
        "wrong etag",
      );
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, key, uploadId, [{ partNumber: 3, etag: a.etag }]),
        "InvalidPart",
        "missing part",
      );
      await rejectsWithCode(store.headObject(bucket, key), "NoSuchKey");
      if (deviations.completeRequiresAllParts) {
        const big = bytes(MIN_PART_SIZE, 1);
        const first = await store.uploadPart(bucket, key, { uploadId, partNumber: 1 }, streamOf(big));
        const done = await store.completeMultipartUpload(bucket, key, uploadId, [first, parts[1]!]);
        assert.equal(done.etag, multipartEtag([big, bytes(1000, 2)]));
        assert.deepEqual(await getBytes(store, bucket, key), concat([big, bytes(1000, 2)]));
      } else {
        const single = await store.completeMultipartUpload(bucket, key, uploadId, [parts[1]!]);
        assert.equal(single.etag, multipartEtag([bytes(1000, 2)]));
        assert.deepEqual(await getBytes(store, bucket, key), bytes(1000, 2));
      }
    },
  },
  {
    unsupportedWhen: "multipartUnsupported",
    name: "multipart: NoSuchUpload, abort, invalid part numbers, failed part body keeps nothing",
    async fn({ store, bucket }) {
      const bogus = "bm9uZXhpc3RlbnQtdXBsb2Fk";
      await rejectsWithCode(
        store.uploadPart(bucket, "k", { uploadId: bogus, partNumber: 1 }, streamOf(bytes(10))),
        "NoSuchUpload",
      );
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, "k", bogus, [{ partNumber: 1, etag: '"x"' }]),
        "NoSuchUpload",
      );
      await rejectsWithCode(store.abortMultipartUpload(bucket, "k", bogus), "NoSuchUpload");
      await rejectsWithCode(store.listParts(bucket, "k", bogus), "NoSuchUpload");
      const uploadId = await store.createMultipartUpload(bucket, "k");
      for (const partNumber of [0, 10_001]) {
        await rejectsWithCode(
          store.uploadPart(bucket, "k", { uploadId, partNumber }, streamOf(bytes(10))),
          "InvalidArgument",
        );
      }
      await assert.rejects(store.uploadPart(bucket, "k", { uploadId, partNumber: 1 }, failingStream(bytes(1000))));
      assert.equal((await store.listParts(bucket, "k", uploadId)).parts.length, 0);
      await store.uploadPart(bucket, "k", { uploadId, partNumber: 1 }, streamOf(bytes(10)));
      await store.abortMultipartUpload(bucket, "k", uploadId);
      await rejectsWithCode(store.listParts(bucket, "k", uploadId), "NoSuchUpload");
      await rejectsWithCode(store.headObject(bucket, "k"), "NoSuchKey");
    },
  },
  {
    unsupportedWhen: "multipartUnsupported",
    name: "multipart: a completion repeated after it succeeded answers with the object until that is replaced",
    async fn({ store, bucket }) {
      const key = "retried";
      const uploadId = await store.createMultipartUpload(bucket, key);
      const part = await store.uploadPart(bucket, key, { uploadId, partNumber: 1 }, streamOf(bytes(1000, 31)));
      const parts = [{ partNumber: 1, etag: part.etag }];
      const done = await store.completeMultipartUpload(bucket, key, uploadId, parts);
      const again = await store.completeMultipartUpload(bucket, key, uploadId, parts);
      assert.deepEqual([again.etag, again.size], [done.etag, 1000]);
      assert.deepEqual(await getBytes(store, bucket, key), bytes(1000, 31));
      await rejectsWithCode(store.completeMultipartUpload(bucket, "elsewhere", uploadId, parts), "NoSuchUpload");
      await put(store, bucket, key, "replaced");
      await rejectsWithCode(store.completeMultipartUpload(bucket, key, uploadId, parts), "NoSuchUpload", "replaced");
      assert.deepEqual(await getBytes(store, bucket, key), text("replaced"));
    },
  },
  {
    unsupportedWhen: "multipartUnsupported",
    name: "multipart: upload part copy with ranges; ranged copyObject",
    async fn({ store, bucket }) {
      const big = bytes(MIN_PART_SIZE + 4096, 21);
      const small = bytes(3000, 22);
      await put(store, bucket, "src-big", big);
      await put(store, bucket, "src-small", small);
      const uploadId = await store.createMultipartUpload(bucket, "assembled");
      const c1 = await store.uploadPartCopy(
        { bucket, key: "src-big", range: { start: 4096, end: 4096 + MIN_PART_SIZE - 1 } },
        { bucket, key: "assembled", uploadId, partNumber: 1 },
      );
      const c2 = await store.uploadPartCopy({ bucket, key: "src-small" }, {
        bucket,
        key: "assembled",
        uploadId,
        partNumber: 2,
      });
      const p1 = big.subarray(4096);
      assert.equal(c1.etag, `"${md5Hex(p1)}"`);
      assert.equal(c2.etag, `"${md5Hex(small)}"`);
      const done = await store.completeMultipartUpload(bucket, "assembled", uploadId, [
        { partNumber: 1, etag: c1.etag },
        { partNumber: 2, etag: c2.etag },
      ]);
      assert.equal(done.etag, multipartEtag([p1, small]));
      assert.deepEqual(await getBytes(store, bucket, "assembled"), concat([p1, small]));
      // copyObject with a source range (backends without ranged CopyObject assemble it from part copies).
      const ranged = await store.copyObject({ bucket, key: "src-big", range: { start: 10, end: 5009 } }, {
        bucket,
        key: "ranged-copy",
      });
      assert.equal(ranged.size, 5000);
      assert.deepEqual(await getBytes(store, bucket, "ranged-copy"), big.subarray(10, 5010));
    },
  },
  {
    unsupportedWhen: "multipartUnsupported",
    name:
      "bucket usage walk: objects and bytes, and the parts of an unfinished upload, through this backend's listings",
    async fn({ store, bucket }) {
      await put(store, bucket, "a", bytes(1000, 1));
      await put(store, bucket, "dir/b", bytes(3000, 2));
      const uploadId = await store.createMultipartUpload(bucket, "pending");
      await store.uploadPart(bucket, "pending", { uploadId, partNumber: 1 }, streamOf(bytes(MIN_PART_SIZE, 3)));
      await store.uploadPart(bucket, "pending", { uploadId, partNumber: 2 }, streamOf(bytes(17, 4)));
      const usage = await scanBucketUsage(store, bucket, fakeClock());
      assert.deepEqual(
        [usage.objects, usage.bytes, usage.multipartUploads, usage.multipartParts, usage.multipartBytes],
        [2, 4000, 1, 2, MIN_PART_SIZE + 17],
      );
      await store.abortMultipartUpload(bucket, "pending", uploadId);
    },
  },
];

/** Reads part `partNumber` of `key`: its bytes, the span it covers and the parts count reported. */
async function readPart(ctx: { store: ObjectStore; bucket: string }, key: string, partNumber: number) {
  const got = await ctx.store.getObject(ctx.bucket, key, { partNumber });
  return { data: await collect(got.body), range: got.range, partsCount: got.info.partsCount, etag: got.info.etag };
}

export const partReadCases: ContractCase[] = [{
  unsupportedWhen: "multipartUnsupported",
  name: "getObject by partNumber: the parts in object order; a simple object or a copy is its own part 1",
  async fn({ store, bucket, deviations }) {
    const key = "parts.bin";
    const uploadId = await store.createMultipartUpload(bucket, key);
    const parts = [bytes(MIN_PART_SIZE, 4), bytes(MIN_PART_SIZE + 5, 5), bytes(9, 6)];
    const done = [];
    for (const [i, data] of parts.entries()) {
      done.push(await store.uploadPart(bucket, key, { uploadId, partNumber: i + 1 }, streamOf(data)));
    }
    const info = await store.completeMultipartUpload(
      bucket,
      key,
      uploadId,
      done.map((p, i) => ({ partNumber: i + 1, etag: p.etag })),
    );
    await put(store, bucket, "simple.txt", "one part");
    if (deviations.partNumberIgnored) {
      await rejectsWithCode(store.getObject(bucket, key, { partNumber: 2 }), "NotImplemented", "a part beyond 1");
      await rejectsWithCode(store.getObject(bucket, key, { partNumber: 1 }), "NotImplemented", "part 1 of a multipart");
      assert.deepEqual((await readPart({ store, bucket }, "simple.txt", 1)).data, text("one part"));
      return;
    }
    let start = 0;
    for (const [i, data] of parts.entries()) {
      const got = await readPart({ store, bucket }, key, i + 1);
      assert.deepEqual(got.data, data, `part ${i + 1}`);
      assert.deepEqual(got.range, { start, end: start + data.byteLength - 1 });
      assert.deepEqual([got.partsCount, got.etag], [3, info.etag]);
      start += data.byteLength;
    }
    await rejectsWithCode(store.getObject(bucket, key, { partNumber: 4 }), "InvalidPartNumber");
    // A copy is a new object written whole (S3: one part, the MD5 of its bytes as ETag): its part 1 is all of it.
    const copy = await store.copyObject({ bucket, key }, { bucket, key: "copy.bin" });
    assert.deepEqual([copy.etag, copy.partsCount], [`"${md5Hex(concat(parts))}"`, undefined]);
    const copied = await readPart({ store, bucket }, "copy.bin", 1);
    assert.deepEqual([copied.data, copied.partsCount, copied.etag], [concat(parts), undefined, copy.etag]);
    await rejectsWithCode(store.getObject(bucket, "copy.bin", { partNumber: 2 }), "InvalidPartNumber");
    const simple = await readPart({ store, bucket }, "simple.txt", 1);
    assert.deepEqual(simple.data, text("one part"));
    assert.equal(simple.partsCount, undefined);
    await rejectsWithCode(store.getObject(bucket, "simple.txt", { partNumber: 2 }), "InvalidPartNumber");
  },
}];
