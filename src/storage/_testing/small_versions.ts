/** Versioned small objects for the group-commit tests. @module */
import { bytes } from "./contract_helpers.ts";

/** A small object whose first 8 bytes name its version: 4 KiB of `bytes(…, version)` plus `version % 7` bytes. */
export function smallVersion(version: number): Uint8Array {
  const data = bytes(4096 + version % 7, version + 1);
  data.set(new TextEncoder().encode(String(version).padStart(8, "0")));
  return data;
}

/** The version a `smallVersion` body names. */
export function versionOf(data: Uint8Array): number {
  return Number(new TextDecoder().decode(data.subarray(0, 8)));
}
