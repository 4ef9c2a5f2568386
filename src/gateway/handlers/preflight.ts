/**
 * Browsers' CORS preflight requests (`OPTIONS`, unauthenticated as in S3), answered from the bucket's CORS rules
 * (set with PutBucketCors, `bucket_config.ts`). The headers of actual cross-origin requests are added by the
 * pipeline (`gateway.ts`).
 *
 * @module
 */
import { corsResponseHeaders, isCorsMethod, matchingRule, requestedHeaders } from "../cors.ts";
import { withIds } from "../request_ids.ts";
import { S3Error } from "../s3_errors.ts";
import type { RequestContext } from "./_context.ts";
import { type S3Answer, s3Answer } from "../answer.ts";

/** A browser asks whether a page from `Origin` may send a request with this method and these headers. */
export async function preflight(ctx: RequestContext): Promise<S3Answer> {
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
  return s3Answer(null, 200, withIds(ctx.ids, corsResponseHeaders(rule, origin, headers)));
}
