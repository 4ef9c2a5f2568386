/** Parameters and entries shared by ListObjects (v1) and ListObjectsV2. @module */
import type { ListResult, ObjectInfo } from "../../storage/mod.ts";
import { S3Error } from "../s3_errors.ts";
import { checksumType } from "../wire/checksums.ts";
import { uriEncode } from "../wire/sigv4.ts";
import type { XmlNode } from "../wire/xml.ts";
import { bucketOf, type RequestContext, requireAccess } from "./_context.ts";
import { isoDate, OWNER } from "./_respond.ts";

export interface ListParams {
  bucket: string;
  prefix: string;
  delimiter: string | undefined;
  maxKeys: number;
  encode: (s: string) => string;
  encodingType: string | undefined;
}

/** An integer parameter of a query (or of the headers: anything with `get(name)`), at most `max`. */
export function intParam(q: { get(name: string): string | null }, name: string, fallback: number, max: number): number {
  const v = q.get(name);
  if (v === null) return fallback;
  if (!/^\d+$/.test(v)) throw new S3Error("InvalidArgument", `Provided ${name} not an integer or within integer range`);
  return Math.min(Number(v), max);
}

export function listParams(ctx: RequestContext): ListParams {
  const q = ctx.url.searchParams;
  const bucket = bucketOf(ctx);
  const prefix = q.get("prefix") ?? "";
  requireAccess(ctx, { bucket, key: prefix, permission: "read" });
  const encodingType = q.get("encoding-type") ?? undefined;
  if (encodingType !== undefined && encodingType !== "url") {
    throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request");
  }
  const delimiter = q.get("delimiter") || undefined;
  return {
    bucket,
    prefix,
    delimiter,
    maxKeys: intParam(q, "max-keys", 1000, 1000),
    encode: encodingType === "url" ? (s) => uriEncode(s, true) : (s) => s,
    encodingType,
  };
}

/** Call the store, or answer an empty page for max-keys=0. */
export async function listPage(
  ctx: RequestContext,
  p: ListParams,
  options: { startAfter: string | undefined },
): Promise<ListResult> {
  const { startAfter } = options;
  if (p.maxKeys === 0) return { objects: [], commonPrefixes: [], isTruncated: false };
  return await ctx.store.listObjects(p.bucket, {
    prefix: p.prefix,
    ...(p.delimiter !== undefined ? { delimiter: p.delimiter } : {}),
    ...(startAfter ? { startAfter } : {}),
    maxKeys: p.maxKeys,
  });
}

/** A listed object's checksum algorithms and, as S3 lists it, the type of its checksum (all of one type). */
function checksumListing(checksums: ObjectInfo["checksums"]): XmlNode {
  const values = Object.values(checksums);
  if (values.length === 0) return {};
  return {
    ChecksumAlgorithm: Object.keys(checksums).map((a) => a.toUpperCase()),
    ChecksumType: checksumType(values[0]!),
  };
}

export function contentsEntry(o: ObjectInfo, p: ListParams, options: { owner: boolean }): XmlNode {
  return {
    Key: p.encode(o.key),
    LastModified: isoDate(o.lastModified),
    ETag: o.etag,
    ...checksumListing(o.checksums),
    Size: o.size,
    ...(options.owner ? { Owner: OWNER } : {}),
    StorageClass: o.storageClass ?? "STANDARD",
  };
}

export function commonPrefixEntries(result: ListResult, p: ListParams): XmlNode[] {
  return result.commonPrefixes.map((cp) => ({ Prefix: p.encode(cp) }));
}
