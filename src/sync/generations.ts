/**
 * Generations: each succeeded run is a point in time of the mirror. Listing a generation reads its entries (live
 * key or version copy), restoring copies them back, and retention expires generations and deletes the version
 * copies no kept generation references.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { AppError, isAppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { EntryRow, JobRow, SyncRepo } from "./repo.ts";
import { DEFAULT_LIMITS, type TransferLimits, transferObject } from "./transfer.ts";

const DAY_MS = 86_400_000;

/** Which succeeded generations a job keeps: the newest always, then keep-last and keep-days (either suffices). */
export function keptGenerations(
  runs: { generation: number; finishedAt: Date | null }[],
  policy: { keepLast: number | null; keepDays: number | null },
  now: Date,
): number[] {
  const sorted = [...runs].sort((a, b) => b.generation - a.generation);
  if (policy.keepLast === null && policy.keepDays === null) return sorted.map((r) => r.generation);
  return sorted.filter((r, i) =>
    i === 0 ||
    (policy.keepLast !== null && i < policy.keepLast) ||
    (policy.keepDays !== null && r.finishedAt !== null &&
      now.getTime() - r.finishedAt.getTime() <= policy.keepDays * DAY_MS)
  ).map((r) => r.generation);
}

/** True when some kept generation g has fromGen ≤ g < toGen. */
export function isReferenced(entry: { fromGen: number; toGen: number | null }, kept: number[]): boolean {
  return kept.some((g) => entry.fromGen <= g && (entry.toGen === null || g < entry.toGen));
}

export interface RetentionDeps {
  repo: SyncRepo;
  clock: Clock;
  logger: Logger;
  /** The mirror's store. */
  store: ObjectStore;
}

/** Expires generations outside the policy and deletes version copies only they referenced. */
export async function applyRetention(
  deps: RetentionDeps,
  job: JobRow,
): Promise<{ expired: number[]; deleted: number }> {
  const runs = (await deps.repo.listRuns(job.id)).filter((r) => r.status === "succeeded" && !r.expired);
  const kept = keptGenerations(runs, job, deps.clock.now());
  const expired = runs.map((r) => r.generation).filter((g) => !kept.includes(g));
  for (const r of runs) if (!kept.includes(r.generation)) await deps.repo.updateRun(r.id, { expired: true });
  let deleted = 0;
  for (const entry of await deps.repo.pastEntries(job.id)) {
    if (isReferenced(entry, kept)) continue;
    if (entry.versionKey) await deps.store.deleteObject(job.targetBucket, entry.versionKey);
    await deps.repo.deleteEntry(entry);
    deleted++;
  }
  if (expired.length > 0) deps.logger.info("sync retention", { job: job.id, expired, deleted });
  return { expired, deleted };
}

/** Where an entry's bytes are on the mirror. */
export function locationOf(job: JobRow, entry: EntryRow): string {
  return entry.versionKey ?? job.targetPrefix + entry.key;
}

/** The entries of a generation that can still be restored (succeeded, not expired). */
export async function generationManifest(
  repo: SyncRepo,
  job: JobRow,
  options: { generation: number; prefix?: string },
): Promise<EntryRow[]> {
  const run = await repo.getRun(job.id, options.generation);
  if (!run || run.status !== "succeeded" || run.expired) {
    throw new AppError("NotFound", `Generation ${options.generation} of job "${job.id}" does not exist or has expired`);
  }
  return await repo.generationEntries(job.id, options.generation, options.prefix ?? "");
}

export interface RestoreTarget {
  backend: string;
  bucket: string;
  prefix: string;
}

export interface RestoreDeps {
  repo: SyncRepo;
  resolveStore(backend: string): ObjectStore;
  limits?: TransferLimits;
}

/** Copies a generation (or the part under `prefix`) from the mirror to `to` (default: the job's source). */
export async function restoreGeneration(
  deps: RestoreDeps,
  job: JobRow,
  options: { generation: number; prefix?: string; to?: RestoreTarget },
): Promise<{ restored: number; bytes: number; to: RestoreTarget; missing: string[] }> {
  const entries = await generationManifest(deps.repo, job, options);
  const to = options.to ?? { backend: job.sourceBackend, bucket: job.sourceBucket, prefix: job.sourcePrefix };
  const mirror = deps.resolveStore(job.targetBackend);
  const dest = deps.resolveStore(to.backend);
  const serverSide = to.backend === job.targetBackend && mirror.capabilities.serverSideCopy;
  let bytes = 0;
  const missing: string[] = [];
  for (const entry of entries) {
    let result;
    try {
      result = await transferObject(
        { store: mirror, bucket: job.targetBucket, key: locationOf(job, entry) },
        { store: dest, bucket: to.bucket, key: to.prefix + entry.key },
        null,
        { serverSide, limits: deps.limits ?? DEFAULT_LIMITS },
      );
    } catch (err) {
      // Removed from the mirror behind the sync's back: restore the rest and say what is missing.
      if (!isAppError(err, "NoSuchKey")) throw err;
      missing.push(entry.key);
      continue;
    }
    if (result.size !== entry.size) {
      throw new AppError("Integrity", `Restored "${entry.key}" has ${result.size} bytes, generation has ${entry.size}`);
    }
    bytes += entry.size;
  }
  if (to.backend === "gateway") {
    // The restore wrote behind the gateway's back: journal jobs of that bucket must list it on their next run.
    for (const j of await deps.repo.listJobs()) {
      if (j.detection === "journal" && j.sourceBucket === to.bucket) {
        await deps.repo.updateJob(j.id, { lastReconcileAt: null });
      }
    }
  }
  return { restored: entries.length - missing.length, bytes, to, missing };
}
