/**
 * The gateway's view of storage: one `ObjectStore` whose buckets are each routed to the backend the
 * `buckets` table names. New buckets (S3 CreateBucket) go to the default backend unless a backend is chosen
 * (management API). Copies between buckets on different backends stream through this process. The router also
 * keeps each bucket's settings (CORS rules, lifecycle rules, tags) in the bucket's row: they go when the bucket goes.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import { databaseUnavailable, type Db } from "./db/client.ts";
import { createReadCache } from "./db/read_cache.ts";
import { getSetting, SETTING } from "./db/repos/settings.ts";
import {
  deleteBucketRow,
  findBucketRow,
  insertBucketRow,
  listBucketRows,
  updateBucketSetting,
} from "./db/repos/buckets.ts";
import { AppError, isAppError } from "./errors.ts";
import {
  BUCKET_CONFIG_NAMES,
  type BucketConfig,
  type BucketConfigName,
  type BucketConfigStore,
  decodeConfig,
} from "./gateway/bucket_config.ts";
import type { BackendRegistry } from "./service.ts";
import type { CopyOptions, CopySource, ObjectInfo, ObjectStore, PutOptions } from "./storage/mod.ts";
import { checkSourceVersion } from "./storage/_objects.ts";
import { lettingGo } from "./storage/_body.ts";

export interface BucketRouter extends ObjectStore, BucketConfigStore {
  /** Creates a bucket on a chosen backend. */
  createBucketOn(bucket: string, backendId: string, options?: { objectLock?: boolean }): Promise<void>;
  /** The backend id serving a bucket (NoSuchBucket when unknown). */
  backendOf(bucket: string): Promise<string>;
}

export interface BucketRouterDeps {
  db: Db;
  backends: BackendRegistry;
  clock: Clock;
}

