/**
 * The embedded default backend: objects as files under a root directory.
 *
 * On-disk layout (all names are generated, so no key can ever address a path outside the root):
 *
 *   <root>/tmp/                                  temp files; emptied at open (leftovers of a crash)
 *   <root>/small-objects.log                     write-ahead log of small PUTs, replayed at open (`_fs_small_log.ts`)
 *   <root>/store.lock                            locked (flock) while a store has the root open; holds its pid
 *   <root>/buckets/<bucket>/bucket.json          {createdAt}
 *   <root>/buckets/<bucket>/objects/<name>       one file per object (format in `_fs_files.ts`)
 *   <root>/buckets/<bucket>/uploads/<id>/upload.json, part-00001 …   multipart state, survives restarts
 *   <root>/buckets/<bucket>/data/<id>/           part files of a completed multipart object (`_fs_linked.ts`)
 *
 * `<name>` is `k` + hex(UTF-8 key) for keys up to 120 bytes (fits any file system's 255-byte name limit and
 * is case-insensitive-safe), else `h` + sha256(key) with the key kept in the file's metadata. Listing in UTF-8
 * byte order uses a per-bucket sorted key index held in memory, built on first use from one directory scan
 * (file names only, except hashed names) and updated synchronously with each rename/unlink. One store
 * instance owns a root at a time: the lock refuses a second one (another process, or another backend on the root).
 *
 * Writes go to `tmp/`, are fsynced and renamed into place: readers see the old or the new object, never a
 * torn one, and a failed, aborted, short or over-long body (or a full disk → NoSpace) leaves nothing visible.
 * Small PUTs (declared length ≤ 64 KiB) share one flush of a write-ahead log per batch instead (`_fs_group_commit.ts`).
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { ObjectInfo, ObjectStore } from "./mod.ts";
import { drainBody, lettingGo, readSmallBody } from "./_body.ts";
import { validateBucketName, validateKey } from "./_keys.ts";
import { abortAllUploads, copyChecksums, objectPartListing, quoteEtag, type RunningChecksums } from "./_multipart.ts";
import {
  bucketNotEmpty,
  copyAttributes,
  newObjectTags,
  noSuchBucket,
  putObjectInfo,
  servedRange,
  storedAttributes,
  tagCountOf,
} from "./_objects.ts";
import { type FileWriter, mapFsError, readStoredMetaSync, SMALL_FILE, smallFile, syncDir } from "./_fs_files.ts";
import { writeTemp } from "./_fs_temp_file.ts";
import { createFsCore, objectInfo, type ObjectMeta, objectMeta } from "./_fs_core.ts";
import { linkedParts } from "./_fs_linked.ts";
import { fsMultipart } from "./_fs_multipart.ts";

export interface FsStoreOptions {
  root: string;
  /**
   * Free bytes of the file system that writes of objects leave alone (they are refused with NoSpace below it);
   * default 1 GiB, at most a tenth of the file system.
   */
  minFreeBytes?: number;
  clock?: Clock;
}

