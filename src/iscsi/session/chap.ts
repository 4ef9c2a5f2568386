/** CHAP with MD5 (RFC 1994 as used by RFC 7143 §12.1.3): response = MD5(id || secret || challenge). */
import { createHash } from "node:crypto";

export function chapResponse(id: number, secret: string, challenge: Uint8Array): Uint8Array {
  const h = createHash("md5");
  h.update(Uint8Array.of(id & 0xff));
  h.update(new TextEncoder().encode(secret));
  h.update(challenge);
  return new Uint8Array(h.digest());
}

/** CHAP binary values travel as "0x…" hex or "0b…" base64. Throws SyntaxError otherwise. */
export function decodeChapBinary(value: string): Uint8Array {
  if (/^0[xX]([0-9a-fA-F]{2})+$/.test(value)) {
    return Uint8Array.fromHex(value.slice(2));
  }
  if (/^0[bB][A-Za-z0-9+/=]+$/.test(value)) {
    return Uint8Array.fromBase64(value.slice(2));
  }
  throw new SyntaxError(`Cannot decode CHAP value: "${value.slice(0, 16)}" is neither 0x-hex nor 0b-base64`);
}

export function encodeChapBinary(bytes: Uint8Array): string {
  return "0x" + bytes.toHex();
}

/** Constant-time comparison of two digests. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
