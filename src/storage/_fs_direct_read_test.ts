import assert from "node:assert/strict";
import { concatBytes } from "../bytes.ts";
import { handOff } from "../http_handoff.ts";
import { withTempDir } from "../_testing/temp_dir.ts";
import { DIRECT_ALIGN } from "./_fs_direct.ts";
import { type DirectReads, openDirectReads } from "./_fs_direct_read.ts";
import { openPositional, type Segment, type SegmentFile, segmentSource } from "./_fs_read.ts";
import { createFsStore } from "./fs.ts";
import { MIN_PART_SIZE } from "./mod.ts";
import { collectCopies } from "./_testing/contract_helpers.ts";
import { withLoopExt4 } from "./_testing/loop_ext4.ts";
import { cachedBytes, dropPageCache } from "./_testing/page_cache.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

function pattern(n: number, seed: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(n).map((_, i) => (i * 131 + seed * 7 + (i >> 11)) & 0xff);
}

/** The bytes of a stream, each chunk copied before the next is asked for (a chunk handed off is emptied then). */
const readAll = async (stream: ReadableStream<Uint8Array>) => (await collectCopies(stream)).bytes;

/** Runs `fn` on an ext4 of its own (O_DIRECT works there, as on the appliance's disk) with direct reads open. */
function withExt4(fn: (root: string, reads: DirectReads) => Promise<void>): Promise<void> {
  return withTempDir("fs-direct-read-", (dir) =>
    withLoopExt4(dir, async (root) => {
      const reads = openDirectReads();
      assert.ok(reads, "the tests run with FFI permission and glibc, as the appliance does");
      try {
        await fn(root, reads);
      } finally {
        reads.close();
      }
    }));
}

/**
 * Part-like files of `sizes` bytes (each followed by bytes a read must not return) as segments. They are opened as
 * the fs store opens part files: through the page cache, able to go direct where not cached; with `alwaysDirect`,
 * direct from the start (the tests drop the page cache first), to put the direct read loop through any range and
 * reader. `wentDirect` lists the files (by index) read direct, `requested` counts the bytes asked of the files.
 */
async function partFiles(root: string, reads: DirectReads, sizes: number[], alwaysDirect = false) {
  const parts = sizes.map((n, i) => pattern(n, i + 1));
  const wentDirect: number[] = [];
  const requested = { bytes: 0 };
  const counted = (file: SegmentFile): SegmentFile => ({
    ...file,
    readAt: (into, at) => (requested.bytes += into.byteLength, file.readAt(into, at)),
  });
  /** `file`, a direct handle on file `i`, noted in `wentDirect` at its first read. */
  const readsDirect = (file: SegmentFile, i: number): SegmentFile => {
    let read = false;
    return counted({ ...file, readAt: (into, at) => (read ||= (wentDirect.push(i), true), file.readAt(into, at)) });
  };
  const segments: Segment[] = await Promise.all(parts.map(async (part, i) => {
    const path = `${root}/part-${i}`;
    await Deno.writeFile(path, concatBytes([part, new Uint8Array(300).fill(0xee)]));
    const open = async () => {
      if (alwaysDirect) {
        const file = reads.openIfCold(path, 0, part.byteLength - 1);
        assert.ok(file, `${path} opens direct`);
        return readsDirect(file, i);
      }
      return counted({
        ...await openPositional(path),
        coldDirect: (first, last) => {
          const file = reads.openIfCold(path, first, last);
          return file && readsDirect(file, i);
        },
      });
    };
    return { size: part.byteLength, open };
  }));
  return { segments, bytes: concatBytes(parts), wentDirect, requested };
}

