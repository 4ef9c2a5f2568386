/**
 * DeleteObjects: up to 1000 keys, per-key results, Quiet mode; a key with an `ETag` is deleted only if the object has
 * it (a conditional delete, as DeleteObject with If-Match).
 *
 * @module
 */
import { mayAccess } from "../credentials.ts";
import { S3Error, toS3Error } from "../s3_errors.ts";
import { childrenNamed, childText, type XmlNode } from "../wire/xml.ts";
import { bucketOf, type RequestContext } from "./_context.ts";
import { xmlResponse } from "./_respond.ts";
import { readXmlBody, requireBodyDigest } from "./_xml_body.ts";
import { checkVersionId } from "./_version.ts";
import { timeOrSizeConditionRefused } from "./object_delete.ts";
import type { S3Answer } from "../answer.ts";

const MAX_KEYS = 1000;

export async function deleteObjects(ctx: RequestContext): Promise<S3Answer> {
  const bucket = bucketOf(ctx);
  requireBodyDigest(ctx.headers);
  const root = await readXmlBody(ctx, "Delete");
  const quiet = childText(root, "Quiet")?.trim() === "true";
  const objects = childrenNamed(root, "Object");
  if (objects.length === 0 || objects.length > MAX_KEYS) {
    throw new S3Error("MalformedXML", `Delete must name between 1 and ${MAX_KEYS} objects`);
  }
  await ctx.store.headBucket(bucket);
  const deleted: XmlNode[] = [];
  const deletedKeys: string[] = [];
  const errors: XmlNode[] = [];
  for (const o of objects) {
    const key = childText(o, "Key");
    if (key === undefined || key === "") throw new S3Error("MalformedXML", "Every Object needs a Key");
    const version = childText(o, "VersionId");
    const ifMatch = childText(o, "ETag")?.trim();
    try {
      if (!mayAccess(ctx.identity, { bucket, key, permission: "write" })) throw new S3Error("AccessDenied");
      checkVersionId(version);
      if (o.children.some((c) => c.name === "LastModifiedTime" || c.name === "Size")) {
        throw timeOrSizeConditionRefused();
      }
      await ctx.store.deleteObject(bucket, key, ifMatch ? { condition: { ifMatch } } : {});
      deletedKeys.push(key);
      if (!quiet) deleted.push({ Key: key, VersionId: version });
    } catch (err) {
      const s3 = toS3Error(err);
      errors.push({ Key: key, VersionId: version, Code: s3.code, Message: s3.message });
    }
  }
  ctx.event.deletedKeys = deletedKeys;
  return xmlResponse(ctx.ids, "DeleteResult", { Deleted: deleted, Error: errors });
}
