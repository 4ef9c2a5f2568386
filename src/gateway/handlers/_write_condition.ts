/** The `If-None-Match` / `If-Match` headers of a conditional write (PutObject, CompleteMultipartUpload). @module */
import { isAppError } from "../../errors.ts";
import { checkWriteCondition, type WriteCondition } from "../../storage/mod.ts";
import { S3Error } from "../s3_errors.ts";
import type { RequestContext } from "./_context.ts";

/** The condition of a conditional write (`If-None-Match: *`, `If-Match`), if the request has one. */
export function writeCondition(ctx: RequestContext): WriteCondition | undefined {
  const ifNoneMatch = ctx.headers.get("if-none-match");
  const ifMatch = ctx.headers.get("if-match");
  if (ifNoneMatch === null && ifMatch === null) return undefined;
  if (ifNoneMatch !== null && ifNoneMatch.trim() !== "*") {
    throw new S3Error("NotImplemented", "If-None-Match on writes supports only *");
  }
  return { ...(ifNoneMatch !== null ? { ifNoneMatch: "*" } : {}), ...(ifMatch !== null ? { ifMatch } : {}) };
}

/**
 * Refuses a conditional write that already fails, before its body is read or its upload completed. This check alone
 * would race with other writers: the store checks the condition again, atomically, when it publishes the object.
 */
export async function refuseEarly(ctx: RequestContext, bucket: string, key: string, condition: WriteCondition) {
  const existing = await ctx.store.headObject(bucket, key).catch((err) => {
    if (isAppError(err, "NoSuchKey")) return undefined;
    throw err;
  });
  checkWriteCondition(condition, existing?.etag, key);
}
