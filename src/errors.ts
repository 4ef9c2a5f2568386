/**
 * One error hierarchy for the whole appliance. Services throw these; only the edges translate them:
 * `gateway/s3_errors.ts` (S3 XML), `iscsi/scsi/sense.ts` (sense data), `api/middleware/error_handler.ts` (JSON).
 *
 * @module
 */

/** Stable machine-readable codes; edges map on these, never on message text. */
export type AppErrorCode =
  | "NotFound"
  | "NoSuchBucket"
  | "NoSuchKey"
  | "NoSuchUpload"
  | "Conflict"
  | "BucketAlreadyExists"
  | "BucketNotEmpty"
  | "InvalidArgument"
  | "InvalidRequest"
  | "InvalidBucketName"
  | "KeyTooLong"
  | "InvalidPart"
  | "InvalidPartOrder"
  | "InvalidPartNumber"
  | "EntityTooSmall"
  | "EntityTooLarge"
  | "InvalidRange"
  | "PreconditionFailed"
  | "NotModified"
  | "BadDigest"
  | "IncompleteBody"
  | "Unauthorized"
  | "Forbidden"
  | "NotImplemented"
  | "Unavailable"
  | "NoSpace"
  | "Integrity"
  | "Internal";

/** Base class: a stable `code`, a human message and an optional cause. */
export class AppError extends Error {
  readonly code: AppErrorCode;
  /** Extra structured data for the edge mappers (e.g. the part number that failed). */
  readonly details: Record<string, unknown>;

  constructor(
    code: AppErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** True when `err` is an AppError with one of the given codes. */
export function isAppError(err: unknown, ...codes: AppErrorCode[]): err is AppError {
  return err instanceof AppError && (codes.length === 0 || codes.includes(err.code));
}

/** The message of the error at the end of `err`'s causes (wrappers such as the query builder's add none of use). */
export function rootMessage(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
