/** CreateMultipartUpload. @module */
import { S3Error } from "../s3_errors.ts";
import { isChecksumAlgorithm } from "../wire/checksums.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { putOptionsFrom } from "./_object_headers.ts";
import { xmlResponse } from "./_respond.ts";
import { writeFeatures } from "./_write_features.ts";

export async function createMultipartUpload(ctx: RequestContext): Promise<Response> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const options = { ...putOptionsFrom(ctx.headers), ...writeFeatures(ctx) };
  const algorithm = ctx.headers.get("x-amz-checksum-algorithm");
  if (algorithm !== null && !isChecksumAlgorithm(algorithm.toLowerCase())) {
    throw new S3Error("InvalidRequest", `Unsupported checksum algorithm ${algorithm}`);
  }
  const uploadId = await ctx.store.createMultipartUpload(bucket, key, options);
  const headers: Record<string, string> = algorithm === null
    ? {}
    : { "x-amz-checksum-algorithm": algorithm.toUpperCase() };
  return xmlResponse(
    ctx.ids,
    "InitiateMultipartUploadResult",
    { Bucket: bucket, Key: key, UploadId: uploadId },
    headers,
  );
}
