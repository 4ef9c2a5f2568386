/**
 * Drains a request body into a sink while computing its MD5 and enforcing the caller's expectations
 * (length, digest, abort signal). The sink sees every chunk before the checks at the end, so callers
 * write to a temporary place and only publish after this resolves. A chunk is lent to the sink: it may be
 * reused once the sink's promise resolves, so a sink that keeps bytes copies them.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { concatBytes } from "../bytes.ts";
import { AppError } from "../errors.ts";
import { createBlockPool } from "./_block_pool.ts";
import { alignedBlock } from "./_fs_direct.ts";
import type { PutOptions } from "./mod.ts";

export type BodyExpectations = Pick<PutOptions, "expectedMd5Hex" | "contentLength" | "signal">;

/** A running MD5 (node:crypto's by default; the fs store hands large bodies to a worker thread). */
export interface BodyHash {
  update(chunk: Uint8Array): void | Promise<void>;
  digest(): string | Promise<string>;
  /** Called instead of `digest` when the body fails. */
  abandon?(): void;
}

function inlineMd5(): BodyHash {
  const hash = createHash("md5");
  return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest("hex") };
}

export interface DrainedBody {
  size: number;
  md5Hex: string;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/** Bytes per read from a byte stream of a small or unknown-length body (two buffers, used in turn). */
const READ_BYTES = 64 * 1024;
/**
 * A byte stream of a body of at least this many declared bytes is read in blocks of this size: one read of the
 * request fills most of a block, the store writes it without copying it, and an off-thread hash reads it in place.
 */
const BLOCK = 1024 * 1024;

/** Free blocks shared by all large bodies, aligned so the fs store can write them with O_DIRECT (`_fs_direct.ts`). */
const blockPool = createBlockPool({ blockBytes: BLOCK, maxFree: 16, allocate: alignedBlock });
/**
 * Full blocks of one body being written and hashed at once. A direct write waits for the disk, so with one at a
 * time the device sees a queue depth of one per upload and the receive stalls behind it.
 */
const BLOCKS_IN_FLIGHT = 3;
/**
 * Blocks beyond a body's first in flight come from this budget, shared by all bodies and held until the body ends,
 * so many parallel uploads (aws-cli sends ten parts at once) stay at one block in flight each past it.
 */
export const SHARED_EXTRA_BLOCKS = 8;
let extraBlocksInUse = 0;

/**
 * Reads a byte stream into caller-provided buffers (`fill` returns the buffer's memory, now holding the bytes, and
 * how many it holds: fewer than asked only at the end), other streams chunk by chunk (`fill` returns their chunk).
 * A fresh chunk per read leaves garbage that V8 frees late, which with several large uploads in parallel costs
 * ~100 MiB of RSS.
 */
function readerOf(body: ReadableStream<Uint8Array>) {
  let byob: ReadableStreamBYOBReader | undefined;
  let plain: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    plain = body.getReader();
  }
  return {
    byob: byob !== undefined,
    async fill(
      buf: Uint8Array<ArrayBuffer>,
      check: (n: number) => void,
    ): Promise<{ buf: Uint8Array<ArrayBuffer>; filled: Uint8Array }> {
      if (plain) {
        const { done, value } = await plain.read();
        if (value) check(value.byteLength);
        return { buf, filled: done ? new Uint8Array(0) : value };
      }
      const { byteOffset, byteLength } = buf;
      let filled = 0;
      while (filled < byteLength) {
        const { done, value } = await byob!.read(buf.subarray(filled));
        // The read transferred the memory into a new ArrayBuffer (same place, same offset); `buf` is detached.
        if (value) buf = new Uint8Array(value.buffer as ArrayBuffer, byteOffset, byteLength);
        if (done || !value) break;
        check(value.byteLength);
        filled += value.byteLength;
      }
      return { buf, filled: buf.subarray(0, filled) };
    },
    cancel: (reason?: unknown) => (byob ?? plain)!.cancel(reason),
    releaseLock: () => (byob ?? plain)!.releaseLock(),
  };
}

/**
 * Runs `write`, which takes `body`; when it fails without having started to read the body (a missing bucket, a bad
 * key, no room), the body is cancelled, so its source lets go of what it holds (a file, a connection). A write that
 * started reading cancels the body itself when it fails.
 */
export async function lettingGo<T>(body: ReadableStream<Uint8Array>, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!body.locked) await body.cancel(err).catch(() => {});
    throw err;
  }
}

/**
 * A body of a known length of at most 64 KiB, whole, with its MD5. A default reader takes the one or few chunks
 * as they come: no BYOB attempt (its exception), no read buffer (a 64 KiB allocation costs more than hashing
 * 4 KiB) and no release of the lock (the release allocates an error; the body is finished either way).
 */
