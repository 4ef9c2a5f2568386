/**
 * Dispatch: (method, host/path, subresource) → S3 operation, bucket and key. No logic beyond naming.
 *
 * @module
 */
import type { S3Operation } from "../events/mod.ts";
import type { HeaderReader, RequestTarget } from "./request_headers.ts";
import { S3Error } from "./s3_errors.ts";
import { formBoundary } from "./wire/form_data.ts";

export interface Target {
  bucket?: string;
  key?: string;
}

export interface Route extends Target {
  op: S3Operation;
  /** Set when the request names no supported operation; raised after authentication. */
  error?: S3Error;
}

/** Subresources S3 has beyond those of the core operations (`uploads`, `uploadId`, `delete`, `location`). */
const SUBRESOURCES = [
  "accelerate",
  "acl",
  "analytics",
  "attributes",
  "cors",
  "encryption",
  "intelligent-tiering",
  "inventory",
  "legal-hold",
  "lifecycle",
  "logging",
  "metrics",
  "notification",
  "object-lock",
  "ownershipControls",
  "policy",
  "policyStatus",
  "publicAccessBlock",
  "replication",
  "requestPayment",
  "restore",
  "retention",
  "select",
  "tagging",
  "torrent",
  "versioning",
  "versions",
  "website",
];

type ByMethod = Partial<Record<string, S3Operation>>;

/**
 * The operations a subresource names, by target and method: the object versions of a bucket, an object's attributes,
 * the CORS and lifecycle rules and tags, ACLs, and settings clients cannot change here, which read as unconfigured
 * and accept only the state they have (`handlers/bucket_settings.ts`). Every other use of a subresource is
 * NotImplemented.
 */
const SUBRESOURCE_OPERATIONS: Record<string, { bucket?: ByMethod; object?: ByMethod }> = {
  versions: { bucket: { GET: "ListObjectVersions" } },
  versioning: { bucket: { GET: "GetBucketVersioning" } },
  attributes: { object: { GET: "GetObjectAttributes" } },
  acl: { bucket: { GET: "GetBucketAcl", PUT: "PutBucketAcl" }, object: { GET: "GetObjectAcl", PUT: "PutObjectAcl" } },
  tagging: {
    bucket: { GET: "GetBucketTagging", PUT: "PutBucketTagging", DELETE: "DeleteBucketTagging" },
    object: { GET: "GetObjectTagging", PUT: "PutObjectTagging", DELETE: "DeleteObjectTagging" },
  },
  cors: { bucket: { GET: "GetBucketCors", PUT: "PutBucketCors", DELETE: "DeleteBucketCors" } },
  lifecycle: {
    bucket: {
      GET: "GetBucketLifecycleConfiguration",
      PUT: "PutBucketLifecycleConfiguration",
      DELETE: "DeleteBucketLifecycle",
    },
  },
  policy: { bucket: { GET: "GetBucketPolicy" } },
  encryption: { bucket: { GET: "GetBucketEncryption" } },
  "object-lock": { bucket: { GET: "GetObjectLockConfiguration" } },
  requestPayment: { bucket: { GET: "GetBucketRequestPayment", PUT: "PutBucketRequestPayment" } },
  logging: { bucket: { GET: "GetBucketLogging", PUT: "PutBucketLogging" } },
  notification: {
    bucket: { GET: "GetBucketNotificationConfiguration", PUT: "PutBucketNotificationConfiguration" },
  },
  website: { bucket: { GET: "GetBucketWebsite" } },
  replication: { bucket: { GET: "GetBucketReplication" } },
  publicAccessBlock: { bucket: { GET: "GetPublicAccessBlock", PUT: "PutPublicAccessBlock" } },
  ownershipControls: { bucket: { GET: "GetBucketOwnershipControls", PUT: "PutBucketOwnershipControls" } },
  policyStatus: { bucket: { GET: "GetBucketPolicyStatus" } },
  accelerate: { bucket: { GET: "GetBucketAccelerateConfiguration" } },
};

function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error("InvalidURI", "Couldn't parse the specified URI");
  }
}

