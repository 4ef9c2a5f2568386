/**
 * UploadPartCopy: a part from (a range of) an existing object, with the checksum of the upload's algorithm when it
 * named one (as S3 computes it for a copied part).
 *
 * @module
 */
import { checksumElements } from "../wire/checksums.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { copyCheckedSource, parseCopyRange } from "./_copy_source.ts";
import { partNumberOf, uploadIdOf } from "./_multipart_params.ts";
import { isoDate, xmlResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export async function uploadPartCopy(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const target = { bucket, key, uploadId: uploadIdOf(ctx), partNumber: partNumberOf(ctx) };
  const { copied: part, source } = await copyCheckedSource(ctx, (source, info) => {
    const range = parseCopyRange(ctx.headers.get("x-amz-copy-source-range"), info.size);
    return ctx.store.uploadPartCopy({ ...source, ...(range ? { range } : {}) }, target);
  });
  Object.assign(ctx.event, { size: part.size, etag: part.etag, source });
  return xmlResponse(ctx.ids, "CopyPartResult", {
    LastModified: isoDate(part.lastModified),
    ETag: part.etag,
    ...checksumElements(part.checksums),
  });
}
