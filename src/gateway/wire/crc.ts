/**
 * CRCs used by S3 checksums: CRC32 (IEEE 802.3) through zlib's native `crc32` (about 10× a JavaScript table
 * loop; it is the default checksum of the AWS SDKs, so every upload pays it), CRC32C (Castagnoli, shared with the
 * iSCSI digests) and CRC64/NVME table-driven (slicing-by-8; two 32-bit halves of state to stay off BigInt).
 *
 * @module
 */
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32c } from "../../crc32c.ts";

/** An incremental checksum. `digest()` returns the big-endian CRC bytes (what S3 base64-encodes). */
export interface Crc {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
}

/** Eight 256-entry tables for slicing-by-8. */
type Tables8 = [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

function bigEndian32(v: number): Uint8Array {
  return new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

/** CRC-32 (IEEE, as zlib). */
export function createCrc32(): Crc {
  let value = 0;
  return {
    update(bytes) {
      value = zlibCrc32(bytes, value);
    },
    digest: () => bigEndian32(value >>> 0),
  };
}

/** CRC-32C (Castagnoli, as iSCSI/ext4). */
export function createCrc32c(): Crc {
  let value = 0;
  return {
    update(bytes) {
      value = crc32c(bytes, value);
    },
    digest: () => bigEndian32(value),
  };
}

// CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones. Slicing-by-8 over
// 64-bit table entries held as separate high and low 32-bit halves.
const CRC64_HI = Array.from({ length: 8 }, () => new Uint32Array(256));
const CRC64_LO = Array.from({ length: 8 }, () => new Uint32Array(256));
{
  const polyHi = 0x9a6c9329;
  const polyLo = 0xac4bc9b5;
  const [hi0, lo0] = [CRC64_HI[0]!, CRC64_LO[0]!];
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const lsb = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (lsb) {
        hi = (hi ^ polyHi) >>> 0;
        lo = (lo ^ polyLo) >>> 0;
      }
    }
    hi0[n] = hi;
    lo0[n] = lo;
  }
  for (let s = 1; s < 8; s++) {
    for (let n = 0; n < 256; n++) {
      const hi = CRC64_HI[s - 1]![n]!;
      const lo = CRC64_LO[s - 1]![n]!;
      const idx = lo & 0xff;
      CRC64_HI[s]![n] = ((hi >>> 8) ^ hi0[idx]!) >>> 0;
      CRC64_LO[s]![n] = (((lo >>> 8) | (hi << 24)) ^ lo0[idx]!) >>> 0;
    }
  }
}

/** CRC-64/NVME (the `crc64nvme` S3 checksum). */
export function createCrc64Nvme(): Crc {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  const [h0, h1, h2, h3, h4, h5, h6, h7] = CRC64_HI as Tables8;
  const [l0, l1, l2, l3, l4, l5, l6, l7] = CRC64_LO as Tables8;
  return {
    update(bytes) {
      let i = 0;
      const end8 = bytes.length - 7;
      for (; i < end8; i += 8) {
        const a = lo ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
        const b = hi ^ (bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24));
        const a0 = a & 0xff, a1 = (a >>> 8) & 0xff, a2 = (a >>> 16) & 0xff, a3 = a >>> 24;
        const b0 = b & 0xff, b1 = (b >>> 8) & 0xff, b2 = (b >>> 16) & 0xff, b3 = b >>> 24;
        lo = (l7[a0]! ^ l6[a1]! ^ l5[a2]! ^ l4[a3]! ^ l3[b0]! ^ l2[b1]! ^ l1[b2]! ^ l0[b3]!) >>> 0;
        hi = (h7[a0]! ^ h6[a1]! ^ h5[a2]! ^ h4[a3]! ^ h3[b0]! ^ h2[b1]! ^ h1[b2]! ^ h0[b3]!) >>> 0;
      }
      for (; i < bytes.length; i++) {
        const idx = (lo ^ bytes[i]!) & 0xff;
        const nextLo = (lo >>> 8) | (hi << 24);
        hi = (hi >>> 8) ^ h0[idx]!;
        lo = (nextLo ^ l0[idx]!) >>> 0;
      }
    },
    digest() {
      const out = new Uint8Array(8);
      const view = new DataView(out.buffer);
      view.setUint32(0, (hi ^ 0xffffffff) >>> 0);
      view.setUint32(4, (lo ^ 0xffffffff) >>> 0);
      return out;
    },
  };
}
