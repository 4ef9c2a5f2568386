/**
 * The `ObjectStore` interface every service uses, whatever the backend (`fs` embedded default, `s3` upstream).
 *
 * Contract highlights (enforced by `_testing/object_store_contract.ts`):
 * - Bodies are `ReadableStream<Uint8Array>` both ways; no backend buffers a whole object.
 * - A put is atomic: readers see the old object or the new one, never a torn one; a failed or aborted body
 *   stream leaves nothing visible.
 * - A put or part that fails lets go of its body: read to its end, or cancelled (also when it fails before reading
 *   it), so the body's source releases what it holds.
 * - ETags are S3-identical: hex MD5 for simple puts, `md5(concat(part md5s))-N` for multipart; returned with quotes.
 * - Listings are in UTF-8 byte order of keys.
 * - Conditional writes (`PutOptions.condition`) are checked atomically with the publication: of racing writers
 *   whose condition names the same state, one wins.
 * - Errors are `AppError`s: NoSuchBucket, NoSuchKey, NoSuchUpload, BucketAlreadyExists, BucketNotEmpty,
 *   InvalidBucketName, KeyTooLong, InvalidPart, InvalidPartOrder, EntityTooSmall, InvalidRange, NoSpace, Unavailable.
 *
 * @module
 */
import { AppError } from "../errors.ts";

/** Checksum algorithms S3 supports (`x-amz-checksum-*`); values are base64 as on the wire. */
export type ChecksumAlgorithm = "crc32" | "crc32c" | "crc64nvme" | "sha1" | "sha256";

/** How a multipart object's checksum is made from its parts' (`x-amz-checksum-type`). */
export type ChecksumType = "FULL_OBJECT" | "COMPOSITE";

/** Standard HTTP headers that S3 stores with an object and returns on GET/HEAD. */
export interface StoredHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
}

/** The `StoredHeaders` fields, for code that copies them from one object to another. */
export const STORED_HEADER_FIELDS: readonly (keyof StoredHeaders)[] = [
  "contentType",
  "contentEncoding",
  "contentDisposition",
  "contentLanguage",
  "cacheControl",
  "expires",
];

export interface BucketInfo {
  name: string;
  createdAt: Date;
}

export interface ObjectInfo extends StoredHeaders {
  key: string;
  size: number;
  /** Quoted, e.g. `"9e107d9d372bb6826bd81d3542a419d6"` or `"…-3"`. */
  etag: string;
  lastModified: Date;
  /** User metadata (`x-amz-meta-*`), lower-case names without the prefix. */
  metadata: Record<string, string>;
  /** Checksums recorded at write time (full-object or composite for multipart, as S3 does). */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** For multipart objects: number of parts. */
  partsCount?: number;
  storageClass?: string;
  /** How many tags the object has; absent when it has none, or the backend did not say (listings never do). */
  tagCount?: number;
}

/** An object's tags (S3: at most 10), by key. */
export type ObjectTags = Record<string, string>;

export interface PutOptions extends StoredHeaders {
  metadata?: Record<string, string>;
  /**
   * Checksums verified by the caller, to be stored and returned later. The gateway fills this object while the
   * body streams (checksums sent as aws-chunked trailers arrive after the data), so read it only once the body
   * stream has ended.
   */
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
  /** The algorithm whose verified value the caller adds to `checksums` by the end of the body: no need to compute it. */
  pendingChecksum?: ChecksumAlgorithm;
  storageClass?: string;
  /**
   * Of a multipart upload: the algorithm of the checksums its parts will carry (`x-amz-checksum-algorithm`). Of a
   * copy: the algorithm of the one checksum the copy gets, computed from its bytes, instead of the source's.
   */
  checksumAlgorithm?: ChecksumAlgorithm;
  /** Of a multipart upload: the checksum its object gets from the parts' (default: composite, CRC64/NVME full). */
  checksumType?: ChecksumType;
  /** The new object's tags. */
  tags?: ObjectTags;
  /** Expected MD5 (hex); the store fails with BadDigest and keeps nothing if the body differs. */
  expectedMd5Hex?: string;
  /** Expected body length; a shorter/longer body fails with IncompleteBody and keeps nothing. */
  contentLength?: number;
  /** S3 Object Lock retention of the new object; only for backends with `capabilities.objectLock`. */
  objectLock?: { mode: "GOVERNANCE" | "COMPLIANCE"; retainUntil: Date };
  /**
   * A conditional write (S3's `If-None-Match: *` / `If-Match` on PUT), checked atomically with the publication: of
   * concurrent writers whose condition held when they started, only those for which it still holds when the object is
   * published succeed; the others fail with PreconditionFailed (If-Match on a missing key: NoSuchKey) and store nothing.
   */
  condition?: WriteCondition;
  signal?: AbortSignal;
}

export interface WriteCondition {
  /** `*`: write only if no object has the key. */
  ifNoneMatch?: "*";
  /** Write only if the object with the key has this ETag (quotes optional; `*`: any object). */
  ifMatch?: string;
}

