/** HeadBucket. @module */
import { maySeeBucket } from "../credentials.ts";
import { S3Error } from "../s3_errors.ts";
import { bucketOf, type RequestContext } from "./_context.ts";
import { emptyResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export async function headBucket(ctx: RequestContext): Promise<S3Answer> {
  const bucket = bucketOf(ctx);
  if (!maySeeBucket(ctx.identity, bucket)) throw new S3Error("AccessDenied");
  await ctx.store.headBucket(bucket);
  return emptyResponse(ctx.ids, 200, { "x-amz-bucket-region": ctx.region });
}
