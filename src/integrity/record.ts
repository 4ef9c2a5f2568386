/**
 * Turning gateway events into journal record bodies.
 *
 * @module
 */
import { BUCKET_SETTING_READS, type OperationEvent, type S3Operation } from "../events/mod.ts";
import type { RecordBody } from "./record_codec.ts";

/**
 * The record bodies for a gateway event: one, except for DeleteObjects, which gets one record per deleted key
 * (sharing the request id) so each deletion is chained and provable on its own.
 */
export function bodiesFromEvent(e: OperationEvent): RecordBody[] {
  const body = bodyFromEvent(e);
  if (e.op !== "DeleteObjects" || !e.deletedKeys?.length) return [body];
  return e.deletedKeys.map((key) => ({ ...body, key }));
}

function bodyFromEvent(e: OperationEvent): RecordBody {
  const checksums = e.checksums && Object.keys(e.checksums).length > 0 ? e.checksums : undefined;
  return {
    time: e.time.toISOString(),
    actor: e.actor,
    op: e.op,
    bucket: e.bucket,
    key: e.key,
    size: e.size,
    etag: e.etag,
    checksums,
    source: e.source ? { bucket: e.source.bucket, key: e.source.key } : undefined,
    status: e.status,
    errorCode: e.errorCode,
    clientAddress: e.clientAddress,
    requestId: e.requestId,
  };
}

const READ_OPS: ReadonlySet<S3Operation> = new Set<S3Operation>([
  "ListBuckets",
  "HeadBucket",
  "GetBucketLocation",
  "ListObjects",
  "ListObjectsV2",
  "GetObject",
  "HeadObject",
  "ListParts",
  "ListMultipartUploads",
  "ListObjectVersions",
  "GetObjectAttributes",
  "GetObjectAcl",
  "GetObjectTagging",
  "GetBucketCors",
  "PreflightRequest",
  "GetBucketLifecycleConfiguration",
  "GetBucketTagging",
  ...BUCKET_SETTING_READS,
]);

/**
 * Which events become records: every change attempt and every failure or denial; successful reads only
 * when `journalReads` is set.
 */
export function shouldJournal(e: OperationEvent, journalReads: boolean): boolean {
  return journalReads || !READ_OPS.has(e.op) || e.status >= 300 || e.errorCode !== undefined;
}
