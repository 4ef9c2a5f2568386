/**
 * Drains a request body into a sink while computing its MD5 and enforcing the caller's expectations
 * (length, digest, abort signal). The sink sees every chunk before the checks at the end, so callers
 * write to a temporary place and only publish after this resolves. A chunk is lent to the sink: it may be
 * reused once the sink's promise resolves, so a sink that keeps bytes copies them.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { AppError } from "../errors.ts";
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

/** Bytes per read from a byte stream (read into one reused buffer). */
const READ_BYTES = 64 * 1024;

/**
 * Reads a byte stream into one reused buffer, other streams chunk by chunk. A fresh chunk per read leaves
 * garbage that V8 frees late, which with several large uploads in parallel costs ~100 MiB of RSS.
 */
function readerOf(body: ReadableStream<Uint8Array>) {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    return body.getReader();
  }
  let buf = new Uint8Array(READ_BYTES);
  return {
    async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
      const result = await byob.read(buf);
      if (result.value) buf = new Uint8Array(result.value.buffer);
      return result;
    },
    cancel: (reason?: unknown) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
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
  let size = 0;
  try {
    while (true) {
      if (signal?.aborted) throw abortReason(signal);
      const { done, value } = await reader.read();
      if (signal?.aborted) throw abortReason(signal);
      if (done) break;
      size += value.byteLength;
      if (contentLength !== undefined && size > contentLength) {
        throw new AppError("IncompleteBody", `Body is longer than the declared ${contentLength} bytes`);
      }
      // Hash while the sink's write runs in the I/O pool.
      const written = sink(value);
      const hashed = hash.update(value);
      if (hashed) await Promise.all([written, hashed]);
      else await written;
    }
    if (contentLength !== undefined && size !== contentLength) {
      throw new AppError("IncompleteBody", `Body has ${size} bytes, ${contentLength} were declared`, {
        details: { size, contentLength },
      });
    }
  } catch (err) {
    hash.abandon?.();
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  const md5Hex = await hash.digest();
  if (expect.expectedMd5Hex !== undefined && expect.expectedMd5Hex.toLowerCase() !== md5Hex) {
    throw new AppError("BadDigest", "The body's MD5 does not match the expected digest", {
      details: { expected: expect.expectedMd5Hex, actual: md5Hex },
    });
  }
  return { size, md5Hex };
}
