import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { MIN_PART_SIZE, type ObjectStore } from "./mod.ts";
import { createFsStore } from "./fs.ts";
import { bytes, collect, getBytes, md5Hex, put, rejectsWithCode, streamOf } from "./_testing/contract_helpers.ts";
import { writeTemp } from "./_fs_temp_file.ts";

async function withStore(fn: (store: ObjectStore, root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "fs-linked-" });
  const store = await createFsStore({ root });
  try {
    await store.createBucket("bkt");
    await fn(store, root);
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

const PARTS = [bytes(MIN_PART_SIZE, 11), bytes(MIN_PART_SIZE, 12), bytes(1000, 13)];
const WHOLE = new Uint8Array(PARTS.reduce((s, p) => s + p.byteLength, 0));
PARTS.reduce((offset, p) => (WHOLE.set(p, offset), offset + p.byteLength), 0);

/** Uploads PARTS as parts 1, 3, 4 (plus an unused part 2) and completes with 1, 3, 4. */
async function multipart(store: ObjectStore, key: string): Promise<{ uploadId: string; etag: string }> {
  const uploadId = await store.createMultipartUpload("bkt", key, { contentType: "app/x", metadata: { m: "1" } });
  const numbers = [1, 3, 4];
  await store.uploadPart("bkt", key, { uploadId, partNumber: 2 }, streamOf(bytes(100, 99)));
  const done = await Promise.all(
    PARTS.map((p, i) => store.uploadPart("bkt", key, { uploadId, partNumber: numbers[i]! }, streamOf(p))),
  );
  const info = await store.completeMultipartUpload(
    "bkt",
    key,
    uploadId,
    done.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
  );
  return { uploadId, etag: info.etag };
}

async function rangeOf(store: ObjectStore, key: string, start: number, end: number): Promise<Uint8Array> {
  return await collect((await store.getObject("bkt", key, { range: { start, end } })).body);
}

Deno.test("fs linked objects: completion moves the parts (no copy), reads and ranges span part boundaries", async () => {
  await withStore(async (store, root) => {
    const { uploadId, etag } = await multipart(store, "big");
    const bucket = `${root}/buckets/bkt`;
    assert.deepEqual(names(`${bucket}/uploads`), []);
    assert.deepEqual(names(`${bucket}/data/${uploadId}`), ["part-00001", "part-00003", "part-00004", "upload.json"]);
    const manifest = Deno.statSync(`${bucket}/objects/${names(`${bucket}/objects`)[0]}`);
    assert.ok(manifest.size < 4096, `the object file holds no data (${manifest.size} bytes)`);

    assert.deepEqual(await getBytes(store, "bkt", "big"), WHOLE);
    const boundary = MIN_PART_SIZE;
    for (
      const [start, end] of [
        [0, 0],
        [boundary - 1, boundary],
        [boundary, boundary],
        [boundary - 10, 2 * boundary + 10],
        [1, WHOLE.byteLength - 2],
        [2 * boundary, WHOLE.byteLength - 1],
        [WHOLE.byteLength - 1, WHOLE.byteLength - 1],
      ] as const
    ) {
      assert.deepEqual(await rangeOf(store, "big", start, end), WHOLE.subarray(start, end + 1), `${start}-${end}`);
    }
    const head = await store.headObject("bkt", "big");
    assert.deepEqual([head.etag, head.size, head.partsCount, head.contentType], [etag, WHOLE.byteLength, 3, "app/x"]);
    assert.equal("link" in head, false, "the manifest's layout stays internal");
    const [listed] = (await store.listObjects("bkt")).objects;
    assert.deepEqual([listed!.key, listed!.etag, listed!.size, "link" in listed!], [
      "big",
      etag,
      WHOLE.byteLength,
      false,
    ]);
  });
});

Deno.test("fs linked objects: copy, ranged copy and UploadPartCopy read across parts", async () => {
  await withStore(async (store) => {
    const { etag } = await multipart(store, "src");
    const copy = await store.copyObject({ bucket: "bkt", key: "src" }, { bucket: "bkt", key: "copy" });
    assert.notEqual(copy.etag, etag);
    assert.deepEqual([copy.etag, copy.partsCount], [`"${md5Hex(WHOLE)}"`, undefined], "S3: a copy is one part");
    assert.deepEqual(await getBytes(store, "bkt", "copy"), WHOLE);
    const range = { start: MIN_PART_SIZE - 5, end: 2 * MIN_PART_SIZE + 5 };
    const ranged = await store.copyObject({ bucket: "bkt", key: "src", range }, { bucket: "bkt", key: "ranged" });
    const slice = WHOLE.subarray(range.start, range.end + 1);
    assert.equal(ranged.etag, `"${md5Hex(slice)}"`);
    assert.deepEqual(await getBytes(store, "bkt", "ranged"), slice);
    const uploadId = await store.createMultipartUpload("bkt", "assembled");
    const part = await store.uploadPartCopy({ bucket: "bkt", key: "src", range }, {
      bucket: "bkt",
      key: "assembled",
      uploadId,
      partNumber: 1,
    });
    assert.equal(part.etag, `"${md5Hex(slice)}"`);
    await store.completeMultipartUpload("bkt", "assembled", uploadId, [{ partNumber: 1, etag: part.etag }]);
    assert.deepEqual(await getBytes(store, "bkt", "assembled"), slice);
  });
});

Deno.test("fs linked objects: overwrite by a simple PUT and vice versa, delete; replaced data is removed", async () => {
  await withStore(async (store, root) => {
    const data = `${root}/buckets/bkt/data`;
    const first = await multipart(store, "k");
    await put(store, "bkt", "k", "simple");
    assert.deepEqual(names(data), [], "the linked data went with the object it belonged to");
    assert.equal(new TextDecoder().decode(await getBytes(store, "bkt", "k")), "simple");

    const second = await multipart(store, "k");
    assert.notEqual(second.uploadId, first.uploadId);
    assert.deepEqual(await getBytes(store, "bkt", "k"), WHOLE);
    const third = await multipart(store, "k");
    assert.deepEqual(names(data), [third.uploadId], "a multipart overwrite of a multipart object");
    assert.deepEqual(await getBytes(store, "bkt", "k"), WHOLE);

    await store.deleteObject("bkt", "k");
    assert.deepEqual(names(data), []);
    await rejectsWithCode(store.headObject("bkt", "k"), "NoSuchKey");
    await store.deleteBucket("bkt");
    await store.createBucket("bkt");
  });
});

Deno.test("fs linked objects: a reader keeps the version it opened while the key is overwritten", async () => {
  await withStore(async (store, root) => {
    const { uploadId } = await multipart(store, "k");
    const reading = await store.getObject("bkt", "k");
    const reader = reading.body.getReader();
    const firstChunk = (await reader.read()).value!;
    await put(store, "bkt", "k", "new");
    await store.deleteObject("bkt", "k");
    assert.deepEqual(names(`${root}/buckets/bkt/data`), [uploadId], "kept while read");
    const chunks = [firstChunk];
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    assert.deepEqual(new Uint8Array(Buffer.concat(chunks)), WHOLE);
    // The removal runs in the background once the stream has ended.
    for (let i = 0; i < 100 && names(`${root}/buckets/bkt/data`).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(names(`${root}/buckets/bkt/data`), [], "removed once the reader is done");
  });
});

Deno.test("fs linked objects: restart recovery finishes a completion and removes orphaned data", async () => {
  await withStore(async (store, root) => {
    const bucket = `${root}/buckets/bkt`;
    const done = await multipart(store, "done");
    const orphan = await multipart(store, "orphan");
    const pending = await store.createMultipartUpload("bkt", "pending");
    const p1 = await store.uploadPart("bkt", "pending", { uploadId: pending, partNumber: 1 }, streamOf(bytes(10, 5)));
    await store.close();
    // A crash after replacing a linked object, before its data was removed: put the removed data back.
    const saved = `${root}/saved`;
    Deno.mkdirSync(saved);
    for (const name of names(`${bucket}/data/${orphan.uploadId}`)) {
      Deno.copyFileSync(`${bucket}/data/${orphan.uploadId}/${name}`, `${saved}/${name}`);
    }
    const replacing = await createFsStore({ root });
    await replacing.putObject("bkt", "orphan", streamOf(bytes(3, 3)));
    await replacing.close();
    Deno.renameSync(saved, `${bucket}/data/${orphan.uploadId}`);
    // A crash right after the commit point: the manifest is in place, the upload not yet moved to data/.
    Deno.renameSync(`${bucket}/data/${done.uploadId}`, `${bucket}/uploads/${done.uploadId}`);

    const reopened = await createFsStore({ root });
    assert.deepEqual(await getBytes(reopened, "bkt", "done"), WHOLE);
    assert.deepEqual(await getBytes(reopened, "bkt", "orphan"), bytes(3, 3));
    assert.deepEqual(names(`${bucket}/data`), [done.uploadId], "moved back into data/, the orphan removed");
    assert.deepEqual(names(`${bucket}/uploads`), [pending], "a real pending upload stays");
    const uploads = (await reopened.listMultipartUploads("bkt")).uploads.map((u) => u.key);
    assert.deepEqual(uploads, ["pending"]);
    await reopened.completeMultipartUpload("bkt", "pending", pending, [{ partNumber: 1, etag: p1.etag }]);
    assert.deepEqual(await getBytes(reopened, "bkt", "pending"), bytes(10, 5));
    await reopened.close();
  });
});

function hex(key: string): string {
  return [...new TextEncoder().encode(key)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("fs linked objects: objects stored as one file by earlier versions (multipart included) stay readable", async () => {
  await withStore(async (store, root) => {
    await store.close();
    const data = bytes(300_000, 21);
    const meta = {
      key: "old",
      size: data.byteLength,
      etag: '"0123456789abcdef0123456789abcdef-2"',
      partsCount: 2,
      lastModified: new Date(0).toISOString(),
      checksums: {},
    };
    const file = await writeTemp(`${root}/tmp`, async (out) => {
      await out.write(data);
      await out.writeMeta(meta);
    });
    Deno.renameSync(file, `${root}/buckets/bkt/objects/k${hex("old")}`);
    const reopened = await createFsStore({ root });
    assert.deepEqual(await getBytes(reopened, "bkt", "old"), data);
    const got = await reopened.getObject("bkt", "old", { range: { start: 65_000, end: 200_000 } });
    assert.deepEqual(await collect(got.body), data.subarray(65_000, 200_001));
    assert.deepEqual([got.info.etag, got.info.partsCount], [meta.etag, 2]);
    await reopened.close();
  });
});

Deno.test("fs linked objects: kill -9 during completion leaves the object complete, or the upload completable", async () => {
  await withStore(async (store, root) => {
    await store.close();
    const writer = new URL("./_testing/fs_complete_writer.ts", import.meta.url).pathname;
    const expected = new Uint8Array(Buffer.concat([bytes(MIN_PART_SIZE, 1), bytes(1000, 2)]));
    const outcomes = new Set<string>();
    for (const delayMs of [0, 1, 3, 10]) {
      const key = `crash-${delayMs}`;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", writer, root, "bkt", key],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      // The first line; the child may already have printed its next one ("completed") in the same read.
      let text = "";
      while (!text.includes("\n")) text += (await reader.read()).value ?? "\n";
      const started = JSON.parse(text.slice(0, text.indexOf("\n"))) as {
        uploadId: string;
        parts: { partNumber: number; etag: string }[];
      };
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      try {
        child.kill("SIGKILL");
      } catch {
        // Already ended: on a busy machine the completion can finish within the delay.
      }
      await child.status;
      await reader.cancel();

      const reopened = await createFsStore({ root });
      const uploads = (await reopened.listMultipartUploads("bkt")).uploads.map((u) => u.uploadId);
      if (uploads.includes(started.uploadId)) {
        outcomes.add("upload kept");
        await rejectsWithCode(reopened.headObject("bkt", key), "NoSuchKey");
        await reopened.completeMultipartUpload("bkt", key, started.uploadId, started.parts);
      } else outcomes.add("completed");
      assert.deepEqual(await getBytes(reopened, "bkt", key), expected, key);
      assert.deepEqual((await reopened.headObject("bkt", key)).partsCount, 2);
      await reopened.close();
    }
    const bucket = `${root}/buckets/bkt`;
    assert.deepEqual(names(`${root}/tmp`), []);
    assert.deepEqual(names(`${bucket}/uploads`), []);
    assert.equal(names(`${bucket}/data`).length, 4, `one data directory per object (${[...outcomes]})`);
  });
});
