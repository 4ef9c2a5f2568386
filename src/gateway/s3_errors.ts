/**
 * The one place errors become S3 responses: a table from S3 error code to HTTP status and default message,
 * a map from `AppError` codes onto it, and the XML error body. Anything unknown is InternalError.
 *
 * @module
 */
import { type AppError, type AppErrorCode, isAppError } from "../errors.ts";
import { type RequestIds, withIds } from "./request_ids.ts";
import { buildXml } from "./wire/xml.ts";
import { type S3Answer, s3Answer } from "./answer.ts";

const S3_ERRORS = {
  AccessControlListNotSupported: [400, "The bucket does not allow ACLs"],
  AccessDenied: [403, "Access Denied"],
  AccessForbidden: [403, "CORSResponse: This CORS request is not allowed"],
  AuthorizationHeaderMalformed: [400, "The authorization header is malformed"],
  AuthorizationQueryParametersError: [400, "Error parsing the X-Amz-Credential parameter"],
  BadRequest: [400, "Bad Request"],
  BadDigest: [400, "The Content-MD5 or checksum you specified did not match what we received"],
  BucketAlreadyOwnedByYou: [409, "Your previous request to create the named bucket succeeded and you already own it"],
  BucketNotEmpty: [409, "The bucket you tried to delete is not empty"],
  EntityTooLarge: [400, "Your proposed upload exceeds the maximum allowed object size"],
  EntityTooSmall: [400, "Your proposed upload is smaller than the minimum allowed object size"],
  IncompleteBody: [400, "You did not provide the number of bytes specified by the Content-Length HTTP header"],
  IncorrectNumberOfFilesInPostRequest: [400, "POST requires exactly one file upload per request"],
  InternalError: [500, "We encountered an internal error. Please try again"],
  InvalidAccessKeyId: [403, "The AWS Access Key Id you provided does not exist in our records"],
  InvalidArgument: [400, "Invalid Argument"],
  InvalidBucketName: [400, "The specified bucket is not valid"],
  InvalidDigest: [400, "The Content-MD5 you specified is not valid"],
  InvalidPart: [400, "One or more of the specified parts could not be found"],
  InvalidPolicyDocument: [400, "The content of the form does not meet the conditions specified in the policy document"],
  InvalidPartOrder: [400, "The list of parts was not in ascending order"],
  InvalidPartNumber: [416, "The requested partnumber is not satisfiable"],
  InvalidRange: [416, "The requested range is not satisfiable"],
  InvalidRequest: [400, "Invalid Request"],
  InvalidStorageClass: [400, "The storage class you specified is not valid"],
  InvalidTag: [400, "The tag provided was not a valid tag"],
  InvalidURI: [400, "Couldn't parse the specified URI"],
  KeyTooLongError: [400, "Your key is too long"],
  MalformedPOSTRequest: [400, "The body of your POST request is not well-formed multipart/form-data"],
  MalformedXML: [400, "The XML you provided was not well-formed or did not validate against our published schema"],
  MetadataTooLarge: [400, "Your metadata headers exceed the maximum allowed metadata size"],
  MethodNotAllowed: [405, "The specified method is not allowed against this resource"],
  MissingContentLength: [411, "You must provide the Content-Length HTTP header"],
  MissingSecurityHeader: [400, "Your request was missing a required header"],
  NoSuchBucket: [404, "The specified bucket does not exist"],
  NoSuchKey: [404, "The specified key does not exist"],
  NoSuchUpload: [404, "The specified multipart upload does not exist"],
  NoSuchVersion: [404, "The specified version does not exist"],
  NoSuchBucketPolicy: [404, "The bucket policy does not exist"],
  NoSuchCORSConfiguration: [404, "The CORS configuration does not exist"],
  NoSuchLifecycleConfiguration: [404, "The lifecycle configuration does not exist"],
  NoSuchPublicAccessBlockConfiguration: [404, "The public access block configuration was not found"],
  NoSuchTagSet: [404, "The TagSet does not exist"],
  NoSuchWebsiteConfiguration: [404, "The specified bucket does not have a website configuration"],
  ObjectLockConfigurationNotFoundError: [404, "Object Lock configuration does not exist for this bucket"],
  OwnershipControlsNotFoundError: [404, "The bucket ownership controls were not found"],
  ReplicationConfigurationNotFoundError: [404, "The replication configuration was not found"],
  ServerSideEncryptionConfigurationNotFoundError: [404, "The server side encryption configuration was not found"],
  NotImplemented: [501, "A header you provided implies functionality that is not implemented"],
  NotModified: [304, "Not Modified"],
  OperationAborted: [409, "A conflicting conditional operation is currently in progress against this resource"],
  PreconditionFailed: [412, "At least one of the preconditions you specified did not hold"],
  RequestHeaderSectionTooLarge: [400, "Your request header section exceeds the maximum allowed size"],
  RequestTimeTooSkewed: [403, "The difference between the request time and the server's time is too large"],
  ServiceUnavailable: [503, "Please reduce your request rate"],
  SignatureDoesNotMatch: [
    403,
    "The request signature we calculated does not match the signature you provided. Check your key and signing method",
  ],
  XAmzContentSHA256Mismatch: [400, "The provided 'x-amz-content-sha256' header does not match what was computed"],
  XAmzContentChecksumMismatch: [400, "The provided checksum does not match what was computed"],
  InsufficientStorage: [507, "The appliance has no space left for this object"],
} as const satisfies Record<string, readonly [number, string]>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** An error raised by the gateway itself (authentication, request validation) with its S3 code. */
export class S3Error extends Error {
  readonly s3Code: S3ErrorCode;
  /** Extra elements of the XML error document (e.g. `AWSAccessKeyId`). */
  readonly fields: Record<string, string>;
  /** Extra response headers (e.g. `Content-Range` on InvalidRange). */
  readonly headers: Record<string, string>;
  constructor(
    code: S3ErrorCode,
    message?: string,
    options: { fields?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    super(message ?? S3_ERRORS[code][1]);
    this.name = "S3Error";
    this.s3Code = code;
    this.fields = options.fields ?? {};
    this.headers = options.headers ?? {};
  }
}

const FROM_APP: Record<AppErrorCode, S3ErrorCode> = {
  NotFound: "NoSuchKey",
  NoSuchBucket: "NoSuchBucket",
  NoSuchKey: "NoSuchKey",
  NoSuchUpload: "NoSuchUpload",
  Conflict: "OperationAborted",
  BucketAlreadyExists: "BucketAlreadyOwnedByYou",
  BucketNotEmpty: "BucketNotEmpty",
  InvalidArgument: "InvalidArgument",
  InvalidRequest: "InvalidRequest",
  InvalidBucketName: "InvalidBucketName",
  KeyTooLong: "KeyTooLongError",
  InvalidPart: "InvalidPart",
  InvalidPartOrder: "InvalidPartOrder",
  InvalidPartNumber: "InvalidPartNumber",
  EntityTooSmall: "EntityTooSmall",
  EntityTooLarge: "EntityTooLarge",
  InvalidRange: "InvalidRange",
  PreconditionFailed: "PreconditionFailed",
  NotModified: "NotModified",
  BadDigest: "BadDigest",
  IncompleteBody: "IncompleteBody",
  Unauthorized: "AccessDenied",
  Forbidden: "AccessDenied",
  NotImplemented: "NotImplemented",
  Unavailable: "ServiceUnavailable",
  NoSpace: "InsufficientStorage",
  Integrity: "InternalError",
  Internal: "InternalError",
};

/** The S3 view of any thrown value. `known` is false for errors that should be logged as bugs. */
export function toS3Error(err: unknown): { code: S3ErrorCode; status: number; message: string; known: boolean } {
  if (err instanceof S3Error) {
    return { code: err.s3Code, status: S3_ERRORS[err.s3Code][0], message: err.message, known: true };
  }
  if (isAppError(err)) {
    const code = FROM_APP[err.code];
    const known = code !== "InternalError";
    return { code, status: S3_ERRORS[code][0], message: known ? err.message : S3_ERRORS[code][1], known };
  }
  return { code: "InternalError", status: 500, message: S3_ERRORS.InternalError[1], known: false };
}

/** The extra elements S3 puts in these errors, from the store's details. */
function detailFields(err: AppError): Record<string, string> {
  const { partNumber, etag, partsCount } = err.details;
  if (err.code === "InvalidPartNumber" && typeof partsCount === "number") {
    return { ActualPartCount: String(partsCount) };
  }
  if (err.code === "InvalidPart" && typeof partNumber === "number") {
    return { PartNumber: String(partNumber), ...(typeof etag === "string" ? { ETag: etag.replace(/"/g, "") } : {}) };
  }
  return {};
}

/** The `<Error>` document for a failed request. */
export function errorXml(
  err: { code: string; message: string },
  ctx: { resource: string; requestId: string; fields?: Record<string, string> },
): string {
  return buildXml("Error", {
    Code: err.code,
    Message: err.message,
    ...ctx.fields,
    // A request the server could not read names no resource.
    Resource: ctx.resource === "" ? undefined : ctx.resource,
    RequestId: ctx.requestId,
  }, { namespace: false });
}

/** The response for a failed request, with its ids: no body for HEAD and 304, XML otherwise. */
export function errorResponse(
  err: unknown,
  ctx: { method: string; resource: string; ids: RequestIds },
): { response: S3Answer; code: S3ErrorCode; known: boolean } {
  const s3 = toS3Error(err);
  const headers = withIds(ctx.ids, {
    ...(err instanceof S3Error ? err.headers : {}),
    "content-type": "application/xml",
  });
  const fields = err instanceof S3Error ? err.fields : isAppError(err) ? detailFields(err) : {};
  const body = ctx.method === "HEAD" || s3.status === 304
    ? null
    : errorXml(s3, { resource: ctx.resource, requestId: ctx.ids.requestId, fields });
  return { response: s3Answer(body, s3.status, headers), code: s3.code, known: s3.known };
}
