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

export class SortedKeys {
  #keys: string[] = [];

  /** Builds the set from keys in any order (O(n log n), unlike repeated `add`). */
  static from(keys: string[]): SortedKeys {
    const set = new SortedKeys();
    set.#keys = [...new Set(keys)].sort(compareKeys);
    return set;
  }

  get size(): number {
    return this.#keys.length;
  }

  /** First index whose key is >= `key` (or > `key` when `strict`). */
  #bound(key: string, strict: boolean, from = 0): number {
    let lo = from;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(this.#keys[mid]!, key);
      if (c < 0 || (strict && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(key: string): boolean {
    const i = this.#bound(key, false);
    return this.#keys[i] === key;
  }

  add(key: string): void {
    const i = this.#bound(key, false);
    if (this.#keys[i] !== key) this.#keys.splice(i, 0, key);
  }

  delete(key: string): void {
    const i = this.#bound(key, false);
    if (this.#keys[i] === key) this.#keys.splice(i, 1);
  }

  /** First index at or after `from` whose key does not start with `prefix` (keys from `from` on start with it). */
  #endOfPrefix(prefix: string, from: number): number {
    let lo = from;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#keys[mid]!.startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  list(options: ListOptions = {}): KeyPage {
    const prefix = options.prefix ?? "";
    const delimiter = options.delimiter ?? "";
    const maxKeys = resolveMaxKeys(options.maxKeys);
    const startAfter = options.startAfter;
    const keys: string[] = [];
    const commonPrefixes: string[] = [];
    if (maxKeys === 0) return { keys, commonPrefixes, isTruncated: false };
    let i = this.#bound(prefix, false);
    if (startAfter !== undefined && compareKeys(startAfter, prefix) >= 0) i = this.#bound(startAfter, true, i);
    let last: string | undefined;
    const n = this.#keys.length;
    while (i < n) {
      const key = this.#keys[i]!;
      if (!key.startsWith(prefix)) break;
      const d = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length);
      if (d >= 0) {
        const cp = key.slice(0, d + delimiter.length);
        const next = this.#endOfPrefix(cp, i);
        // A common prefix at or before start-after was returned on an earlier page.
        if (startAfter !== undefined && compareKeys(cp, startAfter) <= 0) {
          i = next;
          continue;
        }
        if (keys.length + commonPrefixes.length === maxKeys) {
          return { keys, commonPrefixes, isTruncated: true, nextStartAfter: last };
        }
        commonPrefixes.push(cp);
        last = cp;
        i = next;
      } else {
        if (keys.length + commonPrefixes.length === maxKeys) {
          return { keys, commonPrefixes, isTruncated: true, nextStartAfter: last };
        }
        keys.push(key);
        last = key;
        i++;
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
