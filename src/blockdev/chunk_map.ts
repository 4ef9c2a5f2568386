/**
 * The chunk map (manifest) of a volume: chunk index → immutable chunk object key; absent indexes read as zeros.
 *
 * Durable form: a full `base-<seq>` plus the `delta-<seq>` objects committed after it. Each flush commits one
 * small delta (one atomic PUT: the switch to the new chunk objects is all-or-nothing); every `compactEvery`
 * deltas a new base is written and the older objects deleted, so a 1 TiB volume's map is not rewritten per
 * flush. A crash between writing a base and deleting the older objects is harmless: loading takes the newest
 * base and only the deltas after it.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import {
  deleteKeys,
  layout,
  listKeys,
  parseManifestKey,
  readJson,
  unavailable,
  type VolumeLocation,
  writeJson,
} from "./layout.ts";

/** Serialized manifest (base or snapshot): `[index, key]` pairs. */
export interface ManifestDoc {
  chunks: [number, string][];
}

/** One flush's changes: `null` deletes the entry (the chunk reads as zeros again). */
interface DeltaDoc {
  changes: [number, string | null][];
}

export interface ChunkMap {
  get(index: number): string | undefined;
  entries(): IterableIterator<[number, string]>;
  readonly count: number;
  /** Sequence number of the last committed base or delta. */
  readonly seq: number;
  /** Commit one batch of changes atomically (one delta object). Commits are serialized. */
  commit(changes: Map<number, string | null>): Promise<void>;
  /** Replace the whole map (rollback) with a new base. */
  replace(chunks: Map<number, string>): Promise<void>;
  /** Current map as a manifest document (for snapshots and clones). */
  toDoc(): ManifestDoc;
}

export function docToMap(doc: ManifestDoc): Map<number, string> {
  const map = new Map<number, string>();
  for (const entry of doc.chunks) {
    if (!Array.isArray(entry) || !Number.isSafeInteger(entry[0]) || typeof entry[1] !== "string") {
      throw new AppError("Integrity", `Malformed manifest entry ${JSON.stringify(entry)}`);
    }
    map.set(entry[0], entry[1]);
  }
  return map;
}

/** Write the initial base of a new volume (empty, or a clone's copy of a parent's map). */
export function writeInitialManifest(loc: VolumeLocation, chunks: Map<number, string>): Promise<void> {
  return writeJson(loc, layout.base(loc.prefix, 0), { chunks: [...chunks] } satisfies ManifestDoc);
}

export async function loadChunkMap(
  loc: VolumeLocation,
  options: { compactEvery?: number } = {},
): Promise<ChunkMap> {
  const compactEvery = options.compactEvery ?? 64;
  const found = (await listKeys(loc, layout.manifestDir(loc.prefix)))
    .map((key) => ({ key, parsed: parseManifestKey(loc.prefix, key) }))
    .filter((e) => e.parsed !== undefined)
    .map((e) => ({ key: e.key, ...e.parsed! }));
  const bases = found.filter((e) => e.kind === "base").sort((a, b) => a.seq - b.seq);
  const newestBase = bases.at(-1);
  if (!newestBase) throw new AppError("Integrity", `Volume "${loc.prefix}" has no manifest base`);
  const map = docToMap(await readJson<ManifestDoc>(loc, newestBase.key));
  let seq = newestBase.seq;
  const deltas = found.filter((e) => e.kind === "delta" && e.seq > newestBase.seq).sort((a, b) => a.seq - b.seq);
  for (const delta of deltas) {
    if (delta.seq !== seq + 1) {
      throw new AppError("Integrity", `Manifest of "${loc.prefix}" misses delta ${seq + 1} (next is ${delta.seq})`);
    }
    applyDelta(map, await readJson<DeltaDoc>(loc, delta.key));
    seq = delta.seq;
  }
  let sinceBase = deltas.length;
  let tail = Promise.resolve();

  async function writeBase(baseSeq: number, chunks: Map<number, string>): Promise<void> {
    const base = layout.base(loc.prefix, baseSeq);
    await writeJson(loc, base, { chunks: [...chunks] } satisfies ManifestDoc);
    sinceBase = 0;
    try {
      const old = (await listKeys(loc, layout.manifestDir(loc.prefix))).filter((k) => {
        const p = parseManifestKey(loc.prefix, k);
        return p !== undefined && k !== base && p.seq <= baseSeq;
      });
      await deleteKeys(loc, old);
    } catch {
      // Superseded objects are ignored when loading; the next compaction deletes them.
    }
  }

  function serialized(work: () => Promise<void>): Promise<void> {
    const run = tail.then(work);
    tail = run.catch(() => {});
    return run;
  }

  return {
    get: (index) => map.get(index),
    entries: () => map.entries(),
    get count() {
      return map.size;
    },
    get seq() {
      return seq;
    },
    toDoc: () => ({ chunks: [...map] }),
    commit(changes) {
      return serialized(async () => {
        if (changes.size === 0) return;
        const doc: DeltaDoc = { changes: [...changes] };
        try {
          await writeJson(loc, layout.delta(loc.prefix, seq + 1), doc);
        } catch (err) {
          throw unavailable("commit chunk map", err);
        }
        seq++;
        applyDelta(map, doc);
        if (++sinceBase >= compactEvery) await writeBase(seq, map).catch(() => {/* retried at the next commit */});
      });
    },
    replace(chunks) {
      return serialized(async () => {
        try {
          await writeBase(seq + 1, chunks);
        } catch (err) {
          throw unavailable("replace chunk map", err);
        }
        seq++;
        map.clear();
        for (const [i, k] of chunks) map.set(i, k);
      });
    },
  };
}

function applyDelta(map: Map<number, string>, doc: DeltaDoc): void {
  for (const [index, key] of doc.changes) {
    if (key === null) map.delete(index);
    else map.set(index, key);
  }
}
