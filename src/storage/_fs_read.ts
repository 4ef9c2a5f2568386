/**
 * Reading the data of a stored object in the fs backend. An object's bytes are a sequence of segments: one
 * file's data region for a simple object, or the data regions of its part files, in order, for a multipart
 * object (layout in `_fs_linked.ts`). Ranged streams and copies walk the segments they overlap.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import type { ByteRange } from "./mod.ts";
import type { FileWriter, OpenedFile } from "./_fs_files.ts";

/**
 * Bytes per read of a GET body. Each read is a new chunk handed to the HTTP server, which keeps it until sent;
 * sent chunks are garbage until V8 collects them. Measured on a 1 GiB download (peak RSS of the appliance, idle
 * ~90 MiB): 32 KiB 143 MiB, 64 KiB 148 MiB, 120 KiB 159 MiB, 256 KiB 178 MiB, 1 MiB 203 MiB; 64 KiB is as
 * fast as larger reads (32 KiB costs twice the CPU).
 */
const READ_BYTES = 64 * 1024;
/** Bytes per read of a server-side copy (one buffer, reused). */
const COPY_BYTES = 1024 * 1024;

type SegmentFile = Pick<Deno.FsFile, "seek" | "read" | "close">;

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

/** Yields the bytes of [start, end] across `segments`, reading into `buffer` when given (else a fresh chunk each). */
async function* chunks(
  segments: Segment[],
  start: number,
  end: number,
  readBytes: number,
  buffer?: Uint8Array,
): AsyncGenerator<Uint8Array> {
  let base = 0;
  for (const segment of segments) {
    const first = Math.max(start, base) - base;
    const last = Math.min(end, base + segment.size - 1) - base;
    base += segment.size;
    if (last < first) continue;
    if (segment.data) {
      yield segment.data.subarray(first, last + 1);
      continue;
    }
    const file = await segment.open();
    try {
      await file.seek(first, Deno.SeekMode.Start);
      for (let left = last - first + 1; left > 0;) {
        const buf = buffer ?? new Uint8Array(Math.min(readBytes, left));
        const n = await file.read(buf.subarray(0, Math.min(buf.byteLength, left)));
        if (n === null) throw truncated();
        left -= n;
        yield buf.subarray(0, n);
      }
    } finally {
      file.close();
    }
    if (base > end) return;
  }
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
      const it = chunks(segments, range.start, range.end, READ_BYTES);
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = await it.next();
            if (done) {
              release();
              controller.close();
            } else controller.enqueue(value);
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
      for await (const chunk of chunks(segments, start, start + length - 1, COPY_BYTES, buffer)) {
        onChunk?.(chunk);
        await to.write(chunk);
      }
    },
  };
}

/** The source of a simple object: its own file's data region (the file is owned and closed by the source). */
export function fileSource(opened: OpenedFile<unknown>): DataSource {
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
    open: () => Promise.resolve({ seek: (o, w) => file.seek(o, w), read: (b) => file.read(b), close }),
  };
  return segmentSource([segment], close);
}