/** Bucket and key from the `path` of a virtual-host (`bucket.<domain>`) or path-style request to `host`. */
export function resolveTarget(path: string, host: string, virtualHostDomain?: string): Target {
  const hostname = host.replace(/:\d+$/, "").toLowerCase();
  if (virtualHostDomain && hostname.endsWith("." + virtualHostDomain.toLowerCase())) {
    const bucket = hostname.slice(0, -(virtualHostDomain.length + 1));
    const key = path.length > 1 ? decodePath(path.slice(1)) : undefined;
    return key === undefined ? { bucket } : { bucket, key };
  }
  if (path === "/" || path === "") return {};
  const slash = path.indexOf("/", 1);
  if (slash === -1) return { bucket: decodePath(path.slice(1)) };
  const bucket = decodePath(path.slice(1, slash));
  const key = decodePath(path.slice(slash + 1));
  return key === "" ? { bucket } : { bucket, key };
}

function notAllowed(method: string): S3Error {
  return new S3Error("MethodNotAllowed", `The specified method ${method} is not allowed against this resource`);
}

function bucketOp(method: string, q: URLSearchParams, headers: HeaderReader): S3Operation | S3Error {
  switch (method) {
    case "GET":
      if (q.has("location")) return "GetBucketLocation";
      if (q.has("uploads")) return "ListMultipartUploads";
      return q.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
    case "PUT":
      return "CreateBucket";
    case "DELETE":
      return "DeleteBucket";
    case "HEAD":
      return "HeadBucket";
    case "POST":
      if (q.has("delete")) return "DeleteObjects";
      // A browser-based upload: the form names the key.
      if (formBoundary(headers.get("content-type")) !== undefined) return "PostObject";
      return notAllowed(method);
    default:
      return notAllowed(method);
  }
}

function objectOp(method: string, q: URLSearchParams, headers: HeaderReader): S3Operation | S3Error {
  const copy = headers.has("x-amz-copy-source");
  switch (method) {
    case "GET":
      return q.has("uploadId") ? "ListParts" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "PUT":
      if (q.has("uploadId") || q.has("partNumber")) return copy ? "UploadPartCopy" : "UploadPart";
      return copy ? "CopyObject" : "PutObject";
    case "DELETE":
      return q.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    case "POST":
      if (q.has("uploads")) return "CreateMultipartUpload";
      if (q.has("uploadId")) return "CompleteMultipartUpload";
      return notAllowed(method);
    default:
      return notAllowed(method);
  }
}

function subresourceRoute(method: string, target: Target, subresource: string): Route {
  const ops = target.bucket === undefined ? undefined : SUBRESOURCE_OPERATIONS[subresource];
  const op = (target.key === undefined ? ops?.bucket : ops?.object)?.[method];
  if (op !== undefined) return { ...target, op };
  const error = new S3Error("NotImplemented", `${method} of the ${subresource} subresource is not implemented`);
  return { ...target, op: "Unknown", error };
}

/** Name the operation a request asks for, its bucket and key read from the path as sent. */
export function resolveRoute(req: RequestTarget, virtualHostDomain?: string): Route {
  const { url } = req;
  let target: Target;
  try {
    target = resolveTarget(req.path, req.headers.get("host") ?? url.host, virtualHostDomain);
  } catch (err) {
    return { op: "Unknown", error: err as S3Error };
  }
  // A browser's CORS preflight, whatever the path or query names.
  if (req.method === "OPTIONS") return { ...target, op: "PreflightRequest" };
  const q = url.searchParams;
  // Most requests have no query at all: skip the 28 lookups.
  const subresource = url.search === "" ? undefined : SUBRESOURCES.find((name) => q.has(name));
  if (subresource !== undefined) return subresourceRoute(req.method, target, subresource);
  let op: S3Operation | S3Error;
  if (target.bucket === undefined) op = req.method === "GET" ? "ListBuckets" : notAllowed(req.method);
  else if (target.key === undefined) op = bucketOp(req.method, q, req.headers);
  else op = objectOp(req.method, q, req.headers);
  return op instanceof S3Error ? { ...target, op: "Unknown", error: op } : { ...target, op };
}
