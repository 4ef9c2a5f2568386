/** ListObjects (version 1): marker paging. @module */
import type { RequestContext } from "./_context.ts";
import { commonPrefixEntries, contentsEntry, listPage, listParams } from "./_listing.ts";
import { xmlResponse } from "./_respond.ts";
import type { S3Answer } from "../answer.ts";

export async function listObjectsV1(ctx: RequestContext): Promise<S3Answer> {
  const p = listParams(ctx);
  const marker = ctx.url.searchParams.get("marker") ?? "";
  const result = await listPage(ctx, p, { startAfter: marker });
  return xmlResponse(ctx.ids, "ListBucketResult", {
    Name: p.bucket,
    Prefix: p.encode(p.prefix),
    Marker: p.encode(marker),
    ...(result.isTruncated && result.nextStartAfter !== undefined
      ? { NextMarker: p.encode(result.nextStartAfter) }
      : {}),
    MaxKeys: p.maxKeys,
    Delimiter: p.delimiter === undefined ? undefined : p.encode(p.delimiter),
    EncodingType: p.encodingType,
    IsTruncated: result.isTruncated,
    Contents: result.objects.map((o) => contentsEntry(o, p, { owner: true })),
    CommonPrefixes: commonPrefixEntries(result, p),
  });
}
