import assert from "node:assert/strict";
import { MIN_PART_SIZE } from "./mod.ts";
import { createFsStore } from "./fs.ts";
import { objectStoreContract } from "./_testing/object_store_contract.ts";
import {
  bytes,
  collect,
  failingStream,
  getBytes,
  md5Hex,
  put,
  rejectsWithCode,
  streamOf,
} from "./_testing/contract_helpers.ts";
import { df, withTmpfs } from "./_testing/tmpfs.ts";
import { withTempDir } from "../_testing/temp_dir.ts";

objectStoreContract("fs", async () => {
  const root = await Deno.makeTempDir({ prefix: "fs-store-contract-" });
  return { store: await createFsStore({ root }), cleanup: () => Deno.remove(root, { recursive: true }) };
});

const withRoot = (fn: (root: string) => Promise<void>) => withTempDir("fs-store-", fn);

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await filesUnder(path));
    else out.push(path);
  }
  return out;
}

Deno.test("createFsStore() keeps objects, metadata and listings across a reopen", async () => {
  await withRoot(async (root) => {
    const long = `${"deep/".repeat(100)}end`;
    let store = await createFsStore({ root });
    await store.createBucket("persist");
    await store.putObject("persist", "a", streamOf(bytes(1000)), { contentType: "text/a", metadata: { x: "y" } });
    await put(store, "persist", long, "long key");
    await put(store, "persist", "ü", "unicode");
    const bigMeta = { note: "n".repeat(2000), more: "m".repeat(1500) };
    await store.putObject("persist", "k".repeat(1024), streamOf(bytes(10)), { metadata: bigMeta });
    await store.close();
    store = await createFsStore({ root });
    const head = await store.headObject("persist", "a");
    assert.deepEqual([head.contentType, head.metadata, head.etag], ["text/a", { x: "y" }, `"${md5Hex(bytes(1000))}"`]);
    const listed = (await store.listObjects("persist")).objects;
    assert.deepEqual(listed.map((o) => o.key), ["a", long, "k".repeat(1024), "ü"]);
    assert.deepEqual(listed[2]!.metadata, bigMeta, "metadata larger than one tail read");
    assert.deepEqual((await store.headObject("persist", "k".repeat(1024))).metadata, bigMeta);
    assert.equal(new TextDecoder().decode(await getBytes(store, "persist", long)), "long key");
    await store.close();
  });
});

