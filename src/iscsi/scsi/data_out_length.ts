/**
 * The Data-Out length a CDB asks for (SPC-4/SBC-3 "SPDTL"), so the transport can report residuals against the
 * iSCSI Expected Data Transfer Length; undefined when the command has no data-out phase.
 */
import { be16, be32 } from "./cdb.ts";

export function dataOutLength(cdb: Uint8Array, blockSize: number): number | undefined {
  const op = cdb[0]!;
  switch (op) {
    case 0x0a:
      return (cdb[4] === 0 ? 256 : cdb[4]!) * blockSize;
    case 0x2a:
    case 0x2e:
      return be16(cdb, 7) * blockSize;
    case 0xaa:
    case 0xae:
      return be32(cdb, 6) * blockSize;
    case 0x8a:
    case 0x8e:
      return be32(cdb, 10) * blockSize;
    case 0x89:
      return 2 * cdb[13]! * blockSize;
    case 0x41:
    case 0x93:
      return op === 0x93 && (cdb[1]! & 0x01) ? 0 : blockSize;
    case 0x2f:
    case 0xaf:
    case 0x8f: {
      const bytchk = (cdb[1]! >> 1) & 3;
      const blocks = op === 0x2f ? be16(cdb, 7) : op === 0xaf ? be32(cdb, 6) : be32(cdb, 10);
      return bytchk === 1 ? blocks * blockSize : bytchk === 3 ? blockSize : 0;
    }
    case 0x42:
    case 0x55:
      return be16(cdb, 7);
    case 0x15:
      return cdb[4]!;
    case 0x5f:
      return be32(cdb, 5);
    default:
      return undefined;
  }
}
