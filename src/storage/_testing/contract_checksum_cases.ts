/** Contract cases: a multipart object's checksum made from its parts', composite or full-object. @module */
import assert from "node:assert/strict";
import { digestBase64 } from "../../gateway/wire/checksums.ts";
import { type ChecksumAlgorithm, type ChecksumType, MIN_PART_SIZE } from "../mod.ts";
import type { ContractCase, ContractContext } from "./object_store_contract.ts";
import { bytes, collect, rejectsWithCode, streamOf } from "./contract_helpers.ts";

/** Uploads two parts carrying `algorithm` checksums; returns what completing needs and the whole object's bytes. */
async function upload(
  { store, bucket }: ContractContext,
  key: string,
  algorithm: ChecksumAlgorithm,
  checksumType?: ChecksumType,
) {
  const data = [bytes(MIN_PART_SIZE, 5), bytes(1000, 6)];
  const uploadId = await store.createMultipartUpload(bucket, key, {
    checksumAlgorithm: algorithm,
    ...(checksumType ? { checksumType } : {}),
  });
  const parts = [];
  for (const [i, part] of data.entries()) {
    const checksums = { [algorithm]: digestBase64(algorithm, part) };
    const uploaded = await store.uploadPart(bucket, key, { uploadId, partNumber: i + 1 }, streamOf(part), {
      checksums,
      contentLength: part.byteLength,
    });
    parts.push({ partNumber: uploaded.partNumber, etag: uploaded.etag, checksums });
  }
  const whole = new Uint8Array(data[0]!.byteLength + data[1]!.byteLength);
  whole.set(data[0]!);
  whole.set(data[1]!, data[0]!.byteLength);
  return { uploadId, parts, whole };
}

