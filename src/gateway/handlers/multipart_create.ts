/**
 * CreateMultipartUpload, with the checksum the parts will carry (`x-amz-checksum-algorithm`) and how the object's is
 * made from theirs (`x-amz-checksum-type`: COMPOSITE by default, FULL_OBJECT always for CRC64NVME), checked as S3
 * checks them.
 *
 * @module
 */
import type { PutOptions } from "../../storage/mod.ts";
import type { HeaderReader } from "../request_headers.ts";
import { S3Error } from "../s3_errors.ts";
import { namedChecksumAlgorithm } from "../wire/checksums.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { putOptionsFrom } from "./_object_headers.ts";
import { xmlResponse } from "./_respond.ts";
import { writeFeatures } from "./_write_features.ts";
import type { S3Answer } from "../answer.ts";

const FULL_OBJECT_ONLY: ReadonlySet<string> = new Set(["crc64nvme"]);
const COMPOSITE_ONLY: ReadonlySet<string> = new Set(["sha1", "sha256"]);

/** The upload's checksum algorithm and type; neither when it names no algorithm. */
function checksumChoice(headers: HeaderReader): Pick<PutOptions, "checksumAlgorithm" | "checksumType"> {
  const named = headers.get("x-amz-checksum-algorithm");
  const type = headers.get("x-amz-checksum-type");
  if (named === null) {
    if (type !== null) {
      throw new S3Error(
        "InvalidRequest",
        "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
      );
    }
    return {};
  }
  const algorithm = namedChecksumAlgorithm(named);
  if (type !== null && type !== "FULL_OBJECT" && type !== "COMPOSITE") {
    throw new S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.");
  }
  const checksumType = type ?? (FULL_OBJECT_ONLY.has(algorithm) ? "FULL_OBJECT" : "COMPOSITE");
  const excluded = checksumType === "FULL_OBJECT" ? COMPOSITE_ONLY : FULL_OBJECT_ONLY;
  if (excluded.has(algorithm)) {
    throw new S3Error(
      "InvalidRequest",
      `The ${checksumType} checksum type cannot be used with the ${algorithm} checksum algorithm.`,
    );
  }
  return { checksumAlgorithm: algorithm, checksumType };
}

export async function createMultipartUpload(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const checksum = checksumChoice(ctx.headers);
  const options = { ...putOptionsFrom(ctx.headers), ...writeFeatures(ctx), ...checksum };
  const uploadId = await ctx.store.createMultipartUpload(bucket, key, options);
  const { checksumAlgorithm, checksumType } = checksum;
  const headers: Record<string, string> = checksumAlgorithm && checksumType
    ? { "x-amz-checksum-algorithm": checksumAlgorithm.toUpperCase(), "x-amz-checksum-type": checksumType }
    : {};
  return xmlResponse(
    ctx.ids,
    "InitiateMultipartUploadResult",
    { Bucket: bucket, Key: key, UploadId: uploadId },
    headers,
  );
}
