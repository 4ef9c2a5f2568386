/**
 * CompleteMultipartUpload; supports If-None-Match: * and If-Match, as PutObject does, and checks the whole object's
 * checksum when the request carries one (`x-amz-checksum-*`).
 *
 * @module
 */
import type { ChecksumAlgorithm, ChecksumType } from "../../storage/mod.ts";
import type { HeaderReader } from "../request_headers.ts";
import { S3Error } from "../s3_errors.ts";
import {
  CHECKSUM_ALGORITHMS,
  CHECKSUM_ELEMENTS,
  checksumResultElements,
  isChecksumAlgorithm,
  isWellFormedDigest,
} from "../wire/checksums.ts";
import { childrenNamed, childText, type XmlElement } from "../wire/xml.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { MAX_PART_NUMBER, uploadIdOf } from "./_multipart_params.ts";
import { objectUrl, xmlResponse } from "./_respond.ts";
import { readXmlBody } from "./_xml_body.ts";
import { refuseEarly, writeCondition } from "./_write_condition.ts";
import type { S3Answer } from "../answer.ts";

/** The checksum type a completion names (`x-amz-checksum-type`), checked; undefined when it names none. */
function completionType(headers: HeaderReader): ChecksumType | undefined {
  const type = headers.get("x-amz-checksum-type");
  if (type === null) return undefined;
  if (type !== "FULL_OBJECT" && type !== "COMPOSITE") {
    throw new S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.");
  }
  return type;
}

/** The whole object's checksums a completion carries (a composite one with its `-<parts>`). */
function completionChecksums(headers: HeaderReader): Partial<Record<ChecksumAlgorithm, string>> {
  const out: Partial<Record<ChecksumAlgorithm, string>> = {};
  headers.forEach((value, name) => {
    const algorithm = name.startsWith("x-amz-checksum-") ? name.slice("x-amz-checksum-".length) : "";
    if (!isChecksumAlgorithm(algorithm)) return;
    if (!isWellFormedDigest(algorithm, value.replace(/-\d{1,5}$/, ""))) {
      throw new S3Error("InvalidRequest", `Value for ${name} header is invalid`);
    }
    out[algorithm] = value;
  });
  return out;
}

/** The checksums a `<Part>` of the completion names (`<ChecksumCRC32>`, …), each well-formed. */
function namedPartChecksums(part: XmlElement, partNumber: number): Partial<Record<ChecksumAlgorithm, string>> {
  const out: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = childText(part, CHECKSUM_ELEMENTS[algorithm])?.trim();
    if (value === undefined) continue;
    if (!isWellFormedDigest(algorithm, value)) {
      throw new S3Error("InvalidRequest", `Value for ${CHECKSUM_ELEMENTS[algorithm]} of part ${partNumber} is invalid`);
    }
    out[algorithm] = value;
  }
  return out;
}

export async function completeMultipartUpload(ctx: RequestContext): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "write" });
  const uploadId = uploadIdOf(ctx);
  // x-amz-checksum-* headers here carry the whole object's checksum, not the XML body's.
  const root = await readXmlBody(ctx, "CompleteMultipartUpload", { checksumHeadersDescribeBody: false });
  const parts = childrenNamed(root, "Part").map((p) => {
    const n = Number(childText(p, "PartNumber")?.trim());
    const etag = childText(p, "ETag")?.trim();
    if (!Number.isInteger(n) || n < 1 || n > MAX_PART_NUMBER || !etag) {
      throw new S3Error("MalformedXML", "Every Part needs a PartNumber (1-10000) and an ETag");
    }
    const checksums = namedPartChecksums(p, n);
    return {
      partNumber: n,
      etag: etag.startsWith('"') ? etag : `"${etag}"`,
      ...(Object.keys(checksums).length > 0 ? { checksums } : {}),
    };
  });
  if (parts.length === 0) throw new S3Error("MalformedXML", "You must specify at least one part");
  const checksums = completionChecksums(ctx.headers);
  const checksumType = completionType(ctx.headers);
  const condition = writeCondition(ctx);
  if (condition) await refuseEarly(ctx, bucket, key, condition);
  const info = await ctx.store.completeMultipartUpload(bucket, key, uploadId, parts, {
    ...(condition ? { condition } : {}),
    ...(Object.keys(checksums).length > 0 ? { checksums } : {}),
    ...(checksumType ? { checksumType } : {}),
  });
  Object.assign(ctx.event, { size: info.size, etag: info.etag, checksums: info.checksums });
  return xmlResponse(ctx.ids, "CompleteMultipartUploadResult", {
    Location: objectUrl(ctx.url, bucket, key),
    Bucket: bucket,
    Key: key,
    ETag: info.etag,
    ...checksumResultElements(info.checksums),
  });
}
