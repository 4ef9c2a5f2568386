/**
 * Reads of the settings clients cannot change here, each answered with the state it has in a bucket where it was
 * never configured: not versioned, the owner in full control (ACLs play no part: access comes from the key's
 * grants), owner-enforced object ownership, public access blocked and no policy making the bucket public (there is no
 * anonymous access), transfer acceleration never enabled, the owner paying for requests, no logging or notifications,
 * and no policy, default encryption, object lock, website or replication (S3's "not found" error for each).
 * Tools that read settings before they work (s3cmd `info`) get S3's answer instead of NotImplemented; writing one of
 * these settings stays NotImplemented, except a write that asks for the state a setting already has (a no-op that
 * tools hardening a bucket make). CORS and lifecycle rules and bucket tags can be set: `bucket_config.ts`.
 *
 * @module
 */
import type { BucketSettingRead, FixedSettingWrite } from "../../events/mod.ts";
import { maySeeBucket } from "../credentials.ts";
import { withIds } from "../request_ids.ts";
import { S3Error, type S3ErrorCode } from "../s3_errors.ts";
import { escapeXml, type XmlElement, type XmlNode } from "../wire/xml.ts";
import { bucketOf, objectOf, type RequestContext, requireAccess, requireAdmin } from "./_context.ts";
import type { Handler } from "./mod.ts";
import { emptyResponse, OWNER, xmlResponse } from "./_respond.ts";
import { readXmlBody } from "./_xml_body.ts";
import { versionHeaders } from "./_version.ts";
import { type S3Answer, s3Answer } from "../answer.ts";

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
function ownerAcl(ctx: RequestContext, headers: Record<string, string> = {}): S3Answer {
  const owner = `<ID>${escapeXml(OWNER.ID)}</ID><DisplayName>${escapeXml(OWNER.DisplayName)}</DisplayName>`;
  const xml = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner>${owner}</Owner>` +
    '<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    `xsi:type="CanonicalUser">${owner}</Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList>` +
    "</AccessControlPolicy>";
  headers["content-type"] = "application/xml";
  return s3Answer(xml, 200, withIds(ctx.ids, headers));
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

/** Each fixed setting's write: the read that answers its state, and why no other state can be set. */
const FIXED: Record<FixedSettingWrite, { read: BucketSettingRead; why: string }> = {
  PutBucketOwnershipControls: {
    read: "GetBucketOwnershipControls",
    why: "Object ownership is always BucketOwnerEnforced: access comes from access keys' grants, not ACLs",
  },
  PutPublicAccessBlock: {
    read: "GetPublicAccessBlock",
    why: "Public access is always blocked: there is no anonymous access",
  },
  PutBucketRequestPayment: { read: "GetBucketRequestPayment", why: "The bucket owner always pays for requests" },
  PutBucketLogging: {
    read: "GetBucketLogging",
    why: "Server access logs are not available: the integrity journal records every operation",
  },
  PutBucketNotificationConfiguration: {
    read: "GetBucketNotificationConfiguration",
    why: "Event notifications are not available",
  },
};

/** Whether `el` holds exactly the elements of `expected`, with the same texts. */
function sameDocument(el: XmlElement, expected: XmlNode): boolean {
  const names = Object.keys(expected);
  if (el.children.length !== names.length) return false;
  return names.every((name) => {
    const child = el.children.find((c) => c.name === name);
    const want = expected[name];
    if (child === undefined) return false;
    // The unconfigured states hold nested elements and plain values only.
    return typeof want === "object" ? sameDocument(child, want as XmlNode) : child.text.trim() === String(want);
  });
}

function fixedSettingWrite({ read, why }: { read: BucketSettingRead; why: string }): Handler {
  const state = UNCONFIGURED[read] as { root: string; body: XmlNode };
  return async (ctx) => {
    const bucket = bucketOf(ctx);
    requireAdmin(ctx);
    const document = await readXmlBody(ctx, state.root);
    if (!sameDocument(document, state.body)) throw new S3Error("NotImplemented", why);
    await ctx.store.headBucket(bucket);
    return emptyResponse(ctx.ids, 200);
  };
}

/** The handler of each fixed setting's write. */
export const FIXED_SETTING_HANDLERS = Object.fromEntries(
  Object.entries(FIXED).map(([op, fixed]) => [op, fixedSettingWrite(fixed)]),
) as Record<FixedSettingWrite, Handler>;

/** Opens the object (read grant, version, existence) and returns the headers of the answer. */
async function objectSetting(ctx: RequestContext): Promise<Record<string, string>> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "read" });
  const headers = versionHeaders(ctx.url);
  await ctx.store.headObject(bucket, key);
  return headers;
}

/** GetObjectAcl: the owner's full control. */
export async function getObjectAcl(ctx: RequestContext): Promise<S3Answer> {
  return ownerAcl(ctx, await objectSetting(ctx));
}
