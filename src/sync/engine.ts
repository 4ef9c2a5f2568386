/**
 * The sync engine: detects changes (manifest, journal or verify), writes the exact plan as the run's checkpoint,
 * executes it, and commits the run as a generation. One run per job at a time; an interrupted run is resumed.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { walkObjects } from "../storage/walk.ts";
import type { ChangeFeed } from "./change_feed.ts";
import { createCountingStore } from "./counting_store.ts";
import { checkBuckets, executeItems, type Progress } from "./executor.ts";
import { createKeyFilter } from "./glob.ts";
import { applyRetention } from "./generations.ts";
import { type ObjectState, planFromChanges, planFromListing, type PlanItem, planVerify } from "./planner.ts";
import type { ItemRow, JobRow, RunRow, SyncRepo } from "./repo.ts";
import { createThrottle } from "./throttle.ts";
import { DEFAULT_LIMITS, type TransferLimits } from "./transfer.ts";
import { RESERVED_PREFIX } from "./versions.ts";

export interface SyncEngineDeps {
  repo: SyncRepo;
  clock: Clock;
  logger: Logger;
  /** "gateway" or a backend id → its store. */
  resolveStore(backend: string): ObjectStore;
  feed?: ChangeFeed;
  limits?: TransferLimits;
  retry?: { attempts: number; baseDelayMs: number };
}

export type Detection = RunRow["detection"];

export interface PlanResult {
  detection: Detection;
  /** Change-feed position the plan covers. */
  journalSeq: number;
  items: PlanItem[];
}

export interface RunSummary {
  job: string;
  generation: number;
  status: RunRow["status"];
  detection: Detection;
  resumed: boolean;
  copied: number;
  deleted: number;
  skipped: number;
  failed: number;
  bytes: number;
  requests: number;
  durationMs: number;
}

