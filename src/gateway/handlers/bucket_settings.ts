/**
 * Reads of the settings clients cannot change here, each answered with the state it has in a bucket where it was
 * never configured: not versioned, the owner in full control (ACLs play no part: access comes from the key's
 * grants), owner-enforced object ownership, public access blocked and no policy making the bucket public (there is no
 * anonymous access), transfer acceleration never enabled, the owner paying for requests, no logging or notifications,
 * and no policy, default encryption, object lock, website or replication (S3's "not found" error for each).
 * Tools that read settings before they work (s3cmd `info`) get S3's answer instead of NotImplemented; writing one of
 * these settings stays NotImplemented. CORS and lifecycle rules and bucket tags can be set: `bucket_config.ts`.
 *
 * @module
 */
import type { BucketSettingRead } from "../../events/mod.ts";
import { maySeeBucket } from "../credentials.ts";
import { withIds } from "../request_ids.ts";
import { S3Error, type S3ErrorCode } from "../s3_errors.ts";
import { escapeXml, type XmlNode } from "../wire/xml.ts";
import { bucketOf, objectOf, type RequestContext, requireAccess } from "./_context.ts";
import type { Handler } from "./mod.ts";
import { OWNER, xmlResponse } from "./_respond.ts";
import { versionHeaders } from "./_version.ts";

type Unconfigured = { root: string; body: XmlNode } | { acl: true } | { error: S3ErrorCode };

const UNCONFIGURED: Record<BucketSettingRead, Unconfigured> = {
  GetBucketVersioning: { root: "VersioningConfiguration", body: {} },
  GetBucketAcl: { acl: true },
  GetBucketOwnershipControls: {
    root: "OwnershipControls",
    body: { Rule: { ObjectOwnership: "BucketOwnerEnforced" } },
  },
  GetPublicAccessBlock: {
    root: "PublicAccessBlockConfiguration",
    body: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
  },
  GetBucketPolicyStatus: { root: "PolicyStatus", body: { IsPublic: false } },
  GetBucketAccelerateConfiguration: { root: "AccelerateConfiguration", body: {} },
  GetBucketRequestPayment: { root: "RequestPaymentConfiguration", body: { Payer: "BucketOwner" } },
  GetBucketLogging: { root: "BucketLoggingStatus", body: {} },
  GetBucketNotificationConfiguration: { root: "NotificationConfiguration", body: {} },
  GetBucketPolicy: { error: "NoSuchBucketPolicy" },
  GetBucketEncryption: { error: "ServerSideEncryptionConfigurationNotFoundError" },
  GetObjectLockConfiguration: { error: "ObjectLockConfigurationNotFoundError" },
  GetBucketWebsite: { error: "NoSuchWebsiteConfiguration" },
  GetBucketReplication: { error: "ReplicationConfigurationNotFoundError" },
};

/** The owner's full control: the one grant every bucket and object has. */
function ownerAcl(ctx: RequestContext, headers: Record<string, string> = {}): Response {
  const owner = `<ID>${escapeXml(OWNER.ID)}</ID><DisplayName>${escapeXml(OWNER.DisplayName)}</DisplayName>`;
  const xml = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner>${owner}</Owner>` +
    '<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    `xsi:type="CanonicalUser">${owner}</Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList>` +
    "</AccessControlPolicy>";
  headers["content-type"] = "application/xml";
  return new Response(xml, { headers: withIds(ctx.ids, headers) });
}

function bucketSetting(answer: Unconfigured): Handler {
  return async (ctx) => {
    const bucket = bucketOf(ctx);
    if (!maySeeBucket(ctx.identity, bucket)) throw new S3Error("AccessDenied");
    await ctx.store.headBucket(bucket);
    if ("error" in answer) throw new S3Error(answer.error);
    if ("acl" in answer) return ownerAcl(ctx);
    return xmlResponse(ctx.ids, answer.root, answer.body);
  };
}

/** The handler of each bucket setting read. */
export const BUCKET_SETTING_HANDLERS = Object.fromEntries(
  Object.entries(UNCONFIGURED).map(([op, answer]) => [op, bucketSetting(answer)]),
) as Record<BucketSettingRead, Handler>;

/** Opens the object (read grant, version, existence) and returns the headers of the answer. */
async function objectSetting(ctx: RequestContext): Promise<Record<string, string>> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "read" });
  const headers = versionHeaders(ctx.url);
  await ctx.store.headObject(bucket, key);
  return headers;
}

/** GetObjectAcl: the owner's full control. */
export async function getObjectAcl(ctx: RequestContext): Promise<Response> {
  return ownerAcl(ctx, await objectSetting(ctx));
}

/** GetObjectTagging: objects here carry no tags. */
export async function getObjectTagging(ctx: RequestContext): Promise<Response> {
  return xmlResponse(ctx.ids, "Tagging", { TagSet: {} }, await objectSetting(ctx));
}