/** An ETag as compared: without its quotes (and surrounding space), in lower case. */
export function unquoteEtag(etag: string): string {
  return etag.trim().replace(/^"|"$/g, "").toLowerCase();
}

/** Whether a stored checksum is a multipart object's composite one (`…-<parts>`), not that of the whole object. */
export function isCompositeChecksum(value: string): boolean {
  return /-\d+$/.test(value);
}

/** Throws unless `condition` holds for the stored object's ETag (`undefined`: there is no object). */
export function checkWriteCondition(condition: WriteCondition, currentEtag: string | undefined, key: string): void {
  if (condition.ifNoneMatch !== undefined && currentEtag !== undefined) {
    throw new AppError("PreconditionFailed", `Object "${key}" exists (If-None-Match: *)`);
  }
  if (condition.ifMatch === undefined) return;
  if (currentEtag === undefined) throw new AppError("NoSuchKey", `Object "${key}" does not exist (If-Match)`);
  if (condition.ifMatch.trim() !== "*" && unquoteEtag(condition.ifMatch) !== unquoteEtag(currentEtag)) {
    throw new AppError("PreconditionFailed", `Object "${key}" has another ETag (If-Match)`);
  }
}

/** Inclusive byte range, already resolved against the object size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetOptions {
  range?: ByteRange;
  /**
   * Serve one part (1-based, in object order) instead of a range: a part of a multipart object, or the whole of any
   * other object as its part 1. The result's `range` is the part's span and `info.partsCount` the object's parts
   * (absent when the object is not multipart, or its parts are not known). Beyond the last part: InvalidPartNumber.
   */
  partNumber?: number;
  signal?: AbortSignal;
}

export interface GetResult {
  info: ObjectInfo;
  body: ReadableStream<Uint8Array>;
  /**
   * The same bytes as `body`, when the backend already holds them in memory (a small object read whole): a
   * caller may send these instead and leave `body` unread (it holds nothing to release then).
   */
  bytes?: Uint8Array<ArrayBuffer>;
  /** Present when a range was served. */
  range?: ByteRange;
  /**
   * Of a part read (`partNumber`) of an object with a composite checksum: the part's own checksums of that algorithm,
   * which S3 answers for a part instead of the object's (absent when the backend does not know them).
   */
  partChecksums?: Partial<Record<ChecksumAlgorithm, string>>;
}

/** What a copy reads: an object, or a range of it. */
export interface CopySource {
  bucket: string;
  key: string;
  range?: ByteRange;
  /**
   * Copy only the version with this ETag (quoted): when the source is another version by the time the copy reads it,
   * the copy fails with PreconditionFailed and writes nothing. What a caller that checked conditions on a version
   * passes, so that the version copied is the one checked.
   */
  ifMatch?: string;
}

export interface CopyOptions extends PutOptions {
  /** "COPY" keeps source metadata/headers (default); "REPLACE" uses the ones in these options. */
  metadataDirective?: "COPY" | "REPLACE";
  /** "COPY" keeps the source's tags (default); "REPLACE" gives the copy `tags` (none when absent). */
  taggingDirective?: "COPY" | "REPLACE";
  /**
   * The source's size and ETag as the caller already knows them (e.g. from a listing). A backend that otherwise reads
   * the source's description before copying (`s3`: a HEAD) may skip that read and pin the copy to this ETag; when the
   * source has changed, the current version is copied as without this option. A result built without that read
   * carries what the copy reveals (key, size, ETag, last-modified and, with REPLACE, the options' attributes): the
   * source's metadata, stored headers and checksums are then left out.
   */
  knownSource?: { size: number; etag: string };
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** Exclusive lower bound (S3 `marker` / `start-after`, or a decoded continuation token). */
  startAfter?: string;
  /** 1..1000; default 1000. */
  maxKeys?: number;
}

export interface ListResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned; pass as `startAfter` to continue. */
  nextStartAfter?: string;
}

export interface MultipartUpload {
  uploadId: string;
  key: string;
  initiated: Date;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: Date;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
  /** The part's checksums as the client names them in its completion; each must be the stored part's. */
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
}

export interface CompleteOptions {
  condition?: WriteCondition;
  /** The whole object's checksums, as the client computed them. */
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
  /** The checksum type the client completes with (`x-amz-checksum-type`): it must be the upload's. */
  checksumType?: ChecksumType;
}

/** A part of a completed multipart object. */
export type ObjectPart = Pick<PartInfo, "partNumber" | "size" | "checksums">;

