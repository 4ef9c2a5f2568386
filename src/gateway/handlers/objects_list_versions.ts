/**
 * ListObjectVersions. Buckets here are unversioned, so, as S3 lists an unversioned bucket, each object is listed
 * as its own only version, "null", the latest, and there are no delete markers. Tools that empty a bucket version
 * by version (boto3's `object_versions.delete()`) work unchanged.
 *
 * @module
 */
import { S3Error } from "../s3_errors.ts";
import type { RequestContext } from "./_context.ts";
import { commonPrefixEntries, contentsEntry, listPage, listParams } from "./_listing.ts";
import { xmlResponse } from "./_respond.ts";
import { NULL_VERSION } from "./_version.ts";
import type { S3Answer } from "../answer.ts";

export async function listObjectVersions(ctx: RequestContext): Promise<S3Answer> {
  const p = listParams(ctx);
  const q = ctx.url.searchParams;
  const keyMarker = q.get("key-marker") ?? "";
  const versionIdMarker = q.get("version-id-marker") ?? "";
  if (versionIdMarker !== "" && keyMarker === "") {
    throw new S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.");
  }
  if (versionIdMarker !== "" && versionIdMarker !== NULL_VERSION) {
    throw new S3Error("InvalidArgument", "Invalid version id specified");
  }
  // The marker key's one version is behind the marker either way: the page starts after that key.
  const result = await listPage(ctx, p, { startAfter: keyMarker });
  const next = result.isTruncated ? result.nextStartAfter : undefined;
  return xmlResponse(ctx.ids, "ListVersionsResult", {
    Name: p.bucket,
    Prefix: p.encode(p.prefix),
    KeyMarker: p.encode(keyMarker),
    VersionIdMarker: versionIdMarker,
    ...(next !== undefined ? { NextKeyMarker: p.encode(next), NextVersionIdMarker: NULL_VERSION } : {}),
    MaxKeys: p.maxKeys,
    Delimiter: p.delimiter === undefined ? undefined : p.encode(p.delimiter),
    EncodingType: p.encodingType,
    IsTruncated: result.isTruncated,
    Version: result.objects.map((o) => {
      const { Key, ...rest } = contentsEntry(o, p, { owner: true });
      return { Key, VersionId: NULL_VERSION, IsLatest: true, ...rest };
    }),
    CommonPrefixes: commonPrefixEntries(result, p),
  });
}
