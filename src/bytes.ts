/**
 * Byte-array helpers shared by the binary codecs.
 *
 * @module
 */

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
