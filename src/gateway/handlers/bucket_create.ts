/**
 * CreateBucket (admin keys only). A CreateBucketConfiguration body must be well-formed; its LocationConstraint is
 * accepted whatever it names, since the appliance is one region and clients configured for another still work.
 *
 * @module
 */
import { S3Error } from "../s3_errors.ts";
import { bucketOf, type RequestContext, requireAdmin } from "./_context.ts";
import { emptyResponse } from "./_respond.ts";
import { readOptionalXmlBody } from "./_xml_body.ts";
import { refuseAclGrants } from "./_write_features.ts";
import type { S3Answer } from "../answer.ts";

export async function createBucket(ctx: RequestContext): Promise<S3Answer> {
  const bucket = bucketOf(ctx);
  requireAdmin(ctx);
  refuseAclGrants(ctx.headers);
  await readOptionalXmlBody(ctx, "CreateBucketConfiguration");
  const objectLock = ctx.headers.get("x-amz-bucket-object-lock-enabled")?.toLowerCase() === "true";
  if (objectLock && !ctx.store.capabilities.objectLock) {
    throw new S3Error("NotImplemented", "Object Lock is not available on this backend");
  }
  await ctx.store.createBucket(bucket, objectLock ? { objectLock } : undefined);
  return emptyResponse(ctx.ids, 200, { location: `/${bucket}` });
}
