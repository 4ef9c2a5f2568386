/**
 * In-memory `ObjectStore`: complete S3 semantics (ETags, multipart rules, UTF-8 byte-order listing, ranges)
 * for unit tests of every service. Objects are held as byte arrays, so it is for tests and small data only.
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import { AppError } from "../errors.ts";
import {
  type BucketInfo,
  type ChecksumAlgorithm,
  checkWriteCondition,
  type CompletedPart,
  type CopyOptions,
  type CopySource,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ListResult,
  type ListUploadsOptions,
  type MultipartUpload,
  type ObjectInfo,
  type ObjectPart,
  type ObjectStore,
  type ObjectTags,
  type PartInfo,
  type PutOptions,
  type WriteCondition,
} from "./mod.ts";
import { drainBody, lettingGo } from "./_body.ts";
import { compareKeys, validateBucketName, validateKey } from "./_keys.ts";
import {
  checkCompletionChecksums,
  copyChecksums,
  copyKeepsEtag,
  multipartChecksums,
  multipartEtag,
  objectPartListing,
  partChecksums,
  partListing,
  quoteEtag,
  repeatsCompletion,
  selectCompletedParts,
  validatePartNumber,
} from "./_multipart.ts";
import {
  bucketNotEmpty,
  checkRange,
  checkSourceVersion,
  cloneInfo,
  copyAttributes,
  newObjectTags,
  noSuchBucket,
  noSuchKey,
  noSuchUpload,
  pageUploads,
  putObjectInfo,
  servedRange,
  storedAttributes,
  tagCountOf,
} from "./_objects.ts";
import { resolveMaxKeys, SortedKeys } from "./_sorted_keys.ts";

interface StoredObject {
  info: ObjectInfo;
  data: Uint8Array;
  tags: ObjectTags;
  /** Of a completed multipart upload: its parts, in object order. */
  parts?: ObjectPart[];
  /** Of a completed multipart upload: the upload's id. */
  uploadId?: string;
}

interface Upload extends MultipartUpload {
  bucket: string;
  options: PutOptions;
  parts: Map<number, { info: PartInfo; data: Uint8Array }>;
}

interface Bucket {
  info: BucketInfo;
  objects: Map<string, StoredObject>;
  keys: SortedKeys;
}

