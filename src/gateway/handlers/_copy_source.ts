/** `x-amz-copy-source` (+ range and conditions) for CopyObject and UploadPartCopy. @module */
import type { ByteRange, CopySource, ObjectInfo, ObjectStore } from "../../storage/mod.ts";
import { isAppError } from "../../errors.ts";
import { S3Error } from "../s3_errors.ts";
import { type RequestContext, requireAccess } from "./_context.ts";
import { evaluateConditions, requestConditions } from "./_object_headers.ts";
import { onOneVersion } from "./_one_version.ts";
import { checkVersionId } from "./_version.ts";

/** Largest copy source S3 copies in one request (larger objects need UploadPartCopy). */
export const MAX_COPY_SOURCE_BYTES = 5 * 1024 * 1024 * 1024;

/** Parse `bucket/key` or `/bucket/key`, percent-decoded; a versionId other than "null" does not exist. */
export function parseCopySource(value: string): CopySource {
  let raw = value;
  const q = raw.indexOf("?");
  if (q !== -1) {
    const params = new URLSearchParams(raw.slice(q + 1));
    checkVersionId(params.get("versionId"));
    raw = raw.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new S3Error("InvalidArgument", "Invalid copy source encoding");
  }
  if (decoded.startsWith("/")) decoded = decoded.slice(1);
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/** Resolve the copy source: check read access, existence and the x-amz-copy-source-if-* conditions. */
export async function resolveCopySource(
  ctx: RequestContext,
  store: ObjectStore,
): Promise<{ source: CopySource; info: ObjectInfo }> {
  const source = parseCopySource(ctx.headers.get("x-amz-copy-source") ?? "");
  requireAccess(ctx, { bucket: source.bucket, key: source.key, permission: "read" });
  const info = await store.headObject(source.bucket, source.key);
  const verdict = evaluateConditions(requestConditions(ctx.headers, "x-amz-copy-source-"), info, {
    notModifiedIsFailure: true,
  });
  if (verdict !== "ok") throw new S3Error("PreconditionFailed");
  return { source, info };
}

/**
 * Resolves the copy source and runs `copy` on the version whose conditions were checked, pinned to it (`ifMatch`):
 * what is copied is always a version the conditions hold for. When another write replaced the source in between,
 * the store refuses the pinned copy and the new version is resolved, its conditions checked, and copied. Gives what
 * `copy` gave, with the source copied from (bucket and key).
 */
export function copyCheckedSource<T>(
  ctx: RequestContext,
  copy: (source: CopySource, info: ObjectInfo) => Promise<T>,
): Promise<{ copied: T; source: CopySource }> {
  return onOneVersion(async () => {
    const { source, info } = await resolveCopySource(ctx, ctx.store);
    try {
      return { copied: await copy({ ...source, ifMatch: info.etag }, info), source };
    } catch (err) {
      if (isAppError(err, "PreconditionFailed")) return undefined;
      throw err;
    }
  });
}

/**
 * `x-amz-copy-source-range: bytes=first-last`, both required and within the source. A range beyond the source is
 * `InvalidArgument` (400), as S3 answers UploadPartCopy, not a GET's `InvalidRange` (416).
 */
export function parseCopyRange(value: string | null, size: number): ByteRange | undefined {
  if (value === null) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (!m) {
    throw new S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last");
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start || end >= size) {
    throw new S3Error("InvalidArgument", `Range specified is not valid for source object of size: ${size}`);
  }
  return { start, end };
}