export function createSyncEngine(deps: SyncEngineDeps) {
  const { repo, clock } = deps;
  const active = new Map<string, { progress: Progress; abort: AbortController }>();
  const inFlight = new Set<Promise<unknown>>();
  /** Per job since start: finished runs by status, objects and bytes applied (Prometheus counters). */
  const totals = new Map<string, { succeeded: number; failed: number; objects: number; bytes: number }>();

  async function requireJob(id: string): Promise<JobRow> {
    const job = await repo.getJob(id);
    if (!job) throw new AppError("NotFound", `Sync job "${id}" does not exist`, { details: { job: id } });
    return job;
  }

  async function* listRelative(store: ObjectStore, bucket: string, prefix: string): AsyncGenerator<ObjectState> {
    for await (const o of walkObjects(store, bucket, prefix)) {
      yield { key: o.key.slice(prefix.length), size: o.size, etag: o.etag, lastModified: o.lastModified };
    }
  }

  async function collect(it: AsyncIterable<ObjectState>): Promise<ObjectState[]> {
    const out: ObjectState[] = [];
    for await (const o of it) out.push(o);
    return out;
  }

  function needsListing(job: JobRow): boolean {
    if (job.detection !== "journal" || !job.lastReconcileAt) return true;
    return clock.now().getTime() - job.lastReconcileAt.getTime() >= job.reconcileSeconds * 1000;
  }

  async function detect(job: JobRow, stores: { source: ObjectStore; target: ObjectStore }, verify: boolean) {
    await deps.feed?.flush();
    const journalSeq = await repo.headSeq();
    const manifest = await repo.currentManifest(job.id);
    const options = {
      mode: job.mode,
      filter: createKeyFilter({
        include: JSON.parse(job.include),
        exclude: JSON.parse(job.exclude),
        reserved: RESERVED_PREFIX,
      }),
    };
    if (verify) {
      const mirror = new Map<string, ObjectState>();
      for await (const o of listRelative(stores.target, job.targetBucket, job.targetPrefix)) mirror.set(o.key, o);
      const source = await collect(listRelative(stores.source, job.sourceBucket, job.sourcePrefix));
      return { detection: "verify" as const, journalSeq, items: planVerify(source, mirror, manifest, options) };
    }
    if (!needsListing(job)) {
      const rows = await repo.changesSince(job.sourceBucket, job.journalSeq, journalSeq);
      if (!rows.some((r) => r.op === "reset")) {
        const changes = rows.filter((r) => r.key !== null && r.key.startsWith(job.sourcePrefix)).map((r) => ({
          op: r.op as "put" | "delete",
          key: r.key!.slice(job.sourcePrefix.length),
          etag: r.etag,
          size: r.size,
        }));
        return { detection: "journal" as const, journalSeq, items: planFromChanges(changes, manifest, options) };
      }
    }
    const source = listRelative(stores.source, job.sourceBucket, job.sourcePrefix);
    return {
      detection: "manifest" as const,
      journalSeq,
      items: planFromListing(await collect(source), manifest, options),
    };
  }

  function storesOf(job: JobRow) {
    const source = createCountingStore(deps.resolveStore(job.sourceBackend));
    const sameStore = job.sourceBackend === job.targetBackend;
    const target = sameStore ? source : createCountingStore(deps.resolveStore(job.targetBackend));
    return { source, target, serverSide: sameStore && source.capabilities.serverSideCopy, sameStore };
  }

  async function finish(job: JobRow, run: RunRow, summary: Omit<RunSummary, "status" | "durationMs">) {
    const finishedAt = clock.now();
    const status = summary.failed > 0 ? "failed" as const : "succeeded" as const;
    await repo.updateRun(run.id, {
      status,
      finishedAt,
      requests: run.requests + summary.requests,
      error: summary.failed > 0 ? `${summary.failed} item(s) failed; see the plan items` : null,
    });
    if (status === "succeeded") {
      await repo.updateJob(job.id, {
        journalSeq: Math.max(job.journalSeq, run.journalSeq),
        ...(run.detection === "journal" ? {} : { lastReconcileAt: run.startedAt }),
      });
      await applyRetention({ repo, clock, logger: deps.logger, store: deps.resolveStore(job.targetBackend) }, job);
      await pruneFeed(job.sourceBucket);
    }
    const t = totals.get(job.id) ?? { succeeded: 0, failed: 0, objects: 0, bytes: 0 };
    totals.set(job.id, {
      ...t,
      [status]: t[status] + 1,
      objects: t.objects + summary.copied + summary.deleted,
      bytes: t.bytes + summary.bytes,
    });
    return { ...summary, status, durationMs: finishedAt.getTime() - run.startedAt.getTime() };
  }

  async function pruneFeed(bucket: string): Promise<void> {
    const watchers = (await repo.listJobs()).filter((j) => j.detection === "journal" && j.sourceBucket === bucket);
    if (watchers.length > 0) await repo.pruneChanges(bucket, Math.min(...watchers.map((j) => j.journalSeq)));
  }

  async function runJob(jobId: string, options: { verify?: boolean }): Promise<RunSummary> {
    const job = await requireJob(jobId);
    if (active.has(job.id)) throw new AppError("Conflict", `Sync job "${job.id}" is already running`);
    const abort = new AbortController();
    const progress: Progress = {
      generation: 0,
      objectsTotal: 0,
      objectsDone: 0,
      objectsFailed: 0,
      bytesTotal: 0,
      bytesDone: 0,
      startedAt: clock.now(),
    };
    active.set(job.id, { progress, abort });
    try {
      const stores = storesOf(job);
      await checkBuckets({ job, ...stores });
      let run = await repo.unfinishedRun(job.id);
      const resumed = run !== undefined;
      let todo: ItemRow[];
      if (run) {
        todo = await repo.items(run.id, ["pending", "preserved"]);
      } else {
        const planned = await detect(job, stores, options.verify ?? false);
        run = await repo.createRun({
          jobId: job.id,
          generation: await repo.nextGeneration(job.id),
          status: "running",
          detection: planned.detection,
          journalSeq: planned.journalSeq,
          objectsTotal: planned.items.length,
          bytesTotal: planned.items.reduce((a, i) => a + i.size, 0),
          startedAt: progress.startedAt,
        }, planned.items);
        // The rows just written, without reading them back.
        const runId = run.id;
        todo = planned.items.map((p, idx) => ({ ...p, runId, idx, state: "pending", attempts: 0, error: null }));
      }
      Object.assign(progress, {
        generation: run.generation,
        objectsTotal: run.objectsTotal,
        bytesTotal: run.bytesTotal,
        objectsDone: run.objectsTotal - todo.length,
        bytesDone: run.bytesTotal - todo.reduce((a, i) => a + i.size, 0),
      });
      await executeItems(
        {
          repo,
          logger: deps.logger,
          job,
          run,
          source: stores.source,
          target: stores.target,
          serverSide: stores.serverSide,
          limits: deps.limits ?? DEFAULT_LIMITS,
          retry: deps.retry ?? { attempts: 5, baseDelayMs: 200 },
          ...(job.bandwidthLimit ? { throttle: createThrottle(job.bandwidthLimit) } : {}),
          progress,
          signal: abort.signal,
          manifest: await repo.currentManifest(job.id),
        },
        todo,
        job.concurrency,
      );
      const requests = stores.source.total() + (stores.sameStore ? 0 : stores.target.total());
      if (abort.signal.aborted) {
        await repo.updateRun(run.id, { requests: run.requests + requests });
        throw new AppError("Unavailable", `Sync job "${job.id}" was stopped; the next run resumes it`);
      }
      const counts = await repo.itemCounts(run.id);
      const count = (op: string | null, state: string) =>
        counts.filter((c) => (op === null || c.op === op) && c.state === state).reduce((a, c) => a + c.n, 0);
      return await finish(job, run, {
        job: job.id,
        generation: run.generation,
        detection: run.detection,
        resumed,
        copied: count("copy", "done"),
        deleted: count("delete", "done"),
        skipped: count(null, "skipped"),
        failed: count(null, "failed"),
        bytes: progress.bytesDone,
        requests,
      });
    } finally {
      active.delete(job.id);
    }
  }

  return {
    /** The exact plan a run would apply now; nothing is copied. */
    async plan(jobId: string, options: { verify?: boolean } = {}): Promise<PlanResult> {
      const job = await requireJob(jobId);
      return await detect(job, storesOf(job), options.verify ?? false);
    },

    /** Plans and applies, or resumes the job's interrupted run. */
    run(jobId: string, options: { verify?: boolean } = {}): Promise<RunSummary> {
      const p = runJob(jobId, options);
      inFlight.add(p);
      const untrack = () => inFlight.delete(p);
      p.then(untrack, untrack);
      return p;
    },

    /** Progress of the job's current run, with rate and ETA; null when idle. */
    progress(jobId: string) {
      const a = active.get(jobId);
      if (!a) return null;
      const p = a.progress;
      const elapsedMs = Math.max(1, clock.now().getTime() - p.startedAt.getTime());
      const rate = (p.bytesDone / elapsedMs) * 1000;
      const objectRate = (p.objectsDone / elapsedMs) * 1000;
      const etaSeconds = rate > 0
        ? (p.bytesTotal - p.bytesDone) / rate
        : objectRate > 0
        ? (p.objectsTotal - p.objectsDone) / objectRate
        : null;
      return { ...p, elapsedMs, bytesPerSecond: Math.round(rate), etaSeconds };
    },

    isRunning: (jobId: string) => active.has(jobId),

    /** Prometheus text: runs by status, objects and bytes applied, and running jobs. */
    metrics(): string {
      // Job ids are [a-z0-9_-] (validated at creation): no label escaping needed.
      const label = (job: string) => `job="${job}"`;
      const lines = [
        "# HELP s3plugin_sync_runs_total Finished sync runs by status.",
        "# TYPE s3plugin_sync_runs_total counter",
        "# HELP s3plugin_sync_objects_total Objects copied or deleted on mirrors.",
        "# TYPE s3plugin_sync_objects_total counter",
        "# HELP s3plugin_sync_bytes_total Bytes of objects applied to mirrors.",
        "# TYPE s3plugin_sync_bytes_total counter",
        "# HELP s3plugin_sync_running Whether a run of the job is in progress.",
        "# TYPE s3plugin_sync_running gauge",
      ];
      for (const [job, t] of totals) {
        lines.push(`s3plugin_sync_runs_total{${label(job)},status="succeeded"} ${t.succeeded}`);
        lines.push(`s3plugin_sync_runs_total{${label(job)},status="failed"} ${t.failed}`);
        lines.push(`s3plugin_sync_objects_total{${label(job)}} ${t.objects}`);
        lines.push(`s3plugin_sync_bytes_total{${label(job)}} ${t.bytes}`);
      }
      for (const job of active.keys()) lines.push(`s3plugin_sync_running{${label(job)}} 1`);
      return lines.join("\n") + "\n";
    },

    /** Stops every run between items and waits for them; interrupted runs resume on their next start. */
    async stopAll(): Promise<void> {
      for (const a of active.values()) a.abort.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}

export type SyncEngine = ReturnType<typeof createSyncEngine>;
