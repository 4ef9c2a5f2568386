/**
 * Copying one object between stores, verified: server-side (CopyObject, or UploadPartCopy ranges above the
 * single-copy limit) when both sides are the same store, otherwise streamed GET → PUT (multipart above a
 * threshold, one part buffered at a time). Headers and user metadata travel with the object.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { AppError, isAppError } from "../errors.ts";
import {
  type CompletedPart,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  STORED_HEADER_FIELDS,
} from "../storage/mod.ts";

export interface ObjectRef {
  store: ObjectStore;
  bucket: string;
  key: string;
}

export interface TransferLimits {
  /** Streamed objects larger than this are uploaded in parts. */
  multipartThreshold: number;
  partSize: number;
  /** Server-side copies larger than this use UploadPartCopy (S3 refuses CopyObject above 5 GiB). */
  copyPartThreshold: number;
}

export const DEFAULT_LIMITS: TransferLimits = {
  multipartThreshold: 64 * 1024 * 1024,
  partSize: 16 * 1024 * 1024,
  copyPartThreshold: 5 * 1024 * 1024 * 1024,
};

export interface TransferOptions {
  serverSide: boolean;
  limits: TransferLimits;
  /** Called before each streamed chunk goes out (bandwidth limit) and after, with the byte count (progress). */
  throttle?: (bytes: number) => Promise<void>;
  onBytes?: (bytes: number) => void;
}

export interface TransferResult {
  /** Source size and ETag of the version copied; `etag` is `CHANGED_ETAG` when that version is unknown. */
  size: number;
  etag: string;
  lastModified: Date;
  /** ETag of the copy. */
  mirrorEtag: string;
  /** Bytes that went through this process (0 for server-side copies). */
  bytes: number;
  /** The source no longer had the planned ETag: what was read is copied, and the next run looks again. */
  changed: boolean;
}

/** Recorded as the source ETag when a copy's version is uncertain, so the next run copies the key again. */
export const CHANGED_ETAG = '"changed-during-sync"';

/** What the plan knows about the source object, when it knows it. */
export interface Planned {
  size: number;
  etag: string;
}

/** The MD5 hex inside a single-part ETag, or null for multipart ETags. */
export function md5FromEtag(etag: string): string | null {
  const hex = etag.replaceAll('"', "");
  return /^[0-9a-f]{32}$/.test(hex) ? hex : null;
}

function headersOf(info: ObjectInfo): PutOptions {
  const out: PutOptions = { metadata: { ...info.metadata } };
  for (const k of STORED_HEADER_FIELDS) {
    if (info[k] !== undefined) out[k] = info[k];
  }
  return out;
}

/** Copies `from` to `to`, checking the source against what the plan saw (`planned`, null when unknown). */
export async function transferObject(
  from: ObjectRef,
  to: ObjectRef,
  planned: Planned | null,
  options: TransferOptions,
): Promise<TransferResult> {
  if (!options.serverSide) return await copyStreaming(from, to, planned, options);
  try {
    if (planned && planned.size <= options.limits.copyPartThreshold) return await copyWhole(from, to, planned);
    return await copyInParts(from, to, options.limits);
  } catch (err) {
    // Some servers mis-decode certain copy sources (s3rver 3.7: "+"): if the source is there, stream it instead.
    if (!isAppError(err, "NoSuchKey") || !(await exists(from))) throw err;
    return await copyStreaming(from, to, planned, options);
  }
}

async function exists(ref: ObjectRef): Promise<boolean> {
  try {
    await ref.store.headObject(ref.bucket, ref.key);
    return true;
  } catch (err) {
    if (isAppError(err, "NoSuchKey", "NotFound")) return false;
    throw err;
  }
}

/** One CopyObject, without a HEAD when the plan knows the source (the common case costs one request). */
async function copyWhole(from: ObjectRef, to: ObjectRef, planned: Planned): Promise<TransferResult> {
  const copied = await to.store.copyObject({ bucket: from.bucket, key: from.key }, { bucket: to.bucket, key: to.key }, {
    knownSource: planned,
  });
  const result = { size: copied.size, lastModified: copied.lastModified, mirrorEtag: copied.etag, bytes: 0 };
  if (md5FromEtag(planned.etag)) {
    // A copy is atomic: for a single-part source the copy's ETag is the ETag of the version copied.
    return { ...result, etag: copied.etag, changed: copied.etag !== planned.etag };
  }
  const after = await to.store.headObject(from.bucket, from.key);
  const changed = after.etag !== planned.etag || after.size !== copied.size;
  return { ...result, etag: changed ? CHANGED_ETAG : planned.etag, changed };
}

