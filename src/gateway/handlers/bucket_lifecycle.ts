/**
 * A bucket's lifecycle rules: PutBucketLifecycleConfiguration and DeleteBucketLifecycle (admin keys, as for creating
 * the bucket), GetBucketLifecycleConfiguration (any key that may see the bucket). The lifecycle service
 * (`src/lifecycle/`) carries the rules out.
 *
 * @module
 */
import { maySeeBucket } from "../credentials.ts";
import { S3Error } from "../s3_errors.ts";
import { lifecycleConfigurationXml, parseLifecycleConfiguration } from "../wire/lifecycle_xml.ts";
import { bucketOf, type RequestContext, requireAdmin } from "./_context.ts";
import { emptyResponse, xmlResponse } from "./_respond.ts";
import { readXmlBody, requireBodyDigest } from "./_xml_body.ts";

export async function getBucketLifecycle(ctx: RequestContext): Promise<Response> {
  const bucket = bucketOf(ctx);
  if (!maySeeBucket(ctx.identity, bucket)) throw new S3Error("AccessDenied");
  const rules = await ctx.bucketConfig.configOf(bucket, "lifecycle");
  if (rules === undefined) throw new S3Error("NoSuchLifecycleConfiguration");
  return xmlResponse(ctx.ids, "LifecycleConfiguration", lifecycleConfigurationXml(rules));
}

export async function putBucketLifecycle(ctx: RequestContext): Promise<Response> {
  const bucket = bucketOf(ctx);
  requireAdmin(ctx);
  requireBodyDigest(ctx.headers);
  const rules = parseLifecycleConfiguration(await readXmlBody(ctx, "LifecycleConfiguration"));
  await ctx.bucketConfig.setConfig(bucket, "lifecycle", rules);
  return emptyResponse(ctx.ids, 200);
}

export async function deleteBucketLifecycle(ctx: RequestContext): Promise<Response> {
  const bucket = bucketOf(ctx);
  requireAdmin(ctx);
  await ctx.bucketConfig.setConfig(bucket, "lifecycle", undefined);
  return emptyResponse(ctx.ids, 204);
}
