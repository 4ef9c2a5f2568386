/**
 * Reading the data of a stored object in the fs backend. An object's bytes are a sequence of segments: one
 * file's data region for a simple object, or the data regions of its part files, in order, for a multipart
 * object (layout in `_fs_linked.ts`). Ranged streams and copies walk the segments they overlap.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { markDisposable, markRecyclable } from "../http_handoff.ts";
import { createBlockPool } from "./_block_pool.ts";
import type { ByteRange } from "./mod.ts";
import { alignedBlock } from "./_fs_direct.ts";
import type { FileWriter, OpenedFile } from "./_fs_files.ts";

/**
 * Bytes per read of a GET body. Each read is a new chunk (marked disposable: nothing else uses its buffer). A chunk
 * the consumer keeps is garbage until V8 collects it, and V8 counts such buffers as external memory against its
 * heap limit: reads of 256 KiB cost mark-compacts (2.5–3 ms of CPU per MiB vs ~1.5 at 64 KiB; peak RSS 178 vs
 * 148 MiB on a 1 GiB download). Once the consumer is seen detaching the chunks it was given (the HTTP server's
 * `handOff`), they no longer count, and larger reads cost less per MiB: at 1 MiB the hot 1 GiB GET ran 730-890
 * MiB/s in A/B runs vs 560-780 at 256 KiB (server 1.07-1.29 vs 1.09-1.56 ms of CPU per MiB; 5 GiB GET peak RSS 157
 * MiB), with the kernel's TCP sends on the main thread (~0.75 ms per MiB) the bulk of the cost either way.
 */
const READ_BYTES = 64 * 1024;
const HANDED_OFF_READ_BYTES = 1024 * 1024;
/**
 * Direct reads kept in flight per file (each one chunk), as nothing reads ahead for them: 2, 3 and 4 gave the same
 * download rates in the bench (the event loop's TCP sends set the pace); reading files alone, 1 gave 573 MiB/s
 * against 738 for 2.
 */
const DIRECT_READS_IN_FLIGHT = 2;
/**
 * Blocks for the reads of handed-on chunks, back from the HTTP server once it has written them (`releaseSent`). A few
 * downloads' worth are kept.
 */
const handedOnBlocks = createBlockPool({ blockBytes: HANDED_OFF_READ_BYTES, maxFree: 8, allocate: alignedBlock });

/** The chunk a read of `size` bytes goes into: a block of the pool once chunks are handed on, else one of its own. */
function readChunk(size: number, align: number, handedOn: boolean): Uint8Array {
  if (handedOn && size <= HANDED_OFF_READ_BYTES) {
    const block = handedOnBlocks.take();
    return markRecyclable(block.subarray(0, size), block, handedOnBlocks.give);
  }
  // An ArrayBuffer of its own, also for a few bytes: V8 keeps small typed arrays on its heap, where they move.
  return markDisposable(align === 1 ? new Uint8Array(new ArrayBuffer(size)) : alignedBlock(size));
}

/** Bytes per read of a server-side copy (one buffer, reused). */
const COPY_BYTES = 1024 * 1024;

/** An open file a segment is read from, by position. */
export interface SegmentFile {
  /**
   * 1, or `DIRECT_ALIGN` when reads bypass the page cache: then the buffer's address, its length and the position
   * of every read are multiples of it.
   */
  readonly align: number;
  /**
   * Reads into `into` from `position`; the bytes read, 0 at the end of the file. `into` views an ArrayBuffer made
   * as such (the read may run on another thread, and V8 moves the memory of small typed arrays).
   */
  readAt(into: Uint8Array, position: number): Promise<number>;
  /** Closes the file; only once no read is in flight. */
  close(): void;
  /**
   * A second handle on the same file whose reads bypass the page cache, when most of the pages from `first` to `last`
   * are not cached now; undefined when they are, or when that is not possible. Only for files that never change while
   * they are read.
   */
  coldDirect?(first: number, last: number): SegmentFile | undefined;
}

/** A file opened by Deno, read by position (a seek only when a read does not continue the previous one). */
export function positionalFile(file: Pick<Deno.FsFile, "seek" | "read">, close: () => void): SegmentFile {
  /** Where the file's position is; unknown at first (the metadata may have been read). */
  let at = -1;
  return {
    align: 1,
    async readAt(into, position) {
      if (position !== at) await file.seek(position, Deno.SeekMode.Start);
      const n = await file.read(into) ?? 0;
      at = position + n;
      return n;
    },
    close,
  };
}

/** Opens `path` with Deno for positional reads through the page cache. */
export async function openPositional(path: string): Promise<SegmentFile> {
  const file = await Deno.open(path, { read: true });
  return positionalFile(file, () => file.close());
}

