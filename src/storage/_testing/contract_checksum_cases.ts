/** Contract cases: a multipart object's checksum made from its parts', composite or full-object. @module */
import assert from "node:assert/strict";
import { digestBase64 } from "../../gateway/wire/checksums.ts";
import { type ChecksumAlgorithm, type ChecksumType, MIN_PART_SIZE } from "../mod.ts";
import type { ContractCase, ContractContext } from "./object_store_contract.ts";
import { bytes, rejectsWithCode, streamOf } from "./contract_helpers.ts";

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
    parts.push({ partNumber: uploaded.partNumber, etag: uploaded.etag });
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
      const done = await store.completeMultipartUpload(bucket, "full-crc32", full.uploadId, full.parts, {
        checksums: { crc32: expected },
      });
      assert.equal(done.checksums.crc32, expected, "the failed completion left the upload completable");
      assert.equal((await store.headObject(bucket, "full-crc32")).checksums.crc32, expected);

      const nvme = await upload(ctx, "crc64nvme", "crc64nvme");
      await store.completeMultipartUpload(bucket, "crc64nvme", nvme.uploadId, nvme.parts);
      const head = await store.headObject(bucket, "crc64nvme");
      assert.equal(head.checksums.crc64nvme, digestBase64("crc64nvme", nvme.whole));

      const composite = await upload(ctx, "composite", "crc32c");
      await store.completeMultipartUpload(bucket, "composite", composite.uploadId, composite.parts);
      assert.match((await store.headObject(bucket, "composite")).checksums.crc32c ?? "", /^[A-Za-z0-9+/]{6}==-2$/);
    },
  },
];
