/**
 * The API's one error edge: `AppError` → RFC 9457 problem JSON with the matching HTTP status.
 * Anything else is a 500, logged once with its stack (never with request bodies).
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { databaseFault, type Db } from "../../db/client.ts";
import { AppError, type AppErrorCode, rootMessage } from "../../errors.ts";
import type { Logger } from "../../log.ts";

const STATUS: Record<AppErrorCode, ContentfulStatusCode> = {
  NotFound: 404,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  Conflict: 409,
  BucketAlreadyExists: 409,
  BucketNotEmpty: 409,
  InvalidArgument: 400,
  InvalidRequest: 400,
  InvalidBucketName: 400,
  KeyTooLong: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidPartNumber: 416,
  EntityTooSmall: 400,
  EntityTooLarge: 413,
  InvalidRange: 416,
  PreconditionFailed: 412,
  NotModified: 400,
  BadDigest: 400,
  IncompleteBody: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotImplemented: 501,
  Unavailable: 503,
  NoSpace: 507,
  Integrity: 500,
  Internal: 500,
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  details?: Record<string, unknown>;
}

export function statusOf(code: AppErrorCode): ContentfulStatusCode {
  return STATUS[code];
}

function problem(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  detail: string,
  details?: Record<string, unknown>,
) {
  const body: Problem = { type: "about:blank", title: code, status, detail, code };
  if (details && Object.keys(details).length > 0) body.details = details;
  return c.json(body, status, { "content-type": "application/problem+json" });
}

/**
 * A Hono `onError` handler. With `db`, an unexpected error while that database does not answer (a remote one gone
 * away) is a 503 the caller may retry, not a fault of the appliance.
 */
export function createErrorHandler(logger: Logger, db?: Db) {
  return async (err: Error, c: Context): Promise<Response> => {
    if (err instanceof AppError) {
      const status = statusOf(err.code);
      if (status >= 500) logger.error("api request failed", { code: err.code, error: err.message, path: c.req.path });
      return problem(c, status, err.code, err.message, err.details);
    }
    if (err instanceof SyntaxError) return problem(c, 400, "InvalidArgument", `Malformed JSON body: ${err.message}`);
    if (db && await databaseFault(db) !== undefined) {
      // The root cause only: the query's own message would carry its parameters.
      logger.warn("api request failed: the database does not answer", { error: rootMessage(err), path: c.req.path });
      return problem(c, 503, "Unavailable", "The database does not answer; try again");
    }
    logger.error("api request failed", { error: String(err), stack: err.stack, path: c.req.path });
    return problem(c, 500, "Internal", "Internal error");
  };
}
