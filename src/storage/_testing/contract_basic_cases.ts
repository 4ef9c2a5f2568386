/** Contract cases: buckets, simple objects, atomicity, ranges, copy, checksums, keys. @module */
import assert from "node:assert/strict";
import { utf8ByteString } from "../../bytes.ts";
import { MAX_KEY_BYTES } from "../mod.ts";
import type { ContractCase } from "./object_store_contract.ts";
import {
  bytes,
  collect,
  failingStream,
  getBytes,
  md5Hex,
  put,
  rejectsWithCode,
  sha256Base64,
  streamOf,
  text,
} from "./contract_helpers.ts";

export const basicCases: ContractCase[] = [
  {
    name: "buckets: create, head, list, duplicate, invalid name, delete",
    async fn({ store, bucket, deviations }) {
      const info = await store.headBucket(bucket);
      assert.equal(info.name, bucket);
      assert.ok(info.createdAt instanceof Date && !Number.isNaN(info.createdAt.getTime()));
      assert.ok((await store.listBuckets()).some((b) => b.name === bucket));
      if (!deviations.recreateOwnBucketSucceeds) {
        await rejectsWithCode(store.createBucket(bucket), "BucketAlreadyExists");
      }
      for (const bad of ["ab", "UPPER", "has_underscore", "-start", "a".repeat(64), "192.168.1.1", "a..b"]) {
        await rejectsWithCode(store.createBucket(bad), "InvalidBucketName", bad);
      }
      await store.deleteBucket(bucket);
      await rejectsWithCode(store.headBucket(bucket), "NoSuchBucket");
      await rejectsWithCode(store.deleteBucket(bucket), "NoSuchBucket");
      assert.ok(!(await store.listBuckets()).some((b) => b.name === bucket));
    },
  },
  {
    name: "put/get/head: S3 ETag, size, headers, metadata",
    async fn({ store, bucket }) {
      const data = bytes(300_000, 7);
      const put = await store.putObject(bucket, "dir/file.bin", streamOf(data, 10_000), {
        contentType: "application/x-test",
        cacheControl: "max-age=60",
        contentDisposition: "attachment",
        metadata: { color: "blue", "x-multi-word": "a b" },
        contentLength: data.byteLength,
        expectedMd5Hex: md5Hex(data),
      });
      assert.equal(put.etag, `"${md5Hex(data)}"`);
      assert.equal(put.size, data.byteLength);
      const head = await store.headObject(bucket, "dir/file.bin");
      const got = await store.getObject(bucket, "dir/file.bin");
      for (const info of [head, got.info]) {
        assert.equal(info.key, "dir/file.bin");
        assert.equal(info.etag, `"${md5Hex(data)}"`);
        assert.equal(info.size, data.byteLength);
        assert.equal(info.contentType, "application/x-test");
        assert.equal(info.cacheControl, "max-age=60");
        assert.equal(info.contentDisposition, "attachment");
        assert.deepEqual(info.metadata, { color: "blue", "x-multi-word": "a b" });
        assert.ok(Math.abs(info.lastModified.getTime() - put.lastModified.getTime()) < 2000);
      }
      assert.deepEqual(await collect(got.body), data);
    },
  },
  {
    name: "metadata beyond ASCII: its bytes (a character per byte, as headers arrive) come back as given",
    unsupportedWhen: "multipartUnsupported",
    async fn({ store, bucket }) {
      const metadata = { city: utf8ByteString("Zürich") };
      await store.putObject(bucket, "put", streamOf(text("p")), { metadata });
      const uploadId = await store.createMultipartUpload(bucket, "mp", { metadata });
      const part = await store.uploadPart(bucket, "mp", { uploadId, partNumber: 1 }, streamOf(text("m")));
      await store.completeMultipartUpload(bucket, "mp", uploadId, [part]);
      await store.copyObject({ bucket, key: "put" }, { bucket, key: "copy" }, {
        metadataDirective: "REPLACE",
        metadata,
      });
      for (const key of ["put", "mp", "copy"]) {
        assert.deepEqual((await store.headObject(bucket, key)).metadata, metadata, key);
      }
    },
  },
  {
    name: "0-byte object",
    async fn({ store, bucket, deviations }) {
      const info = await put(store, bucket, "empty", new Uint8Array(0));
      assert.equal(info.etag, '"d41d8cd98f00b204e9800998ecf8427e"');
      assert.equal((await store.headObject(bucket, "empty")).size, 0);
      assert.equal((await getBytes(store, bucket, "empty")).byteLength, 0);
      if (!deviations.rangeEndZeroIgnored) {
        await rejectsWithCode(store.getObject(bucket, "empty", { range: { start: 0, end: 0 } }), "InvalidRange");
      }
    },
  },
  {
    name: "missing things: NoSuchKey, NoSuchBucket; deleting a missing key succeeds",
    async fn({ store, bucket }) {
      await rejectsWithCode(store.getObject(bucket, "nope"), "NoSuchKey");
      await rejectsWithCode(store.headObject(bucket, "nope"), "NoSuchKey");
      await store.deleteObject(bucket, "nope");
      const missing = `${bucket}-missing`;
      await rejectsWithCode(put(store, missing, "k", "x"), "NoSuchBucket");
      await rejectsWithCode(store.getObject(missing, "k"), "NoSuchBucket");
      await rejectsWithCode(store.listObjects(missing), "NoSuchBucket");
      await rejectsWithCode(store.copyObject({ bucket, key: "nope" }, { bucket, key: "x" }), "NoSuchKey");
    },
  },
  {
    name: "overwrite replaces, delete removes",
    async fn({ store, bucket }) {
      await put(store, bucket, "k", "first version");
      await put(store, bucket, "k", "second");
      assert.equal(new TextDecoder().decode(await getBytes(store, bucket, "k")), "second");
      await store.deleteObject(bucket, "k");
      await rejectsWithCode(store.headObject(bucket, "k"), "NoSuchKey");
    },
  },
  {
    name: "atomicity: failed, aborted, short, long and bad-digest bodies leave nothing visible",
    async fn({ store, bucket, deviations }) {
      const data = bytes(200_000, 3);
      await assert.rejects(store.putObject(bucket, "new", failingStream(data)));
      await rejectsWithCode(store.headObject(bucket, "new"), "NoSuchKey", "after failed stream");
      await put(store, bucket, "old", "old content");
      await assert.rejects(store.putObject(bucket, "old", failingStream(data)));
      assert.equal(new TextDecoder().decode(await getBytes(store, bucket, "old")), "old content");
      const controller = new AbortController();
      const slow = new ReadableStream<Uint8Array>({
        pull(c) {
          c.enqueue(data.slice(0, 1000));
          controller.abort();
        },
      });
      await assert.rejects(store.putObject(bucket, "aborted", slow, { signal: controller.signal }));
      await rejectsWithCode(store.headObject(bucket, "aborted"), "NoSuchKey", "after abort");
      await rejectsWithCode(
        store.putObject(bucket, "short", streamOf(data), { contentLength: data.byteLength + 1 }),
        "IncompleteBody",
      );
      await rejectsWithCode(
        store.putObject(bucket, "long", streamOf(data), { contentLength: data.byteLength - 1 }),
        "IncompleteBody",
      );
      await rejectsWithCode(
        store.putObject(bucket, "digest", streamOf(data), { expectedMd5Hex: md5Hex(text("other")) }),
        "BadDigest",
      );
      await rejectsWithCode(
        store.putObject(bucket, "old", streamOf(data), { expectedMd5Hex: md5Hex(text("other")) }),
        "BadDigest",
      );
      await assert.rejects(
        store.putObject(bucket, "known", failingStream(data), { contentLength: 2 * data.byteLength }),
      );
      const cutOff = ["short", "long", "known"];
      for (const key of [...(deviations.storesInterruptedBodies ? [] : cutOff), "digest"]) {
        await rejectsWithCode(store.headObject(bucket, key), "NoSuchKey", key);
      }
      if (deviations.storesInterruptedBodies) { for (const key of cutOff) await store.deleteObject(bucket, key); }
      assert.equal(new TextDecoder().decode(await getBytes(store, bucket, "old")), "old content");
      assert.deepEqual((await store.listObjects(bucket)).objects.map((o) => o.key), ["old"]);
    },
  },
  {
    name: "known-length puts: 0 bytes, expires, bad digest, abort, missing bucket",
    async fn({ store, bucket }) {
      const empty = await store.putObject(bucket, "empty", streamOf(new Uint8Array(0)), { contentLength: 0 });
      assert.deepEqual([empty.size, empty.etag], [0, `"${md5Hex(new Uint8Array(0))}"`]);
      const data = bytes(5000, 3);
      const expires = "Wed, 21 Oct 2037 07:28:00 GMT";
      await store.putObject(bucket, "k", streamOf(data), { contentLength: data.byteLength, expires });
      assert.equal(new Date((await store.headObject(bucket, "k")).expires!).toUTCString(), expires);
      await rejectsWithCode(
        store.putObject(bucket, "digest", streamOf(data), {
          contentLength: data.byteLength,
          expectedMd5Hex: md5Hex(text("other")),
        }),
        "BadDigest",
      );
      const controller = new AbortController();
      const aborting = new ReadableStream<Uint8Array>({
        pull(c) {
          c.enqueue(data.slice(0, 1000));
          controller.abort();
        },
      });
      await assert.rejects(
        store.putObject(bucket, "aborted", aborting, { contentLength: data.byteLength, signal: controller.signal }),
      );
      for (const key of ["digest", "aborted"]) await rejectsWithCode(store.headObject(bucket, key), "NoSuchKey", key);
      await rejectsWithCode(
        store.putObject("no-such-bucket-here", "k", streamOf(data), { contentLength: data.byteLength }),
        "NoSuchBucket",
      );
    },
  },
  {
    name: "a write that fails lets go of its body: the stream it was given is cancelled, or read to its end",
    async fn({ store, bucket, deviations }) {
      const data = bytes(256 * 1024, 5);
      const watched = () => {
        let offset = 0;
        const seen = { cancelled: false, ended: false };
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            if (offset >= data.byteLength) {
              seen.ended = true;
              return c.close();
            }
            c.enqueue(data.slice(offset, offset += 64 * 1024));
          },
          cancel() {
            seen.cancelled = true;
          },
        });
        return { body, seen };
      };
      const failures: [string, (body: ReadableStream<Uint8Array>) => Promise<unknown>][] = [
        [
          "PUT to a missing bucket",
          (b) => store.putObject("no-such-bucket-here", "k", b, { contentLength: data.length }),
        ],
        ["PUT of an invalid key", (b) => store.putObject(bucket, "", b, { contentLength: data.length })],
        [
          "PUT with a bad digest",
          (b) => store.putObject(bucket, "k", b, { contentLength: data.length, expectedMd5Hex: md5Hex(text("other")) }),
        ],
      ];
      if (!deviations.multipartUnsupported) {
        failures.push([
          "part of a missing upload",
          (b) =>
            store.uploadPart(bucket, "k", { uploadId: "no-such-upload", partNumber: 1 }, b, {
              contentLength: data.length,
            }),
        ]);
      }
      for (const [what, write] of failures) {
        const { body, seen } = watched();
        await assert.rejects(write(body), what);
        assert.ok(seen.cancelled || seen.ended, `${what}: the body was left unread and open`);
      }
    },
  },
  {
    name: "ranges: first byte, middle, tail clamp, unsatisfiable",
    async fn({ store, bucket, deviations }) {
      const data = bytes(100_000, 5);
      await put(store, bucket, "r", data);
      const ranges = [[0, 0], [1000, 65_999], [99_999, 99_999], [0, 99_999], [1, 1]] as const;
      for (const [start, end] of ranges.filter(([, end]) => end > 0 || !deviations.rangeEndZeroIgnored)) {
        const got = await store.getObject(bucket, "r", { range: { start, end } });
        assert.deepEqual(got.range, { start, end });
        assert.equal(got.info.size, data.byteLength);
        assert.deepEqual(await collect(got.body), data.subarray(start, end + 1));
      }
      const clamped = await store.getObject(bucket, "r", { range: { start: 99_000, end: 200_000 } });
      assert.deepEqual(clamped.range, { start: 99_000, end: 99_999 });
      assert.deepEqual(await collect(clamped.body), data.subarray(99_000));
      await rejectsWithCode(store.getObject(bucket, "r", { range: { start: 100_000, end: 100_001 } }), "InvalidRange");
    },
  },
  {
    name: "copy: metadata directive COPY and REPLACE, across buckets, onto itself",
    async fn({ store, bucket, newBucket }) {
      const data = bytes(50_000, 9);
      const src = await store.putObject(bucket, "src", streamOf(data), {
        contentType: "text/x-src",
        metadata: { a: "1" },
      });
      const other = await newBucket();
      const copied = await store.copyObject({ bucket, key: "src" }, { bucket: other, key: "copy" });
      assert.equal(copied.etag, src.etag);
      const head = await store.headObject(other, "copy");
      assert.equal(head.contentType, "text/x-src");
      assert.deepEqual(head.metadata, { a: "1" });
      assert.deepEqual(await getBytes(store, other, "copy"), data);
      await store.copyObject({ bucket, key: "src" }, { bucket, key: "replaced" }, {
        metadataDirective: "REPLACE",
        contentType: "text/x-new",
        metadata: { b: "2" },
      });
      const replaced = await store.headObject(bucket, "replaced");
      assert.equal(replaced.contentType, "text/x-new");
      assert.deepEqual(replaced.metadata, { b: "2" });
      assert.equal(replaced.etag, src.etag);
      await store.copyObject({ bucket, key: "src" }, { bucket, key: "src" }, {
        metadataDirective: "REPLACE",
        metadata: { c: "3" },
      });
      assert.deepEqual((await store.headObject(bucket, "src")).metadata, { c: "3" });
      assert.deepEqual(await getBytes(store, bucket, "src"), data);
    },
  },
  {
    name: "copy with knownSource: the known version, or the current one when the source changed since",
    async fn({ store, bucket }) {
      const v1 = await store.putObject(bucket, "k", streamOf(bytes(1000, 1)), {
        contentType: "text/x-a",
        metadata: { a: "1" },
      });
      const known = { size: v1.size, etag: v1.etag };
      const copied = await store.copyObject({ bucket, key: "k" }, { bucket, key: "c1" }, { knownSource: known });
      assert.deepEqual([copied.key, copied.size, copied.etag], ["c1", 1000, v1.etag]);
      const head = await store.headObject(bucket, "c1");
      assert.deepEqual([head.contentType, head.metadata, head.etag], ["text/x-a", { a: "1" }, v1.etag]);

      const v2 = await store.putObject(bucket, "k", streamOf(bytes(2000, 2)));
      const stale = await store.copyObject({ bucket, key: "k" }, { bucket, key: "c2" }, { knownSource: known });
      assert.deepEqual([stale.size, stale.etag], [2000, v2.etag]);
      assert.deepEqual(await getBytes(store, bucket, "c2"), bytes(2000, 2));

      const replaced = await store.copyObject({ bucket, key: "k" }, { bucket, key: "c3" }, {
        knownSource: { size: v2.size, etag: v2.etag },
        metadataDirective: "REPLACE",
        contentType: "text/x-b",
        metadata: { b: "2" },
      });
      assert.deepEqual([replaced.contentType, replaced.metadata, replaced.etag], ["text/x-b", { b: "2" }, v2.etag]);
      const replacedHead = await store.headObject(bucket, "c3");
      assert.deepEqual([replacedHead.contentType, replacedHead.metadata], ["text/x-b", { b: "2" }]);

      await rejectsWithCode(
        store.copyObject({ bucket, key: "gone" }, { bucket, key: "c4" }, { knownSource: known }),
        "NoSuchKey",
      );
    },
  },
  {
    unsupportedWhen: "checksumsNotStored",
    name: "checksums are stored and returned",
    async fn({ store, bucket, deviations }) {
      const data = bytes(20_000, 11);
      const sha256 = sha256Base64(data);
      await store.putObject(bucket, "c", streamOf(data), { checksums: { sha256 } });
      assert.equal((await store.headObject(bucket, "c")).checksums.sha256, sha256);
      assert.equal((await store.getObject(bucket, "c")).info.checksums.sha256, sha256);
      await store.putObject(bucket, "known", streamOf(data), { checksums: { sha256 }, contentLength: data.byteLength });
      assert.equal((await store.headObject(bucket, "known")).checksums.sha256, sha256);
      // Filled in as the body ends, as the gateway does with checksums sent as aws-chunked trailers; with and without a
      // known length, which take different write paths.
      const lengths = deviations.lateChecksumsNeedLength ? [data.byteLength] : [data.byteLength, undefined];
      for (const contentLength of lengths) {
        const trailing: Partial<Record<"sha256", string>> = {};
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            c.enqueue(data);
            trailing.sha256 = sha256;
            c.close();
          },
        });
        await store.putObject(bucket, "trailing", body, { checksums: trailing, contentLength });
        assert.equal((await store.headObject(bucket, "trailing")).checksums.sha256, sha256);
      }
    },
  },
  {
    unsupportedWhen: "oddKeysUnsupported",
    name: "odd keys are stored as given and never escape: unicode, dots, slashes, case, control characters, 1024 bytes",
    async fn({ store, bucket }) {
      const keys = [
        "..",
        "../escape",
        "a/../../b",
        "a//b",
        "/leading",
        "trailing/",
        "x/./y",
        "sp ace+plus%2F",
        "ünïcödé/😀",
        "CaseKey",
        "casekey",
        "tab\tand\\backslash",
        "line\r\nends",
        "control\u0001\u001f\u007f",
        "nonchar\ufffe",
        "k".repeat(MAX_KEY_BYTES),
        "é".repeat(MAX_KEY_BYTES / 2),
      ];
      for (const [i, key] of keys.entries()) await put(store, bucket, key, `value ${i}`);
      for (const [i, key] of keys.entries()) {
        assert.equal(new TextDecoder().decode(await getBytes(store, bucket, key)), `value ${i}`, key);
      }
      const listed = (await store.listObjects(bucket)).objects.map((o) => o.key);
      assert.deepEqual(new Set(listed), new Set(keys));
      assert.equal(listed.length, keys.length);
      await rejectsWithCode(put(store, bucket, "k".repeat(MAX_KEY_BYTES + 1), "x"), "KeyTooLong");
      await rejectsWithCode(put(store, bucket, "é".repeat(MAX_KEY_BYTES / 2) + "x", "x"), "KeyTooLong");
      await rejectsWithCode(put(store, bucket, "", "x"), "InvalidArgument");
    },
  },
  {
    name: "BucketNotEmpty keeps objects and uploads; a bucket with only uploads in progress goes with them",
    async fn({ store, bucket, deviations }) {
      await put(store, bucket, "k", "x");
      const uploadId = await store.createMultipartUpload(bucket, "pending");
      await rejectsWithCode(store.deleteBucket(bucket), "BucketNotEmpty");
      await store.headObject(bucket, "k");
      const listsUploads = !deviations.multipartUnsupported;
      if (listsUploads) {
        const { uploads } = await store.listMultipartUploads(bucket);
        assert.deepEqual(uploads.map((u) => u.uploadId), [uploadId], "uploads are kept when the delete is refused");
      }
      await store.deleteObject(bucket, "k");
      await store.createMultipartUpload(bucket, "pending");
      await store.deleteBucket(bucket);
      await rejectsWithCode(store.headBucket(bucket), "NoSuchBucket");
      if (listsUploads) {
        await store.createBucket(bucket);
        assert.deepEqual((await store.listMultipartUploads(bucket)).uploads, [], "no upload outlives its bucket");
        await rejectsWithCode(store.listParts(bucket, "pending", uploadId), "NoSuchUpload");
      }
    },
  },
];
