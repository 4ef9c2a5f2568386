import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { drainBody, SHARED_EXTRA_BLOCKS } from "./_body.ts";
import { createMd5Offload } from "./_fs_md5.ts";
import { createFsStore } from "./fs.ts";
import { bytes, getBytes, md5Hex, rejectsWithCode } from "./_testing/contract_helpers.ts";

const MiB = 1024 * 1024;

/** A byte stream (BYOB-readable, like a request body) delivering `data` in pieces of the given sizes, in turn. */
function byteStreamOf(data: Uint8Array, pieces: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= data.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const view = controller.byobRequest!.view!;
      const n = Math.min(pieces[i++ % pieces.length]!, view.byteLength, data.byteLength - offset);
      new Uint8Array(view.buffer, view.byteOffset, n).set(data.subarray(offset, offset + n));
      offset += n;
      controller.byobRequest!.respond(n);
    },
  });
}

/** Drains into a copy (the sink may keep no lent chunk) and records the chunk sizes it was handed. */
async function drainCopy(body: ReadableStream<Uint8Array>, contentLength: number | undefined, md5 = true) {
  const got: Uint8Array[] = [];
  const offload = createMd5Offload();
  try {
    const result = await drainBody(
      body,
      { contentLength },
      async (chunk) => {
        await new Promise((r) => setTimeout(r, 0)); // a write that takes a while: the next read overlaps it
        got.push(chunk.slice());
      },
      md5 ? offload.create() : undefined,
    );
    const all = new Uint8Array(got.reduce((n, c) => n + c.byteLength, 0));
    got.reduce((at, c) => (all.set(c, at), at + c.byteLength), 0);
    return { ...result, all, sizes: got.map((c) => c.byteLength) };
  } finally {
    offload.close();
  }
}

Deno.test("drainBody: a large byte stream is handed on in whole 1 MiB blocks, bytes and MD5 intact", async () => {
  for (const size of [MiB, MiB + 1, 3 * MiB + 12_345]) {
    for (const pieces of [[65_536], [1, 70_001, MiB], [MiB + 17]]) {
      const data = bytes(size, size % 7);
      for (const hashed of [true, false]) {
        const r = await drainCopy(byteStreamOf(data, pieces), size, hashed);
        assert.equal(r.size, size);
        assert.equal(r.md5Hex, createHash("md5").update(data).digest("hex"));
        assert.deepEqual(r.all, data, `size ${size} in ${pieces}`);
        assert.ok(r.sizes.slice(0, -1).every((n) => n === MiB), `blocks ${r.sizes}`);
      }
    }
  }
});

Deno.test("drainBody: small or unknown-length byte streams keep their bytes and MD5", async () => {
  for (const [size, declared] of [[0, 0], [10, 10], [200_000, 200_000], [2 * MiB + 3, undefined]] as const) {
    const data = bytes(size, 3);
    const r = await drainCopy(byteStreamOf(data, [65_536, 3]), declared);
    assert.deepEqual(r.all, data);
    assert.equal(r.md5Hex, md5Hex(data));
  }
});

Deno.test("drainBody: a large body shorter or longer than declared, or with a wrong MD5, is refused", async () => {
  const data = bytes(2 * MiB + 5, 2);
  await rejectsWithCode(drainCopy(byteStreamOf(data, [MiB]), data.byteLength + 1), "IncompleteBody");
  await rejectsWithCode(drainCopy(byteStreamOf(data, [MiB]), data.byteLength - 1), "IncompleteBody");
  await rejectsWithCode(
    drainBody(
      byteStreamOf(data, [MiB]),
      { contentLength: data.byteLength, expectedMd5Hex: md5Hex(bytes(1)) },
      () => {},
    ),
    "BadDigest",
  );
});

Deno.test("drainBody: an abort while a large body streams rejects with the abort reason", async () => {
  const controller = new AbortController();
  const data = bytes(4 * MiB, 6);
  let chunks = 0;
  await assert.rejects(
    drainBody(byteStreamOf(data, [MiB]), { contentLength: data.byteLength, signal: controller.signal }, () => {
      if (++chunks === 2) controller.abort(new Error("client gone"));
    }),
    /client gone/,
  );
});

