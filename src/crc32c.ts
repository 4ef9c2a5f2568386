/** CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the iSCSI header and data digest (RFC 7143 §13.1) and the S3 `crc32c` checksum. */

const TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  // Slicing-by-8 tables: table[k*256+i] is the CRC of byte i followed by k zero bytes.
  for (let i = 0; i < 256; i++) {
    let c = table[i]!;
    for (let k = 1; k < 8; k++) {
      c = (table[c & 0xff]! ^ (c >>> 8)) >>> 0;
      table[k * 256 + i] = c;
    }
  }
  return table;
}

/** CRC32C of `bytes`, continuing from `crc` (pass the previous result to checksum a sequence of chunks). */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  const t = TABLE;
  for (; i + 8 <= n; i += 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c = t[7 * 256 + (lo & 0xff)]! ^ t[6 * 256 + ((lo >>> 8) & 0xff)]! ^ t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^ t[3 * 256 + bytes[i + 4]!]! ^ t[2 * 256 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^ t[bytes[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