export interface MemoryStoreOptions {
  clock?: Clock;
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function streamOf(data: Uint8Array): ReadableStream<Uint8Array> {
  const chunkSize = 64 * 1024;
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.byteLength) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

export function createMemoryStore(options: MemoryStoreOptions = {}): ObjectStore {
  const clock = options.clock ?? systemClock();
  const buckets = new Map<string, Bucket>();
  const uploads = new Map<string, Upload>();

  function bucketOf(name: string): Bucket {
    const b = buckets.get(name);
    if (!b) throw noSuchBucket(name);
    return b;
  }

  function objectOf(bucket: string, key: string): StoredObject {
    const o = bucketOf(bucket).objects.get(key);
    if (!o) throw noSuchKey(bucket, key);
    return o;
  }

  function uploadOf(bucket: string, key: string, uploadId: string): Upload {
    bucketOf(bucket);
    const u = uploads.get(uploadId);
    if (!u || u.bucket !== bucket || u.key !== key) throw noSuchUpload(uploadId);
    return u;
  }

  /** Stores `object` if `condition` holds for the key's current object (checked in the same turn: nothing comes between). */
  function publish(bucket: string, object: StoredObject, condition?: WriteCondition): ObjectInfo {
    const b = bucketOf(bucket);
    if (condition) checkWriteCondition(condition, b.objects.get(object.info.key)?.info.etag, object.info.key);
    b.objects.set(object.info.key, object);
    b.keys.add(object.info.key);
    return cloneInfo(object.info);
  }

  async function readBody(
    body: ReadableStream<Uint8Array>,
    opts: Pick<PutOptions, "expectedMd5Hex" | "contentLength" | "signal">,
  ): Promise<{ data: Uint8Array; md5Hex: string }> {
    const chunks: Uint8Array[] = [];
    const { size, md5Hex } = await drainBody(body, opts, (c) => {
      chunks.push(c.slice());
    });
    return { data: concat(chunks, size), md5Hex };
  }

  function sourceBytes(source: CopySource) {
    const object = objectOf(source.bucket, source.key);
    checkSourceVersion(source, object.info.etag);
    if (!source.range) return { object, data: object.data };
    const r = checkRange(source.range, object.info.size);
    return { object, data: object.data.subarray(r.start, r.end + 1) };
  }

  async function md5HexOf(data: Uint8Array): Promise<string> {
    return (await drainBody(streamOf(data), {}, () => {})).md5Hex;
  }

  return {
    kind: "memory",
    capabilities: { serverSideCopy: true, objectLock: false },

    listBuckets() {
      return Promise.resolve(
        [...buckets.values()].map((b) => ({ ...b.info })).sort((a, b) => compareKeys(a.name, b.name)),
      );
    },

    async createBucket(bucket) {
      await Promise.resolve();
      validateBucketName(bucket);
      if (buckets.has(bucket)) {
        throw new AppError("BucketAlreadyExists", `Bucket "${bucket}" already exists`, { details: { bucket } });
      }
      buckets.set(bucket, {
        info: { name: bucket, createdAt: clock.now() },
        objects: new Map(),
        keys: new SortedKeys(),
      });
    },

    async deleteBucket(bucket) {
      const b = bucketOf(bucket);
      if (b.objects.size > 0) {
        throw bucketNotEmpty(bucket);
      }
      await Promise.resolve();
      for (const [id, u] of uploads) if (u.bucket === bucket) uploads.delete(id);
      buckets.delete(bucket);
    },

    async headBucket(bucket) {
      await Promise.resolve();
      return { ...bucketOf(bucket).info };
    },

    async putObject(bucket, key, body, opts = {}) {
      return await lettingGo(body, async () => {
        validateKey(key);
        bucketOf(bucket);
        const { data, md5Hex } = await readBody(body, opts);
        const tags = newObjectTags(opts);
        return publish(bucket, {
          data,
          tags,
          info: putObjectInfo(key, data.byteLength, quoteEtag(md5Hex), clock.now(), opts, tags),
        }, opts.condition);
      });
    },

    async getObject(bucket, key, opts: GetOptions = {}): Promise<GetResult> {
      await Promise.resolve();
      const object = objectOf(bucket, key);
      const { info, range, partChecksums } = servedRange(object.info, opts, object.parts);
      const data = range ? object.data.subarray(range.start, range.end + 1) : object.data;
      return {
        info: cloneInfo(info),
        body: streamOf(data),
        ...(range ? { range } : {}),
        ...(partChecksums ? { partChecksums } : {}),
      };
    },

    async headObject(bucket, key) {
      await Promise.resolve();
      return cloneInfo(objectOf(bucket, key).info);
    },

    async deleteObject(bucket, key, opts = {}) {
      await Promise.resolve();
      const b = bucketOf(bucket);
      if (opts.condition) checkWriteCondition(opts.condition, b.objects.get(key)?.info.etag, key);
      b.objects.delete(key);
      b.keys.delete(key);
    },

    async copyObject(source, target, opts: CopyOptions = {}) {
      validateKey(target.key);
      bucketOf(target.bucket);
      const { object, data } = sourceBytes(source);
      const copied = copyChecksums({ checksums: object.info.checksums, range: source.range }, opts);
      copied.update(data);
      const attrs = copyAttributes(object.info, opts);
      const tags = newObjectTags(opts, object.tags);
      return publish(target.bucket, {
        data: data.slice(),
        tags,
        info: {
          key: target.key,
          size: data.byteLength,
          etag: copyKeepsEtag(object.info, source.range) ? object.info.etag : quoteEtag(await md5HexOf(data)),
          lastModified: clock.now(),
          checksums: copied.result(),
          ...storedAttributes(attrs),
          ...tagCountOf(tags),
        },
      });
    },

    async listObjects(bucket, opts: ListOptions = {}): Promise<ListResult> {
      await Promise.resolve();
      const b = bucketOf(bucket);
      const page = b.keys.list(opts);
      return {
        objects: page.keys.map((k) => cloneInfo(b.objects.get(k)!.info)),
        commonPrefixes: page.commonPrefixes,
        isTruncated: page.isTruncated,
        ...(page.nextStartAfter !== undefined ? { nextStartAfter: page.nextStartAfter } : {}),
      };
    },

    async listObjectParts(bucket, key, opts = {}) {
      await Promise.resolve();
      const object = objectOf(bucket, key);
      return object.parts && objectPartListing(object.info.etag, object.parts, opts);
    },

    async getObjectTagging(bucket, key) {
      await Promise.resolve();
      return { ...objectOf(bucket, key).tags };
    },

    async putObjectTagging(bucket, key, tags) {
      await Promise.resolve();
      const object = objectOf(bucket, key);
      const { tagCount: _old, ...info } = object.info;
      object.tags = { ...tags };
      object.info = { ...info, ...tagCountOf(tags) };
    },

    async createMultipartUpload(bucket, key, opts = {}) {
      await Promise.resolve();
      validateKey(key);
      bucketOf(bucket);
      const uploadId = crypto.randomUUID();
      const { signal: _signal, ...kept } = opts;
      uploads.set(uploadId, { uploadId, bucket, key, initiated: clock.now(), options: kept, parts: new Map() });
      return uploadId;
    },

    async uploadPart(bucket, key, upload, body, opts = {}) {
      return await lettingGo(body, async () => {
        validatePartNumber(upload.partNumber);
        const checksums = partChecksums(uploadOf(bucket, key, upload.uploadId).options.checksumAlgorithm, opts);
        const { data, md5Hex } = await readBody(body, opts);
        checksums.update(data);
        const u = uploadOf(bucket, key, upload.uploadId);
        const info: PartInfo = {
          partNumber: upload.partNumber,
          etag: quoteEtag(md5Hex),
          size: data.byteLength,
          lastModified: clock.now(),
          checksums: checksums.result(),
        };
        u.parts.set(upload.partNumber, { info, data });
        return structuredClone(info);
      });
    },

    async uploadPartCopy(source, target) {
      validatePartNumber(target.partNumber);
      const u = uploadOf(target.bucket, target.key, target.uploadId);
      const { data } = sourceBytes(source);
      const checksums = partChecksums(u.options.checksumAlgorithm);
      checksums.update(data);
      const info: PartInfo = {
        partNumber: target.partNumber,
        etag: quoteEtag(await md5HexOf(data)),
        size: data.byteLength,
        lastModified: clock.now(),
        checksums: checksums.result(),
      };
      u.parts.set(target.partNumber, { info, data: data.slice() });
      return structuredClone(info);
    },

    async completeMultipartUpload(bucket, key, uploadId, parts: CompletedPart[], opts = {}) {
      await Promise.resolve();
      let u: Upload;
      try {
        u = uploadOf(bucket, key, uploadId);
      } catch (err) {
        const object = bucketOf(bucket).objects.get(key);
        const made = object?.uploadId === undefined ? undefined : {
          uploadId: object.uploadId,
          partNumbers: (object.parts ?? []).map((p) => p.partNumber),
        };
        if (repeatsCompletion(parts, uploadId, made)) return { ...object!.info };
        throw err;
      }
      const stored = new Map([...u.parts].map(([n, p]) => [n, p.info]));
      const selected = selectCompletedParts(parts, stored, u.options, opts);
      const size = selected.reduce((s, p) => s + p.size, 0);
      const checksums = multipartChecksums(selected, u.options.checksumType);
      checkCompletionChecksums(opts.checksums, checksums);
      const data = concat(selected.map((p) => u.parts.get(p.partNumber)!.data), size);
      const tags = newObjectTags(u.options);
      const info = publish(bucket, {
        data,
        tags,
        parts: selected.map(({ partNumber, size, checksums }) => ({ partNumber, size, checksums: { ...checksums } })),
        uploadId,
        info: {
          key,
          size,
          etag: multipartEtag(selected),
          lastModified: clock.now(),
          partsCount: selected.length,
          checksums: { ...u.options.checksums, ...checksums } as Partial<
            Record<ChecksumAlgorithm, string>
          >,
          ...storedAttributes(u.options),
          ...tagCountOf(tags),
        },
      }, opts.condition);
      // Only once published: an upload whose condition failed stays in progress.
      uploads.delete(uploadId);
      return info;
    },

    async abortMultipartUpload(bucket, key, uploadId) {
      await Promise.resolve();
      uploadOf(bucket, key, uploadId);
      uploads.delete(uploadId);
    },

    async listParts(bucket, key, uploadId, opts = {}) {
      await Promise.resolve();
      const u = uploadOf(bucket, key, uploadId);
      const maxParts = resolveMaxKeys(opts.maxParts);
      const all = [...u.parts.values()].map((p) => p.info).filter((p) => p.partNumber > (opts.partNumberMarker ?? 0))
        .sort((a, b) => a.partNumber - b.partNumber);
      const parts = all.slice(0, maxParts).map((p) => structuredClone(p));
      return partListing(parts, all.length > maxParts, u.options, opts.partNumberMarker);
    },

    async listMultipartUploads(bucket, opts: ListUploadsOptions = {}) {
      await Promise.resolve();
      bucketOf(bucket);
      return pageUploads([...uploads.values()].filter((u) => u.bucket === bucket), opts);
    },

    close() {
      return Promise.resolve();
    },
  };
}
