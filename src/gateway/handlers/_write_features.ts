/**
 * Headers that ask a write for more than an object's bytes and attributes: tags, server-side encryption, ACL grants,
 * Object Lock, a website redirect. Tags are checked and applied; what the appliance cannot honour is refused with
 * S3's error for it, never dropped: a client must not come to believe that an object is encrypted, shared or locked
 * when it is not.
 *
 * @module
 */
import type { PutOptions } from "../../storage/mod.ts";
import type { HeaderReader } from "../request_headers.ts";
import { S3Error } from "../s3_errors.ts";
import { parseTaggingHeader } from "../wire/tagging_xml.ts";
import type { RequestContext } from "./_context.ts";

/** The canned ACLs that grant nothing beyond the owner's full control, which every bucket and object has. */
const OWNER_ONLY_ACLS = new Set(["private", "bucket-owner-full-control"]);
const GRANT_HEADERS = [
  "x-amz-grant-full-control",
  "x-amz-grant-read",
  "x-amz-grant-read-acp",
  "x-amz-grant-write",
  "x-amz-grant-write-acp",
];
const ENCRYPTION_HEADERS = [
  "x-amz-server-side-encryption",
  "x-amz-server-side-encryption-customer-algorithm",
  "x-amz-copy-source-server-side-encryption-customer-algorithm",
];

/**
 * Refuses an ACL that would grant anyone but the owner: access is given by access keys' grants, and buckets read as
 * `BucketOwnerEnforced` (S3's answer then is AccessControlListNotSupported).
 */
export function refuseAclGrants(headers: HeaderReader): void {
  const acl = headers.get("x-amz-acl");
  if ((acl !== null && !OWNER_ONLY_ACLS.has(acl.trim())) || GRANT_HEADERS.some((name) => headers.has(name))) {
    throw aclNotSupported();
  }
}

/** S3's answer to an ACL that grants more than the owner's full control, on a bucket with ACLs disabled. */
export function aclNotSupported(): S3Error {
  return new S3Error(
    "AccessControlListNotSupported",
    "The bucket does not allow ACLs: access is granted to access keys, not by ACLs",
  );
}

/**
 * Checks the write's feature headers (PutObject, CreateMultipartUpload, CopyObject; a POST form's fields for
 * PostObject); returns the ones to apply.
 */
export function writeFeatures(
  ctx: RequestContext,
  h: HeaderReader = ctx.headers,
): Pick<PutOptions, "objectLock" | "tags"> {
  if (ENCRYPTION_HEADERS.some((name) => h.has(name))) {
    throw new S3Error("NotImplemented", "Server-side encryption is not available: objects are stored as sent");
  }
  if (h.has("x-amz-website-redirect-location")) {
    throw new S3Error("NotImplemented", "Website redirects are not available");
  }
  refuseAclGrants(h);
  const tagging = h.get("x-amz-tagging");
  return { ...objectLockOf(ctx, h), ...(tagging !== null ? { tags: parseTaggingHeader(tagging) } : {}) };
}

function objectLockOf(ctx: RequestContext, h: HeaderReader): Pick<PutOptions, "objectLock"> {
  const mode = h.get("x-amz-object-lock-mode");
  const until = h.get("x-amz-object-lock-retain-until-date");
  const legalHold = h.get("x-amz-object-lock-legal-hold");
  if (mode === null && until === null && legalHold === null) return {};
  if (!ctx.store.capabilities.objectLock) {
    throw new S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration");
  }
  if (legalHold !== null) throw new S3Error("NotImplemented", "Object Lock legal holds are not available");
  if (mode === null || until === null) {
    throw new S3Error(
      "InvalidArgument",
      "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
    );
  }
  if (mode !== "GOVERNANCE" && mode !== "COMPLIANCE") {
    throw new S3Error("InvalidArgument", "Unknown wormMode directive");
  }
  const retainUntil = new Date(until);
  if (Number.isNaN(retainUntil.getTime()) || retainUntil <= ctx.clock.now()) {
    throw new S3Error("InvalidArgument", "The retain until date must be in the future");
  }
  return { objectLock: { mode, retainUntil } };
}
