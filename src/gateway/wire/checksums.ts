/**
 * S3 checksum algorithms behind one incremental interface; values are base64 as on the wire
 * (`x-amz-checksum-*`). MD5 is included for `Content-MD5`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type ChecksumAlgorithm, isCompositeChecksum } from "../../storage/mod.ts";
import { S3Error } from "../s3_errors.ts";
import { type Crc, createCrc32, createCrc32c, createCrc64Nvme } from "./crc.ts";

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

/** Byte length of each algorithm's digest, to validate a header before hashing. */
const DIGEST_BYTES: Record<ChecksumAlgorithm | "md5", number> = {
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
  md5: 16,
};

export type DigestAlgorithm = ChecksumAlgorithm | "md5";

function nodeHash(name: string): Crc {
  const h = createHash(name);
  return {
    update: (bytes) => void h.update(bytes),
    digest: () => new Uint8Array(h.digest()),
  };
}

/** An incremental hasher for one algorithm. */
export function createDigest(alg: DigestAlgorithm): Crc {
  switch (alg) {
    case "crc32":
      return createCrc32();
    case "crc32c":
      return createCrc32c();
    case "crc64nvme":
      return createCrc64Nvme();
    case "sha1":
      return nodeHash("sha1");
    case "sha256":
      return nodeHash("sha256");
    case "md5":
      return nodeHash("md5");
  }
}

/** S3's XML element of each checksum (`ChecksumCRC32`, …), which is also the SDK's field for it. */
export const CHECKSUM_ELEMENTS = {
  crc32: "ChecksumCRC32",
  crc32c: "ChecksumCRC32C",
  crc64nvme: "ChecksumCRC64NVME",
  sha1: "ChecksumSHA1",
  sha256: "ChecksumSHA256",
} as const satisfies Record<ChecksumAlgorithm, string>;

/** A stored checksum's type: a multipart object's composite ones end in `-<parts>`. */
export function checksumType(value: string): "COMPOSITE" | "FULL_OBJECT" {
  return isCompositeChecksum(value) ? "COMPOSITE" : "FULL_OBJECT";
}

/** Stored checksums as the elements S3 answers them in (CompleteMultipartUpload, GetObjectAttributes). */
export function checksumElements(checksums: Partial<Record<ChecksumAlgorithm, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(checksums).map(([alg, v]) => [CHECKSUM_ELEMENTS[alg as ChecksumAlgorithm], v]),
  );
}

/** Stored checksums as S3 answers them in a result document: their elements, then the `ChecksumType` they share. */
export function checksumResultElements(checksums: Partial<Record<ChecksumAlgorithm, string>>): Record<string, string> {
  const [first] = Object.values(checksums);
  return first === undefined ? {} : { ...checksumElements(checksums), ChecksumType: checksumType(first) };
}

/** A checksum algorithm a request names (`CRC32`, …), checked: InvalidRequest when S3 has no such algorithm. */
export function namedChecksumAlgorithm(value: string): ChecksumAlgorithm {
  const algorithm = value.toLowerCase();
  if (!isChecksumAlgorithm(algorithm)) throw new S3Error("InvalidRequest", `Unsupported checksum algorithm ${value}`);
  return algorithm;
}

/** True when `name` (lower case, without `x-amz-checksum-`) is an S3 checksum algorithm. */
export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

/** True when `value` is base64 of exactly the digest length of `alg`. */
export function isWellFormedDigest(alg: DigestAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  try {
    return Uint8Array.fromBase64(value).length === DIGEST_BYTES[alg];
  } catch {
    return false;
  }
}

/** One-shot base64 digest of a byte array (tests and small bodies). */
export function digestBase64(alg: DigestAlgorithm, bytes: Uint8Array): string {
  const d = createDigest(alg);
  d.update(bytes);
  return d.digest().toBase64();
}
