import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createMd5Offload } from "./_fs_md5.ts";
import { openLibcryptoMd5 } from "./_md5_libcrypto.ts";
import { createFsStore } from "./fs.ts";
import { bytes, getBytes, md5Hex, rejectsWithCode, streamOf, tempLeftovers } from "./_testing/contract_helpers.ts";

const MiB = 1024 * 1024;
const NO_LIBRARY = "/nonexistent/libcrypto.so.3";

Deno.test("MD5 offload: libcrypto is used where it loads; a missing or unusable library falls back to the worker", () => {
  // libcrypto.so.3 is part of every Debian install (libssl3): not loading it here is a failure, not a skip.
  for (const [libcrypto, kind] of [[undefined, "libcrypto"], [NO_LIBRARY, "worker"], ["libc.so.6", "worker"]]) {
    const offload = createMd5Offload(libcrypto === undefined ? {} : { libcrypto });
    try {
      assert.equal(offload.kind, kind, `library ${libcrypto ?? "default"}`);
    } finally {
      offload.close();
    }
  }
  assert.equal(openLibcryptoMd5(NO_LIBRARY), undefined);
});

for (const [name, libcrypto] of [["libcrypto", undefined], ["worker fallback", NO_LIBRARY]] as const) {
  Deno.test(`MD5 offload (${name}): digests equal node:crypto's for many sizes and chunkings, in parallel`, async () => {
    const offload = createMd5Offload(libcrypto === undefined ? {} : { libcrypto });
    try {
      const sizes = [0, 1, 55, 56, 63, 64, 65, 4095, 65_535, 65_536, 65_537, MiB - 1, MiB, MiB + 1, 3 * MiB + 12_345];
      const chunkings = [1 << 30, 70_001, 65_536, 4096, MiB, MiB + 3];
      await Promise.all(sizes.flatMap((size, i) =>
        chunkings.map(async (chunk) => {
          // Tiny chunks only for small sizes (a million 1-byte updates would only test patience).
          if (size / chunk > 1024) return;
          const data = bytes(size, i + 1);
          const hash = offload.create();
          for (let offset = 0; offset < size; offset += chunk) {
            await hash.update(data.subarray(offset, Math.min(size, offset + chunk)));
          }
          assert.equal(await hash.digest(), createHash("md5").update(data).digest("hex"), `size ${size} by ${chunk}`);
        })
      ));
      const dropped = offload.create();
      await dropped.update(bytes(2 * MiB + 5, 9));
      dropped.abandon?.();
      const after = offload.create();
      await after.update(bytes(10, 3));
      assert.equal(await after.digest(), md5Hex(bytes(10, 3)), "a hash after an abandoned one");
    } finally {
      offload.close();
    }
  });
}

Deno.test("libcrypto MD5: updates in flight finish before the library is unloaded; later updates are refused", async () => {
  const md5 = openLibcryptoMd5();
  assert.ok(md5, "libcrypto loads");
  const data = bytes(4 * MiB, 5);
  const hash = md5.create();
  const updating = hash.update(data);
  const small = md5.create();
  const queued = small.update(data.subarray(0, 100)); // hashed on this thread, in a later microtask
  md5.close();
  await updating;
  await queued;
  assert.throws(() => hash.update(data), /closed/);
  await assert.rejects(async () => await hash.digest(), /closed/);
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
    assert.deepEqual(tempLeftovers(`${root}/tmp`), []);
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});
