/**
 * The ObjectStore contract for the `s3` backend against a real Ceph RADOS Gateway (one-node cluster in RAM,
 * started by ../shared/tools/radosgw/start.sh, stopped by stop.sh). Needs root and the ceph packages
 * (installed by start.sh / .ci/run). Ceph's monitor uses fixed ports 3300/6789, so only one lab runs at a time.
 */
import assert from "node:assert/strict";
import { createS3Store, type S3StoreOptions } from "../../src/storage/s3.ts";
import { testConnection } from "../../src/storage/factory.ts";
import { objectStoreContract } from "../../src/storage/_testing/object_store_contract.ts";
import { RGW_KEYS, startRgw } from "../_rgw.ts";
import { bytes, getBytes, rejectsWithCode, streamOf } from "../../src/storage/_testing/contract_helpers.ts";

let rgw: S3StoreOptions | undefined;

objectStoreContract("s3 → Ceph RGW", async () => {
  const lab = await startRgw({ memstoreGb: 2 });
  rgw = {
    endpoint: lab.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    ...RGW_KEYS,
    bucketPrefix: "s3p-",
  };
  const store = createS3Store(rgw);
  return {
    store,
    cleanup: () => lab.stop(),
  };
}, {
  extraCases: [{
    name: "GetObjectAttributes, which this server lacks, fails as NotImplemented rather than as a garbled answer",
    async fn({ store, bucket }) {
      await store.putObject(bucket, "plain", streamOf(bytes(1000, 3)));
      await rejectsWithCode(store.listObjectParts(bucket, "plain"), "NotImplemented");
    },
  }, {
    name: "unknown-length uploads over one part go multipart with bounded memory; a failure mid-way leaves nothing",
    async fn({ store, bucket }) {
      const data = bytes(40 * 1024 * 1024, 77);
      const info = await store.putObject(bucket, "big-unknown", streamOf(data, 256 * 1024));
      assert.match(info.etag, /^"[0-9a-f]{32}-3"$/, "16 MiB parts");
      assert.equal(info.size, data.byteLength);
      assert.deepEqual(await getBytes(store, bucket, "big-unknown"), data);
      const cut = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data.subarray(0, 20 * 1024 * 1024));
          controller.error(new Error("client went away"));
        },
      });
      await assert.rejects(store.putObject(bucket, "cut-unknown", cut));
      await rejectsWithCode(store.headObject(bucket, "cut-unknown"), "NoSuchKey");
      assert.deepEqual((await store.listMultipartUploads(bucket)).uploads, [], "the partial upload was aborted");
    },
  }, {
    name: "wrong credentials are Unauthorized; bucketPrefix maps bucket names",
    async fn({ store, bucket }) {
      const wrong = createS3Store({ ...rgw!, secretAccessKey: "not-the-secret" });
      const result = await testConnection(wrong);
      assert.equal(!result.ok && result.error.code, "Unauthorized", JSON.stringify(result));
      await wrong.close();
      const raw = createS3Store({ ...rgw!, bucketPrefix: "" });
      assert.ok((await raw.listBuckets()).some((b) => b.name === `s3p-${bucket}`));
      await raw.close();
      assert.ok((await store.listBuckets()).some((b) => b.name === bucket));
    },
  }],
  deviations: {
    checksumsNotStored: "Ceph RGW 16 (Pacific) ignores x-amz-checksum-* headers",
    completeRequiresAllParts:
      "Ceph RGW 16 rejects a CompleteMultipartUpload that leaves out uploaded parts ('total parts mismatch' → InvalidPart)",
    partNumberIgnored: "Ceph RGW 16 ignores GET ?partNumber and answers the whole object",
    ifMatchMissingKeyIsPreconditionFailed: "Ceph RGW 16 answers If-Match on a missing key with 412, not 404 NoSuchKey",
    conditionalCompleteIgnored: "Ceph RGW 16 ignores If-None-Match and If-Match on CompleteMultipartUpload",
    conditionalDeletesNotAtomic:
      "Ceph RGW 16 ignores If-Match on DELETE: the s3 backend checks the ETag with a HEAD just before, which a write can overtake",
    taggingChangesLastModified: "Ceph RGW 16 gives an object a new Last-Modified when its tags are set",
    multipartTagsIgnored: "Ceph RGW 16 drops the tags given to CreateMultipartUpload",
    taggingRacesFail: "Ceph RGW 16 answers OperationAborted to a PutObjectTagging that races a PUT of the same key",
    objectAttributesUnsupported:
      "Ceph RGW 16 has no GetObjectAttributes: it answers `?attributes` with a body the SDK cannot parse",
    copySourceIfMatchIgnored:
      "Ceph RGW 16 copies a version written after the one x-amz-copy-source-if-match names when the two race",
  },
});
