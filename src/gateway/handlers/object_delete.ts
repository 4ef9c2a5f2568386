/** DeleteObject: deleting a missing key succeeds, as in S3. @module */
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { emptyResponse } from "./_respond.ts";
import { versionHeaders } from "./_version.ts";

export async function deleteObject(ctx: RequestContext): Promise<Response> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const headers = versionHeaders(ctx.url);
  await ctx.store.deleteObject(bucket, key);
  return emptyResponse(ctx.ids, 204, headers);
}
