/**
 * LRU cache of chunk objects, bounded in bytes. Keys are chunk object keys, which are immutable, so an entry
 * never goes stale; a rewritten chunk simply gets a new key.
 *
 * @module
 */

export interface ReadCache {
  get(key: string): Uint8Array | undefined;
  set(key: string, data: Uint8Array): void;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
}

export function createReadCache(maxBytes: number): ReadCache {
  const entries = new Map<string, Uint8Array>();
  let bytes = 0;
  let hits = 0;
  let misses = 0;
  return {
    get(key) {
      const data = entries.get(key);
      if (data === undefined) {
        misses++;
        return undefined;
      }
      hits++;
      // Map iteration order is insertion order: re-inserting marks it most recently used.
      entries.delete(key);
      entries.set(key, data);
      return data;
    },
    set(key, data) {
      if (data.length > maxBytes) return;
      const old = entries.get(key);
      if (old) {
        bytes -= old.length;
        entries.delete(key);
      }
      entries.set(key, data);
      bytes += data.length;
      for (const [k, v] of entries) {
        if (bytes <= maxBytes) break;
        entries.delete(k);
        bytes -= v.length;
      }
    },
    get bytes() {
      return bytes;
    },
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
  };
}
