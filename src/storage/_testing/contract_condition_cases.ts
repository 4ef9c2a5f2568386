/** Contract cases: conditional writes (If-None-Match: *, If-Match), alone and racing. @module */
import assert from "node:assert/strict";
import { isAppError } from "../../errors.ts";
import type { ObjectStore, WriteCondition } from "../mod.ts";
import type { ContractCase } from "./object_store_contract.ts";
import { bytes, getBytes, raceRounds, rejectsWithCode, streamOf, text } from "./contract_helpers.ts";

function putIf(store: ObjectStore, bucket: string, key: string, data: Uint8Array, condition: WriteCondition) {
  return store.putObject(bucket, key, streamOf(data), { contentLength: data.byteLength, condition });
}

/** Starts one conditional write per body at once; returns the index of each body whose write succeeded. */
async function race(
  store: ObjectStore,
  bucket: string,
  key: string,
  bodies: Uint8Array[],
  condition: WriteCondition,
): Promise<number[]> {
  const results = await Promise.allSettled(bodies.map((b) => putIf(store, bucket, key, b, condition)));
  for (const r of results) {
    if (r.status === "rejected" && !isAppError(r.reason, "PreconditionFailed")) throw r.reason;
  }
  return results.flatMap((r, i) => r.status === "fulfilled" ? [i] : []);
}

