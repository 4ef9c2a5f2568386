/**
 * S3 client construction (custom CA, timeouts, retries) and the mapping between SDK shapes and ours.
 *
 * @module
 */
import { type HeadObjectOutput, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { FinalizeRequestMiddleware, MetadataBearer } from "@smithy/types";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { textOfUtf8ByteString, utf8ByteString } from "../bytes.ts";
import type { Clock } from "../clock.ts";
import { CHECKSUM_ELEMENTS } from "../gateway/wire/checksums.ts";
import {
  type ByteRange,
  type ChecksumAlgorithm,
  isCompositeChecksum,
  type ObjectInfo,
  type ObjectTags,
  type PutOptions,
  unquoteEtag,
  type WriteCondition,
} from "./mod.ts";

export interface S3StoreOptions {
  /** e.g. `https://s3.eu-central-1.amazonaws.com`, `http://minio:9000`; omit for AWS's default endpoint. */
  endpoint?: string;
  /** Signing region (`us-east-1` for most non-AWS servers). */
  region: string;
  /** Path-style URLs (`endpoint/bucket/key`); needed by MinIO, Ceph RGW and most self-hosted servers. */
  forcePathStyle?: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** PEM bundle of additional trusted CAs (self-signed or private CA upstreams). */
  caCert?: string;
  /** Upstream bucket name = prefix + our bucket name. */
  bucketPrefix?: string;
  /** Part size for streaming uploads of unknown length (default 16 MiB; memory ≈ 2 × partSize per upload). */
  partSize?: number;
  /** Do not send a LocationConstraint on CreateBucket (servers that reject unknown regions). */
  omitLocationConstraint?: boolean;
  /** Attempts per request, including the first (default 3). Streaming uploads are not retried. */
  maxAttempts?: number;
  connectTimeoutMs?: number;
  /** Idle socket timeout per request (default 120 s). */
  requestTimeoutMs?: number;
  clock?: Clock;
}

export function createS3Client(options: S3StoreOptions): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
    },
    maxAttempts: options.maxAttempts ?? 3,
    // Failures reach callers as AppErrors; the SDK would otherwise print retry warnings to the console.
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    // Default "WHEN_SUPPORTED" sends aws-chunked bodies with trailers, which many S3-compatible servers reject.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      // No keep-alive over TLS: under Deno's node:https, a streamed request body on a reused TLS socket stalls
      // (reproduced in factory_test.ts). A handshake per request is the price.
      httpsAgent: new HttpsAgent({
        ...agentOptions,
        keepAlive: false,
        ...(options.caCert ? { ca: options.caCert } : {}),
      }),
      connectionTimeout: options.connectTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 120_000,
    }),
  });
  sendSignedHeaderBytes(client);
  return client;
}

/**
 * Makes the bytes sent for a header value beyond ASCII the bytes signed, on every SDK request. Values are byte strings
 * (a character per byte, as a request brought them); the SDK signs a value's UTF-8, while the runtime's node:http
 * writes most requests' header values one byte per character. So before signing each value becomes the text its bytes
 * encode, and after signing the byte string of that text's UTF-8 again (on a copy of the request: a retry signs the
 * text). Bytes that are not UTF-8 go as the UTF-8 of their Latin-1 reading, the nearest the SDK can sign.
 */
function sendSignedHeaderBytes(client: S3Client): void {
  const mapHeaders =
    (map: (value: string) => string): FinalizeRequestMiddleware<object, MetadataBearer> => (next) => (args) => {
      const request = args.request as { headers: Record<string, string> };
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, map(v)]));
      return next({
        ...args,
        request: Object.assign(Object.create(Object.getPrototypeOf(request)), request, { headers }),
      });
    };
  const around = { toMiddleware: "httpSigningMiddleware", override: true } as const;
  client.middlewareStack.addRelativeTo(mapHeaders((v) => textOfUtf8ByteString(v) ?? v), {
    ...around,
    relation: "before",
    name: "headerBytesAsText",
  });
  client.middlewareStack.addRelativeTo(mapHeaders(utf8ByteString), {
    ...around,
    relation: "after",
    name: "headerTextAsBytes",
  });
}

type SdkChecksumField = (typeof CHECKSUM_ELEMENTS)[ChecksumAlgorithm];

