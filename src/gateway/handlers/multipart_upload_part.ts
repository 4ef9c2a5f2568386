/** UploadPart: streams the verified part body into the store. @module */
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { partNumberOf, uploadIdOf } from "./_multipart_params.ts";
import { emptyResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export async function uploadPart(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const upload = { uploadId: uploadIdOf(ctx), partNumber: partNumberOf(ctx) };
  const payload = ctx.payload({ md5CheckedByStore: true });
  const part = await ctx.store.uploadPart(bucket, key, upload, payload.stream, {
    checksums: payload.checksums,
    ...(payload.checksumAlgorithm ? { pendingChecksum: payload.checksumAlgorithm } : {}),
    ...(payload.storeMd5Hex ? { expectedMd5Hex: payload.storeMd5Hex } : {}),
    ...(payload.declaredLength !== undefined ? { contentLength: payload.declaredLength } : {}),
  });
  Object.assign(ctx.event, { size: part.size, etag: part.etag, checksums: part.checksums });
  const headers: Record<string, string> = { etag: part.etag };
  // The part's checksums: those sent, and the upload's algorithm's when the store computed it.
  for (const [alg, v] of Object.entries(part.checksums)) headers[`x-amz-checksum-${alg}`] = v;
  return emptyResponse(ctx.ids, 200, headers);
}
