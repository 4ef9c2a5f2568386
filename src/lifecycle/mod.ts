/**
 * The lifecycle service: carries out the buckets' lifecycle rules (set with PutBucketLifecycleConfiguration). A pass
 * runs at start, then every `intervalMs` (default one hour), and a few seconds after a bucket's rules are set, for
 * that bucket. Passes never overlap: one asked for while another runs follows it.
 *
 * Routes at `/api/v1/lifecycle`: `GET /status` (the last pass) and `POST /run[?bucket=NAME]` (a pass now, over every
 * bucket or one that exists, answered when done).
 *
 * @example
 * ```ts
 * const lifecycle = await createLifecycleService(ctx); // mount lifecycle.routes, append lifecycle.metrics()
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import { createErrorHandler } from "../api/middleware/error_handler.ts";
import type { RunningService, ServiceContext } from "../service.ts";
import { createLifecyclePass, type PassResult } from "./pass.ts";

export interface LifecycleOptions {
  /** Time between scheduled passes over every bucket. */
  intervalMs?: number;
  /** Delay before the pass over a bucket whose rules were just set (rules set in a burst share one pass). */
  afterSetMs?: number;
}

const HOUR_MS = 60 * 60 * 1000;
const AFTER_SET_MS = 2_000;

function counter(name: string, help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${value}\n`;
}

export function createLifecycleService(
  ctx: Pick<ServiceContext, "buckets" | "bucketConfig" | "clock" | "logger" | "events">,
  options: LifecycleOptions = {},
): Promise<RunningService> {
  const logger = ctx.logger.child({ service: "lifecycle" });
  const pass = createLifecyclePass({
    buckets: ctx.buckets,
    bucketConfig: ctx.bucketConfig,
    clock: ctx.clock,
    logger,
    publish: (event) => ctx.events.publish(event),
  });
  const totals = { passes: 0, expired: 0, aborted: 0, errors: 0 };
  let last: PassResult | undefined;
  let running: Promise<PassResult> | undefined;
  let stopped = false;

  /** Runs a pass once the current one (if any) is done. */
  function runPass(only?: string): Promise<PassResult> {
    const next = (running ?? Promise.resolve()).catch(() => {}).then(async () => {
      const result = await pass(only);
      totals.passes++;
      totals.expired += result.expired;
      totals.aborted += result.aborted;
      totals.errors += result.errors;
      last = result;
      if (result.expired + result.aborted + result.errors > 0) logger.info("lifecycle pass", { ...result });
      return result;
    });
    running = next;
    next.finally(() => {
      if (running === next) running = undefined;
    }).catch(() => {});
    return next;
  }

  const background = (only?: string) => {
    if (!stopped) runPass(only).catch((err) => logger.error("lifecycle pass failed", { error: String(err) }));
  };
  const interval = setInterval(() => background(), options.intervalMs ?? HOUR_MS);
  const afterSet = new Map<string, ReturnType<typeof setTimeout>>();
  const unsubscribe = ctx.events.subscribe((event) => {
    if (event.op !== "PutBucketLifecycleConfiguration" || event.status !== 200 || event.bucket === undefined) return;
    const bucket = event.bucket;
    clearTimeout(afterSet.get(bucket));
    afterSet.set(
      bucket,
      setTimeout(() => {
        afterSet.delete(bucket);
        background(bucket);
      }, options.afterSetMs ?? AFTER_SET_MS),
    );
  });
  background();

  const routes = new Hono();
  routes.onError(createErrorHandler(logger));
  routes.get("/status", (c) => c.json({ running: running !== undefined, lastPass: last ?? null, totals }));
  routes.post("/run", async (c) => {
    const only = c.req.query("bucket") || undefined;
    // A pass asked for a bucket that does not exist is answered NoSuchBucket (404), not run.
    if (only !== undefined) await ctx.buckets.headBucket(only);
    return c.json(await runPass(only));
  });

  return Promise.resolve({
    name: "lifecycle",
    routes,
    metrics: () =>
      counter("s3_lifecycle_passes_total", "Lifecycle passes run", totals.passes) +
      counter("s3_lifecycle_objects_expired_total", "Objects deleted by lifecycle rules", totals.expired) +
      counter("s3_lifecycle_uploads_aborted_total", "Multipart uploads aborted by lifecycle rules", totals.aborted) +
      counter("s3_lifecycle_errors_total", "Objects, uploads or buckets a pass could not handle", totals.errors),
    async stop() {
      stopped = true;
      clearInterval(interval);
      for (const timer of afterSet.values()) clearTimeout(timer);
      unsubscribe();
      await running?.catch(() => {});
    },
  });
}
