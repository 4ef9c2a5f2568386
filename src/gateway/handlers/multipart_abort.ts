/** AbortMultipartUpload. @module */
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { uploadIdOf } from "./_multipart_params.ts";
import { emptyResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export async function abortMultipartUpload(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  await ctx.store.abortMultipartUpload(bucket, key, uploadIdOf(ctx));
  return emptyResponse(ctx.ids, 204);
}
