import assert from "node:assert/strict";
import { drainBody } from "./_body.ts";
import { alignedBlock, DIRECT_ALIGN, type DirectWrites, openDirectWrites } from "./_fs_direct.ts";
import { readStoredMeta } from "./_fs_files.ts";
import { writeTemp } from "./_fs_temp_file.ts";
import { createFsStore } from "./fs.ts";
import { withLoopExt4 } from "./_testing/loop_ext4.ts";
import { tempLeftovers } from "./_testing/contract_helpers.ts";

const MiB = 1024 * 1024;

function pattern(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = alignedBlock(size);
  for (let i = 0; i < size; i++) out[i] = (i * 13 + seed + (i >>> 12)) & 0xff;
  return out;
}

const address = (b: Uint8Array) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));

/** The real direct writes, counting the writes that went direct; `failAt` makes that write (1-based) fail. */
function counting(failAt?: number): { direct: DirectWrites; writes: () => number; close(): void } {
  const real = openDirectWrites();
  assert.ok(real, "the tests run with FFI permission and glibc, as the appliance does");
  let calls = 0;
  let ok = 0;
  return {
    direct: {
      open(path) {
        const file = real.open(path);
        assert.ok(file, "the temp directory's file system supports O_DIRECT");
        return {
          ...file,
          async write(data, offset) {
            if (++calls === failAt) return false;
            const done = await file.write(data, offset);
            if (done) ok++;
            return done;
          },
        };
      },
      close: () => real.close(),
    },
    writes: () => ok,
    close: () => real.close(),
  };
}

/** A byte stream (BYOB reads, like a request body) delivering `body` in pieces of at most 200,000 bytes. */
function byteStream(body: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller: ReadableByteStreamController) {
      const view = controller.byobRequest!.view!;
      const n = Math.min(200_000, view.byteLength, body.byteLength - offset);
      if (n === 0) {
        controller.close();
        controller.byobRequest!.respond(0);
        return;
      }
      new Uint8Array(view.buffer, view.byteOffset, n).set(body.subarray(offset, offset + n));
      offset += n;
      controller.byobRequest!.respond(n);
    },
  });
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeTemp: aligned full blocks go direct, the rest through the page cache; the file is exact", async () => {
  await withDir(async (dir) => {
    for (const failAt of [undefined, 2]) {
      const c = counting(failAt);
      const blocks = [pattern(MiB, 1), pattern(MiB, 2), pattern(MiB, 3)];
      const tail = pattern(1000, 4);
      const unaligned = pattern(MiB + 1, 5).subarray(1);
      // A full block at an aligned offset whose memory is not aligned: buffered.
      const misplaced = pattern(MiB + 1, 6).subarray(1);
      const path = await writeTemp(dir, async (out) => {
        await out.write(blocks[0]!);
        await out.write(misplaced);
        for (const b of blocks.slice(1)) await out.write(b);
        await out.write(tail);
        await out.write(unaligned); // at an unaligned offset and address: buffered
        await out.writeMeta({ hello: "meta" });
      }, { direct: c.direct });
      c.close();
      // Without a failure the three aligned blocks go direct; a failed write is redone buffered and ends direct
      // writes for the file.
      assert.equal(c.writes(), failAt === undefined ? 3 : 1, `failAt ${failAt}`);
      const file = await Deno.readFile(path);
      const data = [blocks[0]!, misplaced, ...blocks.slice(1), tail, unaligned];
      let at = 0;
      for (const d of data) {
        assert.ok(file.subarray(at, at + d.byteLength).every((b, i) => b === d[i]), `bytes at ${at}`);
        at += d.byteLength;
      }
      assert.deepEqual(await readStoredMeta(path), { hello: "meta" });
    }
  });
});

Deno.test("drainBody: a large body's blocks reach the sink aligned for direct writes, also after BYOB reads", async () => {
  const body = pattern(3 * MiB + 5, 6);
  const stream = byteStream(body);
  const chunks: { length: number; aligned: boolean }[] = [];
  const { size } = await drainBody(stream, { contentLength: body.byteLength }, (chunk) => {
    chunks.push({ length: chunk.byteLength, aligned: address(chunk) % DIRECT_ALIGN === 0 });
  });
  assert.equal(size, body.byteLength);
  assert.deepEqual(chunks.slice(0, 3), [MiB, MiB, MiB].map((length) => ({ length, aligned: true })));
});

Deno.test("fs store on a small ext4: a direct write that hits a full disk is NoSpace and leaves nothing", async () => {
  await withDir(async (dir) => {
    await withLoopExt4(dir, async (root) => {
      const store = await createFsStore({ root });
      await store.createBucket("bkt");
      const stream = byteStream;
      const fits = pattern(4 * MiB, 7);
      const put = await store.putObject("bkt", "fits", stream(fits), { contentLength: fits.byteLength });
      assert.equal((await store.headObject("bkt", "fits")).etag, put.etag);
      const huge = pattern(24 * MiB, 8);
      await assert.rejects(
        store.putObject("bkt", "huge", stream(huge), { contentLength: huge.byteLength }),
        (err) => (err as { code?: string }).code === "NoSpace",
      );
      const uploadId = await store.createMultipartUpload("bkt", "mp");
      await assert.rejects(
        store.uploadPart("bkt", "mp", { uploadId, partNumber: 1 }, stream(huge), { contentLength: huge.byteLength }),
        (err) => (err as { code?: string }).code === "NoSpace",
      );
      assert.deepEqual((await store.listParts("bkt", "mp", uploadId)).parts, []);
      assert.deepEqual(tempLeftovers(`${root}/tmp`), []);
      const got = new Uint8Array(await new Response((await store.getObject("bkt", "fits")).body).arrayBuffer());
      assert.ok(got.byteLength === fits.byteLength && got.every((b, i) => b === fits[i]));
      await store.close();
    });
  });
});
