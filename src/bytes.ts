/**
 * Byte-array helpers shared by the binary codecs.
 *
 * @module
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes` (a lookup per byte: paths, digests and ids are spelled on hot paths). */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/** Joins `parts` into one new array, after `offset` zero bytes left for a header the caller fills in. */
export function concatBytes(parts: readonly Uint8Array[], options: { offset?: number } = {}): Uint8Array {
  const offset = options.offset ?? 0;
  const out = new Uint8Array(offset + parts.reduce((n, p) => n + p.length, 0));
  let at = offset;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
