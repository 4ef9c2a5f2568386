import assert from "node:assert/strict";
import { createBlockPool } from "./_block_pool.ts";
import { alignedBlock, DIRECT_ALIGN } from "./_fs_direct.ts";

const address = (b: Uint8Array) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));

Deno.test("createBlockPool: a given block is taken again, newest first", () => {
  const pool = createBlockPool({ blockBytes: 1024, maxFree: 4 });
  const a = pool.take(), b = pool.take();
  assert.equal(a.byteLength, 1024);
  assert.notEqual(a, b);
  pool.give(a);
  pool.give(b);
  assert.equal(pool.take(), b);
  assert.equal(pool.take(), a);
  assert.notEqual(pool.take(), a);
});

Deno.test("createBlockPool: keeps at most maxFree blocks", () => {
  const pool = createBlockPool({ blockBytes: 64, maxFree: 2 });
  const blocks = [pool.take(), pool.take(), pool.take()];
  for (const b of blocks) pool.give(b);
  const again = [pool.take(), pool.take(), pool.take()];
  assert.equal(again[0], blocks[1]);
  assert.equal(again[1], blocks[0]);
  assert.ok(!blocks.includes(again[2]!), "a third block was kept");
});

Deno.test("createBlockPool: drops blocks of another length, such as one detached by a transfer", () => {
  const pool = createBlockPool({ blockBytes: 64, maxFree: 4 });
  const detached = pool.take();
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  assert.equal(detached.byteLength, 0);
  pool.give(detached);
  pool.give(new Uint8Array(32));
  const taken = pool.take();
  assert.equal(taken.byteLength, 64);
  assert.notEqual(taken, detached);
});

Deno.test("createBlockPool: new blocks come from allocate (aligned ones for direct writes)", () => {
  const sizes: number[] = [];
  const pool = createBlockPool({
    blockBytes: 8192,
    maxFree: 1,
    allocate: (bytes) => {
      sizes.push(bytes);
      return alignedBlock(bytes);
    },
  });
  const block = pool.take();
  assert.deepEqual(sizes, [8192]);
  assert.equal(block.byteLength, 8192);
  assert.equal(address(block) % DIRECT_ALIGN, 0);
  pool.give(block);
  assert.equal(pool.take(), block);
  assert.deepEqual(sizes, [8192]);
});
