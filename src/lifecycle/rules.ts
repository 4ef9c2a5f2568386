/**
 * A bucket's lifecycle rules, with S3's meaning: a rule selects objects by key prefix and size, and expires them a
 * number of days after they were last written (or from a date on), and aborts the multipart uploads under its prefix
 * that are still in progress a number of days after they began. A day count ends at the next midnight UTC, as in S3.
 *
 * @module
 */

export interface LifecycleRule {
  id?: string;
  enabled: boolean;
  /** Keys the rule applies to ("" for all). */
  prefix: string;
  /** Only objects larger than this many bytes. */
  sizeGreaterThan?: number;
  /** Only objects smaller than this many bytes. */
  sizeLessThan?: number;
  /** Delete objects this many days after they were last written, or from this midnight UTC on. */
  expiration?: { days: number } | { date: Date };
  /** Abort multipart uploads this many days after they began. */
  abortIncompleteUploadDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** `time` plus `days`, rounded up to the next midnight UTC (a time at midnight stays). */
export function dueAfterDays(time: Date, days: number): Date {
  return new Date(Math.ceil((time.getTime() + days * DAY_MS) / DAY_MS) * DAY_MS);
}

/** Whether `rule` expires an object of `key`, `size` bytes, last written at `lastModified`, at `now`. */
export function expiresObject(
  rule: LifecycleRule,
  object: { key: string; size: number; lastModified: Date },
  now: Date,
): boolean {
  const { expiration } = rule;
  if (!rule.enabled || expiration === undefined || !object.key.startsWith(rule.prefix)) return false;
  if (rule.sizeGreaterThan !== undefined && !(object.size > rule.sizeGreaterThan)) return false;
  if (rule.sizeLessThan !== undefined && !(object.size < rule.sizeLessThan)) return false;
  const due = "days" in expiration ? dueAfterDays(object.lastModified, expiration.days) : expiration.date;
  return due.getTime() <= now.getTime();
}

/** Whether `rule` aborts an upload of `key` begun at `initiated`, at `now`. */
export function abortsUpload(rule: LifecycleRule, upload: { key: string; initiated: Date }, now: Date): boolean {
  const days = rule.abortIncompleteUploadDays;
  if (!rule.enabled || days === undefined || !upload.key.startsWith(rule.prefix)) return false;
  return dueAfterDays(upload.initiated, days).getTime() <= now.getTime();
}

/** When the first of `rules` to expire an object of `key`, `size` bytes, last written at `lastModified`, does so. */
export function objectExpiry(
  rules: readonly LifecycleRule[],
  object: { key: string; size: number; lastModified: Date },
): { date: Date; rule: LifecycleRule } | undefined {
  let first: { date: Date; rule: LifecycleRule } | undefined;
  for (const rule of rules) {
    // Any time at which the rule would expire the object tells whether it applies: the end of time.
    if (rule.expiration === undefined || !expiresObject(rule, object, new Date(8.64e15))) continue;
    const { expiration } = rule;
    const date = "days" in expiration ? dueAfterDays(object.lastModified, expiration.days) : expiration.date;
    if (first === undefined || date < first.date) first = { date, rule };
  }
  return first;
}
