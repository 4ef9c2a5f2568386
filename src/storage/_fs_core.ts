/**
 * Shared internals of the fs backend: paths, the per-bucket key index, atomic publish and removal.
 * The layout and its reasons are described in `fs.ts`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { Clock } from "../clock.ts";
import { AppError } from "../errors.ts";
import {
  checkWriteCondition,
  type CopySource,
  type ObjectInfo,
  type ObjectPart,
  type ObjectTags,
  type PartInfo,
  type PutOptions,
  type WriteCondition,
} from "./mod.ts";
import { validateBucketName } from "./_keys.ts";
import { checkRange, checkSourceVersion, noSuchBucket, noSuchKey, tagCountOf } from "./_objects.ts";
import { SortedKeys } from "./_sorted_keys.ts";
import {
  createDirSyncer,
  isNotFound,
  mapFsError,
  type OpenedFile,
  openStored,
  readStoredMeta,
  readStoredMetaSync,
} from "./_fs_files.ts";
import { writeTemp } from "./_fs_temp_file.ts";
import { createGroupCommit } from "./_fs_group_commit.ts";
import { replaySmallLog } from "./_fs_small_log.ts";
import { createLinks, type Link, linkedParts } from "./_fs_linked.ts";
import { type DataSource, fileSource, openPositional, type SegmentFile } from "./_fs_read.ts";
import { createMd5Offload } from "./_fs_md5.ts";
import { copyKeepsEtag } from "./_multipart.ts";
import { openDirectWrites } from "./_fs_direct.ts";
import { openDirectReads } from "./_fs_direct_read.ts";
import { createSpaceGuard } from "./_fs_space.ts";
import { lockExclusively } from "../exclusive_lock.ts";
import type { BodyHash } from "./_body.ts";

export type Stored<T extends { lastModified: Date }> = Omit<T, "lastModified"> & { lastModified: string };
/** What an object file's metadata holds: the object's info, its tags, and where its data is when it is linked. */
export type ObjectMeta = Stored<Omit<ObjectInfo, "tagCount">> & { link?: Link; tags?: ObjectTags };
export type PartMeta = Stored<PartInfo>;
export interface UploadMeta {
  key: string;
  initiated: string;
  options: PutOptions;
}

const SHORT_KEY_BYTES = 120;
const OFFLOAD_MD5_BYTES = 1024 * 1024;
const encoder = new TextEncoder();

function fileName(key: string): string {
  const bytes = encoder.encode(key);
  return bytes.byteLength <= SHORT_KEY_BYTES
    ? `k${bytes.toHex()}`
    : `h${createHash("sha256").update(bytes).digest("hex")}`;
}

export function toInfo<T extends { lastModified: Date }>(meta: Stored<T>): T {
  return { ...meta, lastModified: new Date(meta.lastModified) } as unknown as T;
}

export function objectInfo(meta: ObjectMeta): ObjectInfo {
  const { link: _link, tags, ...stored } = meta;
  const info = toInfo<ObjectInfo>(stored);
  if (tags) Object.assign(info, tagCountOf(tags));
  return info;
}

/** An object's metadata to store: its description (without `tagCount`) and its tags, when it has any. */
export function objectMeta<T extends { tagCount?: number; tags?: ObjectTags }>(
  info: T,
  tags: ObjectTags,
): Omit<T, "tagCount" | "tags"> & { tags?: ObjectTags } {
  const { tagCount: _count, tags: _old, ...kept } = info;
  return Object.keys(tags).length > 0 ? { ...kept, tags } : kept;
}

/** Thrown inside a retag's publication when the object changed since it was read: the retag starts over. */
class ObjectChanged extends Error {}

export type FsCore = Awaited<ReturnType<typeof createFsCore>>;

/**
 * Prepares `root` (emptying `tmp/`, which only holds leftovers of interrupted writes, then replaying the log of
 * small objects) and returns the internals.
 */
