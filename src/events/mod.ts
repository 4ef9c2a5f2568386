/**
 * The in-process event bus. The gateway emits one `OperationEvent` per S3 operation (success or failure);
 * integrity, metrics and sync subscribe. Delivery is synchronous and in order; a subscriber that throws is
 * isolated (logged by the bus owner) so it cannot break the data path or other subscribers.
 *
 * @module
 */

/** S3 operation names as AWS spells them. */
export type S3Operation =
  | "ListBuckets"
  | "CreateBucket"
  | "DeleteBucket"
  | "HeadBucket"
  | "GetBucketLocation"
  | "ListObjects"
  | "ListObjectsV2"
  | "PutObject"
  | "PostObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "DeleteObjects"
  | "CopyObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "UploadPartCopy"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListParts"
  | "ListMultipartUploads"
  | "ListObjectVersions"
  | BucketSettingRead
  | FixedSettingWrite
  | "GetObjectAttributes"
  | "GetObjectAcl"
  | "GetObjectTagging"
  | "PutObjectTagging"
  | "DeleteObjectTagging"
  | "GetBucketCors"
  | "PutBucketCors"
  | "DeleteBucketCors"
  | "PreflightRequest"
  | "GetBucketLifecycleConfiguration"
  | "PutBucketLifecycleConfiguration"
  | "DeleteBucketLifecycle"
  | "GetBucketTagging"
  | "PutBucketTagging"
  | "DeleteBucketTagging"
  | "PutBucketAcl"
  | "PutObjectAcl"
  | "Unknown";

/** Operations that, when they succeed, leave a new version of the object their event names. */
export const OBJECT_WRITES: ReadonlySet<S3Operation> = new Set<S3Operation>([
  "PutObject",
  "PostObject",
  "CopyObject",
  "CompleteMultipartUpload",
]);

/** Reads of bucket settings that clients cannot change here: each answers the setting's unconfigured state. */
export const BUCKET_SETTING_READS = [
  "GetBucketVersioning",
  "GetBucketAcl",
  "GetBucketPolicy",
  "GetBucketEncryption",
  "GetObjectLockConfiguration",
  "GetBucketRequestPayment",
  "GetBucketLogging",
  "GetBucketNotificationConfiguration",
  "GetBucketWebsite",
  "GetBucketReplication",
  "GetPublicAccessBlock",
  "GetBucketOwnershipControls",
  "GetBucketPolicyStatus",
  "GetBucketAccelerateConfiguration",
] as const;

export type BucketSettingRead = typeof BUCKET_SETTING_READS[number];

/**
 * Writes of settings whose state is fixed here: each is accepted when it asks for that state (a no-op), so tools that
 * harden a bucket (Terraform, Pulumi) succeed, and refused otherwise.
 */
export const FIXED_SETTING_WRITES = [
  "PutBucketOwnershipControls",
  "PutPublicAccessBlock",
  "PutBucketRequestPayment",
  "PutBucketLogging",
  "PutBucketNotificationConfiguration",
] as const;

export type FixedSettingWrite = typeof FIXED_SETTING_WRITES[number];

export interface OperationEvent {
  /** Access key id of the caller, or "anonymous" when the request carried no valid identity. */
  actor: string;
  op: S3Operation;
  bucket?: string;
  key?: string;
  /** Bytes of object data written (PUT, part, copy) or read (GET). */
  size?: number;
  etag?: string;
  /** Checksums of the written object, as stored. */
  checksums?: Record<string, string>;
  /** For copies: the source. */
  source?: { bucket: string; key: string };
  /** For DeleteObjects: the keys actually deleted (one event covers the whole batch). */
  deletedKeys?: string[];
  /** HTTP status sent to the client. */
  status: number;
  /** S3 error code when the operation failed. */
  errorCode?: string;
  requestId: string;
  clientAddress: string;
  /** When the request arrived. */
  time: Date;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
}

export type Subscriber<T> = (event: T) => void;

/** A tiny typed pub/sub. */
export interface EventBus<T> {
  publish(event: T): void;
  /** Returns an unsubscribe function. */
  subscribe(fn: Subscriber<T>): () => void;
}

/** Create a bus; `onSubscriberError` receives errors thrown by subscribers. */
export function createEventBus<T>(options: { onSubscriberError?: (err: unknown) => void } = {}): EventBus<T> {
  const subs = new Set<Subscriber<T>>();
  return {
    publish(event) {
      for (const fn of subs) {
        try {
          fn(event);
        } catch (err) {
          options.onSubscriberError?.(err);
        }
      }
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}
