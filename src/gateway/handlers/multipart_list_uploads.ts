/** ListMultipartUploads. @module */
import { bucketOf, type RequestContext, requireAccess } from "./_context.ts";
import { intParam } from "./_listing.ts";
import { isoDate, OWNER, xmlResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export async function listMultipartUploads(ctx: RequestContext): Promise<S3Answer> {
  const bucket = bucketOf(ctx);
  const q = ctx.url.searchParams;
  const prefix = q.get("prefix") ?? "";
  // As for a listing of objects: the keys of uploads are names a key without access to them must not learn.
  requireAccess(ctx, { bucket, key: prefix, permission: "read" });
  const keyMarker = q.get("key-marker") ?? "";
  const uploadIdMarker = q.get("upload-id-marker") ?? "";
  const maxUploads = intParam(q, "max-uploads", 1000, 1000);
  const result = await ctx.store.listMultipartUploads(bucket, {
    prefix,
    ...(keyMarker ? { keyMarker } : {}),
    ...(uploadIdMarker ? { uploadIdMarker } : {}),
    maxUploads,
  });
  const delimiter = q.get("delimiter") || undefined;
  const prefixes = new Set<string>();
  const uploads = result.uploads.filter((u) => {
    const cut = delimiter === undefined ? -1 : u.key.indexOf(delimiter, prefix.length);
    if (cut === -1) return true;
    prefixes.add(u.key.slice(0, cut + delimiter!.length));
    return false;
  });
  const last = result.uploads[result.uploads.length - 1];
  return xmlResponse(ctx.ids, "ListMultipartUploadsResult", {
    Bucket: bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: result.isTruncated && last ? last.key : undefined,
    NextUploadIdMarker: result.isTruncated && last ? last.uploadId : undefined,
    Prefix: prefix,
    Delimiter: delimiter,
    MaxUploads: maxUploads,
    IsTruncated: result.isTruncated,
    Upload: uploads.map((u) => ({
      Key: u.key,
      UploadId: u.uploadId,
      Initiator: OWNER,
      Owner: OWNER,
      StorageClass: "STANDARD",
      Initiated: isoDate(u.initiated),
    })),
    CommonPrefixes: [...prefixes].map((p) => ({ Prefix: p })),
  });
}
