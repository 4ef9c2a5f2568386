/**
 * The write-back engine of a volume: uploads dirty chunks as new immutable objects and commits each round of
 * uploads as one chunk map delta, then releases the journal records that the bucket now holds.
 *
 * Background rounds pick chunks that are complete, idle for `flushDelayMs`, or oldest first when dirty memory
 * passes half the bound. Writers that would pass `maxDirtyBytes` wait (backpressure) and fail with Unavailable
 * after `stallTimeoutMs` when the backend does not take the data. `flushUpTo` (FUA, SYNCHRONIZE CACHE) runs
 * rounds in the caller and reports a backend failure instead of retrying.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ChunkMap } from "./chunk_map.ts";
import type { DirtyChunk } from "./dirty_chunk.ts";
import type { Journal } from "./journal.ts";
import { unavailable } from "./layout.ts";
import type { ReadCache } from "./read_cache.ts";

export interface WritebackStats {
  dirtyBytes: number;
  dirtyChunks: number;
  chunkUploads: number;
  uploadBytes: number;
  /** Chunks that flushed to all zeros and were deallocated instead of uploaded. */
  chunksFreed: number;
  flushRounds: number;
  flushSecondsTotal: number;
  flushErrors: number;
  /** Writes that had to wait for dirty space (backpressure). */
  writerStalls: number;
  lastError?: string;
}

export interface WritebackDeps {
  chunkSize: number;
  dirty: Map<number, DirtyChunk>;
  chunkMap: ChunkMap;
  journal: Journal;
  cache: ReadCache;
  logger: Logger;
  now(): number;
  loadBase(index: number): Promise<Uint8Array | undefined>;
  /** A fresh, never used object key for chunk `index`. */
  chunkKey(index: number): string;
  upload(key: string, data: Uint8Array): Promise<void>;
  /** Chunk objects a commit stopped referencing (the owner may delete them when no snapshot or clone can). */
  onReplaced?(keys: string[]): void;
  maxDirtyBytes: number;
  flushDelayMs: number;
  concurrency: number;
  stallTimeoutMs: number;
}

