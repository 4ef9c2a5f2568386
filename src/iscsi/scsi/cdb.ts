/** Small readers for CDB and parameter-list fields (big-endian, SPC-4 §4.2). */

export function be16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function be32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** A 64-bit field as a JS number (exact below 2^53; larger values are out of range for any device anyway). */
export function be64(b: Uint8Array, at: number): number {
  return be32(b, at) * 0x100000000 + be32(b, at + 4);
}

export function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export function put32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0);
}

export function put64(b: Uint8Array, at: number, v: number): void {
  put32(b, at, Math.floor(v / 0x100000000));
  put32(b, at + 4, v % 0x100000000);
}

/** The first `allocation` bytes of a response (SPC-4 §4.2.5.6: truncation is not an error). */
export function truncate(data: Uint8Array, allocation: number): Uint8Array {
  return data.length > allocation ? data.subarray(0, allocation) : data;
}
