/** Query parameters of multipart operations. @module */
import { S3Error } from "../s3_errors.ts";
import type { RequestContext } from "./_context.ts";

export const MAX_PART_NUMBER = 10_000;

export function uploadIdOf(ctx: RequestContext): string {
  const id = ctx.url.searchParams.get("uploadId");
  if (!id) throw new S3Error("InvalidArgument", "uploadId must not be empty");
  return id;
}

export function partNumberOf(ctx: RequestContext): number {
  const v = ctx.url.searchParams.get("partNumber");
  const n = v !== null && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_PART_NUMBER)) {
    throw new S3Error("InvalidArgument", `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`);
  }
  return n;
}
