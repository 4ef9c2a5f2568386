/**
 * The embedded default backend: objects as files under a root directory.
 *
 * On-disk layout (all names are generated, so no key can ever address a path outside the root):
 *
 *   <root>/tmp/                                  temp files; emptied at open (leftovers of a crash)
 *   <root>/buckets/<bucket>/bucket.json          {createdAt}
 *   <root>/buckets/<bucket>/objects/<name>       one file per object (format in `_fs_files.ts`)
 *   <root>/buckets/<bucket>/uploads/<id>/upload.json, part-00001 …   multipart state, survives restarts
 *
 * `<name>` is `k` + hex(UTF-8 key) for keys up to 120 bytes (fits any file system's 255-byte name limit and
 * is case-insensitive-safe), else `h` + sha256(key) with the key kept in the file's metadata. Listing in UTF-8
 * byte order uses a per-bucket sorted key index held in memory, built on first use from one directory scan
 * (file names only, except hashed names) and updated synchronously with each rename/unlink. One store
 * instance owns a root at a time (the appliance runs one per data dir).
 *
 * Writes go to `tmp/`, are fsynced and renamed into place: readers see the old or the new object, never a
 * torn one, and a failed, aborted, short or over-long body (or a full disk → NoSpace) leaves nothing visible.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { type Clock, systemClock } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { ObjectInfo, ObjectStore, PartInfo, PutOptions } from "./mod.ts";
import { drainBody } from "./_body.ts";
import { validateBucketName, validateKey } from "./_keys.ts";
import {
  compositeChecksums,
  multipartEtag,
  quoteEtag,
  selectCompletedParts,
  validatePartNumber,
} from "./_multipart.ts";
import {
  checkRange,
  copyAttributes,
  noSuchBucket,
  noSuchKey,
  noSuchUpload,
  pageUploads,
  storedAttributes,
} from "./_objects.ts";
import { resolveMaxKeys, SortedKeys } from "./_sorted_keys.ts";
import {
  copyRegion,
  mapFsError,
  openStored,
  readStoredMeta,
  streamRange,
  syncDir,
  writeAll,
  writeMeta,
  writeTemp,
} from "./_fs_files.ts";

export interface FsStoreOptions {
  root: string;
  clock?: Clock;
}

type Stored<T extends { lastModified: Date }> = Omit<T, "lastModified"> & { lastModified: string };
type ObjectMeta = Stored<ObjectInfo>;
type PartMeta = Stored<PartInfo>;
interface UploadMeta {
  key: string;
  initiated: string;
  options: PutOptions;
}

const SHORT_KEY_BYTES = 120;
const UPLOAD_ID = /^[0-9a-f]{32}$/;
const encoder = new TextEncoder();

function fileName(key: string): string {
  const bytes = Buffer.from(encoder.encode(key));
  return bytes.byteLength <= SHORT_KEY_BYTES
    ? `k${bytes.toString("hex")}`
    : `h${createHash("sha256").update(bytes).digest("hex")}`;
}

function toInfo<T extends { lastModified: Date }>(meta: Stored<T>): T {
  return { ...meta, lastModified: new Date(meta.lastModified) } as unknown as T;
}

function isNotFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

export async function createFsStore(options: FsStoreOptions): Promise<ObjectStore> {
  const clock = options.clock ?? systemClock();
  const root = options.root.replace(/\/+$/, "");
  const tmp = `${root}/tmp`;
  await Deno.mkdir(`${root}/buckets`, { recursive: true });
  await Deno.remove(tmp, { recursive: true }).catch((err) => {
    if (!isNotFound(err)) throw err;
  });
  await Deno.mkdir(tmp, { recursive: true });

  const bucketDir = (bucket: string) => `${root}/buckets/${bucket}`;
  const objectsDir = (bucket: string) => `${bucketDir(bucket)}/objects`;
  const objectPath = (bucket: string, key: string) => `${objectsDir(bucket)}/${fileName(key)}`;
  const uploadDir = (bucket: string, id: string) => `${bucketDir(bucket)}/uploads/${id}`;
  const partPath = (bucket: string, id: string, n: number) =>
    `${uploadDir(bucket, id)}/part-${String(n).padStart(5, "0")}`;
  const indexes = new Map<string, Promise<SortedKeys>>();

  async function bucketCreatedAt(bucket: string): Promise<Date> {
    validateBucketName(bucket);
    try {
      const meta = JSON.parse(await Deno.readTextFile(`${bucketDir(bucket)}/bucket.json`)) as { createdAt: string };
      return new Date(meta.createdAt);
    } catch (err) {
      if (isNotFound(err)) throw noSuchBucket(bucket);
      throw err;
    }
  }

  async function loadIndex(bucket: string): Promise<SortedKeys> {
    await bucketCreatedAt(bucket);
    const keys: string[] = [];
    for await (const entry of Deno.readDir(objectsDir(bucket))) {
      if (entry.name.startsWith("k")) keys.push(Buffer.from(entry.name.slice(1), "hex").toString("utf8"));
      else {
        const meta = await readStoredMeta<ObjectMeta>(`${objectsDir(bucket)}/${entry.name}`);
        if (meta) keys.push(meta.key);
      }
    }
    return SortedKeys.from(keys);
  }

  /** The bucket's key index (also the existence check every object operation starts with). */
  function indexOf(bucket: string): Promise<SortedKeys> {
    let index = indexes.get(bucket);
    if (!index) {
      index = loadIndex(bucket);
      indexes.set(bucket, index);
      index.catch(() => indexes.delete(bucket));
    }
    return index;
  }

  /** Renames a finished temp file into place; `commit` runs in the same tick, so index and disk agree. */
  async function rename(tmpPath: string, target: string, onMissing: () => AppError, commit?: () => void) {
    try {
      Deno.renameSync(tmpPath, target);
      commit?.();
    } catch (err) {
      await Deno.remove(tmpPath).catch(() => {});
      throw isNotFound(err) ? onMissing() : err;
    }
    await syncDir(target.slice(0, target.lastIndexOf("/")));
  }

  async function publishObject(bucket: string, key: string, tmpPath: string) {
    const index = await indexOf(bucket);
    await rename(tmpPath, objectPath(bucket, key), () => noSuchBucket(bucket), () => index.add(key));
  }

  /** Removes a directory atomically from view (rename into tmp), then deletes it. */
  async function discardDir(dir: string, onMissing: () => AppError) {
    const trash = `${tmp}/${crypto.randomUUID()}`;
    try {
      Deno.renameSync(dir, trash);
    } catch (err) {
      throw isNotFound(err) ? onMissing() : err;
    }
    await Deno.remove(trash, { recursive: true });
  }

  async function openObject(bucket: string, key: string) {
    await indexOf(bucket);
    const opened = await openStored<ObjectMeta>(objectPath(bucket, key));
    if (opened && opened.meta.key === key) return { ...opened, info: toInfo<ObjectInfo>(opened.meta) };
    opened?.file.close();
    throw noSuchKey(bucket, key);
  }

  /** Copies (a range of) a stored object into a new temp file, returning its path, size and MD5 when hashed. */
  async function copyToTemp(
    source: { bucket: string; key: string; range?: { start: number; end: number } },
    finish: (info: ObjectInfo, size: number, md5Hex?: string) => unknown,
  ) {
    const src = await openObject(source.bucket, source.key);
    try {
      const range = source.range ? checkRange(source.range, src.dataSize) : undefined;
      const start = range?.start ?? 0;
      const size = range ? range.end - range.start + 1 : src.dataSize;
      const hash = range ? createHash("md5") : undefined;
      return await writeTemp(tmp, async (file) => {
        await copyRegion(src.file, start, size, file, hash && ((c) => hash.update(c)));
        await writeMeta(file, finish(src.info, size, hash?.digest("hex")));
      });
    } finally {
      src.file.close();
    }
  }

  async function readUpload(bucket: string, key: string, uploadId: string): Promise<UploadMeta> {
    await indexOf(bucket);
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    try {
      const meta = JSON.parse(await Deno.readTextFile(`${uploadDir(bucket, uploadId)}/upload.json`)) as UploadMeta;
      if (meta.key !== key) throw noSuchUpload(uploadId);
      return meta;
    } catch (err) {
      throw isNotFound(err) ? noSuchUpload(uploadId) : err;
    }
  }

  async function partNumbers(bucket: string, uploadId: string): Promise<number[]> {
    const numbers: number[] = [];
    for await (const e of Deno.readDir(uploadDir(bucket, uploadId))) {
      if (e.name.startsWith("part-")) numbers.push(Number(e.name.slice(5)));
    }
    return numbers.sort((a, b) => a - b);
  }

  async function readParts(bucket: string, uploadId: string, numbers: number[]): Promise<PartInfo[]> {
    const metas = await Promise.all(numbers.map((n) => readStoredMeta<PartMeta>(partPath(bucket, uploadId, n))));
    return metas.filter((m) => m !== undefined).map((m) => toInfo<PartInfo>(m));
  }

  async function publishPart(bucket: string, uploadId: string, partNumber: number, tmpPath: string) {
    await rename(tmpPath, partPath(bucket, uploadId, partNumber), () => noSuchUpload(uploadId));
  }

  return {
    kind: "fs",
    capabilities: { serverSideCopy: true, objectLock: false },

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
      let pending = false;
      for await (const _ of Deno.readDir(`${bucketDir(bucket)}/uploads`)) pending = true;
      if (index.size > 0 || pending) {
        throw new AppError("BucketNotEmpty", `Bucket "${bucket}" is not empty`, { details: { bucket } });
      }
      indexes.delete(bucket);
      await discardDir(bucketDir(bucket), () => noSuchBucket(bucket));
    },

    async headBucket(bucket) {
      return { name: bucket, createdAt: await bucketCreatedAt(bucket) };
    },

    async putObject(bucket, key, body, opts = {}) {
      validateKey(key);
      await indexOf(bucket);
      let info: ObjectInfo | undefined;
      const tmpPath = await writeTemp(tmp, async (file) => {
        const { size, md5Hex } = await drainBody(body, opts, (chunk) => writeAll(file, chunk));
        info = {
          key,
          size,
          etag: quoteEtag(md5Hex),
          lastModified: clock.now(),
          checksums: { ...opts.checksums },
          ...storedAttributes(opts),
        };
        await writeMeta(file, info);
      });
      await publishObject(bucket, key, tmpPath);
      return info!;
    },

    async getObject(bucket, key, opts = {}) {
      const { file, info, dataSize } = await openObject(bucket, key);
      try {
        const range = opts.range ? checkRange(opts.range, dataSize) : undefined;
        const body = streamRange(file, range ?? { start: 0, end: dataSize - 1 });
        return { info, body, ...(range ? { range } : {}) };
      } catch (err) {
        file.close();
        throw err;
      }
    },

    async headObject(bucket, key) {
      const { file, info } = await openObject(bucket, key);
      file.close();
      return info;
    },

    async deleteObject(bucket, key) {
      const index = await indexOf(bucket);
      try {
        Deno.removeSync(objectPath(bucket, key));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      index.delete(key);
    },

    async copyObject(source, target, opts = {}) {
      validateKey(target.key);
      await indexOf(target.bucket);
      let info: ObjectInfo | undefined;
      const tmpPath = await copyToTemp(source, (src, size, md5Hex) => {
        const whole = md5Hex === undefined;
        info = {
          key: target.key,
          size,
          etag: md5Hex === undefined ? src.etag : quoteEtag(md5Hex),
          ...(whole && src.partsCount !== undefined ? { partsCount: src.partsCount } : {}),
          lastModified: clock.now(),
          checksums: whole ? { ...src.checksums } : { ...opts.checksums },
          ...storedAttributes(copyAttributes(src, opts)),
        };
        return info;
      });
      await publishObject(target.bucket, target.key, tmpPath);
      return info!;
    },

    async listObjects(bucket, opts = {}) {
      const index = await indexOf(bucket);
      const page = index.list(opts);
      const metas = await Promise.all(page.keys.map((k) => readStoredMeta<ObjectMeta>(objectPath(bucket, k))));
      return {
        objects: metas.filter((m) => m !== undefined).map((m) => toInfo<ObjectInfo>(m)),
        commonPrefixes: page.commonPrefixes,
        isTruncated: page.isTruncated,
        ...(page.nextStartAfter !== undefined ? { nextStartAfter: page.nextStartAfter } : {}),
      };
    },

    async createMultipartUpload(bucket, key, opts = {}) {
      validateKey(key);
      await indexOf(bucket);
      const uploadId = crypto.randomUUID().replaceAll("-", "");
      const { signal: _signal, ...options } = opts;
      const staging = `${tmp}/${crypto.randomUUID()}`;
      try {
        await Deno.mkdir(staging);
        const meta: UploadMeta = { key, initiated: clock.now().toISOString(), options };
        await Deno.writeTextFile(`${staging}/upload.json`, JSON.stringify(meta));
        await rename(staging, uploadDir(bucket, uploadId), () => noSuchBucket(bucket));
      } catch (err) {
        await Deno.remove(staging, { recursive: true }).catch(() => {});
        throw mapFsError(err);
      }
      return uploadId;
    },

    async uploadPart(bucket, key, upload, body, opts = {}) {
      validatePartNumber(upload.partNumber);
      await readUpload(bucket, key, upload.uploadId);
      let info: PartInfo | undefined;
      const tmpPath = await writeTemp(tmp, async (file) => {
        const { size, md5Hex } = await drainBody(body, opts, (chunk) => writeAll(file, chunk));
        info = {
          partNumber: upload.partNumber,
          etag: quoteEtag(md5Hex),
          size,
          lastModified: clock.now(),
          checksums: { ...opts.checksums },
        };
        await writeMeta(file, info);
      });
      await publishPart(bucket, upload.uploadId, upload.partNumber, tmpPath);
      return info!;
    },

    async uploadPartCopy(source, target) {
      validatePartNumber(target.partNumber);
      await readUpload(target.bucket, target.key, target.uploadId);
      let info: PartInfo | undefined;
      const tmpPath = await copyToTemp(
        { ...source, range: source.range ?? { start: 0, end: Number.MAX_SAFE_INTEGER } },
        (_src, size, md5Hex) => {
          info = {
            partNumber: target.partNumber,
            etag: quoteEtag(md5Hex!),
            size,
            lastModified: clock.now(),
            checksums: {},
          };
          return info;
        },
      );
      await publishPart(target.bucket, target.uploadId, target.partNumber, tmpPath);
      return info!;
    },

    async completeMultipartUpload(bucket, key, uploadId, parts) {
      const upload = await readUpload(bucket, key, uploadId);
      const stored = await readParts(
        bucket,
        uploadId,
        parts.map((p) => p.partNumber).filter((n) => Number.isInteger(n) && n >= 1 && n <= 10_000),
      );
      const selected = selectCompletedParts(parts, new Map(stored.map((p) => [p.partNumber, p])));
      const info: ObjectInfo = {
        key,
        size: selected.reduce((s, p) => s + p.size, 0),
        etag: multipartEtag(selected),
        lastModified: clock.now(),
        partsCount: selected.length,
        checksums: { ...upload.options.checksums, ...compositeChecksums(selected) },
        ...storedAttributes(upload.options),
      };
      const tmpPath = await writeTemp(tmp, async (file) => {
        for (const part of selected) {
          const opened = await openStored<PartMeta>(partPath(bucket, uploadId, part.partNumber));
          if (!opened) {
            throw new AppError("InvalidPart", `Part ${part.partNumber} disappeared`, {
              details: { partNumber: part.partNumber },
            });
          }
          try {
            await copyRegion(opened.file, 0, opened.dataSize, file);
          } finally {
            opened.file.close();
          }
        }
        await writeMeta(file, info);
      });
      await publishObject(bucket, key, tmpPath);
      await discardDir(uploadDir(bucket, uploadId), () => noSuchUpload(uploadId)).catch(() => {});
      return info;
    },

    async abortMultipartUpload(bucket, key, uploadId) {
      await readUpload(bucket, key, uploadId);
      await discardDir(uploadDir(bucket, uploadId), () => noSuchUpload(uploadId));
    },

    async listParts(bucket, key, uploadId, opts = {}) {
      await readUpload(bucket, key, uploadId);
      const maxParts = resolveMaxKeys(opts.maxParts);
      const numbers = (await partNumbers(bucket, uploadId)).filter((n) => n > (opts.partNumberMarker ?? 0));
      const parts = await readParts(bucket, uploadId, numbers.slice(0, maxParts));
      const isTruncated = numbers.length > maxParts;
      return {
        parts,
        isTruncated,
        ...(isTruncated ? { nextPartNumberMarker: parts[parts.length - 1]!.partNumber } : {}),
      };
    },

    async listMultipartUploads(bucket, opts = {}) {
      await indexOf(bucket);
      const uploads = [];
      for await (const e of Deno.readDir(`${bucketDir(bucket)}/uploads`)) {
        try {
          const meta = JSON.parse(await Deno.readTextFile(`${uploadDir(bucket, e.name)}/upload.json`)) as UploadMeta;
          uploads.push({ uploadId: e.name, key: meta.key, initiated: new Date(meta.initiated) });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return pageUploads(uploads, opts);
    },

    close() {
      indexes.clear();
      return Promise.resolve();
    },
  };
}