/** A page of a multipart object's parts, with the ETag of the object they are the parts of. */
export interface ObjectPartListing {
  etag: string;
  totalPartsCount: number;
  parts: ObjectPart[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
}

/** A page of an upload's parts, with the checksum choice the upload was created with (none when it named none). */
export interface PartListing {
  parts: PartInfo[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

export interface ListUploadsOptions {
  prefix?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads?: number;
}

/** The size and free space of what holds a backend's objects (a local file system). */
export interface StoreCapacity {
  totalBytes: number;
  /** Free bytes the appliance may use (`df`'s "Avail"). */
  availableBytes: number;
  /** Free bytes writes of objects leave alone: below them they are refused with NoSpace. */
  minFreeBytes: number;
}

export interface StoreCapabilities {
  /** Copy without moving bytes through this process. */
  serverSideCopy: boolean;
  /** S3 Object Lock (WORM) on buckets created with it. */
  objectLock: boolean;
}

export interface ObjectStore {
  readonly kind: string;
  readonly capabilities: StoreCapabilities;

  listBuckets(): Promise<BucketInfo[]>;
  createBucket(bucket: string, options?: { objectLock?: boolean }): Promise<void>;
  /**
   * Fails with BucketNotEmpty when objects remain (its uploads in progress are then kept); multipart uploads in
   * progress in a bucket without objects are aborted with it, as in S3.
   */
  deleteBucket(bucket: string): Promise<void>;
  headBucket(bucket: string): Promise<BucketInfo>;

  putObject(bucket: string, key: string, body: ReadableStream<Uint8Array>, options?: PutOptions): Promise<ObjectInfo>;
  getObject(bucket: string, key: string, options?: GetOptions): Promise<GetResult>;
  headObject(bucket: string, key: string): Promise<ObjectInfo>;
  /**
   * Deleting a missing key succeeds (S3 semantics). With `condition.ifMatch`, the object is deleted only if it has
   * that ETag (`*`: any) when it is removed, checked atomically with the removal: otherwise PreconditionFailed, and a
   * missing key NoSuchKey.
   */
  deleteObject(bucket: string, key: string, options?: { condition?: Pick<WriteCondition, "ifMatch"> }): Promise<void>;
  copyObject(
    source: CopySource,
    target: { bucket: string; key: string },
    options?: CopyOptions,
  ): Promise<ObjectInfo>;
  listObjects(bucket: string, options?: ListOptions): Promise<ListResult>;
  getObjectTagging(bucket: string, key: string): Promise<ObjectTags>;
  /**
   * Replaces the object's tags (none: removes them), keeping its data, ETag, last-modified time and metadata. An
   * object replaced while its tags are written keeps the newer version's data: the tags go to whichever version is
   * current.
   */
  putObjectTagging(bucket: string, key: string, tags: ObjectTags): Promise<void>;
  /**
   * A page of the parts a multipart object was completed from (their upload's part numbers, sizes and checksums),
   * as GetObjectAttributes lists them; undefined for an object that is not multipart (a copy of one included).
   */
  listObjectParts(
    bucket: string,
    key: string,
    options?: { partNumberMarker?: number; maxParts?: number },
  ): Promise<ObjectPartListing | undefined>;

  createMultipartUpload(bucket: string, key: string, options?: PutOptions): Promise<string>;
  uploadPart(
    bucket: string,
    key: string,
    upload: { uploadId: string; partNumber: number },
    body: ReadableStream<Uint8Array>,
    options?: Pick<PutOptions, "checksums" | "pendingChecksum" | "expectedMd5Hex" | "contentLength" | "signal">,
  ): Promise<PartInfo>;
  uploadPartCopy(
    source: CopySource,
    target: { bucket: string; key: string; uploadId: string; partNumber: number },
  ): Promise<PartInfo>;
  /**
   * Parts must be ascending (InvalidPartOrder), exist with matching ETags (InvalidPart), all but the last ≥ 5 MiB
   * (EntityTooSmall). A `condition` is checked as for `putObject`, and `checksums` (the whole object's, as the client
   * computed them) against those the parts give (BadDigest); a `checksumType` other than the upload's is
   * InvalidRequest. The upload stays in progress when any of these fails.
   */
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletedPart[],
    options?: CompleteOptions,
  ): Promise<ObjectInfo>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options?: { partNumberMarker?: number; maxParts?: number },
  ): Promise<PartListing>;
  listMultipartUploads(
    bucket: string,
    options?: ListUploadsOptions,
  ): Promise<{ uploads: MultipartUpload[]; isTruncated: boolean }>;

  /** Size and free space, for a backend that has them to tell (the fs backend); no call when absent. */
  capacity?(): StoreCapacity;

  /** Release handles (no-op for most backends). */
  close(): Promise<void>;
}

/** The multipart half of the interface, implemented per backend in its own module. */
export type MultipartMethods = Pick<
  ObjectStore,
  | "createMultipartUpload"
  | "uploadPart"
  | "uploadPartCopy"
  | "completeMultipartUpload"
  | "abortMultipartUpload"
  | "listParts"
  | "listMultipartUploads"
>;

/** Smallest size of a non-final multipart part (S3 rule). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Largest key length in bytes (S3 rule). */
export const MAX_KEY_BYTES = 1024;
