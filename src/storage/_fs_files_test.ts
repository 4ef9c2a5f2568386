import assert from "node:assert/strict";
import { releaseSent } from "../http_handoff.ts";
import { withTempDir } from "../_testing/temp_dir.ts";
import { createFsStore } from "./fs.ts";
import { putSmall } from "./_testing/contract_helpers.ts";
import type { ObjectStore } from "./mod.ts";

function pattern(n: number, seed: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(n).map((_, i) => (i * 31 + seed * 17 + (i >> 8)) & 0xff);
}

function withStore(fn: (store: ObjectStore) => Promise<void>): Promise<void> {
  return withTempDir("fs-files-test-", async (root) => {
    const store = await createFsStore({ root });
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  });
}

Deno.test("small objects read whole: every result keeps its own bytes while later reads take blocks of the pools", async () => {
  await withStore(async (store) => {
    await store.createBucket("small");
    // Sizes from empty to 40,000 bytes, in each of the pools' block sizes, more of them than a pool keeps.
    const sizes = Array.from({ length: 240 }, (_, i) => [0, 1, 4096, 4097, 20_000, 40_000][i % 6]!);
    const bodies = sizes.map((n, i) => pattern(n, i));
    for (const [i, body] of bodies.entries()) await putSmall(store, "small", `k${i}`, body);
    const results = [];
    for (let i = 0; i < bodies.length; i++) results.push(await store.getObject("small", `k${i}`));
    for (const [i, got] of results.entries()) {
      assert.ok(got.bytes, `k${i} is read whole`);
      assert.equal(got.bytes.byteLength, sizes[i]);
      assert.deepEqual(got.bytes, bodies[i], `k${i} unchanged by the reads after it`);
      assert.deepEqual(new Uint8Array(await new Response(got.body).arrayBuffer()), bodies[i]);
    }
  });
});

Deno.test("small objects read whole: a block the server gives back is the memory of a later read", async () => {
  await withStore(async (store) => {
    await store.createBucket("blocks");
    const first = pattern(3000, 1), second = pattern(1000, 2);
    await putSmall(store, "blocks", "first", first);
    await putSmall(store, "blocks", "second", second);
    const sent = (await store.getObject("blocks", "first")).bytes!;
    assert.deepEqual(sent, first);
    releaseSent(sent);
    assert.equal(sent.byteLength, 0, "given back: the view is detached");
    const later = (await store.getObject("blocks", "second")).bytes!;
    assert.deepEqual(later, second);
    // The same 4 KiB block: past the later object's bytes, the first one's are still there.
    const block = new Uint8Array(later.buffer, later.byteOffset, first.byteLength);
    assert.deepEqual(block.subarray(second.byteLength), first.subarray(second.byteLength));
  });
});