async function copyInParts(from: ObjectRef, to: ObjectRef, limits: TransferLimits): Promise<TransferResult> {
  const store = to.store;
  const before = await store.headObject(from.bucket, from.key);
  if (before.size <= limits.copyPartThreshold) return await copyWhole(from, to, before);
  const uploadId = await store.createMultipartUpload(to.bucket, to.key, headersOf(before));
  try {
    const parts: CompletedPart[] = [];
    for (let start = 0, n = 1; start < before.size; start += limits.partSize, n++) {
      const end = Math.min(start + limits.partSize, before.size) - 1;
      const part = await store.uploadPartCopy(
        { bucket: from.bucket, key: from.key, range: { start, end }, ifMatch: before.etag },
        { bucket: to.bucket, key: to.key, uploadId, partNumber: n },
      );
      parts.push({ partNumber: n, etag: part.etag });
    }
    // Ranges of different versions must never be stitched together: each part is pinned to the version described,
    // and the source is checked again before completing (for servers that do not hold a copy to its If-Match).
    const after = await store.headObject(from.bucket, from.key);
    if (after.etag !== before.etag) {
      throw new AppError("PreconditionFailed", `Source "${from.key}" changed during the copy`, {
        details: { key: from.key },
      });
    }
    const done = await store.completeMultipartUpload(to.bucket, to.key, uploadId, parts);
    return {
      size: before.size,
      etag: before.etag,
      lastModified: before.lastModified,
      mirrorEtag: done.etag,
      bytes: 0,
      changed: false,
    };
  } catch (err) {
    await store.abortMultipartUpload(to.bucket, to.key, uploadId).catch(() => {});
    throw err;
  }
}

function meter(options: TransferOptions, md5: ReturnType<typeof createHash>): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    async transform(chunk, controller) {
      await options.throttle?.(chunk.length);
      md5.update(chunk);
      controller.enqueue(chunk);
      options.onBytes?.(chunk.length);
    },
  });
}

async function copyStreaming(
  from: ObjectRef,
  to: ObjectRef,
  planned: Planned | null,
  options: TransferOptions,
): Promise<TransferResult> {
  const got = await from.store.getObject(from.bucket, from.key);
  const info = got.info;
  // A GET is atomic: the bytes read are those of `info`, whatever happens to the key meanwhile.
  const read = {
    size: info.size,
    etag: info.etag,
    lastModified: info.lastModified,
    bytes: info.size,
    changed: planned !== null && planned.etag !== info.etag,
  };
  const md5 = createHash("md5");
  const body = got.body.pipeThrough(meter(options, md5));
  const expectedMd5Hex = md5FromEtag(info.etag);
  if (info.size <= options.limits.multipartThreshold) {
    const put = await to.store.putObject(to.bucket, to.key, body, {
      ...headersOf(info),
      contentLength: info.size,
      ...(expectedMd5Hex ? { expectedMd5Hex } : {}),
    });
    return { ...read, mirrorEtag: put.etag };
  }
  const uploadId = await to.store.createMultipartUpload(to.bucket, to.key, headersOf(info));
  try {
    const parts = await uploadParts(body, to, uploadId, options.limits.partSize);
    const total = parts.reduce((a, p) => a + p.size, 0);
    if (total !== info.size) {
      throw new AppError("IncompleteBody", `Read ${total} bytes of "${from.key}", expected ${info.size}`);
    }
    const digest = md5.digest("hex");
    if (expectedMd5Hex && digest !== expectedMd5Hex) {
      throw new AppError("BadDigest", `MD5 of "${from.key}" is ${digest}, its ETag says ${expectedMd5Hex}`);
    }
    const done = await to.store.completeMultipartUpload(to.bucket, to.key, uploadId, parts);
    return { ...read, mirrorEtag: done.etag };
  } catch (err) {
    await to.store.abortMultipartUpload(to.bucket, to.key, uploadId).catch(() => {});
    throw err;
  }
}

/** Cuts the stream into parts of `partSize` (one buffered at a time); each part is verified by its MD5. */
async function uploadParts(
  body: ReadableStream<Uint8Array>,
  to: ObjectRef,
  uploadId: string,
  partSize: number,
): Promise<(CompletedPart & { size: number })[]> {
  const parts: (CompletedPart & { size: number })[] = [];
  let buf = new Uint8Array(partSize);
  let fill = 0;
  const flush = async () => {
    const partNumber = parts.length + 1;
    const bytes = buf.subarray(0, fill);
    const md5 = createHash("md5").update(bytes).digest("hex");
    const part = await to.store.uploadPart(to.bucket, to.key, { uploadId, partNumber }, ReadableStream.from([bytes]), {
      contentLength: fill,
      expectedMd5Hex: md5,
    });
    parts.push({ partNumber, etag: part.etag, size: fill });
    buf = new Uint8Array(partSize);
    fill = 0;
  };
  for await (const chunk of body) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(partSize - fill, chunk.length - off);
      buf.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === partSize) await flush();
    }
  }
  if (fill > 0 || parts.length === 0) await flush();
  return parts;
}
