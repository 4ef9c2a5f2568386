/** ListBuckets: the buckets the caller may see. @module */
import { maySeeBucket } from "../credentials.ts";
import type { RequestContext } from "./_context.ts";
import { isoDate, OWNER, xmlResponse } from "./_respond.ts";

export async function listBuckets(ctx: RequestContext): Promise<Response> {
  const buckets = (await ctx.store.listBuckets()).filter((b) => maySeeBucket(ctx.identity, b.name));
  return xmlResponse(ctx.ids, "ListAllMyBucketsResult", {
    Owner: OWNER,
    Buckets: {
      Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt), BucketRegion: ctx.region })),
    },
  });
}