/** A contiguous piece of an object: `size` bytes at the start of a file (or already in memory). */
export interface Segment {
  size: number;
  data?: Uint8Array;
  open(): Promise<SegmentFile>;
}

/** The bytes of one opened object; hold it only as long as needed, then `release()` (streams release on end). */
export interface DataSource {
  readonly size: number;
  /** Streams `range` (inclusive); the stream releases the source when it ends, fails or is cancelled. */
  stream(range: ByteRange): ReadableStream<Uint8Array>;
  /** Copies `length` bytes from `start` into `to`, calling `onChunk` per chunk. Does not release. */
  copy(start: number, length: number, to: FileWriter, onChunk?: (chunk: Uint8Array) => void): Promise<void>;
  release(): void;
}

function truncated(): AppError {
  return new AppError("Internal", "Object file ended before its declared size");
}

const roundUp = (n: number, align: number) => Math.ceil(n / align) * align;

/** How a walk over segments reads. */
interface ReadPlan {
  /** Bytes per read. */
  bytes(): number;
  /** Whether the chunks read now are handed on (nothing keeps them: the file may be read direct from here). */
  handedOn(): boolean;
  /** One buffer all reads go into (one at a time), instead of a fresh chunk per read. */
  buffer?: Uint8Array;
}

/** The part of a segment a read covers: its bytes [first, last]. */
interface SegmentSpan {
  segment: Segment;
  first: number;
  last: number;
}

/** The spans of `segments` that [start, end] overlaps, in order. */
function spansOf(segments: Segment[], start: number, end: number): SegmentSpan[] {
  const spans: SegmentSpan[] = [];
  let base = 0;
  for (const segment of segments) {
    const first = Math.max(start, base) - base;
    const last = Math.min(end, base + segment.size - 1) - base;
    base += segment.size;
    if (first <= last) spans.push({ segment, first, last });
    if (base > end) break;
  }
  return spans;
}

/**
 * Yields the bytes of [start, end] across `segments`, reading into `plan.buffer` when given, else into a fresh
 * chunk per read (marked disposable; in-memory segments are yielded as views and are not). Without `plan.buffer`,
 * once every read of a file has started, the next file is opened and its first read started, so a multipart
 * object's download does not stall at each part's end (a cold 1 GiB download of an object in 8 MiB parts ran at 0.89
 * of a simple object's rate before, 0.96 since: bench/README.md).
 */
async function* chunks(segments: Segment[], start: number, end: number, plan: ReadPlan): AsyncGenerator<Uint8Array> {
  const spans = spansOf(segments, start, end);
  /** The reader of the next span, opened ahead. */
  let ahead: Promise<SpanReader> | undefined;
  let current: SpanReader | undefined;
  try {
    for (let i = 0; i < spans.length; i++) {
      const { segment, first, last } = spans[i]!;
      if (segment.data) {
        yield segment.data.subarray(first, last + 1);
        continue;
      }
      current = await (ahead ?? openSpan(spans[i]!, plan));
      ahead = undefined;
      for (let chunk = await current.next(); chunk; chunk = await current.next()) {
        const following = spans[i + 1];
        if (!ahead && current.allStarted() && !plan.buffer && following && !following.segment.data) {
          ahead = openSpan(following, plan, 1);
          ahead.catch(() => {}); // its failure is thrown when it is reached
        }
        yield chunk;
      }
      const done = current;
      current = undefined;
      await done.close();
    }
  } finally {
    await current?.close();
    await ahead?.then((reader) => reader.close(), () => {});
  }
}

/** Reads one span of a file segment, in order; `next()` gives each chunk, `close()` ends the reads. */
interface SpanReader {
  /** The next chunk; undefined once the span is read. */
  next(): Promise<Uint8Array | undefined>;
  /** Whether the last read of the span has started. */
  allStarted(): boolean;
  /** Waits for the reads in flight, then closes the file. */
  close(): Promise<void>;
}

/** Opens the span's file and starts its first reads (at most `reads` of them, when given). */
async function openSpan({ segment, first, last }: SegmentSpan, plan: ReadPlan, reads?: number): Promise<SpanReader> {
  const reader = spanReader(await segment.open(), first, last, plan);
  reader.start(reads);
  return reader;
}

/**
 * The reader of bytes [first, last] of `opened`, which it closes. Reads through the page cache go one at a time (the
 * kernel reads ahead). Once the chunks are handed on, the file goes direct where it can: direct reads start from the
 * aligned position at or before the next byte and keep `DIRECT_READS_IN_FLIGHT` going (nothing reads ahead for them).
 */
