/**
 * DeleteObject: deleting a missing key succeeds, as in S3; with `If-Match` the object is deleted only if it has that
 * ETag (`*`: if it exists), checked atomically with the removal.
 *
 * @module
 */
import { S3Error } from "../s3_errors.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { emptyResponse } from "./_respond.ts";
import { versionHeaders } from "./_version.ts";
import type { S3Answer } from "../answer.ts";

/** Conditions S3 takes on deletes in its directory buckets only. */
const DIRECTORY_BUCKET_CONDITIONS = ["x-amz-if-match-last-modified-time", "x-amz-if-match-size"];

/** The answer to a delete conditional on the object's time or size (DeleteObject's headers, DeleteObjects' elements). */
export function timeOrSizeConditionRefused(): S3Error {
  return new S3Error("NotImplemented", "Deletes conditional on the time or size are not available; the ETag is");
}

export async function deleteObject(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const headers = versionHeaders(ctx.url);
  if (DIRECTORY_BUCKET_CONDITIONS.some((name) => ctx.headers.has(name))) {
    throw timeOrSizeConditionRefused();
  }
  const ifMatch = ctx.headers.get("if-match");
  await ctx.store.deleteObject(bucket, key, ifMatch !== null ? { condition: { ifMatch } } : {});
  return emptyResponse(ctx.ids, 204, headers);
}
