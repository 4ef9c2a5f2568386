/**
 * Mark-and-sweep garbage collection of chunk objects in one bucket. Marks every chunk named by a live chunk
 * map, a snapshot, or an upload in flight, across all volumes of the bucket (clones reference their parent's
 * chunks); sweeps unmarked objects under the given volume prefixes (live ones and deleted ones).
 *
 * The sweep listing is taken BEFORE marking: a chunk listed then is either committed by mark time, in flight,
 * or garbage. Callers serialize collection with snapshot creation (the service holds one lock for both).
 *
 * @module
 */
import { docToMap, loadChunkMap, type ManifestDoc } from "./chunk_map.ts";
import { deleteKeys, layout, listKeys, readJson, type VolumeLocation } from "./layout.ts";
import type { Volume } from "./volume.ts";

export interface GcVolume {
  prefix: string;
  /** The open volume, when there is one: its in-memory map and in-flight uploads are authoritative. */
  open?: Volume;
}

export interface GcResult {
  scanned: number;
  deleted: number;
  /** Per swept prefix: chunks that stay because some chunk map still names them. */
  kept: Record<string, number>;
}

export async function collectGarbage(
  loc: Omit<VolumeLocation, "prefix">,
  volumes: GcVolume[],
  sweepPrefixes: string[],
): Promise<GcResult> {
  const at = (prefix: string): VolumeLocation => ({ ...loc, prefix });
  const candidates = new Map<string, string[]>();
  for (const prefix of sweepPrefixes) candidates.set(prefix, await listKeys(at(prefix), layout.chunkDir(prefix)));

  const marked = new Set<string>();
  for (const v of volumes) {
    for (const key of await listKeys(at(v.prefix), layout.snapshotDir(v.prefix))) {
      for (const chunk of docToMap(await readJson<ManifestDoc>(at(v.prefix), key)).values()) marked.add(chunk);
    }
    if (v.open) {
      for (const key of v.open.inFlightKeys()) marked.add(key);
      for (const [, key] of v.open.chunkMap.entries()) marked.add(key);
    } else {
      for (const [, key] of (await loadChunkMap(at(v.prefix))).entries()) marked.add(key);
    }
  }

  const result: GcResult = { scanned: 0, deleted: 0, kept: {} };
  for (const [prefix, keys] of candidates) {
    const garbage = keys.filter((k) => !marked.has(k));
    result.scanned += keys.length;
    result.kept[prefix] = keys.length - garbage.length;
    result.deleted += await deleteKeys(at(prefix), garbage);
  }
  return result;
}