export async function readSmallBody(
  body: ReadableStream<Uint8Array>,
  expect: BodyExpectations & { contentLength: number },
): Promise<DrainedBody & { bytes: Uint8Array }> {
  const { signal, contentLength } = expect;
  const reader = body.getReader();
  const onAbort = () => reader.cancel(abortReason(signal!)).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      if (signal?.aborted) throw abortReason(signal);
      const { done, value } = await reader.read();
      if (signal?.aborted) throw abortReason(signal);
      if (done) break;
      size += value.byteLength;
      if (size > contentLength) {
        throw new AppError("IncompleteBody", `Body is longer than the declared ${contentLength} bytes`);
      }
      chunks.push(value);
    }
    if (size !== contentLength) {
      throw new AppError("IncompleteBody", `Body has ${size} bytes, ${contentLength} were declared`, {
        details: { size, contentLength },
      });
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  const bytes = chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
  const md5Hex = createHash("md5").update(bytes).digest("hex");
  checkMd5(expect, md5Hex);
  return { size, md5Hex, bytes };
}

function checkMd5(expect: BodyExpectations, md5Hex: string): void {
  if (expect.expectedMd5Hex !== undefined && expect.expectedMd5Hex.toLowerCase() !== md5Hex) {
    throw new AppError("BadDigest", "The body's MD5 does not match the expected digest", {
      details: { expected: expect.expectedMd5Hex, actual: md5Hex },
    });
  }
}

/** Settles once both have settled (neither reads the chunk any more), rejecting with the first failure. */
async function bothSettled(a: unknown, b: unknown): Promise<void> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === "rejected") throw x.reason;
  if (y.status === "rejected") throw y.reason;
}

export async function drainBody(
  body: ReadableStream<Uint8Array>,
  expect: BodyExpectations,
  sink: (chunk: Uint8Array) => Promise<void> | void,
  hash: BodyHash = inlineMd5(),
): Promise<DrainedBody> {
  const { signal, contentLength } = expect;
  const reader = readerOf(body);
  const onAbort = () => reader.cancel(signal ? abortReason(signal) : undefined).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  const blocks = reader.byob && contentLength !== undefined && contentLength >= BLOCK;
  const take = () => blocks ? blockPool.take() : new Uint8Array(READ_BYTES);
  const depth = blocks ? BLOCKS_IN_FLIGHT : 1;
  let buf = take();
  /** Blocks of SHARED_EXTRA_BLOCKS this body holds. */
  let extra = 0;
  /** Chunks the sink and the hash are still reading, oldest first, with the buffers they lend (byte streams). */
  const lent: { done: Promise<unknown>; buf: Uint8Array<ArrayBuffer> }[] = [];
  /** Buffers whose chunk is consumed, ready for the next read. */
  const spare: Uint8Array<ArrayBuffer>[] = [];
  const settleOldest = async () => {
    const oldest = lent.shift()!;
    if (reader.byob) spare.push(oldest.buf);
    await oldest.done;
  };
  /** The last chunk's hash update (each starts once the one before it is done). */
  let hashing: Promise<unknown> = Promise.resolve();
  /** The first failure of a chunk's write or hash (also one not yet awaited ends the drain). */
  let failed: { err: unknown } | undefined;
  let size = 0;
  const check = (n: number) => {
    if (signal?.aborted) throw abortReason(signal);
    if (failed) throw failed.err;
    size += n;
    if (contentLength !== undefined && size > contentLength) {
      throw new AppError("IncompleteBody", `Body is longer than the declared ${contentLength} bytes`);
    }
  };
  try {
    while (true) {
      if (signal?.aborted) throw abortReason(signal);
      const read = await reader.fill(buf, check);
      buf = read.buf;
      if (signal?.aborted) throw abortReason(signal);
      // At most `depth` chunks are written and hashed at once; a buffer is reused only once its chunk is consumed.
      if (failed) throw failed.err;
      if (lent.length >= 1 + extra) {
        if (extra < depth - 1 && extraBlocksInUse < SHARED_EXTRA_BLOCKS) {
          extra++;
          extraBlocksInUse++;
        } else await settleOldest();
      }
      const chunk = read.filled;
      if (chunk.byteLength === 0) break;
      // Hash while the sink's writes run in the I/O pool, all while the next chunk is read; a hash takes one update
      // at a time (the worker fallback's waits for a free block of its own). A failure ends the drain at the next
      // read (or where `done` is awaited); the handler also keeps it from counting as unhandled.
      hashing = hashing.then(() => hash.update(chunk));
      const done = bothSettled(sink(chunk), hashing);
      done.catch((err) => void (failed ??= { err }));
      lent.push({ done, buf });
      if (reader.byob) buf = spare.pop() ?? take();
    }
    while (lent.length > 0) await settleOldest();
    if (contentLength !== undefined && size !== contentLength) {
      throw new AppError("IncompleteBody", `Body has ${size} bytes, ${contentLength} were declared`, {
        details: { size, contentLength },
      });
    }
  } catch (err) {
    while (lent.length > 0) await settleOldest().catch(() => {});
    hash.abandon?.();
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
    extraBlocksInUse -= extra;
    // A block whose read failed is detached (its memory went to the stream): the pool drops it.
    for (const b of [buf, ...spare]) blockPool.give(b);
  }
  const md5Hex = await hash.digest();
  checkMd5(expect, md5Hex);
  return { size, md5Hex };
}
