/**
 * Maps errors from @aws-sdk/client-s3 (S3 error codes, HTTP status, network failures) to `AppError`s.
 *
 * @module
 */
import { AppError, type AppErrorCode, isAppError } from "../errors.ts";

const BY_CODE: Record<string, AppErrorCode> = {
  NoSuchBucket: "NoSuchBucket",
  NoSuchKey: "NoSuchKey",
  NoSuchUpload: "NoSuchUpload",
  BucketAlreadyExists: "BucketAlreadyExists",
  BucketAlreadyOwnedByYou: "BucketAlreadyExists",
  BucketNotEmpty: "BucketNotEmpty",
  InvalidBucketName: "InvalidBucketName",
  KeyTooLongError: "KeyTooLong",
  InvalidPart: "InvalidPart",
  InvalidPartOrder: "InvalidPartOrder",
  InvalidPartNumber: "InvalidPartNumber",
  EntityTooSmall: "EntityTooSmall",
  EntityTooLarge: "EntityTooLarge",
  InvalidRange: "InvalidRange",
  BadDigest: "BadDigest",
  InvalidDigest: "BadDigest",
  XAmzContentSHA256Mismatch: "BadDigest",
  IncompleteBody: "IncompleteBody",
  PreconditionFailed: "PreconditionFailed",
  ConditionalRequestConflict: "Conflict",
  NotModified: "NotModified",
  InvalidArgument: "InvalidArgument",
  InvalidRequest: "InvalidRequest",
  AccessDenied: "Forbidden",
  InvalidAccessKeyId: "Unauthorized",
  SignatureDoesNotMatch: "Unauthorized",
  NotImplemented: "NotImplemented",
  SlowDown: "Unavailable",
  ServiceUnavailable: "Unavailable",
  InternalError: "Unavailable",
  RequestTimeout: "Unavailable",
  TimeoutError: "Unavailable",
  QuotaExceeded: "NoSpace",
  InsufficientCapacity: "NoSpace",
};

const BY_STATUS: Record<number, AppErrorCode> = {
  400: "InvalidArgument",
  401: "Unauthorized",
  403: "Forbidden",
  411: "InvalidArgument",
  412: "PreconditionFailed",
  416: "InvalidRange",
  500: "Unavailable",
  501: "NotImplemented",
  503: "Unavailable",
  507: "NoSpace",
};

const NETWORK = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Converts `err` to an AppError. `notFound` decides what a bare 404 (HEAD responses carry no error code) means.
 * Errors that are already AppErrors (e.g. from our own body checks) and aborts pass through unchanged.
 */
export function mapS3Error(err: unknown, notFound: AppErrorCode = "NotFound"): unknown {
  if (isAppError(err)) return err;
  const e = (err ?? {}) as SdkError;
  if (e.name === "AbortError") return err;
  if (/CERT|SIGNATURE_FAILURE|TLS|SELF_SIGNED/.test(e.code ?? "") || /certificate/i.test(e.message ?? "")) {
    return new AppError(
      "Unavailable",
      `TLS connection to the upstream failed: ${e.message} (set caCert to trust a private CA)`,
      {
        cause: err,
        details: { upstreamCode: e.code },
      },
    );
  }
  const name = e.Code ?? e.name ?? "";
  const status = e.$metadata?.httpStatusCode;
  const mapped = BY_CODE[name] ??
    (status === 404 ? notFound : undefined) ??
    (status !== undefined ? BY_STATUS[status] : undefined) ??
    (NETWORK.has(e.code ?? "") || /ECONNREFUSED|socket hang up|timed? ?out/i.test(e.message ?? "")
      ? "Unavailable"
      : undefined);
  const message = `Upstream S3 error ${name || status || "unknown"}: ${e.message ?? String(err)}`;
  return new AppError(mapped ?? "Internal", message, { cause: err, details: { upstreamCode: name, status } });
}
