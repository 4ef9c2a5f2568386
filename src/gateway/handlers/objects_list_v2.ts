/** ListObjectsV2: opaque continuation tokens (base64url of the last key or prefix returned). @module */
import { S3Error } from "../s3_errors.ts";
import type { RequestContext } from "./_context.ts";
import { commonPrefixEntries, contentsEntry, listPage, listParams } from "./_listing.ts";
import { xmlResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export function encodeContinuationToken(startAfter: string): string {
  return new TextEncoder().encode(startAfter).toBase64({ alphabet: "base64url", omitPadding: true });
}

export function decodeContinuationToken(token: string): string {
  try {
    const bytes = Uint8Array.fromBase64(token, { alphabet: "base64url" });
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new S3Error("InvalidArgument", "The continuation token provided is incorrect");
  }
}

export async function listObjectsV2(ctx: RequestContext): Promise<S3Answer> {
  const q = ctx.url.searchParams;
  const p = listParams(ctx);
  const token = q.get("continuation-token");
  const startAfter = q.get("start-after") ?? undefined;
  const from = token !== null ? decodeContinuationToken(token) : startAfter;
  const result = await listPage(ctx, p, { startAfter: from });
  const fetchOwner = q.get("fetch-owner") === "true";
  return xmlResponse(ctx.ids, "ListBucketResult", {
    Name: p.bucket,
    Prefix: p.encode(p.prefix),
    StartAfter: startAfter === undefined ? undefined : p.encode(startAfter),
    ContinuationToken: token ?? undefined,
    NextContinuationToken: result.isTruncated && result.nextStartAfter !== undefined
      ? encodeContinuationToken(result.nextStartAfter)
      : undefined,
    KeyCount: result.objects.length + result.commonPrefixes.length,
    MaxKeys: p.maxKeys,
    Delimiter: p.delimiter === undefined ? undefined : p.encode(p.delimiter),
    EncodingType: p.encodingType,
    IsTruncated: result.isTruncated,
    Contents: result.objects.map((o) => contentsEntry(o, p, { owner: fetchOwner })),
    CommonPrefixes: commonPrefixEntries(result, p),
  });
}