function sourceHeaders(info: ObjectInfo): PutOptions {
  const { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires } = info;
  const headers = { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires };
  const out: PutOptions = { metadata: { ...info.metadata } };
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

interface BucketEntry {
  backendId: string;
  config: Partial<BucketConfig>;
}

/**
 * How long a bucket's row is served from memory before it is read again. This router keeps its cache in step with
 * what it changes itself; a change made to the database by other means (by hand) shows here within this time. A row
 * the database does not answer for is served as last read (`db/read_cache.ts`).
 */
export const BUCKET_ROW_TTL_MS = 30_000;

function noSuchBucket(bucket: string): AppError {
  return new AppError("NoSuchBucket", `Bucket "${bucket}" does not exist`, { details: { bucket } });
}

export function createBucketRouter(deps: BucketRouterDeps): BucketRouter {
  const { db, backends } = deps;
  /** The rows of the buckets in use, as last read or written here; a bucket without a row is not kept. */
  const entries = createReadCache<BucketEntry | undefined>({
    read: async (bucket) => {
      const row = await findBucketRow(db, bucket);
      if (!row) return undefined;
      const config: Record<string, unknown> = {};
      for (const name of BUCKET_CONFIG_NAMES) {
        const json = row[name];
        if (json) config[name] = decodeConfig(name, json);
      }
      return { backendId: row.backendId, config: config as Partial<BucketConfig> };
    },
    clock: deps.clock,
    ttlMs: BUCKET_ROW_TTL_MS,
    keep: (entry) => entry !== undefined,
    unavailable: (bucket, cause) => databaseUnavailable(`the bucket "${bucket}"`, cause),
  });

  async function entryOf(bucket: string): Promise<BucketEntry> {
    const entry = await entries.get(bucket);
    if (entry === undefined) throw noSuchBucket(bucket);
    return entry;
  }

  async function backendOf(bucket: string): Promise<string> {
    return (await entryOf(bucket)).backendId;
  }

  /** The store serving `bucket`; synchronous when the bucket's backend is cached (the per-request case). */
  function storeOf(bucket: string): ObjectStore | Promise<ObjectStore> {
    const entry = entries.fresh(bucket);
    return entry !== undefined
      ? storeById(bucket, entry.backendId)
      : backendOf(bucket).then((found) => storeById(bucket, found));
  }

  function storeById(bucket: string, id: string): ObjectStore {
    try {
      return backends.get(id);
    } catch (err) {
      if (!isAppError(err, "NotFound")) throw err;
      // The backend is configured but could not be opened (e.g. an unreachable upstream at start).
      throw new AppError("Unavailable", `Bucket "${bucket}" is on backend "${id}", which is not available`, {
        cause: err,
        details: { bucket, backend: id },
      });
    }
  }

  async function createBucketOn(bucket: string, backendId: string, options?: { objectLock?: boolean }) {
    const store = backends.get(backendId);
    if (await findBucketRow(db, bucket)) {
      throw new AppError("BucketAlreadyExists", `Bucket "${bucket}" already exists`, { details: { bucket } });
    }
    await store.createBucket(bucket, options);
    if (!await insertBucketRow(db, { name: bucket, backendId, createdAt: deps.clock.now() })) {
      throw new AppError("BucketAlreadyExists", `Bucket "${bucket}" already exists`, { details: { bucket } });
    }
    entries.set(bucket, { backendId, config: {} });
  }

  /** Streams a (ranged) source object into `write` when source and target live on different backends. */
  async function crossCopy<T>(
    source: CopySource,
    write: (body: ReadableStream<Uint8Array>, info: ObjectInfo) => Promise<T>,
  ): Promise<T> {
    const from = await storeOf(source.bucket);
    const got = await from.getObject(source.bucket, source.key, source.range ? { range: source.range } : {});
    try {
      checkSourceVersion(source, got.info.etag);
    } catch (err) {
      await got.body.cancel();
      throw err;
    }
    return await write(got.body, got.info);
  }

  return {
    kind: "buckets",
    capabilities: { serverSideCopy: false, objectLock: false },
    backendOf,
    createBucketOn,

    configOf<K extends BucketConfigName>(bucket: string, name: K) {
      const entry = entries.fresh(bucket);
      return entry !== undefined ? entry.config[name] : entryOf(bucket).then((found) => found.config[name]);
    },
    async setConfig(bucket, name, value) {
      const entry = await entryOf(bucket);
      if (!await updateBucketSetting(db, bucket, name, value === undefined ? null : JSON.stringify(value))) {
        throw noSuchBucket(bucket);
      }
      const config = { ...entry.config };
      if (value === undefined) delete config[name];
      else config[name] = value;
      entries.set(bucket, { ...entry, config });
    },

    async listBuckets() {
      return (await listBucketRows(db)).map((r) => ({ name: r.name, createdAt: r.createdAt }));
    },
    async createBucket(bucket, options) {
      const backend = await getSetting(db, SETTING.defaultBackend);
      if (!backend) throw new AppError("Unavailable", "No default backend is configured");
      await createBucketOn(bucket, backend, options);
    },
    async deleteBucket(bucket) {
      const store = await storeOf(bucket);
      try {
        await store.deleteBucket(bucket);
      } catch (err) {
        if (!isAppError(err, "NoSuchBucket")) throw err;
      }
      await deleteBucketRow(db, bucket);
      entries.delete(bucket);
    },
    async headBucket(bucket) {
      return await (await storeOf(bucket)).headBucket(bucket);
    },

    putObject: (bucket, key, body, options) =>
      lettingGo(body, async () => (await storeOf(bucket)).putObject(bucket, key, body, options)),
    getObject: async (bucket, key, options) => (await storeOf(bucket)).getObject(bucket, key, options),
    headObject: async (bucket, key) => (await storeOf(bucket)).headObject(bucket, key),
    deleteObject: async (bucket, key, options) => (await storeOf(bucket)).deleteObject(bucket, key, options),
    async copyObject(source, target, options: CopyOptions = {}) {
      const [from, to] = await Promise.all([backendOf(source.bucket), backendOf(target.bucket)]);
      if (from === to) return await backends.get(to).copyObject(source, target, options);
      // A source on a server without object tags (NotImplemented) has none to copy.
      const tags = options.taggingDirective === "REPLACE"
        ? options.tags
        : await backends.get(from).getObjectTagging(source.bucket, source.key).catch((err) => {
          if (isAppError(err, "NotImplemented")) return {};
          throw err;
        });
      return await crossCopy(source, (body, info) => {
        const { metadataDirective, taggingDirective: _tagging, ...rest } = options;
        const attributes = metadataDirective === "REPLACE" ? rest : { ...rest, ...sourceHeaders(info) };
        return backends.get(to).putObject(target.bucket, target.key, body, { ...attributes, tags });
      });
    },
    listObjects: async (bucket, options) => (await storeOf(bucket)).listObjects(bucket, options),
    getObjectTagging: async (bucket, key) => (await storeOf(bucket)).getObjectTagging(bucket, key),
    listObjectParts: async (bucket, key, options) => (await storeOf(bucket)).listObjectParts(bucket, key, options),
    putObjectTagging: async (bucket, key, tags) => (await storeOf(bucket)).putObjectTagging(bucket, key, tags),

    createMultipartUpload: async (bucket, key, options) =>
      (await storeOf(bucket)).createMultipartUpload(bucket, key, options),
    uploadPart: (bucket, key, upload, body, options) =>
      lettingGo(body, async () => (await storeOf(bucket)).uploadPart(bucket, key, upload, body, options)),
    async uploadPartCopy(source, target) {
      const [from, to] = await Promise.all([backendOf(source.bucket), backendOf(target.bucket)]);
      if (from === to) return await backends.get(to).uploadPartCopy(source, target);
      return await crossCopy(source, (body) =>
        backends.get(to).uploadPart(target.bucket, target.key, {
          uploadId: target.uploadId,
          partNumber: target.partNumber,
        }, body));
    },
    completeMultipartUpload: async (bucket, key, uploadId, parts, options) =>
      (await storeOf(bucket)).completeMultipartUpload(bucket, key, uploadId, parts, options),
    abortMultipartUpload: async (bucket, key, uploadId) =>
      (await storeOf(bucket)).abortMultipartUpload(bucket, key, uploadId),
    listParts: async (bucket, key, uploadId, options) =>
      (await storeOf(bucket)).listParts(bucket, key, uploadId, options),
    listMultipartUploads: async (bucket, options) => (await storeOf(bucket)).listMultipartUploads(bucket, options),

    close: () => Promise.resolve(),
  };
}
