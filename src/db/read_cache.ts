/**
 * Rows the request path reads from the database (access keys, buckets), kept in memory for a while so a request
 * costs no query, and served as last read while the database does not answer.
 *
 * Past `ttlMs` a value is read again. While the database answers, the request waits for that read, so a change made
 * to the database by other means shows within `ttlMs`. When it fails, or has not answered within `patienceMs` (a
 * database gone away, or hanging), the value last read is served and the read goes on in the background; after a
 * failure the next read waits `retryMs`. Only the appliance holding the database's lease writes these rows, and it
 * sets or forgets its copies as it writes them (`set`, `delete`), so the value last read is still right. A key never
 * read fails with the error `unavailable` makes.
 *
 * @module
 */
import type { Clock } from "../clock.ts";

export interface ReadCacheOptions<V> {
  read(key: string): Promise<V>;
  clock: Clock;
  ttlMs: number;
  /** How long a request waits for a read when a value last read could stand in (default 250 ms). */
  patienceMs?: number;
  /** How long after a failed read the next one starts (default 1000 ms). */
  retryMs?: number;
  /** Whether to keep `value` (e.g. not a row found missing); default: keep every value. */
  keep?(value: V): boolean;
  /** At most this many keys are kept (a flood of unknown keys empties the cache instead of growing it). */
  maxEntries?: number;
  /** The error of a read that failed where no value read before can stand in. */
  unavailable(key: string, cause: unknown): Error;
}

export interface ReadCache<V> {
  /** The value of `key`: in memory, read, or last read when the database does not answer (see above). */
  get(key: string): Promise<V>;
  /** The value of `key` while it is in memory and younger than `ttlMs`; no read. */
  fresh(key: string): V | undefined;
  /** Keeps `value` as just read (what this process has written); a read in flight no longer replaces it. */
  set(key: string, value: V): void;
  /** Forgets `key`; a read in flight no longer brings it back. */
  delete(key: string): void;
}

interface Entry<V> {
  value: V;
  /** Clock milliseconds from which the value is read again. */
  until: number;
}

export function createReadCache<V>(options: ReadCacheOptions<V>): ReadCache<V> {
  const { clock, ttlMs } = options;
  const patienceMs = options.patienceMs ?? 250;
  const retryMs = options.retryMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, Entry<V>>();
  /** The read in flight per key, with the token that lets it store its value. */
  const reads = new Map<string, { token: object; done: Promise<V> }>();
  const now = () => clock.now().getTime();

  function keepValue(key: string, value: V) {
    if (options.keep && !options.keep(value)) {
      entries.delete(key);
      return;
    }
    if (entries.size >= maxEntries && !entries.has(key)) entries.clear();
    entries.set(key, { value, until: now() + ttlMs });
  }

  function readAgain(key: string): Promise<V> {
    const running = reads.get(key);
    if (running) return running.done;
    const token = {};
    const done = options.read(key).then(
      (value) => {
        if (reads.get(key)?.token === token) keepValue(key, value);
        return value;
      },
      (err) => {
        const last = entries.get(key);
        if (last && reads.get(key)?.token === token) last.until = now() + retryMs;
        throw err;
      },
    ).finally(() => {
      if (reads.get(key)?.token === token) reads.delete(key);
    });
    reads.set(key, { token, done });
    return done;
  }

  function forget(key: string) {
    reads.delete(key);
    entries.delete(key);
  }

  return {
    async get(key) {
      const last = entries.get(key);
      if (last && last.until > now()) return last.value;
      const read = readAgain(key);
      if (!last) {
        try {
          return await read;
        } catch (err) {
          throw options.unavailable(key, err);
        }
      }
      read.catch(() => {}); // `last` stands in; a failure only delays the next read
      let timer: ReturnType<typeof setTimeout> | undefined;
      const impatient = new Promise<V>((resolve) => {
        timer = setTimeout(() => {
          // No answer yet: the requests of the next `retryMs` take `last` without waiting.
          if (entries.get(key) === last) last.until = now() + retryMs;
          resolve(last.value);
        }, patienceMs);
      });
      try {
        return await Promise.race([read.catch(() => last.value), impatient]);
      } finally {
        clearTimeout(timer);
      }
    },
    fresh(key) {
      const last = entries.get(key);
      return last && last.until > now() ? last.value : undefined;
    },
    set(key, value) {
      reads.delete(key);
      keepValue(key, value);
    },
    delete: forget,
  };
}
