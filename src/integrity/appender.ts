/**
 * The write queue in front of the journal store. The bus handler only pushes onto an array (in bus order); the
 * records are written in batches, one transaction each. A commit is synchronous in the embedded database and
 * waits for its fsyncs on the event loop (milliseconds, more on a busy disk), so the queue commits at most once
 * per `commitDelayMs` (group commit; default 1 s) unless `maxBatch` records are waiting: the data path pays
 * one short stall per second instead of one per operation, and throughput grows with load.
 *
 * A record is *acknowledged* when its transaction has committed (`flush()` resolved, or the `committed`
 * callback ran): from then on a crash cannot lose it. A write that fails (a database gone away) keeps its records
 * queued and is tried again every `retryMs` until it succeeds. Records still queued when the process dies are lost;
 * the next reconciliation reports their objects as changed outside the gateway.
 *
 * @module
 */
import type { JournalStore, StoredRecord } from "./journal.ts";
import type { RecordBody } from "./record_codec.ts";

export interface Appender {
  enqueue(body: RecordBody): void;
  /** Resolves when everything enqueued before the call is committed; rejects if the database fails. */
  flush(): Promise<void>;
  /** Records waiting to be written. */
  pending(): number;
  /** Stops trying failed writes again (what is still queued stays unwritten). */
  stop(): void;
}

export interface AppenderOptions {
  maxBatch?: number;
  /** Group-commit window: how long the first queued record waits for others (default 1000 ms; 0 = at once). */
  commitDelayMs?: number;
  /** How long after a failed write it is tried again (default 5000 ms), whether or not more records come. */
  retryMs?: number;
  committed?(records: StoredRecord[]): void;
  failed?(err: unknown): void;
}

export function createAppender(journal: JournalStore, options: AppenderOptions = {}): Appender {
  const maxBatch = options.maxBatch ?? 5000;
  const delay = options.commitDelayMs ?? 1000;
  const retryDelay = options.retryMs ?? 5000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let queue: RecordBody[] = [];
  let enqueued = 0;
  let committed = 0;
  let running: Promise<void> | undefined;
  let waiters: { target: number; resolve(): void; reject(err: unknown): void }[] = [];
  let stopped = false;

  function settle(err?: unknown): void {
    const still = [];
    for (const w of waiters) {
      if (err !== undefined) w.reject(err);
      else if (committed >= w.target) w.resolve();
      else still.push(w);
    }
    waiters = still;
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      let records: StoredRecord[];
      try {
        records = await journal.append(batch);
      } catch (err) {
        queue = batch.concat(queue);
        settle(err);
        throw err;
      }
      committed += batch.length;
      options.committed?.(records);
      settle();
    }
  }

  function kick(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    running ??= drain().then(
      () => {
        running = undefined;
        if (queue.length > 0) kick();
      },
      (err) => {
        running = undefined;
        options.failed?.(err);
        if (timer === undefined && !stopped) {
          // Unref'd: a database that stays away must not hold a stopping process up.
          timer = setTimeout(kick, retryDelay);
          Deno.unrefTimer(timer);
        }
      },
    );
  }

  return {
    enqueue(body) {
      queue.push(body);
      enqueued++;
      // A failed write keeps the queue; the next enqueue or flush retries it.
      if (running) return;
      if (delay === 0 || queue.length >= maxBatch) kick();
      else timer ??= setTimeout(kick, delay);
    },
    flush() {
      if (committed >= enqueued) return Promise.resolve();
      const done = new Promise<void>((resolve, reject) => waiters.push({ target: enqueued, resolve, reject }));
      kick();
      return done;
    },
    pending: () => queue.length,
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
