/**
 * A volume: a `BlockDevice` whose bytes are fixed-size chunk objects in a bucket, behind a local write-back
 * cache. Writes are journaled (fsync, group commit) and acknowledged; the write-back engine (`writeback.ts`)
 * uploads dirty chunks as new objects and commits them to the chunk map. Reads merge the committed chunk
 * (LRU read cache, read-ahead on sequential access) with unflushed writes.
 *
 * @module
 */
import type { BlockDevice } from "./block_device.ts";
import type { Clock } from "../clock.ts";
import { AppError, isAppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type ChunkMap, loadChunkMap } from "./chunk_map.ts";
import { DirtyChunk } from "./dirty_chunk.ts";
import { type JournalEntry, openJournal } from "./journal.ts";
import {
  layout,
  readBytes,
  readMeta,
  unavailable,
  type VolumeLocation,
  type VolumeMeta,
  writeBytes,
  writeJson,
} from "./layout.ts";
import { createReadCache } from "./read_cache.ts";
import { createWriteback, type WritebackStats } from "./writeback.ts";

export interface VolumeOptions {
  loc: VolumeLocation;
  /** Local state of this volume (journal segments): `<dataDir>/blockdev/<volume id>`. */
  cacheDir: string;
  clock: Clock;
  logger: Logger;
  readOnly?: boolean;
  /** Bound on unflushed data held locally; writers wait beyond it. Default 256 MiB. */
  maxDirtyBytes?: number;
  /** Read cache size. Default 256 MiB. */
  readCacheBytes?: number;
  /** A chunk is uploaded once untouched this long (or complete, or under pressure). Default 500 ms. */
  flushDelayMs?: number;
  /** Parallel chunk uploads. Default 4. */
  flushConcurrency?: number;
  /** Chunks fetched ahead of a sequential reader. Default 2. */
  readAheadChunks?: number;
  /** How long a writer waits for dirty space before failing with Unavailable. Default 30 s. */
  stallTimeoutMs?: number;
  /** Every write goes to the bucket before it is acknowledged (as if FUA). */
  writeThrough?: boolean;
  compactEvery?: number;
  /** Called with the chunk objects each flush stopped referencing. */
  onReplaced?(keys: string[]): void;
}

export interface VolumeStats extends WritebackStats {
  cacheHits: number;
  cacheMisses: number;
  cacheBytes: number;
  journalBytes: number;
  journalSyncs: number;
  chunkDownloads: number;
  allocatedChunks: number;
}

export interface Volume extends BlockDevice {
  readonly meta: VolumeMeta;
  readonly chunkMap: ChunkMap;
  stats(): VolumeStats;
  /** Chunk objects uploaded but not yet committed: garbage collection must keep them. */
  inFlightKeys(): ReadonlySet<string>;
  /** Grow the volume (shrinking is refused). */
  resize(sizeBytes: number): Promise<void>;
  /** Flush, then make `chunks` the whole chunk map (snapshot rollback). */
  rollback(chunks: Map<number, string>): Promise<void>;
}

const MiB = 1024 * 1024;

