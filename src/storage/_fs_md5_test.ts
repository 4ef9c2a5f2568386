import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createMd5Offload } from "./_fs_md5.ts";
import { createFsStore } from "./fs.ts";
import { bytes, getBytes, md5Hex, rejectsWithCode, streamOf } from "./_testing/contract_helpers.ts";

const MiB = 1024 * 1024;

Deno.test("MD5 offload: digests equal node:crypto's for sizes around the block size, in odd chunks, in parallel", async () => {
  const offload = createMd5Offload();
  try {
    const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 12_345];
    await Promise.all(sizes.map(async (size, i) => {
      const data = bytes(size, i + 1);
      const hash = offload.create();
      for (let offset = 0; offset < size; offset += 70_001) {
        await hash.update(data.subarray(offset, Math.min(size, offset + 70_001)));
      }
      assert.equal(await hash.digest(), createHash("md5").update(data).digest("hex"), `size ${size}`);
    }));
    const dropped = offload.create();
    await dropped.update(bytes(2 * MiB + 5, 9));
    dropped.abandon!();
    const after = offload.create();
    await after.update(bytes(10, 3));
    assert.equal(await after.digest(), md5Hex(bytes(10, 3)), "a hash after an abandoned one");
  } finally {
    offload.close();
  }
});

Deno.test("fs store: large bodies of known length hashed off-thread keep ETag, Content-MD5 and length checks", async () => {
  const root = await Deno.makeTempDir({ prefix: "fs-md5-" });
  const store = await createFsStore({ root });
  try {
    await store.createBucket("bkt");
    const data = bytes(3 * MiB + 7, 4);
    const info = await store.putObject("bkt", "k", streamOf(data), { contentLength: data.byteLength });
    assert.equal(info.etag, `"${md5Hex(data)}"`);
    assert.deepEqual(await getBytes(store, "bkt", "k"), data);
    await rejectsWithCode(
      store.putObject("bkt", "bad", streamOf(data), {
        contentLength: data.byteLength,
        expectedMd5Hex: md5Hex(bytes(10)),
      }),
      "BadDigest",
    );
    await rejectsWithCode(
      store.putObject("bkt", "short", streamOf(data.subarray(0, 2 * MiB)), { contentLength: data.byteLength }),
      "IncompleteBody",
    );
    const uploadId = await store.createMultipartUpload("bkt", "mp");
    const part = await store.uploadPart("bkt", "mp", { uploadId, partNumber: 1 }, streamOf(data), {
      contentLength: data.byteLength,
    });
    assert.equal(part.etag, `"${md5Hex(data)}"`);
    assert.deepEqual((await store.listObjects("bkt")).objects.map((o) => o.key), ["k"]);
    assert.deepEqual([...Deno.readDirSync(`${root}/tmp`)], []);
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});
