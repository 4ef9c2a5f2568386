/**
 * Validation and ordering of bucket names and object keys, shared by all backends.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { MAX_KEY_BYTES } from "./mod.ts";

const encoder = new TextEncoder();
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3 bucket naming rules (3–63 chars, lower-case letters, digits, dots, hyphens; not an IP address). */
export function validateBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new AppError("InvalidBucketName", `Invalid bucket name "${bucket}"`, { details: { bucket } });
  }
}

/** Any well-formed UTF-8 key of 1..1024 bytes is valid (S3 rule). */
export function validateKey(key: string): void {
  if (key.length === 0) throw new AppError("InvalidArgument", "Object key must not be empty");
  if (!key.isWellFormed()) {
    throw new AppError("InvalidArgument", "Object key is not valid UTF-8 (lone surrogate)", { details: { key } });
  }
  const bytes = encoder.encode(key).length;
  if (bytes > MAX_KEY_BYTES) {
    throw new AppError("KeyTooLong", `Object key is ${bytes} bytes, the limit is ${MAX_KEY_BYTES}`, {
      details: { bytes },
    });
  }
}

/** Maps a UTF-16 code unit so that code-unit order equals code-point (and thus UTF-8 byte) order. */
function orderUnit(c: number): number {
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000;
  if (c >= 0xe000) return c - 0x800;
  return c;
}

/** Compares keys in UTF-8 byte order (JS `<` compares UTF-16 units, which differs above U+D7FF). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return orderUnit(x) - orderUnit(y);
  }
  return a.length - b.length;
}
