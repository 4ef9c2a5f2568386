/**
 * GetObjectTagging, PutObjectTagging and DeleteObjectTagging: an object's tags (at most 10) read, replaced and
 * removed. Reading takes a read grant on the key, changing them a write grant; the object's data, ETag and
 * last-modified time stay as they are.
 *
 * @module
 */
import { MAX_OBJECT_TAGS, parseTagging, taggingXml } from "../wire/tagging_xml.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { emptyResponse, xmlResponse } from "./_respond.ts";
import { versionHeaders } from "./_version.ts";
import { readXmlBody } from "./_xml_body.ts";
import type { S3Answer } from "../answer.ts";

export async function getObjectTagging(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "read" });
  const headers = versionHeaders(ctx.url);
  const tags = await ctx.store.getObjectTagging(bucket, key);
  const list = Object.entries(tags).map(([k, value]) => ({ key: k, value }));
  return xmlResponse(ctx.ids, "Tagging", taggingXml(list), headers);
}

export async function putObjectTagging(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const headers = versionHeaders(ctx.url);
  const tags = parseTagging(await readXmlBody(ctx, "Tagging"), MAX_OBJECT_TAGS);
  await ctx.store.putObjectTagging(bucket, key, Object.fromEntries(tags.map((t) => [t.key, t.value])));
  return emptyResponse(ctx.ids, 200, headers);
}

export async function deleteObjectTagging(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const headers = versionHeaders(ctx.url);
  await ctx.store.putObjectTagging(bucket, key, {});
  return emptyResponse(ctx.ids, 204, headers);
}
