/**
 * Volume creation, snapshots, clones and rollback, all copy-on-write of chunks: a snapshot is a frozen copy
 * of the chunk map (the chunk objects it names are never overwritten, only garbage collected once nothing
 * references them); a clone is a new volume whose first chunk map names its parent's chunk objects.
 *
 * @module
 */
import { AppError, isAppError } from "../errors.ts";
import { docToMap, type ManifestDoc, writeInitialManifest } from "./chunk_map.ts";
import {
  deleteKeys,
  layout,
  listKeys,
  readJson,
  validateSnapshotName,
  type VolumeLocation,
  type VolumeMeta,
  writeJson,
} from "./layout.ts";
import type { Volume } from "./volume.ts";

export interface SnapshotInfo {
  name: string;
  createdAt: string;
  chunks: number;
}

interface SnapshotDoc extends ManifestDoc {
  createdAt: string;
  sizeBytes: number;
}

const MIN_CHUNK = 64 * 1024;
const MAX_CHUNK = 64 * 1024 * 1024;

function validateMeta(meta: VolumeMeta): void {
  const { sizeBytes, chunkSize, blockSize } = meta;
  if (blockSize !== 512 && blockSize !== 4096) {
    throw new AppError("InvalidArgument", `Block size must be 512 or 4096, got ${blockSize}`);
  }
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK || chunkSize % blockSize) {
    throw new AppError(
      "InvalidArgument",
      `Chunk size must be a multiple of the block size between ${MIN_CHUNK} and ${MAX_CHUNK}, got ${chunkSize}`,
    );
  }
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % blockSize !== 0) {
    throw new AppError("InvalidArgument", `Volume size must be a positive multiple of ${blockSize}, got ${sizeBytes}`);
  }
}

/** Write a new volume's objects (its description and first chunk map); refuses to overwrite a volume. */
export async function initVolume(
  loc: VolumeLocation,
  meta: VolumeMeta,
  chunks: Map<number, string> = new Map(),
): Promise<void> {
  validateMeta(meta);
  const existing = await loc.store.headObject(loc.bucket, layout.meta(loc.prefix)).catch((err) => {
    if (isAppError(err, "NoSuchKey")) return undefined;
    throw err;
  });
  if (existing) throw new AppError("Conflict", `A volume already exists at "${loc.bucket}/${loc.prefix}"`);
  await writeInitialManifest(loc, chunks);
  await writeJson(loc, layout.meta(loc.prefix), meta);
}

/** Flush the volume and freeze its chunk map under `name`. */
export async function createSnapshot(volume: Volume, loc: VolumeLocation, name: string, now: Date) {
  validateSnapshotName(name);
  if ((await listSnapshots(loc)).some((s) => s.name === name)) {
    throw new AppError("Conflict", `Snapshot "${name}" of volume "${volume.id}" already exists`);
  }
  await volume.flush();
  const doc: SnapshotDoc = { createdAt: now.toISOString(), sizeBytes: volume.sizeBytes, ...volume.chunkMap.toDoc() };
  await writeJson(loc, layout.snapshot(loc.prefix, name), doc);
  return { name, createdAt: doc.createdAt, chunks: doc.chunks.length } satisfies SnapshotInfo;
}

export async function readSnapshot(loc: VolumeLocation, name: string) {
  validateSnapshotName(name);
  try {
    const doc = await readJson<SnapshotDoc>(loc, layout.snapshot(loc.prefix, name));
    return { createdAt: doc.createdAt, sizeBytes: doc.sizeBytes, chunks: docToMap(doc) };
  } catch (err) {
    if (isAppError(err, "NoSuchKey")) throw new AppError("NotFound", `No snapshot "${name}" in "${loc.prefix}"`);
    throw err;
  }
}

export async function listSnapshots(loc: VolumeLocation): Promise<SnapshotInfo[]> {
  const keys = await listKeys(loc, layout.snapshotDir(loc.prefix));
  return await Promise.all(keys.map(async (key) => {
    const doc = await readJson<SnapshotDoc>(loc, key);
    return {
      name: key.slice(layout.snapshotDir(loc.prefix).length),
      createdAt: doc.createdAt,
      chunks: doc.chunks.length,
    };
  }));
}

export async function deleteSnapshot(loc: VolumeLocation, name: string): Promise<void> {
  await readSnapshot(loc, name);
  await loc.store.deleteObject(loc.bucket, layout.snapshot(loc.prefix, name));
}

/** Restore the volume's contents to the snapshot (the volume keeps its current size). */
export async function rollbackToSnapshot(volume: Volume, loc: VolumeLocation, name: string): Promise<void> {
  const snapshot = await readSnapshot(loc, name);
  await volume.rollback(snapshot.chunks);
}

/** A new volume at `target` whose chunk map is the snapshot's (no data is copied). */
export async function cloneFromSnapshot(
  source: VolumeLocation,
  name: string,
  target: VolumeLocation,
  meta: Omit<VolumeMeta, "sizeBytes"> & { sizeBytes?: number },
  sourceMeta: VolumeMeta,
): Promise<VolumeMeta> {
  if (meta.chunkSize !== sourceMeta.chunkSize || meta.blockSize !== sourceMeta.blockSize) {
    throw new AppError("InvalidArgument", "A clone keeps its parent's chunk size and block size");
  }
  const snapshot = await readSnapshot(source, name);
  const full: VolumeMeta = { ...meta, sizeBytes: Math.max(meta.sizeBytes ?? 0, snapshot.sizeBytes) };
  await initVolume(target, full, snapshot.chunks);
  return full;
}

/** Remove a volume's description, chunk maps and snapshots; its chunks go with the next garbage collection. */
export async function deleteVolumeObjects(loc: VolumeLocation): Promise<void> {
  const keys = [
    ...await listKeys(loc, layout.snapshotDir(loc.prefix)),
    ...await listKeys(loc, layout.manifestDir(loc.prefix)),
    layout.meta(loc.prefix),
  ];
  await deleteKeys(loc, keys);
}
