/**
 * Version ids in object requests. Buckets here are unversioned: as in an unversioned S3 bucket, each object has one
 * version, whose id is "null".
 *
 * @module
 */
import { S3Error } from "../s3_errors.ts";

/** The id of every object's only version. */
export const NULL_VERSION = "null";

/**
 * Checks a requested `versionId` (`null`/`undefined`: none asked for, the object itself). Any id but "null" names
 * a version that cannot exist, which must never be taken for the object itself (a DELETE of an old version would
 * delete the current one).
 */
export function checkVersionId(id: string | null | undefined): void {
  if (id === null || id === undefined || id === NULL_VERSION) return;
  if (id === "") throw new S3Error("InvalidArgument", "Version id cannot be the empty string");
  throw new S3Error(
    "NoSuchVersion",
    `The specified version does not exist (objects here have only the version "null")`,
  );
}

/**
 * Checks the request's `versionId` query parameter; returns the header an answer about the object carries: the
 * version named (`x-amz-version-id: null`), none when no version was asked for.
 */
export function versionHeaders(url: URL): Record<string, string> {
  // Most requests have no query: no parameters to parse.
  const id = url.search === "" ? null : url.searchParams.get("versionId");
  checkVersionId(id);
  return id === null ? {} : { "x-amz-version-id": NULL_VERSION };
}