export async function openVolume(options: VolumeOptions): Promise<Volume> {
  const { loc, clock } = options;
  const meta = await readMeta(loc).catch((err) => {
    throw isAppError(err, "NotFound") ? err : unavailable(`open volume "${loc.prefix}"`, err);
  });
  const chunkMap = await loadChunkMap(loc, { compactEvery: options.compactEvery ?? 64 }).catch((err) => {
    throw isAppError(err, "Integrity") ? err : unavailable(`load chunk map of "${loc.prefix}"`, err);
  });
  const { chunkSize, blockSize } = meta;
  const readOnly = options.readOnly ?? false;
  const now = () => clock.now().getTime();
  const cache = createReadCache(options.readCacheBytes ?? 256 * MiB);
  const dirty = new Map<number, DirtyChunk>();
  const fetches = new Map<string, Promise<Uint8Array>>();
  const readAheads = new Set<Promise<unknown>>();
  const readAheadChunks = options.readAheadChunks ?? 2;
  let lastReadEnd = -1;
  let chunkDownloads = 0;
  let closed = false;

  function dirtyChunk(index: number, seq: number): DirtyChunk {
    let d = dirty.get(index);
    if (!d) {
      d = new DirtyChunk(chunkSize, blockSize, seq, now());
      dirty.set(index, d);
    }
    return d;
  }

  function apply(record: JournalEntry, seq: number): void {
    const length = record.kind === "write" ? record.data.length : record.length;
    for (const piece of pieces(record.offset, length)) {
      const d = dirtyChunk(piece.index, seq);
      if (record.kind === "write") {
        d.write(piece.start, record.data.subarray(piece.at, piece.at + piece.end - piece.start), seq, now());
      } else if (piece.start === 0 && piece.end === chunkSize) d.trim(seq, now());
      else d.zero(piece.start, piece.end - piece.start, seq, now());
    }
  }

  function pieces(offset: number, length: number) {
    const out: { index: number; start: number; end: number; at: number }[] = [];
    for (let pos = offset; pos < offset + length;) {
      const index = Math.floor(pos / chunkSize);
      const start = pos - index * chunkSize;
      const end = Math.min(chunkSize, start + (offset + length - pos));
      out.push({ index, start, end, at: pos - offset });
      pos += end - start;
    }
    return out;
  }

  const journal = await openJournal(options.cacheDir, { onRecord: (r) => apply(r, r.seq) });

  /** The committed contents of a chunk (zeros when unallocated), through the read cache. */
  async function loadBase(index: number): Promise<{ key: string | undefined; data: Uint8Array | undefined }> {
    const key = chunkMap.get(index);
    if (key === undefined) return { key, data: undefined };
    const cached = cache.get(key);
    if (cached) return { key, data: cached };
    let fetch = fetches.get(key);
    if (!fetch) {
      fetch = readBytes(loc, key).then((data) => {
        chunkDownloads++;
        if (data.length !== chunkSize) {
          throw new AppError("Integrity", `Chunk "${key}" has ${data.length} bytes, expected ${chunkSize}`);
        }
        cache.set(key, data);
        return data;
      }).catch((err) => {
        throw isAppError(err, "Integrity") ? err : unavailable(`read chunk ${index} of "${loc.prefix}"`, err);
      }).finally(() => fetches.delete(key));
      fetches.set(key, fetch);
    }
    return { key, data: await fetch };
  }

  const writeback = createWriteback({
    chunkSize,
    dirty,
    chunkMap,
    journal,
    cache,
    logger: options.logger.child({ volume: meta.id }),
    now,
    loadBase: async (index) => (await loadBase(index)).data,
    chunkKey: (index) => layout.chunk(loc.prefix, index),
    upload: (key, data) => writeBytes(loc, key, data),
    ...(options.onReplaced ? { onReplaced: options.onReplaced } : {}),
    maxDirtyBytes: Math.max(options.maxDirtyBytes ?? 256 * MiB, 2 * chunkSize),
    flushDelayMs: options.flushDelayMs ?? 500,
    concurrency: options.flushConcurrency ?? 4,
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
  });

  function check(op: string, offset: number, length: number): void {
    if (closed) throw new AppError("Unavailable", `Cannot ${op}: volume "${meta.id}" is closed`);
    if (offset % blockSize !== 0 || length % blockSize !== 0) {
      throw new RangeError(`Cannot ${op} ${offset}+${length}: not a multiple of the ${blockSize}-byte block size`);
    }
    if (offset < 0 || length < 0 || offset + length > meta.sizeBytes) {
      throw new RangeError(`Cannot ${op} ${offset}+${length}: volume has ${meta.sizeBytes} bytes`);
    }
  }

  function refuseReadOnly(op: string): void {
    if (readOnly) throw new AppError("Forbidden", `Cannot ${op}: volume "${meta.id}" is read-only`);
  }

  async function readPiece(index: number, start: number, end: number, out: Uint8Array, at: number): Promise<void> {
    for (;;) {
      const d = dirty.get(index);
      if (d?.covers(start, end)) {
        d.applyTo(out.subarray(at, at + end - start), start, end);
        return;
      }
      const key = chunkMap.get(index);
      let base;
      try {
        base = await loadBase(index);
      } catch (err) {
        // Replaced (and possibly garbage collected) while we fetched it: read the new one.
        if (chunkMap.get(index) !== key) continue;
        throw err;
      }
      // A flush may have committed a new chunk object (and dropped its dirty state) while we fetched.
      if (chunkMap.get(index) !== base.key) continue;
      const target = out.subarray(at, at + end - start);
      if (base.data) target.set(base.data.subarray(start, end));
      else target.fill(0);
      dirty.get(index)?.applyTo(target, start, end);
      return;
    }
  }

  function readAhead(fromIndex: number): void {
    const lastIndex = Math.ceil(meta.sizeBytes / chunkSize) - 1;
    for (let i = fromIndex; i <= Math.min(lastIndex, fromIndex + readAheadChunks - 1); i++) {
      const key = chunkMap.get(i);
      if (key === undefined || fetches.has(key) || dirty.get(i)?.complete) continue;
      const p = loadBase(i).catch(() => {/* a real read will report it */}).finally(() => readAheads.delete(p));
      readAheads.add(p);
    }
  }

  return {
    id: meta.id,
    blockSize,
    get sizeBytes() {
      return meta.sizeBytes;
    },
    readOnly,
    meta,
    chunkMap,
    async read(offset, length) {
      check("read", offset, length);
      const out = new Uint8Array(length);
      const parts = pieces(offset, length);
      if (offset === lastReadEnd && readAheadChunks > 0) readAhead(parts.at(-1)!.index + 1);
      lastReadEnd = offset + length;
      await Promise.all(parts.map((p) => readPiece(p.index, p.start, p.end, out, p.at)));
      return out;
    },
    async write(offset, data, writeOptions) {
      check("write", offset, data.length);
      refuseReadOnly("write");
      const indexes = pieces(offset, data.length).map((p) => p.index);
      const reserved = await writeback.reserve(indexes);
      // Both the journal record and the dirty chunk copy the bytes: the caller may reuse its buffer.
      const { seq, durable } = journal.append({ kind: "write", offset, data });
      apply({ kind: "write", offset, data }, seq);
      reserved();
      writeback.changed();
      await durable;
      if (writeOptions?.fua || options.writeThrough) await writeback.flushUpTo(seq, indexes);
    },
    async unmap(offset, length) {
      check("unmap", offset, length);
      refuseReadOnly("unmap");
      // Whole chunks that are unallocated and clean already read as zeros.
      const needed = pieces(offset, length).filter((p) =>
        dirty.has(p.index) || chunkMap.get(p.index) !== undefined || p.end - p.start !== chunkSize
      );
      if (needed.length === 0) return;
      const reserved = await writeback.reserve(needed.filter((p) => p.end - p.start !== chunkSize).map((p) => p.index));
      const { seq, durable } = journal.append({ kind: "unmap", offset, length });
      apply({ kind: "unmap", offset, length }, seq);
      reserved();
      writeback.changed();
      await durable;
    },
    flush: () => writeback.flushUpTo(journal.nextSeq - 1),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...readAheads]);
      try {
        await writeback.close();
      } catch (err) {
        options.logger.warn("volume closed with unflushed data; it stays in the local journal", {
          volume: meta.id,
          error: String(err),
        });
      }
      await journal.close();
      // A round that finished while a journal write was in flight could not drop the last segment: do it now.
      if (dirty.size === 0) await journal.release(Infinity);
    },
    stats: () => ({
      ...writeback.stats(),
      cacheHits: cache.hits,
      cacheMisses: cache.misses,
      cacheBytes: cache.bytes,
      journalBytes: journal.bytes,
      journalSyncs: journal.syncs,
      chunkDownloads,
      allocatedChunks: chunkMap.count,
    }),
    inFlightKeys: () => writeback.inFlightKeys,
    async resize(sizeBytes) {
      if (!Number.isSafeInteger(sizeBytes) || sizeBytes % blockSize !== 0 || sizeBytes < meta.sizeBytes) {
        throw new AppError(
          "InvalidArgument",
          `Cannot resize volume "${meta.id}" to ${sizeBytes} bytes: volumes only grow, in multiples of ${blockSize}`,
        );
      }
      await writeJson(loc, layout.meta(loc.prefix), { ...meta, sizeBytes } satisfies VolumeMeta);
      meta.sizeBytes = sizeBytes;
    },
    async rollback(chunks) {
      await writeback.flushUpTo(journal.nextSeq - 1);
      await chunkMap.replace(chunks);
    },
  };
}
