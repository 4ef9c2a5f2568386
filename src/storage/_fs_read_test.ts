import assert from "node:assert/strict";
import { join } from "node:path";
import { handOff, releaseSent } from "../http_handoff.ts";
import { openPositional, type Segment, segmentSource } from "./_fs_read.ts";
import { withTempDir } from "../_testing/temp_dir.ts";
import { collectCopies } from "./_testing/contract_helpers.ts";

const KiB = 1024;

function pattern(n: number, seed: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(n).map((_, i) => (i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

/** File segments over temp files holding `sizes` bytes each (plus a trailer the reads must not reach). */
async function fileSegments(dir: string, sizes: number[]): Promise<{ segments: Segment[]; bytes: Uint8Array }> {
  const parts = sizes.map((n, i) => pattern(n, i));
  const segments = await Promise.all(parts.map(async (part, i) => {
    const path = join(dir, `part-${i}`);
    await Deno.writeFile(path, new Uint8Array([...part, 0xee, 0xee, 0xee]));
    return { size: part.byteLength, open: () => openPositional(path) };
  }));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  parts.reduce((offset, p) => (bytes.set(p, offset), offset + p.byteLength), 0);
  return { segments, bytes };
}

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("fs-read-test-", fn);

Deno.test("segmentSource() stream: 64 KiB reads for a consumer that keeps chunks, 1 MiB once they are handed off", async () => {
  await withDir(async (dir) => {
    const { segments, bytes } = await fileSegments(dir, [700 * KiB, 1024 * KiB + 5, 3 * 1024 * KiB]);
    let released = 0;
    const source = () => segmentSource(segments, () => released++);
    const range = { start: 0, end: bytes.byteLength - 1 };

    const kept = await collectCopies(source().stream(range));
    assert.deepEqual(kept.bytes, bytes);
    assert.equal(Math.max(...kept.sizes), 64 * KiB);

    const handed = await collectCopies(handOff(source().stream(range)));
    assert.deepEqual(handed.bytes, bytes);
    assert.equal(handed.sizes[0], 64 * KiB, "the first reads are small: nothing was handed off yet");
    assert.equal(Math.max(...handed.sizes), 1024 * KiB);
    assert.ok(handed.sizes.length < kept.sizes.length / 2, `${handed.sizes.length} vs ${kept.sizes.length} chunks`);
    assert.equal(released, 2);
  });
});

Deno.test("segmentSource() stream: chunks a server releases once written come back as the memory of later reads", async () => {
  await withDir(async (dir) => {
    const { segments, bytes } = await fileSegments(dir, [5 * 1024 * KiB, 9 * 1024 * KiB + 77]);
    const range = { start: 0, end: bytes.byteLength - 1 };
    /** Reads the whole range; returns the last chunk's memory past its own 77 bytes, as long as a full read's. */
    const read = async (release: boolean) => {
      const got = new Uint8Array(bytes.byteLength);
      let at = 0;
      let tail: Uint8Array | undefined;
      for await (const chunk of segmentSource(segments, () => {}).stream(range)) {
        got.set(chunk, at);
        at += chunk.byteLength;
        const memory = chunk.buffer.byteLength - chunk.byteOffset;
        tail = new Uint8Array(chunk.buffer, chunk.byteOffset, Math.min(memory, 1024 * KiB)).slice(chunk.byteLength);
        // What the S3 port's server does once a chunk is written; without it, the chunk is detached once sent.
        if (release) releaseSent(chunk);
        else (chunk.buffer as ArrayBuffer).transfer(0);
      }
      assert.equal(at, bytes.byteLength);
      assert.deepEqual(got, bytes);
      return tail!;
    };
    const fresh = await read(false);
    assert.ok(fresh.every((b) => b === 0), "a read into new memory: nothing but its own bytes");
    const reused = await read(true);
    assert.equal(reused.byteLength, 1024 * KiB - 77);
    // The block an earlier 1 MiB chunk was read into, given back once written: its bytes past the tail's are still there.
    const earlier = bytes.byteLength - 77 - 1024 * KiB;
    assert.deepEqual(reused, bytes.subarray(earlier + 77, earlier + 1024 * KiB));
  });
});

Deno.test("segmentSource() stream: ranges across segment boundaries, handed off or kept, give the same bytes", async () => {
  await withDir(async (dir) => {
    const { segments, bytes } = await fileSegments(dir, [300 * KiB + 1, 2 * 1024 * KiB, 5, 900 * KiB]);
    const n = bytes.byteLength;
    const ranges = [
      { start: 0, end: n - 1 },
      { start: 300 * KiB, end: 300 * KiB + 1 }, // the last byte of one segment and the first of the next
      { start: 100 * KiB, end: n - 100 * KiB },
      { start: 300 * KiB + 1 + 2 * 1024 * KiB, end: 300 * KiB + 1 + 2 * 1024 * KiB + 4 }, // the 5-byte segment
      { start: n - 1, end: n - 1 },
    ];
    for (const range of ranges) {
      const want = bytes.subarray(range.start, range.end + 1);
      const src = segmentSource(segments, () => {});
      assert.deepEqual((await collectCopies(handOff(src.stream(range)))).bytes, want, JSON.stringify(range));
      assert.deepEqual((await collectCopies(segmentSource(segments, () => {}).stream(range))).bytes, want);
    }
  });
});

Deno.test("segmentSource() stream: in-memory segments are never detached by a hand-off", async () => {
  await withDir(async (dir) => {
    const file = await fileSegments(dir, [1024 * KiB]);
    const head = pattern(10 * KiB, 9);
    const tail = pattern(20 * KiB, 10);
    const segments: Segment[] = [
      { size: head.byteLength, data: head, open: () => Promise.reject(new Error("in memory")) },
      ...file.segments,
      { size: tail.byteLength, data: tail, open: () => Promise.reject(new Error("in memory")) },
    ];
    const range = { start: 0, end: head.byteLength + file.bytes.byteLength + tail.byteLength - 1 };
    const { bytes } = await collectCopies(handOff(segmentSource(segments, () => {}).stream(range)));
    assert.deepEqual(bytes, new Uint8Array([...head, ...file.bytes, ...tail]));
    assert.deepEqual(head, pattern(10 * KiB, 9), "the in-memory segments are intact");
    assert.deepEqual(tail, pattern(20 * KiB, 10));
  });
});

Deno.test("segmentSource() stream: a cancel mid-read closes the file and releases the source", async () => {
  await withDir(async (dir) => {
    const { segments } = await fileSegments(dir, [4 * 1024 * KiB]);
    let released = 0;
    const reader = handOff(segmentSource(segments, () => released++).stream({ start: 0, end: 4 * 1024 * KiB - 1 }))
      .getReader();
    for (let i = 0; i < 5; i++) assert.ok((await reader.read()).value!.byteLength > 0);
    await reader.cancel(new Error("client gone"));
    assert.equal(released, 1);
  });
});

/** `segments` whose files log their opens, read starts and closes to `log` ("open 1", "read 0@65536", "close 0"). */
function logged(segments: Segment[], log: string[]): Segment[] {
  return segments.map((segment, i) => ({
    size: segment.size,
    open: async () => {
      log.push(`open ${i}`);
      const file = await segment.open();
      return {
        align: file.align,
        readAt: (into, at) => {
          log.push(`read ${i}@${at}`);
          return file.readAt(into, at);
        },
        close: () => {
          log.push(`close ${i}`);
          file.close();
        },
      };
    },
  }));
}

Deno.test("segmentSource() stream: the next file is opened while the last read of the one before runs", async () => {
  await withDir(async (dir) => {
    const { segments, bytes } = await fileSegments(dir, [256 * KiB, 256 * KiB, 100 * KiB]);
    const log: string[] = [];
    const range = { start: 0, end: bytes.byteLength - 1 };
    assert.deepEqual((await collectCopies(segmentSource(logged(segments, log), () => {}).stream(range))).bytes, bytes);
    for (const i of [0, 1]) {
      const lastRead = log.indexOf(`read ${i}@${192 * KiB}`);
      assert.ok(lastRead >= 0, log.join(", "));
      const opened = log.indexOf(`open ${i + 1}`);
      assert.ok(opened > lastRead && opened < log.indexOf(`close ${i}`), log.join(", "));
    }
    assert.equal(log.filter((e) => e.startsWith("close")).length, 3);
  });
});

Deno.test("segmentSource() copy: one buffer, so one file at a time", async () => {
  await withDir(async (dir) => {
    const { segments, bytes } = await fileSegments(dir, [256 * KiB, 256 * KiB]);
    const log: string[] = [];
    const copied: Uint8Array[] = [];
    const sink = { write: (chunk: Uint8Array) => Promise.resolve(void copied.push(chunk.slice())) };
    await segmentSource(logged(segments, log), () => {}).copy(0, bytes.byteLength, sink as never);
    assert.deepEqual(new Uint8Array(copied.flatMap((c) => [...c])), bytes);
    assert.ok(log.indexOf("close 0") < log.indexOf("open 1"), log.join(", "));
  });
});

Deno.test("segmentSource() stream: a cancel once the next file is open closes both files", async () => {
  await withDir(async (dir) => {
    const { segments } = await fileSegments(dir, [256 * KiB, 256 * KiB]);
    const log: string[] = [];
    let released = 0;
    const reader = segmentSource(logged(segments, log), () => released++).stream({ start: 0, end: 512 * KiB - 1 })
      .getReader();
    while (!log.includes("open 1")) assert.ok((await reader.read()).value!.byteLength > 0);
    await reader.cancel(new Error("client gone"));
    assert.deepEqual(log.filter((e) => e.startsWith("close")).sort(), ["close 0", "close 1"]);
    assert.equal(released, 1);
  });
});

Deno.test("segmentSource() stream: a next file that cannot be opened fails the stream after the bytes before it", async () => {
  await withDir(async (dir) => {
    const { segments, bytes } = await fileSegments(dir, [256 * KiB, 256 * KiB]);
    const broken: Segment[] = [segments[0]!, { size: 256 * KiB, open: () => Promise.reject(new Error("part gone")) }];
    const got: Uint8Array[] = [];
    const reading = (async () => {
      for await (const chunk of segmentSource(broken, () => {}).stream({ start: 0, end: 512 * KiB - 1 })) {
        got.push(chunk.slice());
      }
    })();
    await assert.rejects(reading, /part gone/);
    assert.deepEqual(new Uint8Array(got.flatMap((c) => [...c])), bytes.subarray(0, 256 * KiB));
    // Cancelled before the failed open is reached: the failure goes nowhere (no unhandled rejection).
    const reader = segmentSource(broken, () => {}).stream({ start: 0, end: 512 * KiB - 1 }).getReader();
    for (let i = 0; i < 4; i++) await reader.read();
    await reader.cancel();
  });
});
