/**
 * A bucket's CORS rules: PutBucketCors and DeleteBucketCors (admin keys, as for creating the bucket), GetBucketCors
 * (any key that may see the bucket), and the browsers' preflight requests (`OPTIONS`, unauthenticated as in S3),
 * answered from the rules. The headers of actual cross-origin requests are added by the pipeline (`gateway.ts`).
 *
 * @module
 */
import { corsResponseHeaders, isCorsMethod, matchingRule, requestedHeaders } from "../cors.ts";
import { maySeeBucket } from "../credentials.ts";
import { withIds } from "../request_ids.ts";
import { S3Error } from "../s3_errors.ts";
import { corsConfigurationXml, parseCorsConfiguration } from "../wire/cors_xml.ts";
import { bucketOf, type RequestContext, requireAdmin } from "./_context.ts";
import { emptyResponse, xmlResponse } from "./_respond.ts";
import { readXmlBody, requireBodyDigest } from "./_xml_body.ts";

/** S3's limit on the size of a CORS configuration. */
const MAX_CORS_XML_BYTES = 64 * 1024;

export async function getBucketCors(ctx: RequestContext): Promise<Response> {
  const bucket = bucketOf(ctx);
  if (!maySeeBucket(ctx.identity, bucket)) throw new S3Error("AccessDenied");
  const rules = await ctx.bucketConfig.configOf(bucket, "cors");
  if (rules === undefined) throw new S3Error("NoSuchCORSConfiguration");
  return xmlResponse(ctx.ids, "CORSConfiguration", corsConfigurationXml(rules));
}

export async function putBucketCors(ctx: RequestContext): Promise<Response> {
  const bucket = bucketOf(ctx);
  requireAdmin(ctx);
  requireBodyDigest(ctx.headers);
  const rules = parseCorsConfiguration(await readXmlBody(ctx, "CORSConfiguration", { maxBytes: MAX_CORS_XML_BYTES }));
  await ctx.bucketConfig.setConfig(bucket, "cors", rules);
  return emptyResponse(ctx.ids, 200);
}

export async function deleteBucketCors(ctx: RequestContext): Promise<Response> {
  const bucket = bucketOf(ctx);
  requireAdmin(ctx);
  await ctx.bucketConfig.setConfig(bucket, "cors", undefined);
  return emptyResponse(ctx.ids, 204);
}

/** A browser asks whether a page from `Origin` may send a request with this method and these headers. */
export async function preflight(ctx: RequestContext): Promise<Response> {
  const origin = ctx.headers.get("origin");
  if (origin === null) throw new S3Error("BadRequest", "Insufficient information. Origin request header needed.");
  const method = ctx.headers.get("access-control-request-method");
  if (method === null || !isCorsMethod(method)) {
    throw new S3Error("BadRequest", `Invalid Access-Control-Request-Method: ${method}`);
  }
  if (ctx.bucket === undefined) throw new S3Error("AccessForbidden", "CORSResponse: Bucket not found");
  const rules = await ctx.bucketConfig.configOf(ctx.bucket, "cors");
  if (rules === undefined) throw new S3Error("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.");
  const headers = requestedHeaders(ctx.headers.get("access-control-request-headers"));
  const rule = matchingRule(rules, { origin, method, headers });
  if (rule === undefined) {
    throw new S3Error(
      "AccessForbidden",
      "CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request " +
        "method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the " +
        "resource's CORS spec.",
    );
  }
  return new Response(null, { status: 200, headers: withIds(ctx.ids, corsResponseHeaders(rule, origin, headers)) });
}
