/**
 * CopyObject: x-amz-metadata-directive and x-amz-tagging-directive COPY/REPLACE, x-amz-copy-source-if-* conditions.
 * @module
 */
import type { CopyOptions } from "../../storage/mod.ts";
import { S3Error } from "../s3_errors.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { copyCheckedSource, MAX_COPY_SOURCE_BYTES } from "./_copy_source.ts";
import { putOptionsFrom, requestedStorageClass } from "./_object_headers.ts";
import { isoDate, xmlResponse } from "./_respond.ts";
import { writeFeatures } from "./_write_features.ts";
import { checksumResultElements, namedChecksumAlgorithm } from "../wire/checksums.ts";
import type { S3Answer } from "../answer.ts";

export async function copyObject(ctx: RequestContext): Promise<S3Answer> {
  const target = objectOf(ctx);
  requireAccess(ctx, { bucket: target.bucket, key: target.key, permission: "write" });
  const directive = directiveOf(ctx, "x-amz-metadata-directive", "Unknown metadata directive");
  const taggingDirective = directiveOf(ctx, "x-amz-tagging-directive", "Unknown tagging directive");
  const { objectLock, tags } = writeFeatures(ctx);
  // The backends' copies take no retention: refused rather than dropped.
  if (objectLock) throw new S3Error("NotImplemented", "Object Lock retention on a copy is not available");
  const storageClass = requestedStorageClass(ctx.headers);
  const options = directive === "REPLACE" ? putOptionsFrom(ctx.headers) : storageClass ? { storageClass } : {};
  // The copy's checksum: of the algorithm named, else the source's (see copyChecksums).
  const algorithm = ctx.headers.get("x-amz-checksum-algorithm");
  const copyOptions: CopyOptions = {
    ...options,
    ...(algorithm !== null ? { checksumAlgorithm: namedChecksumAlgorithm(algorithm) } : {}),
    metadataDirective: directive,
    // As in S3, x-amz-tagging counts only with REPLACE; COPY keeps the source's tags.
    ...(taggingDirective === "REPLACE" ? { taggingDirective, tags: tags ?? {} } : {}),
  };
  const { copied: info, source } = await copyCheckedSource(ctx, (source, sourceInfo) => {
    if (sourceInfo.size > MAX_COPY_SOURCE_BYTES) {
      throw new S3Error(
        "InvalidRequest",
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SOURCE_BYTES}`,
      );
    }
    const same = source.bucket === target.bucket && source.key === target.key;
    if (same && directive === "COPY" && taggingDirective === "COPY" && storageClass === undefined) {
      throw new S3Error(
        "InvalidRequest",
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    return ctx.store.copyObject(source, target, copyOptions);
  });
  Object.assign(ctx.event, { size: info.size, etag: info.etag, checksums: info.checksums, source });
  return xmlResponse(ctx.ids, "CopyObjectResult", {
    LastModified: isoDate(info.lastModified),
    ETag: info.etag,
    ...checksumResultElements(info.checksums),
  });
}

function directiveOf(ctx: RequestContext, header: string, unknown: string): "COPY" | "REPLACE" {
  const directive = (ctx.headers.get(header) ?? "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") throw new S3Error("InvalidArgument", unknown);
  return directive;
}
