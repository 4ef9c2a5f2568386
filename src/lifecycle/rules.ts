/**
 * A bucket's lifecycle rules, with S3's meaning: a rule selects objects by key prefix, size and tags, and expires them
 * a number of days after they were last written (or from a date on), and aborts the multipart uploads under its
 * prefix that are still in progress a number of days after they began. A day count ends at the next midnight UTC, as
 * in S3.
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
  /** Only objects that have every one of these tags (key → value). */
  tags?: Record<string, string>;
  /** Delete objects this many days after they were last written, or from this midnight UTC on. */
  expiration?: { days: number } | { date: Date };
  /** Abort multipart uploads this many days after they began. */
  abortIncompleteUploadDays?: number;
  /**
   * Actions on object versions, which the appliance's unversioned buckets never have: kept as set and answered back,
   * never carried out (S3 takes them on an unversioned bucket too, where they do nothing either).
   */
  versionActions?: { expiredObjectDeleteMarker?: boolean; noncurrentDays?: number; newerNoncurrentVersions?: number };
  /** The rule named its prefix in the older rule-level `Prefix` element, not in a `Filter`; answered the same way. */
  legacyPrefix?: true;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** `time` plus `days`, rounded up to the next midnight UTC (a time at midnight stays). */
export function dueAfterDays(time: Date, days: number): Date {
  return new Date(Math.ceil((time.getTime() + days * DAY_MS) / DAY_MS) * DAY_MS);
}

type ObjectFacts = { key: string; size: number; lastModified: Date };

/**
 * When `rule` expires an object of `key`, `size` bytes, last written at `lastModified`, if it has the rule's tags
 * (`hasRuleTags`); undefined if it never does.
 */
function expiryDate(rule: LifecycleRule, object: ObjectFacts): Date | undefined {
  const { expiration } = rule;
  if (!rule.enabled || expiration === undefined || !object.key.startsWith(rule.prefix)) return undefined;
  if (rule.sizeGreaterThan !== undefined && !(object.size > rule.sizeGreaterThan)) return undefined;
  if (rule.sizeLessThan !== undefined && !(object.size < rule.sizeLessThan)) return undefined;
  return "days" in expiration ? dueAfterDays(object.lastModified, expiration.days) : expiration.date;
}

/** Whether `rule` expires the object at `now`, if the object has the rule's tags (`hasRuleTags`). */
export function expiresObject(rule: LifecycleRule, object: ObjectFacts, now: Date): boolean {
  const due = expiryDate(rule, object);
  return due !== undefined && due.getTime() <= now.getTime();
}

/** Whether an object with `tags` has every tag `rule` filters on (true for a rule without tags). */
export function hasRuleTags(rule: LifecycleRule, tags: Record<string, string>): boolean {
  return Object.entries(rule.tags ?? {}).every(([key, value]) => tags[key] === value);
}

/** Whether `rule` aborts an upload of `key` begun at `initiated`, at `now`. */
export function abortsUpload(rule: LifecycleRule, upload: { key: string; initiated: Date }, now: Date): boolean {
  const days = rule.abortIncompleteUploadDays;
  if (!rule.enabled || days === undefined || !upload.key.startsWith(rule.prefix)) return false;
  return dueAfterDays(upload.initiated, days).getTime() <= now.getTime();
}

/**
 * When the first of `rules` to expire the object does so, and which rule that is. The object's tags are asked for
 * (`tagsOf`, at most once) only when a rule with tags would otherwise be the first.
 */
export async function objectExpiry(
  rules: readonly LifecycleRule[],
  object: ObjectFacts,
  tagsOf: () => Promise<Record<string, string>>,
): Promise<{ date: Date; rule: LifecycleRule } | undefined> {
  let first: { date: Date; rule: LifecycleRule } | undefined;
  let tags: Record<string, string> | undefined;
  for (const rule of rules) {
    const date = expiryDate(rule, object);
    if (date === undefined || (first !== undefined && date >= first.date)) continue;
    if (rule.tags !== undefined && !hasRuleTags(rule, tags ??= await tagsOf())) continue;
    first = { date, rule };
  }
  return first;
}
