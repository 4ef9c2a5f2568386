/**
 * The planner: pure functions from what changed (a source listing, a change feed, or both sides listed) and the
 * manifest of the last generation to the exact, key-ordered list of operations a run applies.
 *
 * @module
 */
import type { KeyFilter } from "./glob.ts";

/** An object on the source, keyed relative to the job's source prefix. */
export interface ObjectState {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** The current manifest: what the mirror holds, with the source ETag it was copied from. */
export interface ManifestEntry extends ObjectState {
  /** ETag of the copy on the mirror (differs from `etag` when a multipart object was re-chunked). */
  mirrorEtag: string;
}

export type PlanReason =
  | "new"
  | "modified"
  | "deleted"
  | "missing-on-mirror"
  | "differs-on-mirror"
  | "extra-on-mirror";

export interface PlanItem {
  op: "copy" | "delete";
  key: string;
  size: number;
  /** Source ETag the copy expects; null when unknown (journal event without one) or for deletes. */
  etag: string | null;
  reason: PlanReason;
}

/** A change-feed record, relative to the source prefix. `etag` null = unknown. */
export interface Change {
  op: "put" | "delete";
  key: string;
  etag: string | null;
  size: number | null;
}

export interface PlanOptions {
  /** mirror propagates deletes; additive never deletes. */
  mode: "mirror" | "additive";
  filter: KeyFilter;
}

function sameContent(a: { size: number; etag: string }, b: { size: number; etag: string }): boolean {
  return a.size === b.size && a.etag === b.etag;
}

const encoder = new TextEncoder();

function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Orders a plan by key in UTF-8 byte order, as S3 lists keys. */
function sortByKey(plan: PlanItem[]): PlanItem[] {
  return plan.map((item) => ({ item, bytes: encoder.encode(item.key) }))
    .sort((a, b) => compareBytes(a.bytes, b.bytes))
    .map((x) => x.item);
}

function copyItem(state: { key: string; size: number; etag: string | null }, reason: PlanReason): PlanItem {
  return { op: "copy", key: state.key, size: state.size, etag: state.etag, reason };
}

function deleteItem(entry: ManifestEntry | { key: string; size: number }, reason: PlanReason): PlanItem {
  return { op: "delete", key: entry.key, size: entry.size, etag: null, reason };
}

/** Manifest mode: the source listing against the manifest; the mirror is not looked at. */
export function planFromListing(
  source: Iterable<ObjectState>,
  manifest: ReadonlyMap<string, ManifestEntry>,
  options: PlanOptions,
): PlanItem[] {
  const plan: PlanItem[] = [];
  const seen = new Set<string>();
  for (const obj of source) {
    if (!options.filter(obj.key)) continue;
    seen.add(obj.key);
    const prev = manifest.get(obj.key);
    if (!prev) plan.push(copyItem(obj, "new"));
    else if (!sameContent(obj, prev)) plan.push(copyItem(obj, "modified"));
  }
  if (options.mode === "mirror") {
    for (const entry of manifest.values()) {
      if (!seen.has(entry.key) && options.filter(entry.key)) plan.push(deleteItem(entry, "deleted"));
    }
  }
  return sortByKey(plan);
}

/** Journal mode: the change feed since the last run (the last change of a key wins) against the manifest. */
export function planFromChanges(
  changes: Iterable<Change>,
  manifest: ReadonlyMap<string, ManifestEntry>,
  options: PlanOptions,
): PlanItem[] {
  const last = new Map<string, Change>();
  for (const c of changes) if (options.filter(c.key)) last.set(c.key, c);
  const plan: PlanItem[] = [];
  for (const c of last.values()) {
    const prev = manifest.get(c.key);
    if (c.op === "put") {
      if (prev && c.etag !== null && c.size !== null && sameContent({ size: c.size, etag: c.etag }, prev)) continue;
      plan.push(copyItem({ key: c.key, size: c.size ?? 0, etag: c.etag }, prev ? "modified" : "new"));
    } else if (prev && options.mode === "mirror") {
      plan.push(deleteItem(prev, "deleted"));
    }
  }
  return sortByKey(plan);
}

/** Verify mode: both sides listed; anything on the mirror that does not match the source is repaired. */
export function planVerify(
  source: Iterable<ObjectState>,
  mirror: ReadonlyMap<string, { key: string; size: number; etag: string }>,
  manifest: ReadonlyMap<string, ManifestEntry>,
  options: PlanOptions,
): PlanItem[] {
  const plan: PlanItem[] = [];
  const seen = new Set<string>();
  for (const obj of source) {
    if (!options.filter(obj.key)) continue;
    seen.add(obj.key);
    const onMirror = mirror.get(obj.key);
    const prev = manifest.get(obj.key);
    if (!onMirror) {
      plan.push(copyItem(obj, "missing-on-mirror"));
    } else if (prev && !sameContent(obj, prev)) {
      plan.push(copyItem(obj, "modified"));
    } else if (!sameContent(onMirror, { size: obj.size, etag: prev?.mirrorEtag ?? obj.etag })) {
      plan.push(copyItem(obj, "differs-on-mirror"));
    }
  }
  if (options.mode === "mirror") {
    for (const obj of mirror.values()) {
      if (!seen.has(obj.key) && options.filter(obj.key)) plan.push(deleteItem(obj, "extra-on-mirror"));
    }
  }
  return sortByKey(plan);
}
