/** GetBucketLocation: S3 answers an empty constraint for us-east-1. @module */
import { maySeeBucket } from "../credentials.ts";
import { withIds } from "../request_ids.ts";
import { S3Error } from "../s3_errors.ts";
import { escapeXml } from "../wire/xml.ts";
import { bucketOf, type RequestContext } from "./_context.ts";
import { type S3Answer, s3Answer } from "../answer.ts";

export async function getBucketLocation(ctx: RequestContext): Promise<S3Answer> {
  const bucket = bucketOf(ctx);
  if (!maySeeBucket(ctx.identity, bucket)) throw new S3Error("AccessDenied");
  await ctx.store.headBucket(bucket);
  const region = ctx.region === "us-east-1" ? "" : ctx.region;
  const xml = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${escapeXml(region)}</LocationConstraint>`;
  return s3Answer(xml, 200, withIds(ctx.ids, { "content-type": "application/xml" }));
}