Deno.test("direct reads: a GET body's files not in the page cache go direct once handed off; same bytes", async () => {
  await withExt4(async (root, reads) => {
    const sizes = [4 * MiB, 3 * MiB + 5, 700 * KiB + 1];
    const { segments, bytes, wentDirect, requested } = await partFiles(root, reads, sizes);
    const whole = { start: 0, end: bytes.byteLength - 1 };

    await dropPageCache(root);
    assert.deepEqual(await readAll(handOff(segmentSource(segments, () => {}).stream(whole))), bytes);
    assert.deepEqual(wentDirect.splice(0), [0, 1, 2], "each file went direct, the first once the hand-off showed");
    // Several reads are in flight at once; none is made twice (a switch and each file's end round to a page).
    assert.ok(requested.bytes < bytes.byteLength + 2 * DIRECT_ALIGN * sizes.length, `${requested.bytes} bytes asked`);
    assert.equal(
      await cachedBytes([`${root}/part-1`, `${root}/part-2`]),
      0,
      "direct reads leave the cache as it was",
    );
    const first = await cachedBytes(`${root}/part-0`);
    assert.ok(first < 2 * MiB, `only the first reads and their read-ahead went through the cache: ${first} bytes`);

    await dropPageCache(root);
    assert.deepEqual(await readAll(segmentSource(segments, () => {}).stream(whole)), bytes);
    assert.deepEqual(wentDirect.splice(0), [], "a reader that keeps its chunks reads through the cache");

    for (let i = 0; i < sizes.length; i++) await Deno.readFile(`${root}/part-${i}`);
    assert.deepEqual(await readAll(handOff(segmentSource(segments, () => {}).stream(whole))), bytes);
    assert.deepEqual(wentDirect.splice(0), [], "cached files are read through the cache");

    await dropPageCache(root);
    for (let i = 0; i < sizes.length; i++) {
      using file = await Deno.open(`${root}/part-${i}`);
      await file.read(new Uint8Array(64 * KiB));
    }
    assert.ok(await cachedBytes(`${root}/part-0`) >= 64 * KiB, "the first read and its read-ahead are cached");
    assert.deepEqual(await readAll(handOff(segmentSource(segments, () => {}).stream(whole))), bytes);
    assert.deepEqual(wentDirect.splice(0), [0, 1, 2], "files whose first pages alone are cached still go direct");

    await dropPageCache(root);
    const copied: Uint8Array[] = [];
    const to = {
      write: (c: Uint8Array) => Promise.resolve(void copied.push(c.slice())),
      writeMeta: () => Promise.resolve(),
    };
    await segmentSource(segments, () => {}).copy(0, bytes.byteLength, to);
    assert.deepEqual(await readAll(ReadableStream.from(copied)), bytes);
    assert.deepEqual(wentDirect.splice(0), [], "copies read through the cache");
  });
});

Deno.test("direct reads: unaligned ranges across files, handed off or kept, give the same bytes", async () => {
  await withExt4(async (root, reads) => {
    const { segments, bytes, wentDirect } = await partFiles(
      root,
      reads,
      [1 * MiB + 100, 5, 2 * MiB + 4097, 9000],
      true,
    );
    const n = bytes.byteLength;
    const ranges = [
      { start: 0, end: n - 1 },
      { start: 1, end: n - 2 },
      { start: MiB + 99, end: MiB + 100 }, // the last byte of one file and the first of the next
      { start: MiB + 100, end: MiB + 104 }, // the 5-byte file
      { start: 4095, end: 4096 },
      { start: MiB + 105 + 2 * MiB + 4000, end: n - 1 }, // from inside the third file's last page to the end
      { start: n - 1, end: n - 1 },
    ];
    for (const range of ranges) {
      const want = bytes.subarray(range.start, range.end + 1);
      const label = JSON.stringify(range);
      await dropPageCache(root);
      assert.deepEqual(await readAll(handOff(segmentSource(segments, () => {}).stream(range))), want, label);
      assert.ok(wentDirect.length > 0, `${label}: read direct`);
      wentDirect.length = 0;
      await dropPageCache(root);
      assert.deepEqual(await readAll(segmentSource(segments, () => {}).stream(range)), want, `${label}, kept`);
      assert.ok(wentDirect.length > 0, `${label}, kept: read direct`);
      wentDirect.length = 0;
    }
  });
});

Deno.test("direct reads: a file shorter than its segment is an error, not short data", async () => {
  await withExt4(async (root, reads) => {
    const { segments, wentDirect } = await partFiles(root, reads, [2 * MiB], true);
    await dropPageCache(root);
    const longer: Segment[] = [{ ...segments[0]!, size: 3 * MiB }];
    await assert.rejects(
      readAll(handOff(segmentSource(longer, () => {}).stream({ start: 0, end: 3 * MiB - 1 }))),
      /ended before its declared size/,
    );
    assert.deepEqual(wentDirect, [0]);
  });
});

Deno.test("direct reads: a cancel with reads in flight releases the source; no direct file for a missing path", async () => {
  await withExt4(async (root, reads) => {
    const { segments } = await partFiles(root, reads, [8 * MiB], true);
    await dropPageCache(root);
    let released = 0;
    const reader = handOff(segmentSource(segments, () => released++).stream({ start: 0, end: 8 * MiB - 1 }))
      .getReader();
    for (let i = 0; i < 3; i++) assert.ok((await reader.read()).value!.byteLength > 0);
    await reader.cancel(new Error("client gone"));
    assert.equal(released, 1);
    assert.equal(reads.openIfCold(`${root}/missing`, 0, 0), undefined);
  });
});

