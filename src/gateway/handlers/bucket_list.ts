/**
 * ListBuckets: the buckets the caller may see, in name order, a page at a time when it names `max-buckets` (1-10,000;
 * the page then ends with an opaque `ContinuationToken` when more remain), filtered by `prefix` and `bucket-region`.
 *
 * @module
 */
import { maySeeBucket } from "../credentials.ts";
import { S3Error } from "../s3_errors.ts";
import type { RequestContext } from "./_context.ts";
import { intParam } from "./_listing.ts";
import { isoDate, OWNER, xmlResponse } from "./_respond.ts";
import { decodeContinuationToken, encodeContinuationToken } from "./objects_list_v2.ts";
import type { S3Answer } from "../answer.ts";

const MAX_BUCKETS = 10_000;

export async function listBuckets(ctx: RequestContext): Promise<S3Answer> {
  const q = ctx.url.searchParams;
  const maxBuckets = intParam(q, "max-buckets", MAX_BUCKETS, MAX_BUCKETS);
  if (maxBuckets < 1) {
    throw new S3Error("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000");
  }
  const prefix = q.get("prefix") ?? undefined;
  const region = q.get("bucket-region") ?? undefined;
  // An empty token starts from the first bucket, as in S3.
  const after = q.get("continuation-token") ? decodeContinuationToken(q.get("continuation-token")!) : "";
  const visible = region !== undefined && region !== ctx.region ? [] : (await ctx.store.listBuckets())
    .filter((b) => b.name > after && b.name.startsWith(prefix ?? "") && maySeeBucket(ctx.identity, b.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const page = visible.slice(0, maxBuckets);
  return xmlResponse(ctx.ids, "ListAllMyBucketsResult", {
    Owner: OWNER,
    Buckets: {
      Bucket: page.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt), BucketRegion: ctx.region })),
    },
    ContinuationToken: visible.length > page.length ? encodeContinuationToken(page.at(-1)!.name) : undefined,
    Prefix: prefix,
  });
}