function spanReader(
  opened: SegmentFile,
  first: number,
  last: number,
  plan: ReadPlan,
): SpanReader & { start(most?: number): void } {
  let file = opened;
  const { buffer } = plan;
  const reads: { position: number; into: Uint8Array; done: Promise<number> }[] = [];
  let next = first - first % file.align;
  let from = first;
  // Asked before the first read: the pages cached after it are this read's own read-ahead.
  let cold = buffer ? undefined : file.coldDirect?.(first, last);

  /** Starts reads until the file's depth (or `most`) are in flight. */
  const start = (most?: number) => {
    if (cold && plan.handedOn() && reads.length === 0) {
      // Only with no read in flight: reads through the page cache go one at a time.
      file.close();
      file = cold;
      cold = undefined;
      next = from - from % file.align;
    }
    const { align } = file;
    const depth = Math.min(align === 1 ? 1 : DIRECT_READS_IN_FLIGHT, most ?? Infinity);
    while (reads.length < depth && next <= last) {
      const size = Math.min(plan.bytes(), roundUp(last + 1 - next, align));
      const into = buffer?.subarray(0, size) ?? readChunk(size, align, plan.handedOn());
      reads.push({ position: next, into, done: file.readAt(into, next) });
      next += size;
    }
  };

  return {
    start,
    allStarted: () => next > last,
    async next() {
      if (from > last) return undefined;
      start();
      const { position, into, done } = reads.shift()!;
      const end = position + await done;
      if (end <= from) throw truncated();
      if (end < position + into.byteLength && end <= last) {
        // A short read: the reads after it started past where it stopped.
        await Promise.allSettled(reads.map((r) => r.done));
        reads.length = 0;
        next = end;
      }
      const to = Math.min(end, last + 1);
      const chunk = into.subarray(from - position, to - position);
      from = to;
      return chunk;
    },
    async close() {
      await Promise.allSettled(reads.map((r) => r.done));
      reads.length = 0;
      file.close();
      cold?.close();
    },
  };
}

/**
 * A source over `segments`. `onRelease` runs once, when the source is released; files a segment opens are
 * closed by the read that opened them.
 */
export function segmentSource(segments: Segment[], onRelease: () => void): DataSource {
  const size = segments.reduce((s, seg) => s + seg.size, 0);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    onRelease();
  };
  return {
    size,
    release,
    stream(range) {
      const only = segments.length === 1 ? segments[0]!.data : undefined;
      if (only) {
        // A small object read whole: one chunk, nothing left to release.
        const chunk = only.subarray(range.start, range.end + 1);
        release();
        return new ReadableStream<Uint8Array>({
          start(controller) {
            if (chunk.byteLength > 0) controller.enqueue(chunk);
            controller.close();
          },
        });
      }
      /** The chunk before the last one enqueued: the consumer has moved past it (highWaterMark 1). */
      let previous: Uint8Array | undefined;
      let last: Uint8Array | undefined;
      let handedOn = false;
      const it = chunks(segments, range.start, range.end, {
        bytes: () => handedOn ? HANDED_OFF_READ_BYTES : READ_BYTES,
        handedOn: () => handedOn,
      });
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          // A detached chunk (length 0 now) went to the HTTP server without a copy: read more per chunk.
          if (previous?.byteLength === 0) handedOn = true;
          try {
            const { done, value } = await it.next();
            if (done) {
              release();
              controller.close();
            } else {
              [previous, last] = [last, value];
              controller.enqueue(value);
            }
          } catch (err) {
            release();
            controller.error(err);
          }
        },
        async cancel() {
          await it.return(undefined);
          release();
        },
      }, { highWaterMark: 1 }); // one chunk read ahead: the next read overlaps sending the current one
    },
    async copy(start, length, to, onChunk) {
      if (length === 0) return;
      const buffer = new Uint8Array(Math.min(COPY_BYTES, length));
      const plan = { bytes: () => COPY_BYTES, handedOn: () => false, buffer };
      for await (const chunk of chunks(segments, start, start + length - 1, plan)) {
        onChunk?.(chunk);
        await to.write(chunk);
      }
    },
  };
}

/**
 * The source of a simple object: its own file's data region (the file is owned and closed by the source). `direct`
 * lets the file go direct where it is not cached, as part files do (`SegmentFile.coldDirect`).
 */
export function fileSource(
  opened: OpenedFile<unknown>,
  direct?: (file: Deno.FsFile) => Pick<SegmentFile, "coldDirect">,
): DataSource {
  const { file, data, dataSize } = opened;
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      file.close();
    }
  };
  if (data) close();
  const segment: Segment = {
    size: dataSize,
    ...(data ? { data } : {}),
    // The one file is read at most once per source: a GET or a copy, never both.
    open: () => Promise.resolve({ ...positionalFile(file, close), ...direct?.(file) }),
  };
  return segmentSource([segment], close);
}