export async function createFsCore(rootDir: string, clock: Clock, minFreeBytes?: number) {
  const root = rootDir.replace(/\/+$/, "");
  const tmp = `${root}/tmp`;
  await Deno.mkdir(`${root}/buckets`, { recursive: true });
  // Opening empties tmp/ and replays the log: a second store on the root would do that under the first one's feet.
  const lock = await lockExclusively(
    `${root}/store.lock`,
    `The fs store ${root} is open elsewhere (another backend or another process); one store owns a root at a time`,
  );
  try {
    await Deno.remove(tmp, { recursive: true }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    await Deno.mkdir(tmp, { recursive: true });
    replaySmallLog(root, tmp);
  } catch (err) {
    lock.release();
    throw err;
  }

  const bucketDir = (bucket: string) => `${root}/buckets/${bucket}`;
  const objectsDir = (bucket: string) => `${bucketDir(bucket)}/objects`;
  const objectPath = (bucket: string, key: string) => `${objectsDir(bucket)}/${fileName(key)}`;
  const uploadDir = (bucket: string, id: string) => `${bucketDir(bucket)}/uploads/${id}`;
  const partName = (n: number) => `part-${String(n).padStart(5, "0")}`;
  const partPath = (bucket: string, id: string, n: number) => `${uploadDir(bucket, id)}/${partName(n)}`;
  const indexes = new Map<string, Promise<SortedKeys>>();
  /** Per bucket: key → upload id of every linked object (set up with the bucket's index). */
  const linkedKeys = new Map<string, Map<string, string>>();
  const syncDir = createDirSyncer();
  /** Files go direct where not cached once a reader hands its chunks on; undefined without FFI or libc. */
  const directReads = openDirectReads();
  /**
   * What lets the file at `path` go direct; with `same`, only while `path` still names that file (an object's file
   * may be replaced by a rename while it is read).
   */
  const goesDirect = (path: string, same?: Deno.FsFile): Pick<SegmentFile, "coldDirect"> =>
    directReads ? { coldDirect: (first, last) => directReads.openIfCold(path, first, last, same) } : {};
  const openPartFile = async (path: string): Promise<SegmentFile> => ({
    ...await openPositional(path),
    ...goesDirect(path),
  });
  const objectFileSource = (opened: OpenedFile<ObjectMeta>, path: string) =>
    fileSource(opened, (file) => goesDirect(path, file));
  const links = createLinks({ bucketDir, objectPath, partName, syncDir, discardDir, openPartFile });
  const md5 = createMd5Offload();
  /** O_DIRECT writes of the full blocks of uploads; undefined without FFI or libc. */
  const direct = openDirectWrites();
  const group = createGroupCommit(root);
  const space = createSpaceGuard(root, minFreeBytes);
  /** Bodies of a known length of at least 1 MiB are hashed on the MD5 worker, smaller ones inline. */
  const bodyHash = (opts: { contentLength?: number }): BodyHash | undefined =>
    opts.contentLength !== undefined && opts.contentLength >= OFFLOAD_MD5_BYTES ? md5.create() : undefined;
  const pathQueues = new Map<string, Promise<unknown>>();

  /**
   * Runs the changes to one path (rename into place or unlink, each with its index update) one after another,
   * so an index update always follows the disk change it describes even though the rename is asynchronous.
   */
  function serialized<T>(path: string, change: () => Promise<T>): Promise<T> {
    const run = (pathQueues.get(path) ?? Promise.resolve()).then(change);
    const tail = run.catch(() => {});
    pathQueues.set(path, tail);
    tail.then(() => {
      if (pathQueues.get(path) === tail) pathQueues.delete(path);
    });
    return run;
  }

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
    linkedKeys.set(bucket, await links.recover(bucket));
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

  /**
   * Renames a finished temp file into place and runs `commit` right after it (serialized per target path, so
   * index and disk agree), then waits for the directory fsync that makes the rename durable. A `precheck` that
   * throws, run in the same turn, cancels the rename.
   */
  async function rename(
    tmpPath: string,
    target: string,
    onMissing: () => AppError,
    commit?: () => void,
    precheck?: () => void,
  ) {
    await serialized(target, async () => {
      try {
        await group?.settle(target);
        precheck?.();
        await Deno.rename(tmpPath, target);
        commit?.();
      } catch (err) {
        await Deno.remove(tmpPath).catch(() => {});
        throw isNotFound(err) ? onMissing() : err;
      }
    });
    await syncDir(target.slice(0, target.lastIndexOf("/")));
  }

  /**
   * A check that `condition` holds for what is stored at `key` now, for a publication to run right before it
   * replaces the file (in the same serialized turn, so no other change to the key comes in between).
   */
  function conditionCheck(bucket: string, key: string, condition: WriteCondition | undefined) {
    if (condition === undefined) return undefined;
    return () => {
      const meta = readStoredMetaSync<ObjectMeta>(objectPath(bucket, key));
      checkWriteCondition(condition, meta?.key === key ? meta.etag : undefined, key);
    };
  }

  /** The linked keys of a bucket whose index is loaded. */
  const linkedOf = (bucket: string) => linkedKeys.get(bucket) ?? new Map<string, string>();

  /**
   * Publishes a finished temp file as `key` if `condition` holds then (else removes it); the data of a linked object
   * it replaces is removed once durable.
   */
  async function publishObject(bucket: string, key: string, tmpPath: string, condition?: WriteCondition) {
    const index = await indexOf(bucket);
    let replaced: string | undefined;
    await rename(tmpPath, objectPath(bucket, key), () => noSuchBucket(bucket), () => {
      index.add(key);
      replaced = linkedOf(bucket).get(key);
      linkedOf(bucket).delete(key);
    }, conditionCheck(bucket, key, condition));
    if (replaced !== undefined) await links.retire(bucket, replaced);
  }

  /**
   * Publishes an object file held in memory (a small PUT) through the group commit, if `condition` holds then.
   * Only when `smallWrites` is true.
   */
  async function publishSmall(
    bucket: string,
    key: string,
    file: { size: number; write(out: Uint8Array): void },
    condition?: WriteCondition,
  ) {
    const index = await indexOf(bucket);
    const target = objectPath(bucket, key);
    const precheck = conditionCheck(bucket, key, condition);
    let replaced: string | undefined;
    await serialized(target, async () => {
      try {
        precheck?.();
        await group!.publish({ target, ...file }, () => {
          index.add(key);
          replaced = linkedOf(bucket).get(key);
          linkedOf(bucket).delete(key);
        });
      } catch (err) {
        throw isNotFound(err) ? noSuchBucket(bucket) : mapFsError(err);
      }
    });
    if (replaced !== undefined) await links.retire(bucket, replaced);
  }

  /**
   * Publishes the manifest of a completed upload (commit point) if `condition` holds then, then moves the upload's
   * directory to `data/`. Runs serialized on the object's path, so no other change to the key interleaves.
   */
  async function publishLinked(
    bucket: string,
    key: string,
    uploadId: string,
    manifestPath: string,
    condition?: WriteCondition,
  ) {
    const index = await indexOf(bucket);
    const target = objectPath(bucket, key);
    const precheck = conditionCheck(bucket, key, condition);
    let replaced: string | undefined;
    await serialized(target, async () => {
      try {
        await group?.settle(target);
        precheck?.();
        await Deno.rename(manifestPath, target);
      } catch (err) {
        await Deno.remove(manifestPath).catch(() => {});
        throw isNotFound(err) ? noSuchBucket(bucket) : err;
      }
      index.add(key);
      replaced = linkedOf(bucket).get(key);
      linkedOf(bucket).set(key, uploadId);
      await syncDir(objectsDir(bucket));
      await Deno.rename(uploadDir(bucket, uploadId), links.dataDir(bucket, uploadId));
      await Promise.all([syncDir(`${bucketDir(bucket)}/data`), syncDir(`${bucketDir(bucket)}/uploads`)]);
    });
    if (replaced !== undefined && replaced !== uploadId) await links.retire(bucket, replaced);
  }

  async function removeObject(bucket: string, key: string, options: { condition?: WriteCondition } = {}) {
    const index = await indexOf(bucket);
    const path = objectPath(bucket, key);
    const precheck = conditionCheck(bucket, key, options.condition);
    let replaced: string | undefined;
    await serialized(path, async () => {
      await group?.settle(path);
      precheck?.();
      await Deno.remove(path).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      index.delete(key);
      replaced = linkedOf(bucket).get(key);
      linkedOf(bucket).delete(key);
    });
    if (replaced === undefined) return;
    await syncDir(objectsDir(bucket));
    await links.retire(bucket, replaced);
  }

  /** Removes a directory atomically from view (rename into tmp), then deletes it. */
  async function discardDir(dir: string, onMissing: () => AppError) {
    const trash = `${tmp}/${crypto.randomUUID()}`;
    try {
      await group?.settleUnder(dir);
      await Deno.rename(dir, trash);
    } catch (err) {
      throw isNotFound(err) ? onMissing() : err;
    }
    await Deno.remove(trash, { recursive: true });
  }

  async function readObject(bucket: string, key: string) {
    await indexOf(bucket);
    const opened = await openStored<ObjectMeta>(objectPath(bucket, key));
    if (opened && opened.meta.key === key) return opened;
    opened?.file.close();
    throw noSuchKey(bucket, key);
  }

  async function statObject(bucket: string, key: string): Promise<ObjectInfo> {
    const opened = await readObject(bucket, key);
    opened.file.close();
    return objectInfo(opened.meta);
  }

  /**
   * Opens an object's data; the caller releases `source` (a stream of it releases it when done). `data` is the
   * whole data when the object was small enough to be read at once; `parts` a multipart object's parts.
   */
  async function openObject(
    bucket: string,
    key: string,
  ): Promise<
    { info: ObjectInfo; tags: ObjectTags; source: DataSource; data?: Uint8Array<ArrayBuffer>; parts?: ObjectPart[] }
  > {
    for (let attempt = 0; attempt < 100; attempt++) {
      const opened = await readObject(bucket, key);
      const info = objectInfo(opened.meta);
      const { link, tags = {} } = opened.meta;
      if (!link) {
        const source = objectFileSource(opened, objectPath(bucket, key));
        return { info, tags, source, ...(opened.data ? { data: opened.data } : {}) };
      }
      opened.file.close();
      const source = links.source(bucket, link);
      if (linkedOf(bucket).get(key) === link.uploadId) {
        return { info, tags, source, parts: linkedParts(link) };
      }
      // Replaced between reading the manifest and pinning its data: read the newer version.
      source.release();
    }
    throw new AppError("Internal", `Object "${key}" keeps changing while it is opened`);
  }

  /**
   * Copies (a range of) a stored object into a new temp file, returning its path, size and MD5 when hashed; the
   * function `chunkSink` returns for the source (when it returns one) sees the copied bytes too.
   */
  async function copyToTemp(
    source: CopySource,
    finish: (info: ObjectInfo, size: number, md5Hex: string | undefined, tags: ObjectTags) => unknown,
    chunkSink?: (info: ObjectInfo) => ((chunk: Uint8Array) => void) | undefined,
  ) {
    const src = await openObject(source.bucket, source.key);
    try {
      // The opened version is the one read from here on, whatever replaces it meanwhile.
      checkSourceVersion(source, src.info.etag);
      const onChunk = chunkSink?.(src.info);
      const range = source.range ? checkRange(source.range, src.source.size) : undefined;
      const start = range?.start ?? 0;
      const size = range ? range.end - range.start + 1 : src.source.size;
      const hash = copyKeepsEtag(src.info, range) ? undefined : createHash("md5");
      return await space.withRoom(size, () =>
        writeTemp(tmp, async (out) => {
          await src.source.copy(start, size, out, (c) => {
            hash?.update(c);
            onChunk?.(c);
          });
          await out.writeMeta(finish(src.info, size, hash?.digest("hex"), src.tags));
        }));
    } finally {
      src.source.release();
    }
  }

  /**
   * Gives an object new tags (none: `{}`) by writing its file again with the same data and info (a linked object's
   * manifest only), published only over the version it was read from: when another write comes first, it starts
   * over on that one.
   */
  async function retag(bucket: string, key: string, tags: ObjectTags) {
    const target = objectPath(bucket, key);
    for (let attempt = 0; attempt < 100; attempt++) {
      const opened = await readObject(bucket, key);
      const meta: ObjectMeta = objectMeta(opened.meta, tags);
      // A linked object's data stays where it is: only its manifest is written again.
      let source: DataSource | undefined;
      if (meta.link) opened.file.close();
      else source = fileSource(opened);
      let tmpPath: string;
      try {
        tmpPath = await space.withRoom(source?.size ?? 0, () =>
          writeTemp(tmp, async (out) => {
            await source?.copy(0, source.size, out);
            await out.writeMeta(meta);
          }));
      } finally {
        source?.release();
      }
      const unchanged = () => {
        const now = readStoredMetaSync<ObjectMeta>(target);
        const same = now?.key === key && now.etag === meta.etag && now.lastModified === meta.lastModified &&
          now.link?.uploadId === meta.link?.uploadId;
        if (!same) throw new ObjectChanged();
      };
      try {
        await rename(tmpPath, target, () => noSuchBucket(bucket), undefined, unchanged);
        return;
      } catch (err) {
        if (!(err instanceof ObjectChanged)) throw err;
      }
    }
    throw new AppError("Internal", `Object "${key}" keeps changing while its tags are written`);
  }

  return {
    root,
    tmp,
    clock,
    indexes,
    paths: { bucketDir, objectsDir, objectPath, uploadDir, partPath },
    linkedDir: links.dataDir,
    bodyHash,
    direct,
    space,
    /** Whether small objects go through the group commit (`publishSmall`). */
    smallWrites: group !== undefined,
    /** Stops the workers (the group commit retires its log first) and lets go of the root. */
    async close() {
      md5.close();
      direct?.close();
      directReads?.close();
      await group?.close();
      lock.release();
    },
    bucketCreatedAt,
    indexOf,
    serialized,
    rename,
    publishObject,
    publishSmall,
    publishLinked,
    removeObject,
    discardDir,
    readObject,
    statObject,
    openObject,
    copyToTemp,
    retag,
  };
}
