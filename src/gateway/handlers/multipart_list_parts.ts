/** ListParts. @module */
import { checksumElements } from "../wire/checksums.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { intParam } from "./_listing.ts";
import { uploadIdOf } from "./_multipart_params.ts";
import { isoDate, OWNER, xmlResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export async function listParts(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "read" });
  const q = ctx.url.searchParams;
  const uploadId = uploadIdOf(ctx);
  const maxParts = intParam(q, "max-parts", 1000, 1000);
  const marker = intParam(q, "part-number-marker", 0, 10_000);
  const result = await ctx.store.listParts(bucket, key, uploadId, { partNumberMarker: marker, maxParts });
  return xmlResponse(ctx.ids, "ListPartsResult", {
    Bucket: bucket,
    Key: key,
    UploadId: uploadId,
    Initiator: OWNER,
    Owner: OWNER,
    StorageClass: "STANDARD",
    PartNumberMarker: marker,
    NextPartNumberMarker: result.nextPartNumberMarker,
    MaxParts: maxParts,
    IsTruncated: result.isTruncated,
    Part: result.parts.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: isoDate(p.lastModified),
      ETag: p.etag,
      Size: p.size,
      ...checksumElements(p.checksums),
    })),
    ...(result.checksumAlgorithm ? { ChecksumAlgorithm: result.checksumAlgorithm.toUpperCase() } : {}),
    ...(result.checksumType ? { ChecksumType: result.checksumType } : {}),
  });
}
