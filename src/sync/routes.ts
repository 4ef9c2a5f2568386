/**
 * The sync API, mounted at `/api/v1/sync`: jobs, plan, run (background or waited), progress, generations,
 * restore and retention.
 *
 * @module
 */
import { Hono } from "hono";
import { createErrorHandler } from "../api/middleware/error_handler.ts";
import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { SyncEngine } from "./engine.ts";
import {
  applyRetention,
  generationManifest,
  keptGenerations,
  locationOf,
  restoreGeneration,
  type RestoreTarget,
} from "./generations.ts";
import { type JobInput, jobRowOf, jobView } from "./jobs.ts";
import type { JobRow, RunRow, SyncRepo } from "./repo.ts";

export interface SyncRoutesDeps {
  repo: SyncRepo;
  engine: SyncEngine;
  clock: Clock;
  logger: Logger;
  /** Tells a database gone away from a fault in error answers. */
  db?: Db;
  resolveStore(backend: string): ObjectStore;
  /** Called after jobs change (the change feed re-reads which buckets to watch). */
  onJobsChanged(): Promise<void>;
}

function runView(r: RunRow) {
  return {
    generation: r.generation,
    status: r.status,
    detection: r.detection,
    objects: r.objectsTotal,
    bytes: r.bytesTotal,
    requests: r.requests,
    expired: r.expired,
    error: r.error,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  try {
    const body = await req.json();
    if (body && typeof body === "object" && !Array.isArray(body)) return body;
  } catch { /* reported below */ }
  throw new AppError("InvalidArgument", "Request body must be a JSON object");
}

function generationParam(v: unknown): number {
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new AppError("InvalidArgument", `Generation must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function createSyncRoutes(deps: SyncRoutesDeps): Hono {
  const { repo, engine } = deps;
  const app = new Hono();
  app.onError(createErrorHandler(deps.logger, deps.db));

  async function job(id: string): Promise<JobRow> {
    const row = await repo.getJob(id);
    if (!row) throw new AppError("NotFound", `Sync job "${id}" does not exist`, { details: { job: id } });
    return row;
  }

  app.get("/jobs", async (c) => c.json({ jobs: (await repo.listJobs()).map(jobView) }));

  app.post("/jobs", async (c) => {
    const row = jobRowOf((await jsonBody(c.req.raw)) as unknown as JobInput, deps.clock.now());
    for (const backend of [row.sourceBackend, row.targetBackend]) deps.resolveStore(backend);
    if (await repo.getJob(row.id)) throw new AppError("Conflict", `Sync job "${row.id}" already exists`);
    await repo.insertJob({ ...row, journalSeq: await repo.headSeq() });
    await deps.onJobsChanged();
    return c.json(jobView((await repo.getJob(row.id))!), 201);
  });

  app.get("/jobs/:id", async (c) => {
    const row = await job(c.req.param("id"));
    const runs = await repo.listRuns(row.id);
    return c.json({ ...jobView(row), runs: runs.slice(-20).map(runView), progress: engine.progress(row.id) });
  });

  app.delete("/jobs/:id", async (c) => {
    const row = await job(c.req.param("id"));
    if (engine.isRunning(row.id)) throw new AppError("Conflict", `Sync job "${row.id}" is running`);
    await repo.deleteJob(row.id);
    await deps.onJobsChanged();
    return c.body(null, 204);
  });

  app.post("/jobs/:id/plan", async (c) => {
    const plan = await engine.plan((await job(c.req.param("id"))).id, { verify: c.req.query("verify") === "true" });
    return c.json(plan);
  });

  app.post("/jobs/:id/run", async (c) => {
    const row = await job(c.req.param("id"));
    const verify = c.req.query("verify") === "true";
    if (c.req.query("wait") === "true") return c.json(await engine.run(row.id, { verify }));
    if (engine.isRunning(row.id)) throw new AppError("Conflict", `Sync job "${row.id}" is already running`);
    engine.run(row.id, { verify }).catch((err) =>
      deps.logger.error("sync run failed", { job: row.id, error: String(err) })
    );
    return c.json({ started: true, job: row.id }, 202);
  });

  app.get("/jobs/:id/progress", async (c) => c.json({ progress: engine.progress((await job(c.req.param("id"))).id) }));

  app.get("/jobs/:id/generations", async (c) => {
    const row = await job(c.req.param("id"));
    const runs = (await repo.listRuns(row.id)).filter((r) => r.status === "succeeded" && !r.expired);
    return c.json({ generations: runs.map(runView) });
  });

  app.get("/jobs/:id/generations/:gen", async (c) => {
    const row = await job(c.req.param("id"));
    const entries = await generationManifest(repo, row, {
      generation: generationParam(c.req.param("gen")),
      prefix: c.req.query("prefix") ?? "",
    });
    return c.json({
      objects: entries.map((e) => ({
        key: e.key,
        size: e.size,
        etag: e.etag,
        lastModified: e.lastModified.toISOString(),
        location: locationOf(row, e),
      })),
    });
  });

  app.post("/jobs/:id/restore", async (c) => {
    const row = await job(c.req.param("id"));
    const body = await jsonBody(c.req.raw);
    const to = body.to as RestoreTarget | undefined;
    if (to !== undefined && (typeof to.bucket !== "string" || typeof to.backend !== "string")) {
      throw new AppError("InvalidArgument", `"to" must be {backend, bucket, prefix}`);
    }
    const result = await restoreGeneration({ repo, resolveStore: deps.resolveStore }, row, {
      generation: generationParam(body.generation),
      prefix: typeof body.prefix === "string" ? body.prefix : "",
      ...(to ? { to: { backend: to.backend, bucket: to.bucket, prefix: to.prefix ?? "" } } : {}),
    });
    return c.json(result);
  });

  app.post("/jobs/:id/retention", async (c) => {
    const row = await job(c.req.param("id"));
    const result = await applyRetention(
      { repo, clock: deps.clock, logger: deps.logger, store: deps.resolveStore(row.targetBackend) },
      row,
    );
    const runs = (await repo.listRuns(row.id)).filter((r) => r.status === "succeeded" && !r.expired);
    return c.json({ ...result, kept: keptGenerations(runs, row, deps.clock.now()) });
  });

  return app;
}