export function createWriteback(deps: WritebackDeps) {
  const { dirty, chunkSize } = deps;
  const busy = new Map<number, Promise<void>>();
  const inFlightKeys = new Set<string>();
  const spaceWaiters = new Set<() => void>();
  const stats: WritebackStats = {
    dirtyBytes: 0,
    dirtyChunks: 0,
    chunkUploads: 0,
    uploadBytes: 0,
    chunksFreed: 0,
    flushRounds: 0,
    flushSecondsTotal: 0,
    flushErrors: 0,
    writerStalls: 0,
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let background: Promise<void> | undefined;
  let failures = 0;
  /** Space promised to writers that passed `reserve` but have not applied their data yet. */
  let reserved = 0;
  let stopped = false;

  function dirtyBytes(): number {
    let n = 0;
    for (const d of dirty.values()) n += d.bytes;
    return n;
  }

  function schedule(ms: number): void {
    if (stopped || timer !== undefined) return;
    const t = setTimeout(tick, ms);
    Deno.unrefTimer(t);
    timer = t;
  }

  function tick(): void {
    timer = undefined;
    if (background || dirty.size === 0) return;
    const t = deps.now();
    const pressure = dirtyBytes() > deps.maxDirtyBytes / 2 || spaceWaiters.size > 0;
    const candidates = [...dirty.entries()]
      .filter(([i, d]) => !busy.has(i) && (pressure || d.complete || t - d.touchedAt >= deps.flushDelayMs))
      .sort((a, b) => a[1].touchedAt - b[1].touchedAt)
      .slice(0, deps.concurrency * 4)
      .map(([i]) => i);
    if (candidates.length === 0) {
      schedule(Math.max(10, deps.flushDelayMs / 2));
      return;
    }
    background = round(candidates).then(() => {
      failures = 0;
    }, (err) => {
      failures++;
      deps.logger.warn("background flush failed; retrying", { error: String(err), failures });
    }).finally(() => {
      background = undefined;
      if (dirty.size > 0) schedule(failures > 0 ? Math.min(5000, 50 * 2 ** failures) : 0);
    });
  }

  async function flushOne(index: number) {
    const d = dirty.get(index);
    if (!d) return undefined;
    const base = d.complete ? undefined : await deps.loadBase(index);
    // From here to the snapshot of `d` nothing awaits, so `seq` describes exactly the bytes captured.
    const seq = d.lastSeq;
    let data: Uint8Array | undefined;
    if (!d.emptyTrim) {
      data = base ? base.slice() : new Uint8Array(chunkSize);
      d.applyTo(data, 0, chunkSize);
      if (isZero(data)) data = undefined;
    }
    let key: string | null = null;
    if (data) {
      // Registered before the PUT so that garbage collection never sees the object unreferenced.
      key = deps.chunkKey(index);
      inFlightKeys.add(key);
      try {
        await deps.upload(key, data);
      } catch (err) {
        inFlightKeys.delete(key);
        throw err;
      }
      stats.chunkUploads++;
      stats.uploadBytes += data.length;
      deps.cache.set(key, data);
    } else stats.chunksFreed++;
    return { index, d, seq, key };
  }

  function round(indexes: number[]): Promise<void> {
    const run = (async () => {
      const started = performance.now();
      const queue = [...indexes];
      const done: NonNullable<Awaited<ReturnType<typeof flushOne>>>[] = [];
      const errors: unknown[] = [];
      await Promise.all(Array.from({ length: Math.min(deps.concurrency, queue.length) }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          try {
            const result = await flushOne(i);
            if (result) done.push(result);
          } catch (err) {
            errors.push(err);
          }
        }
      }));
      const uploaded = done.flatMap((r) => r.key ? [r.key] : []);
      const previous = done.flatMap((r) => deps.chunkMap.get(r.index) ?? []);
      try {
        if (done.length > 0) await deps.chunkMap.commit(new Map(done.map((r) => [r.index, r.key])));
        if (previous.length > 0) deps.onReplaced?.(previous);
      } catch (err) {
        errors.push(err);
        done.length = 0;
      } finally {
        for (const key of uploaded) inFlightKeys.delete(key);
      }
      for (const r of done) {
        if (dirty.get(r.index) !== r.d) continue;
        if (r.d.lastSeq === r.seq) dirty.delete(r.index);
        else r.d.firstSeq = r.seq + 1;
      }
      let oldest = deps.journal.nextSeq;
      for (const d of dirty.values()) oldest = Math.min(oldest, d.firstSeq);
      await deps.journal.release(oldest);
      for (const wake of spaceWaiters) wake();
      stats.flushRounds++;
      stats.flushSecondsTotal += (performance.now() - started) / 1000;
      if (errors.length > 0) {
        stats.flushErrors++;
        const err = unavailable("flush chunks to the bucket", errors[0]);
        stats.lastError = err.message;
        throw err;
      }
    })();
    const tracked = run.catch(() => {});
    for (const i of indexes) busy.set(i, tracked);
    tracked.finally(() => {
      for (const i of indexes) if (busy.get(i) === tracked) busy.delete(i);
    });
    return run;
  }

  async function flushUpTo(seq: number, indexes?: number[]): Promise<void> {
    for (;;) {
      const targets = [...new Set(indexes ?? dirty.keys())].filter((i) => (dirty.get(i)?.firstSeq ?? Infinity) <= seq);
      if (targets.length === 0) return;
      const free = targets.filter((i) => !busy.has(i));
      const others = targets.filter((i) => busy.has(i)).map((i) => busy.get(i));
      await Promise.all([...others, free.length > 0 ? round(free) : undefined]);
    }
  }

  /** Waits for room for the chunks `indexes` would newly dirty; call the result once they are applied. */
  async function reserve(indexes: number[]): Promise<() => void> {
    const need = new Set(indexes.filter((i) => !dirty.get(i)?.bytes)).size * chunkSize;
    const claim = () => {
      reserved += need;
      return () => {
        reserved -= need;
      };
    };
    const full = () => dirtyBytes() + reserved + need > deps.maxDirtyBytes;
    if (need === 0 || !full()) return claim();
    stats.writerStalls++;
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      for (const wake of spaceWaiters) wake();
    }, deps.stallTimeoutMs);
    try {
      while (full()) {
        if (timedOut || stopped) {
          throw new AppError(
            "Unavailable",
            `Cannot write: the write-back cache holds ${dirtyBytes()} unflushed bytes (limit ${deps.maxDirtyBytes}) ` +
              `and the bucket is not taking them${stats.lastError ? `: ${stats.lastError}` : ""}`,
          );
        }
        schedule(0);
        await new Promise<void>((resolve) => {
          const wake = () => {
            spaceWaiters.delete(wake);
            resolve();
          };
          spaceWaiters.add(wake);
        });
      }
    } finally {
      clearTimeout(deadline);
    }
    return claim();
  }

  return {
    reserve,
    flushUpTo,
    inFlightKeys: inFlightKeys as ReadonlySet<string>,
    changed: () => schedule(deps.flushDelayMs),
    stats: (): WritebackStats => ({ ...stats, dirtyBytes: dirtyBytes(), dirtyChunks: dirty.size }),
    async close(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      for (const wake of spaceWaiters) wake();
      await background;
      await flushUpTo(Infinity);
    },
  };
}

function isZero(data: Uint8Array): boolean {
  const words = new BigUint64Array(data.buffer, data.byteOffset, data.length / 8);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
  return true;
}
