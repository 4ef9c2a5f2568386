/**
 * The change feed of journal-mode jobs: successful gateway mutations of watched buckets, persisted in order with
 * sequence numbers (`sync_changes`) so a run takes exactly what changed since the last one, across restarts.
 * An operation whose keys the event does not name (multi-object delete, bucket deletion) is recorded as a
 * `reset`, which makes the next run of that bucket's jobs reconcile with a full listing.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { type EventBus, OBJECT_WRITES, type OperationEvent } from "../events/mod.ts";
import type { Logger } from "../log.ts";
import type { SyncRepo } from "./repo.ts";

type ChangeInsert = Parameters<SyncRepo["appendChanges"]>[0][number];

/** Gateway operations that remove what a bucket holds (`OBJECT_WRITES` are those that add to it). */
const DELETES = new Set(["DeleteObject", "DeleteObjects", "DeleteBucket"]);

/** Maps one event to a change record, or null when it does not change a watched bucket's objects. */
export function changeOf(event: OperationEvent, watched: ReadonlySet<string>, clock: Clock): ChangeInsert | null {
  if (event.status >= 300 || !event.bucket || !watched.has(event.bucket)) return null;
  const base = { bucket: event.bucket, time: clock.now(), etag: null, size: null };
  if (OBJECT_WRITES.has(event.op)) {
    if (!event.key) return { ...base, key: null, op: "reset" };
    return { ...base, key: event.key, op: "put", etag: event.etag ?? null, size: event.size ?? null };
  }
  if (DELETES.has(event.op)) {
    return event.key && event.op === "DeleteObject"
      ? { ...base, key: event.key, op: "delete" }
      : { ...base, key: null, op: "reset" };
  }
  return null;
}

export interface ChangeFeed {
  /** Replaces the set of buckets whose changes are recorded. */
  watch(buckets: Iterable<string>): void;
  /** Resolves once every event received so far is in the database. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function createChangeFeed(
  deps: { events: EventBus<OperationEvent>; repo: SyncRepo; clock: Clock; logger: Logger },
): ChangeFeed {
  let watched = new Set<string>();
  let queue: ChangeInsert[] = [];
  let writing: Promise<void> = Promise.resolve();

  function schedule(): void {
    writing = writing.then(async () => {
      if (queue.length === 0) return;
      const batch = queue;
      queue = [];
      try {
        await deps.repo.appendChanges(batch);
      } catch (err) {
        // Losing feed records would silently skip changes: fall back to a full reconcile of those buckets.
        deps.logger.error("sync change feed write failed; buckets will be reconciled", { error: String(err) });
        const buckets = new Set(batch.map((c) => c.bucket));
        queue.unshift(...[...buckets].map((bucket) => ({
          bucket,
          key: null,
          op: "reset" as const,
          etag: null,
          size: null,
          time: deps.clock.now(),
        })));
      }
    });
  }

  const unsubscribe = deps.events.subscribe((event) => {
    const change = changeOf(event, watched, deps.clock);
    if (!change) return;
    queue.push(change);
    if (queue.length === 1) schedule();
  });

  return {
    watch(buckets) {
      watched = new Set(buckets);
    },
    async flush() {
      schedule();
      await writing;
    },
    async stop() {
      unsubscribe();
      schedule();
      await writing;
    },
  };
}
