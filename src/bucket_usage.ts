/**
 * How much a bucket holds: its objects, and the parts of its unfinished multipart uploads (space no object listing
 * shows, kept until the upload is completed or aborted), counted by walking the backend's listings. A walk costs a
 * listing request per 1,000 objects and one per unfinished upload, so a result is kept for a while (`maxAgeMs`)
 * and concurrent requests for one bucket share one walk.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import { isAppError } from "./errors.ts";
import type { ObjectStore } from "./storage/mod.ts";
import { walkObjects, walkUploads } from "./storage/walk.ts";

export interface BucketUsage {
  bucket: string;
  objects: number;
  bytes: number;
  /** Unfinished multipart uploads, their uploaded parts and the bytes those hold. */
  multipartUploads: number;
  multipartParts: number;
  multipartBytes: number;
  /** When the walk ended. */
  scannedAt: string;
  /** How long it took. */
  scanMs: number;
}

type Listings = Pick<ObjectStore, "listObjects" | "listMultipartUploads" | "listParts">;

/** The parts of one upload: count and bytes; undefined when the upload ended while it was being walked. */
async function uploadedParts(store: Listings, bucket: string, key: string, uploadId: string) {
  let parts = 0, bytes = 0, partNumberMarker: number | undefined;
  for (;;) {
    const listing = await store.listParts(bucket, key, uploadId, partNumberMarker ? { partNumberMarker } : {})
      .catch((err) => {
        if (isAppError(err, "NoSuchUpload")) return undefined;
        throw err;
      });
    if (!listing) return undefined;
    parts += listing.parts.length;
    for (const p of listing.parts) bytes += p.size;
    if (!listing.isTruncated || listing.nextPartNumberMarker === undefined) return { parts, bytes };
    partNumberMarker = listing.nextPartNumberMarker;
  }
}

/** Walks `bucket` once. */
export async function scanBucketUsage(store: Listings, bucket: string, clock: Clock): Promise<BucketUsage> {
  const started = performance.now();
  let objects = 0, bytes = 0;
  for await (const o of walkObjects(store, bucket)) {
    objects++;
    bytes += o.size;
  }
  let multipartUploads = 0, multipartParts = 0, multipartBytes = 0;
  for await (const upload of walkUploads(store, bucket)) {
    const parts = await uploadedParts(store, bucket, upload.key, upload.uploadId);
    if (!parts) continue;
    multipartUploads++;
    multipartParts += parts.parts;
    multipartBytes += parts.bytes;
  }
  return {
    bucket,
    objects,
    bytes,
    multipartUploads,
    multipartParts,
    multipartBytes,
    scannedAt: clock.now().toISOString(),
    scanMs: Math.round(performance.now() - started),
  };
}

export interface BucketUsageCache {
  /** The bucket's usage: walked now when `refresh` or when the kept one is older than `maxAgeMs`. */
  usage(bucket: string, options?: { refresh?: boolean }): Promise<BucketUsage>;
}

export function createBucketUsageCache(
  deps: { store: Listings; clock: Clock; maxAgeMs?: number },
): BucketUsageCache {
  const maxAgeMs = deps.maxAgeMs ?? 60_000;
  const kept = new Map<string, { usage: BucketUsage; at: number }>();
  const walking = new Map<string, Promise<BucketUsage>>();
  return {
    async usage(bucket, options = {}) {
      const hit = kept.get(bucket);
      if (hit && !options.refresh && deps.clock.now().getTime() - hit.at < maxAgeMs) return hit.usage;
      let walk = walking.get(bucket);
      if (!walk) {
        walk = scanBucketUsage(deps.store, bucket, deps.clock).then(
          (usage) => {
            kept.set(bucket, { usage, at: deps.clock.now().getTime() });
            return usage;
          },
          (err) => {
            kept.delete(bucket);
            throw err;
          },
        ).finally(() => walking.delete(bucket));
        walking.set(bucket, walk);
      }
      return await walk;
    },
  };
}
