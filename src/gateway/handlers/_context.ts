/**
 * What every handler receives: the request, its resolved target, the caller and the store. Handlers validate,
 * call the store and return an `S3Answer`; the pipeline in `gateway.ts` maps errors and records the event.
 *
 * @module
 */
import type { Clock } from "../../clock.ts";
import type { ChecksumAlgorithm, ObjectStore } from "../../storage/mod.ts";
import type { BucketConfigStore } from "../bucket_config.ts";
import type { Access, Identity } from "../credentials.ts";
import { mayAccess } from "../credentials.ts";
import type { Payload, PayloadOptions } from "../payload.ts";
import type { HeaderReader, IncomingRequest } from "../request_headers.ts";
import type { RequestIds } from "../request_ids.ts";
import { S3Error } from "../s3_errors.ts";

/** Fields of the operation event a handler knows best. */
export interface EventDraft {
  /** The object key, when the request names it in its body rather than its path (PostObject). */
  key?: string;
  size?: number;
  etag?: string;
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
  source?: { bucket: string; key: string };
  deletedKeys?: string[];
}

export interface GatewayLimits {
  /** Largest single PUT / part body. */
  maxObjectBytes: number;
  /** Largest XML request body (CompleteMultipartUpload with 10,000 parts fits). */
  maxXmlBytes: number;
}

export interface RequestContext {
  req: IncomingRequest;
  /** The request headers (`req.headers`). */
  headers: HeaderReader;
  url: URL;
  bucket: string | undefined;
  key: string | undefined;
  store: ObjectStore;
  /** The buckets' settings: CORS rules, lifecycle rules, tags. */
  bucketConfig: BucketConfigStore;
  /** The caller; for PostObject anonymous until `signPostForm` has verified the form. */
  identity: Identity;
  /**
   * PostObject only (its request carries no other authentication): verifies the form's signature over its policy
   * and returns the signer, who is then the request's actor.
   */
  signPostForm(fields: Map<string, string>): Promise<Identity>;
  clock: Clock;
  region: string;
  limits: GatewayLimits;
  event: EventDraft;
  /** The ids every response carries: handlers build their responses with them (`withIds`, `_respond.ts`). */
  ids: RequestIds;
  /** The verified body; validates payload headers on first call (throws S3Error). */
  payload(options?: Pick<PayloadOptions, "checksumHeadersDescribeBody" | "md5CheckedByStore">): Payload;
}

/** The bucket of a bucket/object operation (routes guarantee it is present). */
export function bucketOf(ctx: RequestContext): string {
  if (ctx.bucket === undefined) throw new S3Error("InvalidRequest", "A bucket name is required");
  return ctx.bucket;
}

/** Bucket and key of an object operation. */
export function objectOf(ctx: RequestContext): { bucket: string; key: string } {
  if (ctx.key === undefined) throw new S3Error("InvalidRequest", "An object key is required");
  return { bucket: bucketOf(ctx), key: ctx.key };
}

/** Throw AccessDenied unless the caller may use `key` (or list under it) in `bucket`. */
export function requireAccess(ctx: RequestContext, access: Access): void {
  if (!mayAccess(ctx.identity, access)) throw new S3Error("AccessDenied");
}

/** Throw AccessDenied unless the caller is an admin key. */
export function requireAdmin(ctx: RequestContext): void {
  if (!ctx.identity.admin) throw new S3Error("AccessDenied");
}