/** `x-amz-checksum-*` request parameters for the checksums known when the request starts. */
export function checksumParams(checksums: PutOptions["checksums"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [algorithm, field] of Object.entries(CHECKSUM_ELEMENTS)) {
    const value = checksums?.[algorithm as ChecksumAlgorithm];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/**
 * A completion's whole-object checksums as the SDK takes them, with the `ChecksumType` S3 wants beside them (a
 * composite value ends in `-<parts>`).
 */
export function completionChecksumParams(checksums: PutOptions["checksums"]): Record<string, string> {
  const out = checksumParams(checksums);
  const values = Object.values(checksums ?? {});
  if (values.length > 0) out.ChecksumType = values.some(isCompositeChecksum) ? "COMPOSITE" : "FULL_OBJECT";
  return out;
}

/**
 * The `If-Match` value sent upstream: the bare ETag. S3 and MinIO take it quoted or not; Ceph RGW 16 compares the
 * bare value and refuses a quoted one as not matching.
 */
export function upstreamIfMatch(etag: string): string {
  return unquoteEtag(etag);
}

/** The SDK parameters of a conditional write (PutObject, CompleteMultipartUpload). */
export function conditionParams(condition: WriteCondition | undefined) {
  return {
    ...(condition?.ifNoneMatch !== undefined ? { IfNoneMatch: condition.ifNoneMatch } : {}),
    ...(condition?.ifMatch !== undefined ? { IfMatch: upstreamIfMatch(condition.ifMatch) } : {}),
  };
}

/** Headers, metadata and storage class of a write, as SDK parameters. */
export function writeParams(opts: PutOptions) {
  return {
    ...(opts.contentType !== undefined ? { ContentType: opts.contentType } : {}),
    ...(opts.contentEncoding !== undefined ? { ContentEncoding: opts.contentEncoding } : {}),
    ...(opts.contentDisposition !== undefined ? { ContentDisposition: opts.contentDisposition } : {}),
    ...(opts.contentLanguage !== undefined ? { ContentLanguage: opts.contentLanguage } : {}),
    ...(opts.cacheControl !== undefined ? { CacheControl: opts.cacheControl } : {}),
    ...(opts.expires !== undefined ? { Expires: new Date(opts.expires) } : {}),
    ...(opts.storageClass !== undefined ? { StorageClass: opts.storageClass as never } : {}),
    ...(opts.objectLock
      ? { ObjectLockMode: opts.objectLock.mode, ObjectLockRetainUntilDate: opts.objectLock.retainUntil }
      : {}),
    Metadata: opts.metadata ?? {},
  };
}

/** A tag set as S3's `x-amz-tagging` header carries it: URL-encoded `key=value` pairs joined by `&`. */
function encodeTagging(tags: ObjectTags): string {
  return Object.entries(tags).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

/** The SDK's `Tagging` parameter for a new object's tags (nothing without tags). */
export function taggingParams(tags: ObjectTags | undefined): { Tagging?: string } {
  return tags && Object.keys(tags).length > 0 ? { Tagging: encodeTagging(tags) } : {};
}

/** The checksums an SDK answer carries (`ChecksumCRC32`, …: of an object, or of a part in a part listing). */
export function checksumsOf(out: Partial<Record<SdkChecksumField, string>>): ObjectInfo["checksums"] {
  const checksums: ObjectInfo["checksums"] = {};
  for (const [algorithm, field] of Object.entries(CHECKSUM_ELEMENTS)) {
    const value = out[field];
    if (value !== undefined) checksums[algorithm as ChecksumAlgorithm] = value;
  }
  return checksums;
}

export function toInfo(key: string, out: HeadObjectOutput, size: number): ObjectInfo {
  const checksums = checksumsOf(out);
  const optional = {
    contentType: out.ContentType,
    contentEncoding: out.ContentEncoding,
    contentDisposition: out.ContentDisposition,
    contentLanguage: out.ContentLanguage,
    cacheControl: out.CacheControl,
    expires: out.ExpiresString ?? out.Expires?.toUTCString(),
    storageClass: out.StorageClass,
    partsCount: out.PartsCount,
    tagCount: out.TagCount || undefined,
  };
  return {
    key,
    size,
    etag: quoted(out.ETag),
    lastModified: out.LastModified ?? new Date(0),
    metadata: Object.fromEntries(Object.entries(out.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    checksums,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

/** ETags as S3 sends them, quoted (some servers, e.g. Ceph RGW in CopyPartResult, omit the quotes). */
export function quoted(etag: string | undefined): string {
  if (!etag) return "";
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

/** `x-amz-copy-source`: bucket and URL-encoded key (slashes kept, as AWS documents). */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end}`;
}
