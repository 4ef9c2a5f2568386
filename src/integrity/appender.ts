/**
 * The write queue in front of the journal store. Events are enqueued synchronously (in bus order) and written
 * in batches, one transaction each, while the previous batch commits; so the data path never waits for the
 * database and throughput grows with load. When the queue was idle, the first record waits `commitDelayMs`
 * (group commit) so that light traffic does not cost one database sync per operation.
 *
 * A record is *acknowledged* when its transaction has committed (`flush()` resolved, or the `committed`
 * callback ran): from then on a crash cannot lose it. Records still queued when the process dies are lost; the
 * next reconciliation reports their objects as changed outside the gateway.
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
}

export interface AppenderOptions {
  maxBatch?: number;
  /** Group-commit window after an idle period (default 50 ms; 0 = write at once). */
  commitDelayMs?: number;
  committed?(records: StoredRecord[]): void;
  failed?(err: unknown): void;
}

export function createAppender(journal: JournalStore, options: AppenderOptions = {}): Appender {
  const maxBatch = options.maxBatch ?? 5000;
  const delay = options.commitDelayMs ?? 50;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let queue: RecordBody[] = [];
  let enqueued = 0;
  let committed = 0;
  let running: Promise<void> | undefined;
  let waiters: { target: number; resolve(): void; reject(err: unknown): void }[] = [];

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
      },
    );
  }

  return {
    enqueue(body) {
      queue.push(body);
      enqueued++;
      // A failed write keeps the queue; the next enqueue or flush retries it.
      if (running || timer !== undefined) return;
      if (delay === 0 || queue.length >= maxBatch) kick();
      else timer = setTimeout(kick, delay);
    },
    flush() {
      if (committed >= enqueued) return Promise.resolve();
      const done = new Promise<void>((resolve, reject) => waiters.push({ target: enqueued, resolve, reject }));
      kick();
      return done;
    },
    pending: () => queue.length,
  };
}
