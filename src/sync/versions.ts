/**
 * Where the copy-on-write versions of a job live on the mirror: `<target prefix>.cowsync/versions/<key>/<generation>`,
 * a reserved area the sync never treats as data. Keys too long for that layout are named by their SHA-256.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { MAX_KEY_BYTES } from "../storage/mod.ts";

/** Keys (relative to the job prefixes) starting with this are reserved on both sides. */
export const RESERVED_PREFIX = ".cowsync/";

export function versionKeyOf(targetPrefix: string, key: string, generation: number): string {
  const plain = `${targetPrefix}${RESERVED_PREFIX}versions/${key}/${generation}`;
  if (new TextEncoder().encode(plain).length <= MAX_KEY_BYTES) return plain;
  const digest = createHash("sha256").update(key).digest("hex");
  return `${targetPrefix}${RESERVED_PREFIX}versions/#sha256/${digest}/${generation}`;
}
