import assert from "node:assert/strict";
import { createFsStore } from "./fs.ts";

function pattern(n: number, seed: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(n).map((_, i) => (i * 31 + seed * 17 + (i >> 8)) & 0xff);
}

Deno.test("small objects read whole: every result keeps its own bytes while later reads fill the shared slabs", async () => {
  const root = await Deno.makeTempDir({ prefix: "fs-files-test-" });
  const store = await createFsStore({ root });
  try {
    await store.createBucket("slabs");
    // Sizes from empty to beyond an eighth of a slab (own buffer), enough of them to fill several slabs.
    const sizes = Array.from({ length: 240 }, (_, i) => [0, 1, 4096, 4097, 20_000, 40_000][i % 6]!);
    const bodies = sizes.map((n, i) => pattern(n, i));
    for (const [i, body] of bodies.entries()) {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          if (body.byteLength > 0) c.enqueue(body);
          c.close();
        },
      });
      await store.putObject("slabs", `k${i}`, stream, { contentLength: body.byteLength });
    }
    const results = [];
    for (let i = 0; i < bodies.length; i++) results.push(await store.getObject("slabs", `k${i}`));
    for (const [i, got] of results.entries()) {
      assert.ok(got.bytes, `k${i} is read whole`);
      assert.equal(got.bytes.byteLength, sizes[i]);
      assert.deepEqual(got.bytes, bodies[i], `k${i} unchanged by the reads after it`);
      assert.deepEqual(new Uint8Array(await new Response(got.body).arrayBuffer()), bodies[i]);
    }
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});
