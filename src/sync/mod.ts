/**
 * COW Sync: incremental, exact replication of a primary bucket to a mirror with point-in-time generations.
 * Change detection by manifest (one source listing), by the gateway's change feed (no listing at all), or by
 * full verification; the plan is written before anything is copied and doubles as the crash checkpoint.
 *
 * @example
 * ```ts
 * const sync = await createSyncService(ctx); // routes at /api/v1/sync, scheduled runs start
 * await sync.stop();
 * ```
 *
 * @module
 */
import type { RunningService, ServiceContext } from "../service.ts";
import { createChangeFeed } from "./change_feed.ts";
import { createSyncEngine } from "./engine.ts";
import { createSyncRepo } from "./repo.ts";
import { createSyncRoutes } from "./routes.ts";
import { startScheduler } from "./scheduler.ts";

export type { SyncEngine } from "./engine.ts";
export type { JobInput } from "./jobs.ts";

export interface SyncServiceOptions {
  /** How often interval schedules are checked (default 5 s). */
  tickMs?: number;
}

export async function createSyncService(
  ctx: ServiceContext,
  options: SyncServiceOptions = {},
): Promise<RunningService> {
  const logger = ctx.logger.child({ service: "sync" });
  const repo = createSyncRepo(ctx.db);
  const resolveStore = (backend: string) => backend === "gateway" ? ctx.buckets : ctx.backends.get(backend);
  const feed = createChangeFeed({ events: ctx.events, repo, clock: ctx.clock, logger });
  const watchJournalBuckets = async () => {
    const jobs = await repo.listJobs();
    feed.watch(jobs.filter((j) => j.detection === "journal").map((j) => j.sourceBucket));
  };
  await watchJournalBuckets();
  const engine = createSyncEngine({ repo, clock: ctx.clock, logger, resolveStore, feed });
  const scheduler = startScheduler({ repo, engine, clock: ctx.clock, logger }, { tickMs: options.tickMs ?? 5000 });
  const routes = createSyncRoutes({
    repo,
    engine,
    clock: ctx.clock,
    logger,
    db: ctx.db,
    resolveStore,
    onJobsChanged: watchJournalBuckets,
  });
  return {
    name: "sync",
    routes,
    metrics: () => engine.metrics(),
    async stop() {
      const schedulerStopped = scheduler.stop();
      await engine.stopAll();
      await schedulerStopped;
      await feed.stop();
    },
  };
}