Deno.test("drainBody: a write that fails while the next block is being read fails the drain with its error", async () => {
  const data = bytes(3 * MiB, 8);
  let offset = 0;
  const slow = new ReadableStream({
    type: "bytes",
    async pull(controller) {
      await new Promise((r) => setTimeout(r, 20)); // the next read outlasts the failing write
      const view = controller.byobRequest!.view!;
      const n = Math.min(view.byteLength, data.byteLength - offset, 256 * 1024);
      new Uint8Array(view.buffer, view.byteOffset, n).set(data.subarray(offset, offset + n));
      offset += n;
      controller.byobRequest!.respond(n);
    },
  });
  await assert.rejects(
    drainBody(slow, { contentLength: data.byteLength }, () => Promise.reject(new Error("disk gone"))),
    /disk gone/,
  );
});

Deno.test("fs store: a large byte-stream body goes to disk in whole blocks with its ETag, as a part and an object", async () => {
  const root = await Deno.makeTempDir({ prefix: "fs-blocks-" });
  const store = await createFsStore({ root });
  try {
    await store.createBucket("bkt");
    const data = bytes(5 * MiB + 99, 5);
    const opts = { contentLength: data.byteLength };
    const info = await store.putObject("bkt", "k", byteStreamOf(data, [65_536, 1_000_003]), opts);
    assert.equal(info.etag, `"${md5Hex(data)}"`);
    assert.deepEqual(await getBytes(store, "bkt", "k"), data);
    const uploadId = await store.createMultipartUpload("bkt", "mp");
    const part = await store.uploadPart("bkt", "mp", { uploadId, partNumber: 1 }, byteStreamOf(data, [MiB]), opts);
    assert.equal(part.etag, `"${md5Hex(data)}"`);
    await store.completeMultipartUpload("bkt", "mp", uploadId, [{ partNumber: 1, etag: part.etag }]);
    assert.deepEqual(await getBytes(store, "bkt", "mp"), data);
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("drainBody: full blocks of a large body are written a few at once, each buffer reused only once written", async () => {
  const data = bytes(8 * MiB + 77, 9);
  const copy = new Uint8Array(data.byteLength);
  let offset = 0;
  let running = 0;
  let most = 0;
  const result = await drainBody(byteStreamOf(data, [MiB]), { contentLength: data.byteLength }, async (chunk) => {
    const at = offset;
    offset += chunk.byteLength;
    most = Math.max(most, ++running);
    // Slow writes finish out of order; a buffer overwritten by a later read before its write ends shows as corrupt.
    await new Promise((r) => setTimeout(r, at % (2 * MiB) === 0 ? 30 : 5));
    copy.set(chunk, at);
    running--;
  });
  assert.equal(result.md5Hex, md5Hex(data));
  assert.deepEqual(copy, data);
  assert.ok(most > 1 && most <= 3, `${most} writes ran at once`);
});

Deno.test("drainBody: parallel large bodies share a few extra blocks in flight, one each past that", async () => {
  const bodies = SHARED_EXTRA_BLOCKS + 4;
  const data = bytes(6 * MiB, 3);
  let running = 0;
  let most = 0;
  const results = await Promise.all(
    Array.from(
      { length: bodies },
      () =>
        drainBody(byteStreamOf(data, [MiB]), { contentLength: data.byteLength }, async () => {
          most = Math.max(most, ++running);
          await new Promise((r) => setTimeout(r, 10));
          running--;
        }),
    ),
  );
  for (const r of results) assert.equal(r.md5Hex, md5Hex(data));
  assert.ok(most > bodies, `${most} writes ran at once`);
  assert.ok(most <= bodies + SHARED_EXTRA_BLOCKS, `${most} writes ran at once for ${bodies} bodies`);
});

Deno.test("drainBody: blocks in flight reach the hash one update at a time, also the worker fallback's", async () => {
  // The worker hash copies each update into its own blocks and waits for a free one: two updates at once would
  // interleave (or wait on each other forever). The sink is slow, so several blocks are in flight.
  const offload = createMd5Offload({ libcrypto: "/nonexistent/libcrypto.so.3" });
  assert.equal(offload.kind, "worker");
  try {
    for (const pieces of [[MiB], [300_000, MiB]]) {
      const data = bytes(12 * MiB + 5, pieces.length);
      const result = await drainBody(
        byteStreamOf(data, pieces),
        { contentLength: data.byteLength },
        () => new Promise((r) => setTimeout(r, 3)),
        offload.create(),
      );
      assert.equal(result.md5Hex, md5Hex(data));
    }
  } finally {
    offload.close();
  }
});
