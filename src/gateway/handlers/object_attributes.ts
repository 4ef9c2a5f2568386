/**
 * GetObjectAttributes: the attributes named by `x-amz-object-attributes`, from the object's description (no data is
 * read). As in S3, the ETag comes without quotes, and a multipart object's parts are counted, and listed a page at a
 * time (`x-amz-max-parts`, `x-amz-part-number-marker`) with their sizes and checksums when the object has checksums.
 *
 * @module
 */
import { type ObjectInfo, type ObjectPartListing, unquoteEtag } from "../../storage/mod.ts";
import { S3Error } from "../s3_errors.ts";
import { checksumElements, checksumResultElements } from "../wire/checksums.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { intParam } from "./_listing.ts";
import { onOneVersion } from "./_one_version.ts";
import { httpDate, notModifiedAnswer } from "./_object_headers.ts";
import { xmlResponse } from "./_respond.ts";
import { versionHeaders } from "./_version.ts";
import type { S3Answer } from "../answer.ts";

const ATTRIBUTES = new Set(["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]);

export async function getObjectAttributes(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "read" });
  const headers = versionHeaders(ctx.url);
  const wanted = new Set(
    (ctx.headers.get("x-amz-object-attributes") ?? "").split(",").map((a) => a.trim()).filter((a) => a !== ""),
  );
  if (wanted.size === 0) {
    throw new S3Error(
      "InvalidArgument",
      "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty",
    );
  }
  const unknown = [...wanted].find((a) => !ATTRIBUTES.has(a));
  if (unknown !== undefined) throw new S3Error("InvalidArgument", `Invalid attribute name specified: ${unknown}`);
  const maxParts = intParam(ctx.headers, "x-amz-max-parts", 1000, 1000);
  const marker = intParam(ctx.headers, "x-amz-part-number-marker", 0, 10_000);
  const { info, parts } = await describe(
    ctx,
    bucket,
    key,
    wanted.has("ObjectParts") ? { marker, maxParts } : undefined,
  );
  const notModified = notModifiedAnswer(ctx.headers, info, ctx.ids);
  if (notModified) return notModified;
  headers["last-modified"] = httpDate(info.lastModified);
  const hasChecksums = Object.keys(info.checksums).length > 0;
  return xmlResponse(ctx.ids, "GetObjectAttributesResponse", {
    ETag: wanted.has("ETag") ? unquoteEtag(info.etag) : undefined,
    Checksum: wanted.has("Checksum") && hasChecksums ? checksumResultElements(info.checksums) : undefined,
    ObjectParts: parts && {
      PartsCount: parts.totalPartsCount,
      PartNumberMarker: marker,
      NextPartNumberMarker: parts.nextPartNumberMarker,
      MaxParts: maxParts,
      IsTruncated: parts.isTruncated,
      // As S3 does, parts are listed only for an object with checksums of its own.
      Part: hasChecksums
        ? parts.parts.map((p) => ({ PartNumber: p.partNumber, Size: p.size, ...checksumElements(p.checksums) }))
        : undefined,
    },
    StorageClass: wanted.has("StorageClass") ? info.storageClass ?? "STANDARD" : undefined,
    ObjectSize: wanted.has("ObjectSize") ? info.size : undefined,
  }, headers);
}

/**
 * The object's description and, when `page` is given and the object is multipart, that page of its parts, both of
 * the same version (an object replaced between the two reads is read again).
 */
function describe(
  ctx: RequestContext,
  bucket: string,
  key: string,
  page: { marker: number; maxParts: number } | undefined,
): Promise<{ info: ObjectInfo; parts?: ObjectPartListing }> {
  return onOneVersion(async () => {
    const info = await ctx.store.headObject(bucket, key);
    if (!page || info.partsCount === undefined) return { info };
    const parts = await ctx.store.listObjectParts(bucket, key, {
      partNumberMarker: page.marker,
      maxParts: page.maxParts,
    });
    return parts?.etag === info.etag ? { info, parts } : undefined;
  });
}
