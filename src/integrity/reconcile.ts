/**
 * `integrity reconcile BUCKET`: replay the journal into the state the bucket should have (key → ETag, size),
 * list the real bucket, and report objects created, modified or deleted outside the gateway, with what the
 * journal knows of when. Each anomaly becomes an `Observed…` record, so the replay includes it next time and an
 * anomaly is reported once.
 *
 * @module
 */
import { OBJECT_WRITES } from "../events/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { walkObjects } from "../storage/walk.ts";
import type { JournalStore } from "./journal.ts";
import { decodeRecord, type JournalRecord, type ObservedOperation, type RecordBody } from "./record_codec.ts";

export interface Anomaly {
  op: ObservedOperation;
  bucket: string;
  key: string;
  /** What the journal says the object should be (absent when it should not exist). */
  expected?: { etag?: string; size?: number };
  /** What the bucket holds (absent when the object is gone). */
  actual?: { etag: string; size: number; lastModified: string };
  /** The last journal record that touched the key, if any. */
  lastRecord?: { seq: number; time: string; op: string; actor: string };
  detectedAt: string;
}

export interface ReconcileReport {
  bucket: string;
  time: string;
  /** Journal size the expected state was replayed from. */
  journalSize: number;
  expectedObjects: number;
  actualObjects: number;
  anomalies: Anomaly[];
}

interface KeyState {
  etag?: string;
  size?: number;
  exists: boolean;
  last: { seq: number; time: string; op: string; actor: string };
}

const CREATES = new Set<string>([...OBJECT_WRITES, "ObservedCreate", "ObservedModify"]);
const DELETES = new Set(["DeleteObject", "DeleteObjects", "ObservedDelete"]);
export const RECONCILE_ACTOR = "integrity-reconcile";
const PAGE = 5000;

function apply(state: Map<string, KeyState>, r: JournalRecord): void {
  if (r.status !== undefined && r.status >= 300) return;
  const last = { seq: r.seq, time: r.time, op: r.op, actor: r.actor };
  if (r.op === "DeleteBucket") {
    state.clear();
  } else if (r.key !== undefined && CREATES.has(r.op)) {
    state.set(r.key, { etag: r.etag, size: r.size, exists: true, last });
  } else if (r.key !== undefined && DELETES.has(r.op)) {
    state.set(r.key, { exists: false, last });
  }
}

/** Replays records [after+1, …) of `bucket` into `state`; returns the keys touched and the last seq read. */
async function replay(
  journal: JournalStore,
  bucket: string,
  state: Map<string, KeyState>,
  after: number,
): Promise<{ touched: Set<string>; last: number }> {
  const touched = new Set<string>();
  for (;;) {
    const page = await journal.scan(after, PAGE);
    if (page.data.length === 0) return { touched, last: after };
    for (const data of page.data) {
      const r = decodeRecord(data);
      if (r.bucket !== bucket) continue;
      apply(state, r);
      if (r.key !== undefined) touched.add(r.key);
    }
    after = page.lastSeq;
  }
}

export interface ReconcileDeps {
  journal: JournalStore;
  buckets: ObjectStore;
  /** Waits until every queued record is committed. */
  flush(): Promise<void>;
  /** Journals the anomalies (in order) and waits for the commit. */
  record(bodies: RecordBody[]): Promise<void>;
  now(): Date;
}

export async function reconcileBucket(deps: ReconcileDeps, bucket: string): Promise<ReconcileReport> {
  await deps.buckets.headBucket(bucket);
  await deps.flush();
  const state = new Map<string, KeyState>();
  const first = await replay(deps.journal, bucket, state, -1);
  const actual = new Map<string, { etag: string; size: number; lastModified: string }>();
  for await (const o of walkObjects(deps.buckets, bucket)) {
    actual.set(o.key, { etag: o.etag, size: o.size, lastModified: o.lastModified.toISOString() });
  }
  // Operations that went through the gateway while we listed are not anomalies; look again next time.
  await deps.flush();
  const { touched } = await replay(deps.journal, bucket, new Map(), first.last);

  const detectedAt = deps.now().toISOString();
  const anomalies: Anomaly[] = [];
  const keys = new Set([...actual.keys(), ...[...state].filter(([, s]) => s.exists).map(([k]) => k)]);
  for (const key of [...keys].sort()) {
    if (touched.has(key)) continue;
    const want = state.get(key);
    const have = actual.get(key);
    const base = { bucket, key, detectedAt, ...(want ? { lastRecord: want.last } : {}) };
    const expected = want?.exists ? { etag: want.etag, size: want.size } : undefined;
    if (have && !want?.exists) {
      anomalies.push({ ...base, op: "ObservedCreate", actual: have });
    } else if (!have && want?.exists) {
      anomalies.push({ ...base, op: "ObservedDelete", expected });
    } else if (
      have && want && ((want.etag !== undefined && want.etag !== have.etag) ||
        (want.size !== undefined && want.size !== have.size))
    ) {
      anomalies.push({ ...base, op: "ObservedModify", expected, actual: have });
    }
  }
  await deps.record(anomalies.map((a) => anomalyRecord(a)));
  return {
    bucket,
    time: detectedAt,
    journalSize: first.last + 1,
    expectedObjects: [...state.values()].filter((s) => s.exists).length,
    actualObjects: actual.size,
    anomalies,
  };
}

function anomalyRecord(a: Anomaly): RecordBody {
  const detail: Record<string, string | number> = {};
  if (a.expected?.etag !== undefined) detail.expectedEtag = a.expected.etag;
  if (a.expected?.size !== undefined) detail.expectedSize = a.expected.size;
  if (a.actual) detail.lastModified = a.actual.lastModified;
  if (a.lastRecord) {
    detail.lastRecordSeq = a.lastRecord.seq;
    detail.lastRecordTime = a.lastRecord.time;
  }
  return {
    time: a.detectedAt,
    actor: RECONCILE_ACTOR,
    op: a.op,
    bucket: a.bucket,
    key: a.key,
    ...(a.actual ? { etag: a.actual.etag, size: a.actual.size } : {}),
    detail,
  };
}
