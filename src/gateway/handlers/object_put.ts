/** PutObject: streams the verified body into the store; supports If-None-Match: * and If-Match. @module */
import { isAppError } from "../../errors.ts";
import { S3Error } from "../s3_errors.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { putOptionsFrom } from "./_object_headers.ts";
import { emptyResponse } from "./_respond.ts";

async function checkWriteConditions(ctx: RequestContext, bucket: string, key: string): Promise<void> {
  const ifNoneMatch = ctx.headers.get("if-none-match");
  const ifMatch = ctx.headers.get("if-match");
  if (ifNoneMatch === null && ifMatch === null) return;
  if (ifNoneMatch !== null && ifNoneMatch.trim() !== "*") {
    throw new S3Error("NotImplemented", "If-None-Match on writes supports only *");
  }
  const existing = await ctx.store.headObject(bucket, key).catch((err) => {
    if (isAppError(err, "NoSuchKey")) return undefined;
    throw err;
  });
  if (ifNoneMatch !== null && existing) throw new S3Error("PreconditionFailed");
  if (ifMatch !== null) {
    if (!existing) throw new S3Error("NoSuchKey");
    if (ifMatch.trim().replace(/^"|"$/g, "") !== existing.etag.replace(/^"|"$/g, "")) {
      throw new S3Error("PreconditionFailed");
    }
  }
}

export async function putObject(ctx: RequestContext): Promise<Response> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const options = putOptionsFrom(ctx.headers);
  const payload = ctx.payload({ md5CheckedByStore: true });
  await checkWriteConditions(ctx, bucket, key);
  const info = await ctx.store.putObject(bucket, key, payload.stream, {
    ...options,
    checksums: payload.checksums,
    ...(payload.storeMd5Hex ? { expectedMd5Hex: payload.storeMd5Hex } : {}),
    ...(payload.declaredLength !== undefined ? { contentLength: payload.declaredLength } : {}),
  });
  Object.assign(ctx.event, { size: info.size, etag: info.etag, checksums: info.checksums });
  const headers: Record<string, string> = { etag: info.etag };
  for (const [alg, v] of Object.entries(payload.checksums)) headers[`x-amz-checksum-${alg}`] = v;
  return emptyResponse(ctx.ids, 200, headers);
}
