/**
 * A sorted set of keys in UTF-8 byte order and the S3 listing algorithm over it
 * (prefix, delimiter → common prefixes, start-after, max-keys, truncation).
 *
 * @module
 */
import { AppError } from "../errors.ts";
import type { ListOptions } from "./mod.ts";
import { compareKeys } from "./_keys.ts";

export interface KeyPage {
  keys: string[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextStartAfter?: string;
}

/** Most keys per run: an insert or delete moves at most this many, however large the set. */
const RUN = 512;

/** A position in the set: run `r`, index `i` in it (`r` = number of runs: the end). */
interface Pos {
  r: number;
  i: number;
}

const START: Pos = { r: 0, i: 0 };

export class SortedKeys {
  /** The keys in order, as consecutive sorted runs of 1..RUN keys (one flat array cost O(n) per insert). */
  #runs: string[][] = [];
  #size = 0;

  /** Builds the set from keys in any order (O(n log n), unlike repeated `add`). */
  static from(keys: string[]): SortedKeys {
    const set = new SortedKeys();
    const sorted = [...new Set(keys)].sort(compareKeys);
    // Half-full runs, so the first inserts into them split none.
    for (let at = 0; at < sorted.length; at += RUN / 2) set.#runs.push(sorted.slice(at, at + RUN / 2));
    set.#size = sorted.length;
    return set;
  }

  get size(): number {
    return this.#size;
  }

  /** The first position at or after `from` whose key fails `before` (true for the keys before some point only). */
  #search(before: (key: string) => boolean, from: Pos = START): Pos {
    const runs = this.#runs;
    let lo = from.r;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const run = runs[mid]!;
      if (before(run[run.length - 1]!)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === runs.length) return { r: lo, i: 0 };
    const run = runs[lo]!;
    let a = lo === from.r ? from.i : 0;
    let b = run.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (before(run[mid]!)) a = mid + 1;
      else b = mid;
    }
    return { r: lo, i: a };
  }

  /** The first position at or after `from` whose key is >= `key` (or > `key` when `strict`). */
  #bound(key: string, strict: boolean, from?: Pos): Pos {
    return this.#search((k) => {
      const c = compareKeys(k, key);
      return c < 0 || (strict && c === 0);
    }, from);
  }

  #at(pos: Pos): string | undefined {
    return this.#runs[pos.r]?.[pos.i];
  }

  #next(pos: Pos): Pos {
    return pos.i + 1 < this.#runs[pos.r]!.length ? { r: pos.r, i: pos.i + 1 } : { r: pos.r + 1, i: 0 };
  }

  has(key: string): boolean {
    return this.#at(this.#bound(key, false)) === key;
  }

  add(key: string): void {
    const pos = this.#bound(key, false);
    if (this.#at(pos) === key) return;
    this.#size++;
    const runs = this.#runs;
    if (runs.length === 0) {
      runs.push([key]);
      return;
    }
    // Past the last key: the end of the last run.
    const r = Math.min(pos.r, runs.length - 1);
    const run = runs[r]!;
    run.splice(pos.r === r ? pos.i : run.length, 0, key);
    if (run.length > RUN) runs.splice(r, 1, run.slice(0, RUN / 2), run.slice(RUN / 2));
  }

  delete(key: string): void {
    const pos = this.#bound(key, false);
    if (this.#at(pos) !== key) return;
    this.#size--;
    const run = this.#runs[pos.r]!;
    run.splice(pos.i, 1);
    if (run.length === 0) this.#runs.splice(pos.r, 1);
  }

  list(options: ListOptions = {}): KeyPage {
    const prefix = options.prefix ?? "";
    const delimiter = options.delimiter ?? "";
    const maxKeys = resolveMaxKeys(options.maxKeys);
    const startAfter = options.startAfter;
    const keys: string[] = [];
    const commonPrefixes: string[] = [];
    if (maxKeys === 0) return { keys, commonPrefixes, isTruncated: false };
    let pos = this.#bound(prefix, false);
    if (startAfter !== undefined && compareKeys(startAfter, prefix) >= 0) pos = this.#bound(startAfter, true, pos);
    let last: string | undefined;
    for (let key = this.#at(pos); key !== undefined; key = this.#at(pos)) {
      if (!key.startsWith(prefix)) break;
      const d = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length);
      if (d >= 0) {
        const cp = key.slice(0, d + delimiter.length);
        // The keys from here on that start with `cp` are consecutive.
        const next = this.#search((k) => k.startsWith(cp), pos);
        // A common prefix at or before start-after was returned on an earlier page.
        if (startAfter !== undefined && compareKeys(cp, startAfter) <= 0) {
          pos = next;
          continue;
        }
        if (keys.length + commonPrefixes.length === maxKeys) {
          return { keys, commonPrefixes, isTruncated: true, nextStartAfter: last };
        }
        commonPrefixes.push(cp);
        last = cp;
        pos = next;
      } else {
        if (keys.length + commonPrefixes.length === maxKeys) {
          return { keys, commonPrefixes, isTruncated: true, nextStartAfter: last };
        }
        keys.push(key);
        last = key;
        pos = this.#next(pos);
      }
    }
    return { keys, commonPrefixes, isTruncated: false };
  }
}

export function resolveMaxKeys(maxKeys: number | undefined): number {
  if (maxKeys === undefined) return 1000;
  if (!Number.isInteger(maxKeys) || maxKeys < 0) {
    throw new AppError("InvalidArgument", `max-keys must be a non-negative integer, got ${maxKeys}`);
  }
  return Math.min(maxKeys, 1000);
}
