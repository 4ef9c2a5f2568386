/**
 * Where a volume lives in its bucket, and the small helpers that move whole objects in and out.
 *
 * ```
 * <prefix>/volume.json                  size, chunk size, block size, id (rewritten on resize)
 * <prefix>/manifest/base-<seq>          full chunk map as of manifest sequence <seq>
 * <prefix>/manifest/delta-<seq>         chunk map changes committed by one flush
 * <prefix>/snapshots/<name>             frozen chunk map of a snapshot
 * <prefix>/chunks/<index>-<unique>      immutable chunk data (never overwritten)
 * ```
 *
 * @module
 */
import { AppError, isAppError } from "../errors.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { walkObjects } from "../storage/walk.ts";

export interface VolumeMeta {
  id: string;
  sizeBytes: number;
  chunkSize: number;
  blockSize: number;
}

/** Where one volume's objects are. */
export interface VolumeLocation {
  store: ObjectStore;
  bucket: string;
  prefix: string;
}

const SEQ_DIGITS = 16;

export const layout = {
  meta: (prefix: string) => `${prefix}/volume.json`,
  manifestDir: (prefix: string) => `${prefix}/manifest/`,
  base: (prefix: string, seq: number) => `${prefix}/manifest/base-${String(seq).padStart(SEQ_DIGITS, "0")}`,
  delta: (prefix: string, seq: number) => `${prefix}/manifest/delta-${String(seq).padStart(SEQ_DIGITS, "0")}`,
  snapshotDir: (prefix: string) => `${prefix}/snapshots/`,
  snapshot: (prefix: string, name: string) => `${prefix}/snapshots/${name}`,
  chunkDir: (prefix: string) => `${prefix}/chunks/`,
  chunk: (prefix: string, index: number) =>
    `${prefix}/chunks/${index.toString(16).padStart(8, "0")}-${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`,
};

/** Parses `base-…`/`delta-…` names from a manifest listing. */
export function parseManifestKey(prefix: string, key: string): { kind: "base" | "delta"; seq: number } | undefined {
  const m = key.slice(layout.manifestDir(prefix).length).match(/^(base|delta)-(\d{16})$/);
  return m ? { kind: m[1] as "base" | "delta", seq: Number(m[2]) } : undefined;
}

const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function validateSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME.test(name)) {
    throw new AppError(
      "InvalidArgument",
      `Invalid snapshot name "${name}": use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

export async function readBytes(loc: VolumeLocation, key: string): Promise<Uint8Array> {
  const { info, body } = await loc.store.getObject(loc.bucket, key);
  const out = new Uint8Array(info.size);
  let at = 0;
  for await (const part of body) {
    if (at + part.length > out.length) {
      throw new AppError("Integrity", `Object "${key}" is longer than its advertised ${info.size} bytes`);
    }
    out.set(part, at);
    at += part.length;
  }
  if (at !== out.length) throw new AppError("Integrity", `Object "${key}" ended after ${at} of ${info.size} bytes`);
  return out;
}

export async function writeBytes(loc: VolumeLocation, key: string, data: Uint8Array): Promise<void> {
  await loc.store.putObject(loc.bucket, key, ReadableStream.from([data]), { contentLength: data.length });
}

export async function readJson<T>(loc: VolumeLocation, key: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await readBytes(loc, key))) as T;
}

export function writeJson(loc: VolumeLocation, key: string, value: unknown): Promise<void> {
  return writeBytes(loc, key, new TextEncoder().encode(JSON.stringify(value)));
}

/** Every key under `prefix` (follows pagination). */
export async function listKeys(loc: VolumeLocation, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of walkObjects(loc.store, loc.bucket, prefix)) keys.push(o.key);
  return keys;
}

export async function deleteKeys(loc: VolumeLocation, keys: Iterable<string>, concurrency = 8): Promise<number> {
  const queue = [...keys];
  let deleted = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      await loc.store.deleteObject(loc.bucket, key);
      deleted++;
    }
  }));
  return deleted;
}

/** Turns backend failures into the one error the SCSI layer maps to MEDIUM ERROR / NOT READY. */
export function unavailable(action: string, err: unknown): AppError {
  if (isAppError(err, "Unavailable")) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new AppError("Unavailable", `Cannot ${action}: backing store failed: ${reason}`, { cause: err });
}

export async function readMeta(loc: VolumeLocation): Promise<VolumeMeta> {
  try {
    return await readJson<VolumeMeta>(loc, layout.meta(loc.prefix));
  } catch (err) {
    if (isAppError(err, "NoSuchKey", "NoSuchBucket")) {
      throw new AppError("NotFound", `No volume at "${loc.bucket}/${loc.prefix}"`, { cause: err });
    }
    throw err;
  }
}
