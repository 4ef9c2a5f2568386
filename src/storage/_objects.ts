/**
 * Small helpers shared by the backends (most by those that keep object records themselves: memory, fs).
 *
 * @module
 */
import { AppError } from "../errors.ts";
import type {
  ByteRange,
  ChecksumAlgorithm,
  CopyOptions,
  CopySource,
  GetOptions,
  ListUploadsOptions,
  MultipartUpload,
  ObjectInfo,
  ObjectPart,
  ObjectTags,
  PutOptions,
  StoredHeaders,
} from "./mod.ts";
import { isCompositeChecksum, STORED_HEADER_FIELDS } from "./mod.ts";
import { compareKeys } from "./_keys.ts";
import { resolveMaxKeys } from "./_sorted_keys.ts";

/** The stored headers, metadata and storage class a put carries (defined fields only). */
export function storedAttributes(
  options: PutOptions,
): Pick<ObjectInfo, keyof StoredHeaders | "metadata" | "storageClass"> {
  const out: Pick<ObjectInfo, keyof StoredHeaders | "metadata" | "storageClass"> = {
    metadata: Object.fromEntries(Object.entries(options.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  for (const field of STORED_HEADER_FIELDS) {
    if (options[field] !== undefined) out[field] = options[field];
  }
  if (options.storageClass !== undefined) out.storageClass = options.storageClass;
  return out;
}

/** Attributes for a copy target: the source's (COPY, default) or the options' (REPLACE). */
export function copyAttributes(source: ObjectInfo, options: CopyOptions): PutOptions {
  return (options.metadataDirective ?? "COPY") === "REPLACE"
    ? options
    : { ...source, storageClass: options.storageClass ?? source.storageClass };
}

/**
 * The tags a write gives its object: a put's (or a copy's with REPLACE) from the options, a copy's by default its
 * source's.
 */
export function newObjectTags(options: CopyOptions, sourceTags?: ObjectTags): ObjectTags {
  return sourceTags === undefined || options.taggingDirective === "REPLACE" ? { ...options.tags } : { ...sourceTags };
}

/** The `tagCount` of an object's info: present only when there are tags. */
export function tagCountOf(tags: ObjectTags | undefined): Pick<ObjectInfo, "tagCount"> {
  const count = tags ? Object.keys(tags).length : 0;
  return count > 0 ? { tagCount: count } : {};
}

/** The description of an object a put stores now: `options`' checksums, headers, metadata, storage class and tags. */
export function putObjectInfo(
  key: string,
  size: number,
  etag: string,
  lastModified: Date,
  options: PutOptions,
  tags: ObjectTags | undefined,
): ObjectInfo {
  return {
    key,
    size,
    etag,
    lastModified,
    checksums: { ...options.checksums },
    ...storedAttributes(options),
    ...tagCountOf(tags),
  };
}

/** Validates an inclusive range against an object size (S3 answers 416 InvalidRange). */
export function checkRange(range: ByteRange, size: number): ByteRange {
  if (
    !Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start < 0 || range.end < range.start ||
    range.start >= size
  ) {
    throw new AppError("InvalidRange", `Range ${range.start}-${range.end} is not satisfiable for ${size} bytes`, {
      details: { range, size },
    });
  }
  return { start: range.start, end: Math.min(range.end, size - 1) };
}

/**
 * What a read of an object serves: `options.range` (checked), or the span of part `options.partNumber` when the
 * object's parts are known (`parts`, in object order; any other object is one part, its whole). A part's span of
 * zero bytes has `end` one below `start`. With a part, the info reports the known parts count only, and
 * `partChecksums` the part's own checksums for the object's composite ones (what S3 answers for a part).
 */
export function servedRange(
  info: ObjectInfo,
  options: GetOptions,
  parts: readonly ObjectPart[] | undefined,
): { info: ObjectInfo; range?: ByteRange; partChecksums?: ObjectPart["checksums"] } {
  const n = options.partNumber;
  if (n === undefined) return { info, ...(options.range ? { range: checkRange(options.range, info.size) } : {}) };
  const sizes = parts?.map((p) => p.size) ?? [info.size];
  if (!Number.isInteger(n) || n < 1 || n > sizes.length) {
    throw new AppError("InvalidPartNumber", `Part ${n} is not satisfiable: the object has ${sizes.length} part(s)`, {
      details: { partNumber: n, partsCount: sizes.length },
    });
  }
  const start = sizes.slice(0, n - 1).reduce((sum, size) => sum + size, 0);
  const { partsCount: _unknown, ...rest } = info;
  const composite = (algorithm: string) => isCompositeChecksum(info.checksums[algorithm as ChecksumAlgorithm] ?? "");
  const partChecksums = Object.fromEntries(
    Object.entries(parts?.[n - 1]?.checksums ?? {}).filter(([algorithm]) => composite(algorithm)),
  );
  return {
    info: parts ? { ...rest, partsCount: sizes.length } : rest,
    range: { start, end: start + sizes[n - 1]! - 1 },
    ...(Object.keys(partChecksums).length > 0 ? { partChecksums } : {}),
  };
}

/** Fails with PreconditionFailed when `source` names a version (`ifMatch`) other than the one with `etag`. */
export function checkSourceVersion(source: CopySource, etag: string): void {
  if (source.ifMatch !== undefined && source.ifMatch !== etag) {
    throw new AppError("PreconditionFailed", `Source "${source.key}" is no longer the version to copy`, {
      details: { bucket: source.bucket, key: source.key },
    });
  }
}

export function cloneInfo(info: ObjectInfo): ObjectInfo {
  return structuredClone(info);
}

export function noSuchBucket(bucket: string): AppError {
  return new AppError("NoSuchBucket", `Bucket "${bucket}" does not exist`, { details: { bucket } });
}

export function bucketNotEmpty(bucket: string): AppError {
  return new AppError("BucketNotEmpty", `Bucket "${bucket}" is not empty`, { details: { bucket } });
}

export function noSuchKey(bucket: string, key: string): AppError {
  return new AppError("NoSuchKey", `Object "${key}" does not exist in bucket "${bucket}"`, {
    details: { bucket, key },
  });
}

export function noSuchUpload(uploadId: string): AppError {
  return new AppError("NoSuchUpload", `Multipart upload "${uploadId}" does not exist`, { details: { uploadId } });
}

/** Sorts uploads by key then upload id and applies prefix, markers and the page size (S3 ListMultipartUploads). */
export function pageUploads(
  all: MultipartUpload[],
  opts: ListUploadsOptions,
): { uploads: MultipartUpload[]; isTruncated: boolean } {
  const max = resolveMaxKeys(opts.maxUploads);
  const sorted = all
    .filter((u) => u.key.startsWith(opts.prefix ?? ""))
    .filter((u) => {
      if (opts.keyMarker === undefined) return true;
      const c = compareKeys(u.key, opts.keyMarker);
      return c > 0 || (c === 0 && opts.uploadIdMarker !== undefined && u.uploadId > opts.uploadIdMarker);
    })
    .sort((a, b) => compareKeys(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0));
  return {
    uploads: sorted.slice(0, max).map((u) => ({ uploadId: u.uploadId, key: u.key, initiated: u.initiated })),
    isTruncated: sorted.length > max,
  };
}
