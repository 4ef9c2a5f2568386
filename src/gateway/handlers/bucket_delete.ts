/** DeleteBucket (admin keys only). @module */
import { bucketOf, type RequestContext, requireAdmin } from "./_context.ts";
import { emptyResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export async function deleteBucket(ctx: RequestContext): Promise<S3Answer> {
  const bucket = bucketOf(ctx);
  requireAdmin(ctx);
  await ctx.store.deleteBucket(bucket);
  return emptyResponse(ctx.ids, 204);
}