Deno.test("direct reads: a path renamed over since a file was opened is not taken for that file", async () => {
  await withExt4(async (root, reads) => {
    const path = `${root}/object`;
    /** Whether `open` gave a direct handle (closed at once). */
    const opens = (open: () => SegmentFile | undefined) => {
      const file = open();
      file?.close();
      return file !== undefined;
    };
    await Deno.writeFile(path, pattern(64 * KiB, 1));
    using opened = await Deno.open(path);
    await dropPageCache(root);
    assert.ok(opens(() => reads.openIfCold(path, 0, 64 * KiB - 1, opened)), "the path still names the opened file");
    await Deno.writeFile(`${root}/new`, pattern(64 * KiB, 2));
    await Deno.rename(`${root}/new`, path);
    await dropPageCache(root);
    assert.ok(!opens(() => reads.openIfCold(path, 0, 64 * KiB - 1, opened)), "no cold probe of another file");
    assert.ok(opens(() => reads.openIfCold(path, 0, 64 * KiB - 1)), "without a file to match, the path opens");
  });
});

Deno.test("fs store on ext4: a GET reads uncached parts direct once handed off; ranges and part copies of them", async () => {
  await withExt4(async (root) => {
    const store = await createFsStore({ root });
    try {
      await store.createBucket("bkt");
      const parts = [pattern(MIN_PART_SIZE, 1), pattern(300 * KiB + 3, 2)];
      const whole = new Uint8Array([...parts[0]!, ...parts[1]!]);
      const uploadId = await store.createMultipartUpload("bkt", "big");
      const done = await Promise.all(
        parts.map((p, i) => store.uploadPart("bkt", "big", { uploadId, partNumber: i + 1 }, ReadableStream.from([p]))),
      );
      await dropPageCache(root);
      await store.completeMultipartUpload("bkt", "big", uploadId, done);
      const completed = await cachedBytes(`${root}/buckets/bkt/data`, "part-*");
      assert.ok(completed < 64 * KiB, `completing read the parts' ends, not their starts: ${completed} bytes cached`);
      const body = async (key: string, range?: { start: number; end: number }) =>
        await readAll(handOff((await store.getObject("bkt", key, range ? { range } : {})).body));

      await dropPageCache(root);
      assert.deepEqual(await body("big"), whole);
      const data = `${root}/buckets/bkt/data`;
      const first = await cachedBytes(data, "part-00001");
      assert.ok(first < 2 * MiB, `the first part went direct after its first reads: ${first} bytes cached`);
      assert.equal(await cachedBytes(data, "part-00002"), 0, "the second part was read direct");
      const range = { start: MIN_PART_SIZE - 5000, end: MIN_PART_SIZE + 10 };
      assert.deepEqual(await body("big", range), whole.subarray(range.start, range.end + 1));

      await dropPageCache(root);
      const target = await store.createMultipartUpload("bkt", "copy");
      const source = { bucket: "bkt", key: "big", range };
      const part = await store.uploadPartCopy(source, { bucket: "bkt", key: "copy", uploadId: target, partNumber: 1 });
      await store.completeMultipartUpload("bkt", "copy", target, [part]);
      assert.deepEqual(await body("copy"), whole.subarray(range.start, range.end + 1));
    } finally {
      await store.close();
    }
  });
});

Deno.test("fs store on ext4: a simple object's file reads direct once handed off, not once its key is overwritten", async () => {
  await withExt4(async (root) => {
    const store = await createFsStore({ root });
    try {
      await store.createBucket("bkt");
      const original = pattern(3 * MiB, 3);
      await store.putObject("bkt", "one", ReadableStream.from([original]));
      const objects = `${root}/buckets/bkt/objects`;

      await dropPageCache(root);
      assert.deepEqual(await readAll(handOff((await store.getObject("bkt", "one")).body)), original);
      const cached = await cachedBytes(objects);
      assert.ok(cached < 1.5 * MiB, `the object's file went direct after its first reads: ${cached} bytes cached`);

      // Replaced under a GET, before the client has read any of its body and after the first chunk: the GET's bytes
      // still all come from the file it opened, never from the new one.
      for (const [seed, chunksFirst] of [[4, 0], [5, 1]] as const) {
        const expected = await readAll((await store.getObject("bkt", "one")).body);
        await dropPageCache(root);
        const reader = handOff((await store.getObject("bkt", "one")).body).getReader();
        try {
          const got: Uint8Array[] = [];
          for (let i = 0; i < chunksFirst; i++) got.push((await reader.read()).value!.slice());
          await store.putObject("bkt", "one", ReadableStream.from([pattern(3 * MiB, seed)]));
          for (let r = await reader.read(); !r.done; r = await reader.read()) got.push(r.value.slice());
          const bytes = concatBytes(got);
          const differs = bytes.findIndex((b, i) => b !== expected[i]);
          assert.ok(
            bytes.byteLength === expected.byteLength && differs === -1,
            `replaced after ${chunksFirst} chunks: other bytes from offset ${differs}`,
          );
        } finally {
          await reader.cancel();
        }
      }
    } finally {
      await store.close();
    }
  });
});
