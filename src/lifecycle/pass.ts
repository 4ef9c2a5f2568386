/**
 * One lifecycle pass: for every bucket with enabled rules, delete the objects a rule expires and abort the multipart
 * uploads a rule ends. Each deletion and abort is published as the operation event a client's request would have
 * made (actor `lifecycle`), so the integrity journal records it and sync carries it to mirrors: nothing changes
 * outside the recorded path.
 *
 * An object is deleted only if it is still the one listed (same ETag and time, and the deletion itself conditional on
 * the ETag): one written again since the listing is left for a later pass to judge by its new time, and one deleted
 * since is passed over.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { isAppError } from "../errors.ts";
import type { BucketConfigStore } from "../gateway/bucket_config.ts";
import { createRequestIds } from "../gateway/request_ids.ts";
import type { OperationEvent } from "../events/mod.ts";
import type { Logger } from "../log.ts";
import type { ObjectInfo, ObjectStore } from "../storage/mod.ts";
import { walkObjects, walkUploads } from "../storage/walk.ts";
import { abortsUpload, expiresObject, hasRuleTags, type LifecycleRule } from "./rules.ts";

export interface PassDeps {
  buckets: ObjectStore;
  bucketConfig: BucketConfigStore;
  clock: Clock;
  logger: Logger;
  publish(event: OperationEvent): void;
}

export interface PassResult {
  startedAt: Date;
  finishedAt: Date;
  /** Buckets with enabled rules that were walked. */
  buckets: number;
  expired: number;
  aborted: number;
  /** Objects or uploads that could not be removed, and buckets that could not be walked. */
  errors: number;
}

/** Who the journal names for what the lifecycle does. */
export const LIFECYCLE_ACTOR = "lifecycle";

type Tally = Pick<PassResult, "expired" | "aborted" | "errors">;

function isUnchanged(listed: ObjectInfo, now: ObjectInfo): boolean {
  return listed.etag === now.etag && listed.lastModified.getTime() === now.lastModified.getTime();
}

export function createLifecyclePass(deps: PassDeps): (only?: string) => Promise<PassResult> {
  const requestIds = createRequestIds();

  function record(op: "DeleteObject" | "AbortMultipartUpload", bucket: string, key: string, time: Date, extra = {}) {
    deps.publish({
      actor: LIFECYCLE_ACTOR,
      op,
      bucket,
      key,
      status: 204,
      requestId: requestIds().requestId,
      clientAddress: LIFECYCLE_ACTOR,
      time,
      durationMs: deps.clock.now().getTime() - time.getTime(),
      bytesIn: 0,
      bytesOut: 0,
      ...extra,
    });
  }

  async function expireObjects(bucket: string, rule: LifecycleRule, now: Date, tally: Tally): Promise<void> {
    for await (const listed of walkObjects(deps.buckets, bucket, rule.prefix)) {
      if (!expiresObject(rule, listed, now)) continue;
      const time = deps.clock.now();
      try {
        if (rule.tags && !hasRuleTags(rule, await deps.buckets.getObjectTagging(bucket, listed.key))) continue;
        if (!isUnchanged(listed, await deps.buckets.headObject(bucket, listed.key))) continue;
        await deps.buckets.deleteObject(bucket, listed.key, { condition: { ifMatch: listed.etag } });
        record("DeleteObject", bucket, listed.key, time, { size: listed.size, etag: listed.etag });
        tally.expired++;
      } catch (err) {
        // Deleted since the listing (by a client, or by another appliance's pass), or replaced since the look just
        // before (the deletion is conditional on the listed ETag): nothing to do now.
        if (isAppError(err, "NoSuchKey", "PreconditionFailed")) continue;
        tally.errors++;
        deps.logger.warn("lifecycle: cannot expire an object", { bucket, key: listed.key, error: String(err) });
      }
    }
  }

  async function abortUploads(bucket: string, rule: LifecycleRule, now: Date, tally: Tally): Promise<void> {
    for await (const upload of walkUploads(deps.buckets, bucket, rule.prefix)) {
      if (!abortsUpload(rule, upload, now)) continue;
      const time = deps.clock.now();
      try {
        await deps.buckets.abortMultipartUpload(bucket, upload.key, upload.uploadId);
        record("AbortMultipartUpload", bucket, upload.key, time);
        tally.aborted++;
      } catch (err) {
        tally.errors++;
        deps.logger.warn("lifecycle: cannot abort an upload", { bucket, key: upload.key, error: String(err) });
      }
    }
  }

  /** Runs the rules of every bucket, or of bucket `only`. */
  return async (only) => {
    const startedAt = deps.clock.now();
    const tally: Tally = { expired: 0, aborted: 0, errors: 0 };
    let walked = 0;
    const names = only !== undefined ? [only] : (await deps.buckets.listBuckets()).map((b) => b.name);
    for (const bucket of names) {
      try {
        const rules = (await deps.bucketConfig.configOf(bucket, "lifecycle"))?.filter((r) => r.enabled) ?? [];
        if (rules.length === 0) continue;
        walked++;
        for (const rule of rules) {
          if (rule.expiration) await expireObjects(bucket, rule, startedAt, tally);
          if (rule.abortIncompleteUploadDays !== undefined) await abortUploads(bucket, rule, startedAt, tally);
        }
      } catch (err) {
        tally.errors++;
        deps.logger.warn("lifecycle: cannot walk a bucket", { bucket, error: String(err) });
      }
    }
    return { startedAt, finishedAt: deps.clock.now(), buckets: walked, ...tally };
  };
}
