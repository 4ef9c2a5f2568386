/**
 * Byte-array helpers shared by the binary codecs, and byte strings: HTTP header values as the runtime gives them, a
 * character per byte received.
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

const BEYOND_ASCII = /[\u0080-\uffff]/;
const BEYOND_A_BYTE = /[\u0100-\uffff]/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Whether `text` has a character beyond ASCII. */
export function hasBeyondAscii(text: string): boolean {
  return BEYOND_ASCII.test(text);
}

/** The byte string of `text`'s UTF-8 (`text` itself when it is ASCII). */
export function utf8ByteString(text: string): string {
  return hasBeyondAscii(text) ? String.fromCharCode(...new TextEncoder().encode(text)) : text;
}

/** The text whose UTF-8 are the bytes of `byteString`; undefined when they are not UTF-8 or it is no byte string. */
export function textOfUtf8ByteString(byteString: string): string | undefined {
  if (!hasBeyondAscii(byteString)) return byteString;
  if (BEYOND_A_BYTE.test(byteString)) return undefined;
  try {
    return UTF8.decode(Uint8Array.from(byteString, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}
