/**
 * PutBucketAcl and PutObjectAcl, answered as S3 answers them for a bucket whose object ownership is
 * `BucketOwnerEnforced`, as every bucket here reads: an ACL that gives the owner full control and nobody anything else
 * changes nothing and is accepted (`x-amz-acl: private` or `bucket-owner-full-control`, or such an
 * `AccessControlPolicy`); any other is refused with AccessControlListNotSupported. Tools that set ACLs back to private
 * work; none can share an object by ACL, since access comes from access keys' grants.
 *
 * @module
 */
import { S3Error } from "../s3_errors.ts";
import { childrenNamed, childText, type XmlElement } from "../wire/xml.ts";
import { bucketOf, objectOf, type RequestContext, requireAccess, requireAdmin } from "./_context.ts";
import { emptyResponse, OWNER } from "./_respond.ts";
import { versionHeaders } from "./_version.ts";
import { aclNotSupported, refuseAclGrants } from "./_write_features.ts";
import { readOptionalXmlBody } from "./_xml_body.ts";
import type { S3Answer } from "../answer.ts";

/** A grant of full control to the owner, and nothing else. */
function isOwnerFullControl(grant: XmlElement): boolean {
  const [grantee] = childrenNamed(grant, "Grantee");
  return grantee !== undefined && childText(grantee, "ID")?.trim() === OWNER.ID &&
    childText(grant, "Permission")?.trim() === "FULL_CONTROL";
}

/** Refuses any ACL but the owner's full control, given as a header or as a body. */
async function requireOwnerOnlyAcl(ctx: RequestContext): Promise<void> {
  refuseAclGrants(ctx.headers);
  const policy = await readOptionalXmlBody(ctx, "AccessControlPolicy");
  if (policy === undefined) {
    if (ctx.headers.get("x-amz-acl") === null) {
      throw new S3Error("MissingSecurityHeader", "An ACL is required: x-amz-acl or an AccessControlPolicy body");
    }
    return;
  }
  const grants = childrenNamed(policy, "AccessControlList").flatMap((list) => childrenNamed(list, "Grant"));
  if (grants.length === 0 || !grants.every(isOwnerFullControl)) throw aclNotSupported();
}

export async function putBucketAcl(ctx: RequestContext): Promise<S3Answer> {
  const bucket = bucketOf(ctx);
  requireAdmin(ctx);
  await requireOwnerOnlyAcl(ctx);
  await ctx.store.headBucket(bucket);
  return emptyResponse(ctx.ids, 200);
}

export async function putObjectAcl(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const headers = versionHeaders(ctx.url);
  await requireOwnerOnlyAcl(ctx);
  await ctx.store.headObject(bucket, key);
  return emptyResponse(ctx.ids, 200, headers);
}
