/**
 * The CRC of a concatenation from the CRCs of its pieces and their lengths, without their bytes: what S3 does to give
 * a multipart upload a full-object CRC32, CRC32C or CRC64/NVME from its parts' checksums.
 *
 * A CRC is a remainder of polynomial division over GF(2); appending n bytes to a message multiplies its remainder by
 * x^(8n) mod P before the new bytes' own CRC is added in. With the usual all-ones initial value and final XOR, the
 * same holds for the final CRC values: crc(A ‖ B) = crc(A) · x^(8·|B|) mod P ⊕ crc(B). Polynomials are held in the
 * reflected bit order these CRCs use (the top bit is x^0), as bigints so one code serves 32 and 64 bits.
 *
 * @module
 */
import type { ChecksumAlgorithm } from "./mod.ts";

/** The algorithms whose values combine this way (S3's full-object checksums of multipart uploads). */
export type CombinableAlgorithm = Extract<ChecksumAlgorithm, "crc32" | "crc32c" | "crc64nvme">;

interface Crc {
  width: number;
  /** The reflected polynomial. */
  poly: bigint;
  /** x^(2^k) mod P for k = 0, 1, …, 63. */
  powers: bigint[];
}

function defineCrc(width: number, poly: bigint): Crc {
  const crc: Crc = { width, poly, powers: [] };
  let p = 1n << BigInt(width - 2); // x^1
  for (let k = 0; k < 64; k++) {
    crc.powers.push(p);
    p = multiply(crc, p, p);
  }
  return crc;
}

/** a · b mod P. */
function multiply(crc: Crc, a: bigint, b: bigint): bigint {
  let product = 0n;
  for (let bit = BigInt(crc.width - 1); bit >= 0n && a !== 0n; bit--) {
    if ((a >> bit) & 1n) {
      product ^= b;
      a ^= 1n << bit;
    }
    b = b & 1n ? (b >> 1n) ^ crc.poly : b >> 1n; // b · x
  }
  return product;
}

/** x^(8·bytes) mod P. */
function shiftFor(crc: Crc, bytes: number): bigint {
  let p = 1n << BigInt(crc.width - 1); // x^0
  let n = BigInt(bytes) * 8n;
  for (let k = 0; n > 0n; k++, n >>= 1n) {
    if (n & 1n) p = multiply(crc, crc.powers[k]!, p);
  }
  return p;
}

const CRCS: Record<CombinableAlgorithm, Crc> = {
  crc32: defineCrc(32, 0xedb88320n),
  crc32c: defineCrc(32, 0x82f63b78n),
  crc64nvme: defineCrc(64, 0x9a6c9329ac4bc9b5n),
};

export function isCombinable(algorithm: ChecksumAlgorithm): algorithm is CombinableAlgorithm {
  return algorithm in CRCS;
}

/**
 * The CRC (base64 of its big-endian bytes, as S3 writes it) of the concatenation of `pieces`, each given by its CRC
 * (the same form) and its length in bytes.
 */
export function combineCrcs(algorithm: CombinableAlgorithm, pieces: { crc: string; size: number }[]): string {
  const crc = CRCS[algorithm];
  let value = 0n; // the CRC of nothing
  for (const piece of pieces) {
    const bytes = Uint8Array.fromBase64(piece.crc);
    const next = bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n);
    value = multiply(crc, shiftFor(crc, piece.size), value) ^ next;
  }
  const out = new Uint8Array(crc.width / 8);
  for (let i = out.length - 1; i >= 0; i--, value >>= 8n) out[i] = Number(value & 0xffn);
  return out.toBase64();
}
