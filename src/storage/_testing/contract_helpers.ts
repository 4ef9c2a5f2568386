/**
 * Helpers for the object store contract suite: deterministic bodies, stream collection and error assertions.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { concatBytes } from "../../bytes.ts";
import { type AppErrorCode, isAppError } from "../../errors.ts";
import type { ObjectStore } from "../mod.ts";
import { SPARE_PREFIX } from "../_fs_group_commit.ts";

/** Deterministic pseudo-random bytes (xorshift), so failures are reproducible. */
export function bytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A body stream delivering `data` in chunks of `chunkSize`. */
export function streamOf(data: Uint8Array, chunkSize = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.byteLength) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  }, { highWaterMark: 0 });
}

/** A body stream that delivers `data` and then fails, like a client connection dropping mid-upload. */
export function failingStream(data: Uint8Array, error = new Error("client went away")): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent) return controller.error(error);
      sent = true;
      controller.enqueue(data.slice());
    },
  }, { highWaterMark: 0 });
}

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Reads a stream to the end, copying each chunk before asking for the next (a chunk handed off is emptied then);
 * returns the bytes and the chunks' sizes.
 */
export async function collectCopies(
  stream: ReadableStream<Uint8Array>,
): Promise<{ bytes: Uint8Array; sizes: number[] }> {
  const copies: Uint8Array[] = [];
  for await (const chunk of stream) copies.push(chunk.slice());
  return { bytes: concatBytes(copies), sizes: copies.map((c) => c.byteLength) };
}

export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

export function sha256Base64(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("base64");
}

export async function rejectsWithCode(promise: Promise<unknown>, code: AppErrorCode, what = ""): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.ok(
      isAppError(err, code),
      `${what} expected AppError ${code}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
    );
    return;
  }
  assert.fail(`${what} expected AppError ${code}, but it succeeded`);
}

/**
 * The names in the fs store's temp directory `dir` other than the spare files its small-object writer keeps ready:
 * what an interrupted or failed write left behind.
 */
export function tempLeftovers(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((name) => !name.startsWith(SPARE_PREFIX)).sort();
}

export async function put(store: ObjectStore, bucket: string, key: string, data: Uint8Array | string) {
  return await store.putObject(bucket, key, streamOf(typeof data === "string" ? text(data) : data));
}

/** A small PUT as clients send one: its length declared, its body in chunks of 1,500 bytes. */
export function putSmall(store: ObjectStore, bucket: string, key: string, data: Uint8Array) {
  return store.putObject(bucket, key, streamOf(data, 1500), { contentLength: data.byteLength });
}

export async function getBytes(store: ObjectStore, bucket: string, key: string): Promise<Uint8Array> {
  return await collect((await store.getObject(bucket, key)).body);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

/** Deletes every object, pending upload and finally the bucket (best effort, for cleanup). */
export async function emptyAndDeleteBucket(store: ObjectStore, bucket: string, withUploads = true): Promise<void> {
  try {
    for (;;) {
      const page = await store.listObjects(bucket);
      await pool(page.objects, 16, (o) => store.deleteObject(bucket, o.key));
      if (!page.isTruncated) break;
    }
    for (; withUploads;) {
      const { uploads, isTruncated } = await store.listMultipartUploads(bucket);
      await pool(uploads, 8, (u) => store.abortMultipartUpload(bucket, u.key, u.uploadId));
      if (!isTruncated || uploads.length === 0) break;
    }
    await store.deleteBucket(bucket);
  } catch (err) {
    if (!isAppError(err, "NoSuchBucket")) throw err;
  }
}

/** Runs `round` five times for each size, each time on a fresh key (`race-<size>-<n>`): a race case's repetitions. */
export async function raceRounds(
  sizes: number[],
  round: (key: string, size: number, n: number) => Promise<void>,
): Promise<void> {
  for (const size of sizes) {
    for (let n = 0; n < 5; n++) await round(`race-${size}-${n}`, size, n);
  }
}