export const checksumCases: ContractCase[] = [
  {
    name:
      "multipart checksums: full-object for CRC64NVME and with FULL_OBJECT, composite otherwise; a completion's own checksum is checked",
    unsupportedWhen: ["multipartUnsupported", "checksumsNotStored"],
    async fn(ctx) {
      const { store, bucket } = ctx;
      const full = await upload(ctx, "full-crc32", "crc32", "FULL_OBJECT");
      const wrong = { crc32: digestBase64("crc32", new Uint8Array([1])) };
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, "full-crc32", full.uploadId, full.parts, { checksums: wrong }),
        "BadDigest",
      );
      const expected = digestBase64("crc32", full.whole);
      const bare = full.parts.map(({ partNumber, etag }) => ({ partNumber, etag }));
      const done = await store.completeMultipartUpload(bucket, "full-crc32", full.uploadId, bare, {
        checksums: { crc32: expected },
      });
      assert.equal(done.checksums.crc32, expected, "the failed completion left the upload completable");
      assert.equal((await store.headObject(bucket, "full-crc32")).checksums.crc32, expected);

      const nvme = await upload(ctx, "crc64nvme", "crc64nvme");
      await store.completeMultipartUpload(bucket, "crc64nvme", nvme.uploadId, nvme.parts);
      const head = await store.headObject(bucket, "crc64nvme");
      assert.equal(head.checksums.crc64nvme, digestBase64("crc64nvme", nvme.whole));

      const composite = await upload(ctx, "composite", "crc32c");
      const unnamed = composite.parts.map(({ partNumber, etag }) => ({ partNumber, etag }));
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, "composite", composite.uploadId, unnamed),
        "InvalidRequest",
        "a composite checksum needs every part's named",
      );
      await store.completeMultipartUpload(bucket, "composite", composite.uploadId, composite.parts);
      assert.match((await store.headObject(bucket, "composite")).checksums.crc32c ?? "", /^[A-Za-z0-9+/]{6}==-2$/);
    },
  },
  {
    name:
      "multipart checksums: ListParts gives each part's checksum and the upload's choice; a completion naming a part's checksum must name the stored one",
    unsupportedWhen: ["multipartUnsupported", "checksumsNotStored"],
    async fn(ctx) {
      const { store, bucket } = ctx;
      const up = await upload(ctx, "listed", "sha256", "COMPOSITE");
      const listed = await store.listParts(bucket, "listed", up.uploadId);
      assert.equal(listed.checksumAlgorithm, "sha256");
      assert.equal(listed.checksumType, "COMPOSITE");
      const first = up.whole.subarray(0, MIN_PART_SIZE), second = up.whole.subarray(MIN_PART_SIZE);
      assert.deepEqual(listed.parts.map((p) => p.checksums.sha256), [
        digestBase64("sha256", first),
        digestBase64("sha256", second),
      ]);
      const page = await store.listParts(bucket, "listed", up.uploadId, { partNumberMarker: 1 });
      assert.deepEqual([page.parts.map((p) => p.partNumber), page.checksumAlgorithm], [[2], "sha256"]);
      const none = await store.listParts(bucket, "listed", up.uploadId, { partNumberMarker: 1, maxParts: 0 });
      assert.deepEqual([none.parts, none.isTruncated, none.nextPartNumberMarker], [[], true, 1], "a page of no parts");

      const named = up.parts.map((p, i) => ({ ...p, checksums: { sha256: listed.parts[i]!.checksums.sha256! } }));
      const swapped = [{ ...named[0]!, checksums: named[1]!.checksums }, named[1]!];
      await rejectsWithCode(store.completeMultipartUpload(bucket, "listed", up.uploadId, swapped), "InvalidPart");
      const crc32 = { crc32: digestBase64("crc32", first) };
      const lacking = [{ ...named[0]!, checksums: { ...named[0]!.checksums, ...crc32 } }, named[1]!];
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, "listed", up.uploadId, lacking),
        "BadDigest",
        "a checksum of an algorithm the part was not sent with",
      );
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, "listed", up.uploadId, named, { checksumType: "FULL_OBJECT" }),
        "InvalidRequest",
        "a completion of another checksum type than the upload's",
      );
      const done = await store.completeMultipartUpload(bucket, "listed", up.uploadId, named);
      assert.match(done.checksums.sha256 ?? "", /-2$/, "the refused completion left the upload completable");

      const plain = await store.createMultipartUpload(bucket, "plain");
      const unnamed = await store.listParts(bucket, "plain", plain);
      assert.deepEqual([unnamed.checksumAlgorithm, unnamed.checksumType], [undefined, undefined]);
      await store.abortMultipartUpload(bucket, "plain", plain);
    },
  },
  {
    name:
      "multipart checksums: a part sent with another algorithm than the upload's is refused; a part read of a composite object carries the part's own",
    unsupportedWhen: ["multipartUnsupported", "checksumsNotStored"],
    async fn(ctx) {
      const { store, bucket } = ctx;
      const up = await upload(ctx, "by-part", "crc32");
      const other = bytes(100, 7);
      await rejectsWithCode(
        store.uploadPart(bucket, "by-part", { uploadId: up.uploadId, partNumber: 2 }, streamOf(other), {
          checksums: { sha256: digestBase64("sha256", other) },
          contentLength: other.byteLength,
        }),
        "InvalidRequest",
        "a SHA256 part of a CRC32 upload",
      );
      const kept = await store.listParts(bucket, "by-part", up.uploadId);
      assert.equal(kept.parts[1]?.size, 1000, "the refused part left the stored one");
      await store.completeMultipartUpload(bucket, "by-part", up.uploadId, up.parts);
      const second = await store.getObject(bucket, "by-part", { partNumber: 2 });
      assert.deepEqual(await collect(second.body), up.whole.subarray(MIN_PART_SIZE));
      assert.deepEqual(second.partChecksums, { crc32: digestBase64("crc32", up.whole.subarray(MIN_PART_SIZE)) });

      const full = await upload(ctx, "by-part-full", "crc32", "FULL_OBJECT");
      await store.completeMultipartUpload(bucket, "by-part-full", full.uploadId, full.parts);
      const part = await store.getObject(bucket, "by-part-full", { partNumber: 1 });
      await part.body.cancel();
      assert.equal(part.partChecksums, undefined, "a full-object checksum has no part checksums to give");
    },
  },
  {
    name:
      "multipart objects list their parts (numbers, sizes, checksums) a page at a time; other objects have none to list",
    unsupportedWhen: ["multipartUnsupported", "checksumsNotStored", "objectAttributesUnsupported"],
    async fn(ctx) {
      const { store, bucket } = ctx;
      const up = await upload(ctx, "parts", "crc32c");
      const done = await store.completeMultipartUpload(bucket, "parts", up.uploadId, up.parts);
      const sizes = [MIN_PART_SIZE, up.whole.byteLength - MIN_PART_SIZE];
      const all = await store.listObjectParts(bucket, "parts");
      assert.deepEqual(all, {
        etag: done.etag,
        totalPartsCount: 2,
        isTruncated: false,
        parts: [0, 1].map((i) => ({
          partNumber: i + 1,
          size: sizes[i]!,
          checksums: {
            crc32c: digestBase64("crc32c", up.whole.subarray(i * MIN_PART_SIZE, i * MIN_PART_SIZE + sizes[i]!)),
          },
        })),
      });
      const first = await store.listObjectParts(bucket, "parts", { maxParts: 1 });
      assert.deepEqual([first?.parts.map((p) => p.partNumber), first?.isTruncated, first?.nextPartNumberMarker], [
        [1],
        true,
        1,
      ]);
      const empty = await store.listObjectParts(bucket, "parts", { maxParts: 0 });
      assert.deepEqual([empty?.parts, empty?.isTruncated, empty?.nextPartNumberMarker], [[], true, 0]);
      const rest = await store.listObjectParts(bucket, "parts", { partNumberMarker: 1 });
      assert.deepEqual([rest?.parts.map((p) => p.partNumber), rest?.totalPartsCount, rest?.isTruncated], [
        [2],
        2,
        false,
      ]);

      await store.putObject(bucket, "simple", streamOf(bytes(10, 1)));
      assert.equal(await store.listObjectParts(bucket, "simple"), undefined);
      const copy = await store.copyObject({ bucket, key: "parts" }, { bucket, key: "copy" });
      assert.equal(await store.listObjectParts(bucket, "copy"), undefined, "a copy is stored as one part");
      const full = { crc32c: digestBase64("crc32c", up.whole) };
      assert.deepEqual(copy.checksums, full, "with the full-object checksum of its bytes instead of a composite one");
      assert.deepEqual((await store.headObject(bucket, "copy")).checksums, full);
      const sha = await store.copyObject({ bucket, key: "parts" }, { bucket, key: "copy-sha" }, {
        checksumAlgorithm: "sha256",
      });
      const named = { sha256: digestBase64("sha256", up.whole) };
      assert.deepEqual(sha.checksums, named, "a copy asked for another algorithm has only that one, of its bytes");
      assert.deepEqual((await store.headObject(bucket, "copy-sha")).checksums, named);
      await rejectsWithCode(store.listObjectParts(bucket, "missing"), "NoSuchKey");
    },
  },
  {
    name:
      "a part copied, or sent without its checksum, into an upload with a checksum algorithm gets that checksum of its bytes; without one, none",
    unsupportedWhen: ["multipartUnsupported", "checksumsNotStored"],
    async fn({ store, bucket }) {
      const source = bytes(MIN_PART_SIZE + 100, 9);
      await store.putObject(bucket, "source", streamOf(source));
      const copied = source.subarray(100);
      const uploadId = await store.createMultipartUpload(bucket, "copied", {
        checksumAlgorithm: "crc32",
        checksumType: "COMPOSITE",
      });
      const first = await store.uploadPartCopy({
        bucket,
        key: "source",
        range: { start: 100, end: source.byteLength - 1 },
      }, {
        bucket,
        key: "copied",
        uploadId,
        partNumber: 1,
      });
      assert.deepEqual(first.checksums, { crc32: digestBase64("crc32", copied) });
      const tail = bytes(10, 4);
      const second = await store.uploadPart(bucket, "copied", { uploadId, partNumber: 2 }, streamOf(tail), {
        contentLength: tail.byteLength,
      });
      assert.deepEqual(second.checksums, { crc32: digestBase64("crc32", tail) }, "computed: the client sent none");
      const listed = await store.listParts(bucket, "copied", uploadId);
      assert.deepEqual(listed.parts.map((p) => p.checksums), [first.checksums, second.checksums]);
      const done = await store.completeMultipartUpload(bucket, "copied", uploadId, [first, second]);
      assert.match(done.checksums.crc32 ?? "", /-2$/, "every part has its checksum, so the object has one");

      const plain = await store.createMultipartUpload(bucket, "plain");
      const part = await store.uploadPartCopy({ bucket, key: "source" }, {
        bucket,
        key: "plain",
        uploadId: plain,
        partNumber: 1,
      });
      assert.deepEqual(part.checksums, {});
      await store.abortMultipartUpload(bucket, "plain", plain);
    },
  },
];
