/**
 * Interval schedules: every `tickMs` the jobs with `intervalSeconds` whose last run started long enough ago
 * (and that are not running) are started in the background.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { rootMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { SyncEngine } from "./engine.ts";
import type { SyncRepo } from "./repo.ts";

export function startScheduler(
  deps: { repo: SyncRepo; engine: SyncEngine; clock: Clock; logger: Logger },
  options: { tickMs: number },
): { stop(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  async function tick(): Promise<void> {
    for (const job of await deps.repo.listJobs()) {
      if (stopped) return;
      if (!job.intervalSeconds || deps.engine.isRunning(job.id)) continue;
      const last = (await deps.repo.listRuns(job.id)).at(-1);
      const due = !last || deps.clock.now().getTime() - last.startedAt.getTime() >= job.intervalSeconds * 1000;
      if (!due) continue;
      const p = deps.engine.run(job.id)
        .catch((err) => deps.logger.warn("scheduled sync run failed", { job: job.id, error: String(err) }))
        .finally(() => running.delete(p));
      running.add(p);
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = () => {
    timer = setTimeout(async () => {
      // The root cause: a failed query's own message is its whole SQL.
      await tick().catch((err) => deps.logger.error("sync scheduler tick failed", { error: rootMessage(err) }));
      if (!stopped) loop();
    }, options.tickMs);
  };
  loop();

  return {
    /** Stops starting runs and waits for the ones it started (the caller aborts them via the engine). */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...running]);
    },
  };
}