export const conditionCases: ContractCase[] = [
  {
    name: "copies pinned to a source version (ifMatch): another version copies nothing, the version named is copied",
    async fn({ store, bucket }) {
      const first = await putIf(store, bucket, "src", text("first"), {});
      await putIf(store, bucket, "src", text("second"), {});
      const stale = { bucket, key: "src", ifMatch: first.etag };
      await rejectsWithCode(store.copyObject(stale, { bucket, key: "copy" }), "PreconditionFailed");
      await rejectsWithCode(store.headObject(bucket, "copy"), "NoSuchKey", "the refused copy wrote nothing");
      const current = (await store.headObject(bucket, "src")).etag;
      await store.copyObject({ bucket, key: "src", ifMatch: current }, { bucket, key: "copy" });
      assert.deepEqual(await getBytes(store, bucket, "copy"), text("second"));
    },
  },
  {
    name: "part copies pinned to a source version (ifMatch): another version stores no part",
    unsupportedWhen: "multipartUnsupported",
    async fn({ store, bucket }) {
      const first = await putIf(store, bucket, "src", bytes(1000, 3), {});
      const second = await putIf(store, bucket, "src", bytes(1000, 4), {});
      const uploadId = await store.createMultipartUpload(bucket, "dst");
      const target = { bucket, key: "dst", uploadId, partNumber: 1 };
      const range = { start: 0, end: 499 };
      await rejectsWithCode(
        store.uploadPartCopy({ bucket, key: "src", range, ifMatch: first.etag }, target),
        "PreconditionFailed",
      );
      assert.deepEqual((await store.listParts(bucket, "dst", uploadId)).parts, [], "the refused copy stored no part");
      const part = await store.uploadPartCopy({ bucket, key: "src", range, ifMatch: second.etag }, target);
      assert.equal(part.size, 500);
      await store.abortMultipartUpload(bucket, "dst", uploadId);
    },
  },
  {
    name: "a copy pinned to a version racing an overwrite copies that version or nothing, never the newer one",
    unsupportedWhen: "copySourceIfMatchIgnored",
    async fn({ store, bucket }) {
      await raceRounds([1_000, 300_000], async (key, size) => {
        const old = await putIf(store, bucket, key, bytes(size, 1), {});
        const [, copied] = await Promise.allSettled([
          putIf(store, bucket, key, bytes(size, 2), {}),
          store.copyObject({ bucket, key, ifMatch: old.etag }, { bucket, key: `${key}-copy` }),
        ]);
        if (copied.status === "rejected") {
          if (!isAppError(copied.reason, "PreconditionFailed")) throw copied.reason;
          return;
        }
        assert.deepEqual(await getBytes(store, bucket, `${key}-copy`), bytes(size, 1), `${key}: the newer was copied`);
      });
    },
  },
  {
    name: "conditional writes: If-None-Match: * creates only, If-Match replaces only the ETag it names",
    unsupportedWhen: "conditionalWritesIgnored",
    async fn({ store, bucket, deviations }) {
      const first = await putIf(store, bucket, "lock", text("A"), { ifNoneMatch: "*" });
      await rejectsWithCode(putIf(store, bucket, "lock", text("B"), { ifNoneMatch: "*" }), "PreconditionFailed");
      assert.deepEqual(await getBytes(store, bucket, "lock"), text("A"));
      await rejectsWithCode(
        putIf(store, bucket, "lock", text("C"), { ifMatch: '"0123456789abcdef0123456789abcdef"' }),
        "PreconditionFailed",
      );
      const second = await putIf(store, bucket, "lock", text("D"), { ifMatch: first.etag });
      // The ETag it was replaced under is stale now.
      await rejectsWithCode(putIf(store, bucket, "lock", text("E"), { ifMatch: first.etag }), "PreconditionFailed");
      await putIf(store, bucket, "lock", text("F"), { ifMatch: second.etag.replaceAll('"', "") });
      assert.deepEqual(await getBytes(store, bucket, "lock"), text("F"));
      const missing = deviations.ifMatchMissingKeyIsPreconditionFailed ? "PreconditionFailed" : "NoSuchKey";
      await rejectsWithCode(putIf(store, bucket, "absent", text("G"), { ifMatch: first.etag }), missing);
      await rejectsWithCode(store.headObject(bucket, "absent"), "NoSuchKey");
    },
  },
  {
    name: "conditional writes race: of 8 writers only one creates the key, or replaces the ETag they all read",
    unsupportedWhen: "conditionalWritesIgnored",
    async fn({ store, bucket }) {
      // Small bodies and large ones: backends may publish them by different paths.
      for (const size of [1_000, 200_000]) {
        const key = `race-${size}`;
        const bodies = Array.from({ length: 8 }, (_, i) => bytes(size, i + 1));
        const created = await race(store, bucket, key, bodies, { ifNoneMatch: "*" });
        assert.equal(created.length, 1, `${size}: ${created.length} writers created the key`);
        assert.deepEqual(await getBytes(store, bucket, key), bodies[created[0]!]);

        const { etag } = await store.headObject(bucket, key);
        const next = Array.from({ length: 8 }, (_, i) => bytes(size, i + 11));
        const replaced = await race(store, bucket, key, next, { ifMatch: etag });
        assert.equal(replaced.length, 1, `${size}: ${replaced.length} writers replaced ${etag}`);
        assert.deepEqual(await getBytes(store, bucket, key), next[replaced[0]!]);
      }
    },
  },
  {
    name: "conditional multipart completion: a failed condition keeps the upload, which completes once it holds",
    unsupportedWhen: ["conditionalWritesIgnored", "conditionalCompleteIgnored", "multipartUnsupported"],
    async fn({ store, bucket }) {
      const upload = async (data: Uint8Array) => {
        const uploadId = await store.createMultipartUpload(bucket, "mp");
        const part = await store.uploadPart(bucket, "mp", { uploadId, partNumber: 1 }, streamOf(data), {
          contentLength: data.byteLength,
        });
        return { uploadId, parts: [{ partNumber: 1, etag: part.etag }] };
      };
      const first = await upload(text("first"));
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, "mp", first.uploadId, first.parts, { condition: { ifMatch: '"x"' } }),
        "NoSuchKey",
      );
      const created = await store.completeMultipartUpload(bucket, "mp", first.uploadId, first.parts, {
        condition: { ifNoneMatch: "*" },
      });
      const second = await upload(text("second"));
      await rejectsWithCode(
        store.completeMultipartUpload(bucket, "mp", second.uploadId, second.parts, { condition: { ifNoneMatch: "*" } }),
        "PreconditionFailed",
      );
      assert.deepEqual(await getBytes(store, bucket, "mp"), text("first"));
      // The upload is still in progress: its parts are listed and it completes once the condition holds.
      assert.equal((await store.listParts(bucket, "mp", second.uploadId)).parts.length, 1);
      await store.completeMultipartUpload(bucket, "mp", second.uploadId, second.parts, {
        condition: { ifMatch: created.etag },
      });
      assert.deepEqual(await getBytes(store, bucket, "mp"), text("second"));
    },
  },
  {
    name: "conditional deletes: If-Match removes only the ETag it names",
    unsupportedWhen: "conditionalWritesIgnored",
    async fn({ store, bucket }) {
      const first = await putIf(store, bucket, "k", text("A"), {});
      const stale = '"0123456789abcdef0123456789abcdef"';
      await rejectsWithCode(store.deleteObject(bucket, "k", { condition: { ifMatch: stale } }), "PreconditionFailed");
      assert.deepEqual(await getBytes(store, bucket, "k"), text("A"), "a failed condition deletes nothing");
      await store.deleteObject(bucket, "k", { condition: { ifMatch: first.etag } });
      await rejectsWithCode(store.headObject(bucket, "k"), "NoSuchKey");
      await rejectsWithCode(store.deleteObject(bucket, "k", { condition: { ifMatch: first.etag } }), "NoSuchKey");
      await putIf(store, bucket, "any", text("B"), {});
      await store.deleteObject(bucket, "any", { condition: { ifMatch: "*" } });
      await rejectsWithCode(store.headObject(bucket, "any"), "NoSuchKey");
    },
  },
  {
    name: "conditional deletes race a write: the newer version is never deleted",
    unsupportedWhen: ["conditionalWritesIgnored", "conditionalDeletesNotAtomic"],
    async fn({ store, bucket }) {
      await raceRounds([1_000, 200_000], async (key, size) => {
        const old = await putIf(store, bucket, key, bytes(size, 1), {});
        const newer = bytes(size, 2);
        const [, deleted] = await Promise.allSettled([
          putIf(store, bucket, key, newer, {}),
          store.deleteObject(bucket, key, { condition: { ifMatch: old.etag } }),
        ]);
        if (deleted.status === "rejected" && !isAppError(deleted.reason, "PreconditionFailed")) throw deleted.reason;
        assert.deepEqual(await getBytes(store, bucket, key), newer, `${key}: the newer version was deleted`);
      });
    },
  },
];
