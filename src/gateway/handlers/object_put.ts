/** PutObject: streams the verified body into the store; supports If-None-Match: * and If-Match. @module */
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { expirationOf } from "./_expiration.ts";
import { putOptionsFrom } from "./_object_headers.ts";
import { emptyResponse } from "./_respond.ts";
import { refuseEarly, writeCondition } from "./_write_condition.ts";
import { writeFeatures } from "./_write_features.ts";
import type { S3Answer } from "../answer.ts";

export async function putObject(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const options = { ...putOptionsFrom(ctx.headers), ...writeFeatures(ctx) };
  const payload = ctx.payload({ md5CheckedByStore: true });
  const condition = writeCondition(ctx);
  if (condition) await refuseEarly(ctx, bucket, key, condition);
  const info = await ctx.store.putObject(bucket, key, payload.stream, {
    ...options,
    ...(condition ? { condition } : {}),
    checksums: payload.checksums,
    ...(payload.storeMd5Hex ? { expectedMd5Hex: payload.storeMd5Hex } : {}),
    ...(payload.declaredLength !== undefined ? { contentLength: payload.declaredLength } : {}),
  });
  Object.assign(ctx.event, { size: info.size, etag: info.etag, checksums: info.checksums });
  const headers: Record<string, string> = { etag: info.etag };
  for (const [alg, v] of Object.entries(payload.checksums)) headers[`x-amz-checksum-${alg}`] = v;
  const expiration = await expirationOf(ctx, bucket, info, options.tags ?? {});
  if (expiration) headers["x-amz-expiration"] = expiration;
  return emptyResponse(ctx.ids, 200, headers);
}
