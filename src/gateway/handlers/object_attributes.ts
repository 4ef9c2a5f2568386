/**
 * GetObjectAttributes: the attributes named by `x-amz-object-attributes`, from the object's description (no data is
 * read). As in S3, the ETag comes without quotes, and a multipart object's parts are counted but not listed (S3 lists
 * them only for objects whose parts carry checksums of their own).
 *
 * @module
 */
import { unquoteEtag } from "../../storage/mod.ts";
import { S3Error } from "../s3_errors.ts";
import { checksumElements, checksumType } from "../wire/checksums.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { httpDate, notModifiedAnswer } from "./_object_headers.ts";
import { xmlResponse } from "./_respond.ts";
import { versionHeaders } from "./_version.ts";

const ATTRIBUTES = new Set(["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]);

export async function getObjectAttributes(ctx: RequestContext): Promise<Response> {
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
  const info = await ctx.store.headObject(bucket, key);
  const notModified = notModifiedAnswer(ctx.headers, info, ctx.ids);
  if (notModified) return notModified;
  headers["last-modified"] = httpDate(info.lastModified);
  const checksums = Object.values(info.checksums);
  return xmlResponse(ctx.ids, "GetObjectAttributesResponse", {
    ETag: wanted.has("ETag") ? unquoteEtag(info.etag) : undefined,
    Checksum: wanted.has("Checksum") && checksums.length > 0
      ? { ...checksumElements(info.checksums), ChecksumType: checksumType(checksums[0]!) }
      : undefined,
    ObjectParts: wanted.has("ObjectParts") && info.partsCount !== undefined
      ? { PartsCount: info.partsCount }
      : undefined,
    StorageClass: wanted.has("StorageClass") ? info.storageClass ?? "STANDARD" : undefined,
    ObjectSize: wanted.has("ObjectSize") ? info.size : undefined,
  }, headers);
}