Deno.test("createFsStore() survives kill -9 mid-upload: parts kept, upload completable, temp files cleaned", async () => {
  await withRoot(async (root) => {
    const writer = new URL("./_testing/fs_crash_writer.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", writer, root, "crash"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await reader.read();
    const { uploadId } = JSON.parse(value!) as { uploadId: string };
    assert.ok((await filesUnder(`${root}/tmp`)).length >= 2, "the interrupted writes have temp files");
    child.kill("SIGKILL");
    assert.equal((await child.status).signal, "SIGKILL");
    await reader.cancel();

    const store = await createFsStore({ root });
    assert.deepEqual(await filesUnder(`${root}/tmp`), [], "reopen clears temp leftovers");
    await rejectsWithCode(store.headObject("crash", "half-written"), "NoSuchKey");
    assert.deepEqual((await store.listObjects("crash")).objects, []);
    const { parts } = await store.listParts("crash", "big", uploadId);
    assert.deepEqual(parts.map((p) => [p.partNumber, p.size, p.etag]), [[
      1,
      MIN_PART_SIZE,
      `"${md5Hex(bytes(MIN_PART_SIZE, 1))}"`,
    ]]);
    const p2 = await store.uploadPart("crash", "big", { uploadId, partNumber: 2 }, streamOf(bytes(10, 2)));
    const done = await store.completeMultipartUpload("crash", "big", uploadId, [
      { partNumber: 1, etag: parts[0]!.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    assert.match(done.etag, /^"[0-9a-f]{32}-2"$/);
    assert.equal((await store.headObject("crash", "big")).contentType, "application/x-crash");
    assert.equal((await store.headObject("crash", "big")).size, MIN_PART_SIZE + 10);
    await store.close();
  });
});

Deno.test("createFsStore() never writes outside its root, whatever the key, bucket or upload id", async () => {
  await withRoot(async (parent) => {
    const root = `${parent}/data`;
    const store = await createFsStore({ root });
    await store.createBucket("escape");
    const keys = [
      "../../../outside",
      "/etc/passwd",
      "a/../../b",
      "..",
      ".",
      "\u0000nul",
      "a\\..\\b",
      "~/x",
      `${"../".repeat(300)}x`,
    ];
    for (const key of keys) await put(store, "escape", key, key);
    for (const bad of ["../up", "a/b", ".", "..", "x\u0000"]) {
      await rejectsWithCode(store.createBucket(bad), "InvalidBucketName", bad);
    }
    await rejectsWithCode(store.listParts("escape", "k", "../../objects"), "NoSuchUpload");
    await rejectsWithCode(store.abortMultipartUpload("escape", "k", "../../../"), "NoSuchUpload");
    assert.deepEqual([...Deno.readDirSync(parent)].map((e) => e.name), ["data"]);
    const objectFiles = (await filesUnder(`${root}/buckets/escape/objects`)).map((p) => p.split("/").pop()!);
    assert.equal(objectFiles.length, keys.length);
    for (const name of objectFiles) assert.match(name, /^[kh][0-9a-f]+$/);
    for (const key of keys) assert.equal(new TextDecoder().decode(await getBytes(store, "escape", key)), key);
    await store.close();
  });
});

Deno.test("createFsStore() concurrent overwrites of one key: readers and the final state see one complete version", async () => {
  await withRoot(async (root) => {
    const store = await createFsStore({ root });
    await store.createBucket("race");
    const versions = Array.from({ length: 8 }, (_, i) => bytes(512 * 1024 + i * 1000, i + 1));
    const digests = new Set(versions.map((v) => `"${md5Hex(v)}"`));
    await put(store, "race", "k", versions[0]!);
    const readers = Array.from({ length: 16 }, async () => {
      const got = await store.getObject("race", "k");
      const body = await collect(got.body);
      assert.equal(`"${md5Hex(body)}"`, got.info.etag, "body matches the metadata read with it");
      assert.ok(digests.has(got.info.etag));
    });
    await Promise.all([...versions.map((v) => store.putObject("race", "k", streamOf(v, 7000))), ...readers]);
    const final = await store.getObject("race", "k");
    assert.equal(`"${md5Hex(await collect(final.body))}"`, final.info.etag);
    assert.deepEqual((await store.listObjects("race")).objects.map((o) => o.key), ["k"]);
    assert.deepEqual(await filesUnder(`${root}/tmp`), []);
    await store.close();
  });
});

Deno.test("createFsStore() concurrent puts and deletes: the key index agrees with the disk, group-committed puts all land", async () => {
  await withRoot(async (root) => {
    const store = await createFsStore({ root });
    await store.createBucket("mix");
    const ops = Array.from(
      { length: 40 },
      (_, i) => i % 3 === 2 ? store.deleteObject("mix", "k") : put(store, "mix", "k", bytes(100 + i, i)),
    );
    const many = Array.from({ length: 64 }, (_, i) => put(store, "mix", `small/${i}`, bytes(4096, i)));
    await Promise.all([...ops, ...many]);
    const listed = (await store.listObjects("mix", { prefix: "k" })).objects.map((o) => o.key);
    const exists = await store.headObject("mix", "k").then(() => true, () => false);
    assert.deepEqual(listed, exists ? ["k"] : []);
    await store.close();
    const reopened = await createFsStore({ root });
    const page = await reopened.listObjects("mix", { prefix: "small/" });
    assert.equal(page.objects.length, 64);
    for (const i of [0, 31, 63]) assert.deepEqual(await getBytes(reopened, "mix", `small/${i}`), bytes(4096, i));
    await reopened.close();
  });
});

Deno.test("createFsStore() on a full disk fails with NoSpace and leaves nothing partial, tags included", async () => {
  await withTmpfs("4m", async (root) => {
    {
      // No reserve: the writes run into the file system's own ENOSPC.
      const store = await createFsStore({ root, minFreeBytes: 0 });
      await store.createBucket("full");
      await put(store, "full", "small", bytes(1024 * 1024, 1));
      await rejectsWithCode(store.putObject("full", "huge", streamOf(bytes(8 * 1024 * 1024, 2))), "NoSpace");
      await rejectsWithCode(
        store.putObject("full", "small", streamOf(bytes(8 * 1024 * 1024, 3))),
        "NoSpace",
        "overwrite",
      );
      await rejectsWithCode(store.headObject("full", "huge"), "NoSuchKey");
      assert.deepEqual(await getBytes(store, "full", "small"), bytes(1024 * 1024, 1));
      assert.deepEqual(await filesUnder(`${root}/tmp`), []);
      // Tags are written with a copy of the object's file, which no longer fits.
      await put(store, "full", "filler", bytes(2.5 * 1024 * 1024, 6));
      await rejectsWithCode(store.putObjectTagging("full", "small", { a: "1" }), "NoSpace", "retag");
      assert.deepEqual(await store.getObjectTagging("full", "small"), {});
      assert.deepEqual(await getBytes(store, "full", "small"), bytes(1024 * 1024, 1));
      assert.deepEqual(await filesUnder(`${root}/tmp`), []);
      await store.deleteObject("full", "filler");
      const uploadId = await store.createMultipartUpload("full", "mp");
      await rejectsWithCode(
        store.uploadPart("full", "mp", { uploadId, partNumber: 1 }, streamOf(bytes(8 * 1024 * 1024, 4))),
        "NoSpace",
        "part",
      );
      assert.deepEqual((await store.listParts("full", "mp", uploadId)).parts, []);
      await store.abortMultipartUpload("full", "mp", uploadId);
      await store.deleteObject("full", "small");
      await put(store, "full", "after", bytes(2 * 1024 * 1024, 5));
      await store.close();
    }
  });
});

/** A body that counts the bytes taken from it. */
function countedStream(data: Uint8Array): { body: ReadableStream<Uint8Array>; taken: () => number } {
  let taken = 0;
  const body = streamOf(data).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        taken += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
  return { body, taken: () => taken };
}

Deno.test("createFsStore() reports its file system's capacity as df does and keeps minFreeBytes free", async () => {
  await withTmpfs("8m", async (root) => {
    const MiB = 1024 * 1024;
    const defaults = await createFsStore({ root });
    assert.equal(defaults.capacity!().minFreeBytes, Math.floor(8 * MiB / 10), "default: a tenth of a small disk");
    await defaults.close();

    const store = await createFsStore({ root, minFreeBytes: 3 * MiB });
    const before = store.capacity!();
    const seen = await df(root);
    assert.equal(before.totalBytes, 8 * MiB);
    assert.equal(before.totalBytes, seen.size);
    assert.equal(before.availableBytes, seen.avail);
    assert.equal(before.minFreeBytes, 3 * MiB);

    await store.createBucket("room");
    await store.putObject("room", "first", streamOf(bytes(3 * MiB, 1)), { contentLength: 3 * MiB });
    const after = store.capacity!();
    assert.ok(
      before.availableBytes - after.availableBytes >= 3 * MiB,
      `${before.availableBytes} → ${after.availableBytes}`,
    );
    assert.equal(after.availableBytes, (await df(root)).avail);

    // A write whose declared length would cut into the reserve is refused before its body is read.
    const refused = countedStream(bytes(3 * MiB, 2));
    await rejectsWithCode(
      store.putObject("room", "second", refused.body, { contentLength: 3 * MiB }),
      "NoSpace",
      "put over the reserve",
    );
    assert.equal(refused.taken(), 0);
    await rejectsWithCode(store.headObject("room", "second"), "NoSuchKey");
    await rejectsWithCode(
      store.copyObject({ bucket: "room", key: "first" }, { bucket: "room", key: "copy" }),
      "NoSpace",
    );
    const uploadId = await store.createMultipartUpload("room", "mp");
    await rejectsWithCode(
      store.uploadPart("room", "mp", { uploadId, partNumber: 1 }, streamOf(bytes(3 * MiB, 3)), {
        contentLength: 3 * MiB,
      }),
      "NoSpace",
      "part over the reserve",
    );
    assert.deepEqual(await filesUnder(`${root}/tmp`), []);

    // What stays within it is written; a delete frees room for the refused write.
    await store.putObject("room", "small", streamOf(bytes(MiB, 4)), { contentLength: MiB });
    await store.deleteObject("room", "first");
    await store.putObject("room", "second", streamOf(bytes(3 * MiB, 2)), { contentLength: 3 * MiB });
    assert.deepEqual(await getBytes(store, "room", "second"), bytes(3 * MiB, 2));
    assert.deepEqual(await getBytes(store, "room", "small"), bytes(MiB, 4));
    await store.abortMultipartUpload("room", "mp", uploadId);
    await store.close();
  });
});

Deno.test("createFsStore() rejects a failed upload part without touching the completed ones", async () => {
  await withRoot(async (root) => {
    const store = await createFsStore({ root });
    await store.createBucket("parts");
    const uploadId = await store.createMultipartUpload("parts", "k");
    const first = await store.uploadPart("parts", "k", { uploadId, partNumber: 1 }, streamOf(bytes(100, 1)));
    await assert.rejects(store.uploadPart("parts", "k", { uploadId, partNumber: 1 }, failingStream(bytes(50))));
    assert.deepEqual((await store.listParts("parts", "k", uploadId)).parts.map((p) => p.etag), [first.etag]);
    assert.deepEqual(await filesUnder(`${root}/tmp`), []);
    await store.close();
  });
});
