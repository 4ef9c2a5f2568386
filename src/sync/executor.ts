/**
 * Applies the items of a run: preserve the mirror's current object as a version (copy-on-write), then copy or
 * delete, then record the item and the generation entries in one transaction. Each step is idempotent and the
 * item's state is the checkpoint, so a run killed at any point resumes without redoing finished objects.
 *
 * @module
 */
import { AppError, isAppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { EntryRow, ItemRow, JobRow, RunRow, SyncRepo } from "./repo.ts";
import { type TransferLimits, transferObject } from "./transfer.ts";
import { versionKeyOf } from "./versions.ts";

export interface Progress {
  generation: number;
  objectsTotal: number;
  objectsDone: number;
  objectsFailed: number;
  bytesTotal: number;
  bytesDone: number;
  startedAt: Date;
}

export interface ExecutorDeps {
  repo: SyncRepo;
  logger: Logger;
  job: JobRow;
  run: RunRow;
  source: ObjectStore;
  target: ObjectStore;
  serverSide: boolean;
  limits: TransferLimits;
  retry: { attempts: number; baseDelayMs: number };
  throttle?: (bytes: number) => Promise<void>;
  progress: Progress;
  signal: AbortSignal;
  /** The job's current entries when execution starts (only this run changes them while it runs). */
  manifest: ReadonlyMap<string, PreviousEntry>;
}

export type PreviousEntry = Pick<EntryRow, "fromGen" | "size" | "mirrorEtag">;

/** Errors retrying cannot fix. */
const PERMANENT = [
  "NoSuchBucket",
  "InvalidArgument",
  "InvalidBucketName",
  "KeyTooLong",
  "Forbidden",
  "Unauthorized",
] as const;

/**
 * Runs the items with `concurrency` workers; resolves when all are done, failed, or the signal aborted, and every
 * checkpoint is written. A worker moves on to its next object while the previous one's checkpoint is being
 * committed (group commit), so the disk sync is not in the copy path; an object counts as finished only once its
 * checkpoint is durable, so a crash before that copies it again on resume (copies are idempotent).
 */
export async function executeItems(deps: ExecutorDeps, items: ItemRow[], concurrency: number): Promise<void> {
  const workers = Math.max(1, Math.min(concurrency, items.length));
  const pending = new Set<Promise<void>>();
  const fail = async (item: ItemRow, err: unknown) => {
    deps.progress.objectsFailed++;
    const error = err instanceof Error ? err.message : String(err);
    deps.logger.warn("sync item failed", { job: deps.job.id, key: item.key, op: item.op, error });
    await deps.repo.setItemState({ runId: deps.run.id, idx: item.idx }, "failed", error);
  };
  let next = 0;
  const worker = async () => {
    while (next < items.length && !deps.signal.aborted) {
      const item = items[next++]!;
      let checkpoint: Checkpoint;
      try {
        checkpoint = await withRetry(deps, () => applyItem(deps, item));
      } catch (err) {
        await fail(item, err);
        continue;
      }
      const committed = checkpoint().then(() => {
        deps.progress.objectsDone++;
        deps.progress.bytesDone += item.size;
      }, (err) => fail(item, err)).finally(() => pending.delete(committed));
      pending.add(committed);
      // Bounded: at most one checkpoint in flight per worker.
      while (pending.size >= workers) await Promise.race(pending);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  await Promise.all(pending);
}

/** Writes an applied item's checkpoint (its state and generation entries) in one transaction. */
type Checkpoint = () => Promise<void>;

async function withRetry<T>(deps: ExecutorDeps, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= deps.retry.attempts || isAppError(err, ...PERMANENT) || deps.signal.aborted) throw err;
      await new Promise((r) => setTimeout(r, deps.retry.baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

/** Applies one item on the mirror; the returned checkpoint records it. */
async function applyItem(deps: ExecutorDeps, item: ItemRow): Promise<Checkpoint> {
  const { job, run, repo } = deps;
  const liveKey = job.targetPrefix + item.key;
  const prev = deps.manifest.get(item.key);
  const versionKey = prev && prev.fromGen !== run.generation ? await preserve(deps, item, prev) : null;
  const previous = prev ? { fromGen: prev.fromGen, versionKey } : undefined;
  const change = { jobId: job.id, key: item.key, generation: run.generation, previous };
  if (item.op === "delete") {
    await deps.target.deleteObject(job.targetBucket, liveKey);
    return () => repo.commitItem({ runId: run.id, idx: item.idx, state: "done" }, change);
  }
  let result;
  try {
    result = await transferObject(
      { store: deps.source, bucket: job.sourceBucket, key: job.sourcePrefix + item.key },
      { store: deps.target, bucket: job.targetBucket, key: liveKey },
      item.etag === null ? null : { size: item.size, etag: item.etag },
      { serverSide: deps.serverSide, limits: deps.limits, throttle: deps.throttle },
    );
  } catch (err) {
    if (!isAppError(err, "NoSuchKey") || (err.details.bucket && err.details.bucket !== job.sourceBucket)) throw err;
    // Deleted on the source after planning: nothing to copy; the next run sees the deletion.
    return () =>
      repo.commitItem({ runId: run.id, idx: item.idx, state: "skipped" }, { ...change, previous: undefined });
  }
  if (result.changed) deps.logger.info("sync source changed during the run", { job: job.id, key: item.key });
  const next = {
    size: result.size,
    etag: result.etag,
    mirrorEtag: result.mirrorEtag,
    lastModified: result.lastModified,
  };
  return () => repo.commitItem({ runId: run.id, idx: item.idx, state: "done" }, { ...change, next });
}

/**
 * Copy-on-write: saves the mirror's current object under the versions area before it is overwritten or deleted.
 * Returns the version key, or null when history is off or the live object is already gone.
 */
async function preserve(deps: ExecutorDeps, item: ItemRow, prev: PreviousEntry): Promise<string | null> {
  const { job } = deps;
  if (job.keepLast === 0) return null;
  const versionKey = versionKeyOf(job.targetPrefix, item.key, prev.fromGen);
  if (item.state === "preserved") return (await objectExists(deps, versionKey)) ? versionKey : null;
  const live = { store: deps.target, bucket: job.targetBucket, key: job.targetPrefix + item.key };
  const version = { store: deps.target, bucket: job.targetBucket, key: versionKey };
  const planned = { size: prev.size, etag: prev.mirrorEtag };
  try {
    await transferObject(live, version, planned, { serverSide: true, limits: deps.limits });
  } catch (err) {
    if (!isAppError(err, "NoSuchKey")) throw err;
    deps.logger.warn("sync mirror object missing, generation history lost for it", { job: job.id, key: item.key });
    // Never preserve on a retry: the live key may hold the new copy by then.
    item.state = "preserved";
    return null;
  }
  await deps.repo.setItemState({ runId: deps.run.id, idx: item.idx }, "preserved");
  item.state = "preserved";
  return versionKey;
}

async function objectExists(deps: ExecutorDeps, key: string): Promise<boolean> {
  try {
    await deps.target.headObject(deps.job.targetBucket, key);
    return true;
  } catch (err) {
    if (isAppError(err, "NoSuchKey", "NotFound")) return false;
    throw err;
  }
}

/** Fails fast, before any item, when a bucket of the job does not exist. */
export async function checkBuckets(deps: Pick<ExecutorDeps, "job" | "source" | "target">): Promise<void> {
  for (const [store, bucket] of [[deps.source, deps.job.sourceBucket], [deps.target, deps.job.targetBucket]] as const) {
    try {
      await store.headBucket(bucket);
    } catch (err) {
      if (isAppError(err, "NoSuchBucket")) throw new AppError("NotFound", `Bucket "${bucket}" does not exist`);
      throw err;
    }
  }
}