export async function createFsStore(options: FsStoreOptions): Promise<ObjectStore> {
  const clock = options.clock ?? systemClock();
  const core = await createFsCore(options.root, clock, options.minFreeBytes);
  const {
    root,
    tmp,
    indexes,
    bucketCreatedAt,
    indexOf,
    publishObject,
    discardDir,
    removeObject,
    statObject,
    openObject,
    copyToTemp,
  } = core;
  const { bucketDir, objectPath } = core.paths;
  const multipart = fsMultipart(core);

  return {
    kind: "fs",
    capabilities: { serverSideCopy: true, objectLock: false },
    capacity: () => core.space.capacity(),

    async listBuckets() {
      const names: string[] = [];
      for await (const e of Deno.readDir(`${root}/buckets`)) if (e.isDirectory) names.push(e.name);
      const infos = await Promise.all(
        names.sort().map(async (name) => ({ name, createdAt: await bucketCreatedAt(name) })),
      );
      return infos;
    },

    async createBucket(bucket) {
      validateBucketName(bucket);
      const staging = `${tmp}/${crypto.randomUUID()}`;
      try {
        await Deno.mkdir(`${staging}/objects`, { recursive: true });
        await Deno.mkdir(`${staging}/uploads`);
        await Deno.mkdir(`${staging}/data`);
        await Deno.writeTextFile(`${staging}/bucket.json`, JSON.stringify({ createdAt: clock.now().toISOString() }));
        Deno.renameSync(staging, bucketDir(bucket));
      } catch (err) {
        await Deno.remove(staging, { recursive: true }).catch(() => {});
        const code = (err as { code?: string }).code;
        if (err instanceof Deno.errors.AlreadyExists || code === "ENOTEMPTY" || code === "EEXIST") {
          throw new AppError("BucketAlreadyExists", `Bucket "${bucket}" already exists`, { details: { bucket } });
        }
        throw mapFsError(err);
      }
      await syncDir(`${root}/buckets`);
    },

    async deleteBucket(bucket) {
      const index = await indexOf(bucket);
      if (index.size > 0) throw bucketNotEmpty(bucket);
      // Each aborted as AbortMultipartUpload would: one that is completing finishes first, and is an object then.
      await abortAllUploads(multipart, bucket);
      if (index.size > 0) throw bucketNotEmpty(bucket);
      indexes.delete(bucket);
      await discardDir(bucketDir(bucket), () => noSuchBucket(bucket));
    },

    async headBucket(bucket) {
      return { name: bucket, createdAt: await bucketCreatedAt(bucket) };
    },

    async putObject(bucket, key, body, opts = {}) {
      return await lettingGo(body, async () => {
        validateKey(key);
        await indexOf(bucket);
        const tags = newObjectTags(opts);
        const infoOf = (size: number, md5Hex: string) =>
          putObjectInfo(key, size, quoteEtag(md5Hex), clock.now(), opts, tags);
        const { contentLength } = opts;
        return await core.space.withRoom(contentLength ?? 0, async () => {
          if (core.smallWrites && contentLength !== undefined && contentLength <= SMALL_FILE) {
            const { bytes, size, md5Hex } = await readSmallBody(body, { ...opts, contentLength });
            const info = infoOf(size, md5Hex);
            await core.publishSmall(bucket, key, smallFile(bytes, objectMeta(info, tags)), opts.condition);
            return info;
          }
          let info: ObjectInfo | undefined;
          const fill = async (out: FileWriter) => {
            const { size, md5Hex } = await drainBody(body, opts, out.write, core.bodyHash(opts));
            info = infoOf(size, md5Hex);
            await out.writeMeta(objectMeta(info, tags));
          };
          const tmpPath = await writeTemp(tmp, fill, { expectedBytes: contentLength, direct: core.direct });
          await publishObject(bucket, key, tmpPath, opts.condition);
          return info!;
        });
      });
    },

    async getObject(bucket, key, opts = {}) {
      const { info: stored, source, data, parts } = await openObject(bucket, key);
      try {
        const { info, range, partChecksums } = servedRange(stored, opts, parts);
        // An empty span (an empty object or part) ends at start - 1: the reads below then yield nothing.
        const span = range ?? { start: 0, end: source.size - 1 };
        if (data) {
          // In memory already: the stream is built only for a caller that reads it (nothing to release).
          let body: ReadableStream<Uint8Array> | undefined;
          return {
            info,
            bytes: data.subarray(span.start, span.end + 1),
            get body() {
              return body ??= source.stream(span);
            },
            ...(range ? { range } : {}),
          };
        }
        const body = source.stream(span);
        return { info, body, ...(range ? { range } : {}), ...(partChecksums ? { partChecksums } : {}) };
      } catch (err) {
        source.release();
        throw err;
      }
    },

    headObject: statObject,

    deleteObject: removeObject,

    async copyObject(source, target, opts = {}) {
      validateKey(target.key);
      await indexOf(target.bucket);
      let info: ObjectInfo | undefined;
      let copied: RunningChecksums | undefined;
      const tmpPath = await copyToTemp(
        source,
        (src, size, md5Hex, sourceTags) => {
          const tags = newObjectTags(opts, sourceTags);
          info = {
            key: target.key,
            size,
            etag: md5Hex === undefined ? src.etag : quoteEtag(md5Hex),
            lastModified: clock.now(),
            checksums: copied!.result(),
            ...storedAttributes(copyAttributes(src, opts)),
            ...tagCountOf(tags),
          };
          return objectMeta(info, tags);
        },
        (src) => (copied = copyChecksums({ checksums: src.checksums, range: source.range }, opts)).update,
      );
      await publishObject(target.bucket, target.key, tmpPath);
      return info!;
    },

    async listObjects(bucket, opts = {}) {
      const index = await indexOf(bucket);
      const page = index.list(opts);
      const metas = page.keys.map((k) => readStoredMetaSync<ObjectMeta>(objectPath(bucket, k)));
      return {
        objects: metas.filter((m) => m !== undefined).map(objectInfo),
        commonPrefixes: page.commonPrefixes,
        isTruncated: page.isTruncated,
        ...(page.nextStartAfter !== undefined ? { nextStartAfter: page.nextStartAfter } : {}),
      };
    },

    async getObjectTagging(bucket, key) {
      const opened = await core.readObject(bucket, key);
      opened.file.close();
      return { ...opened.meta.tags };
    },

    async listObjectParts(bucket, key, opts = {}) {
      const opened = await core.readObject(bucket, key);
      opened.file.close();
      const { link, etag } = opened.meta;
      return link && objectPartListing(etag, linkedParts(link), opts);
    },

    putObjectTagging: core.retag,

    ...multipart,

    close() {
      indexes.clear();
      return core.close();
    },
  };
}
