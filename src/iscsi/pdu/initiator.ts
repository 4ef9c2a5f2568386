/** Decoders for the PDUs an initiator sends (RFC 7143 §11). Pure; malformed input throws RangeError/SyntaxError. */
import { decodeLun, isFinal, isImmediate, Opcode, opcodeOf, type Pdu, u32 } from "./bhs.ts";

export interface ScsiCommandPdu {
  kind: "scsi";
  immediate: boolean;
  final: boolean;
  read: boolean;
  write: boolean;
  lun: number;
  itt: number;
  edtl: number;
  cmdSN: number;
  expStatSN: number;
  cdb: Uint8Array;
  /** Immediate data carried in the command PDU. */
  data: Uint8Array;
}

export interface DataOutPdu {
  kind: "data-out";
  final: boolean;
  lun: number;
  itt: number;
  ttt: number;
  expStatSN: number;
  dataSN: number;
  bufferOffset: number;
  data: Uint8Array;
}

export interface NopOutPdu {
  kind: "nop-out";
  immediate: boolean;
  lun: number;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
  data: Uint8Array;
}

export interface TaskMgmtPdu {
  kind: "tmf";
  immediate: boolean;
  fn: number;
  lun: number;
  itt: number;
  rtt: number;
  cmdSN: number;
  expStatSN: number;
  refCmdSN: number;
}

export interface LoginRequestPdu {
  kind: "login";
  transit: boolean;
  cont: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionMin: number;
  isid: Uint8Array;
  tsih: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
  data: Uint8Array;
}

export interface TextRequestPdu {
  kind: "text";
  immediate: boolean;
  final: boolean;
  cont: boolean;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
  data: Uint8Array;
}

export interface LogoutRequestPdu {
  kind: "logout";
  immediate: boolean;
  reason: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}

export interface SnackPdu {
  kind: "snack";
  itt: number;
}

export type InitiatorPdu =
  | ScsiCommandPdu
  | DataOutPdu
  | NopOutPdu
  | TaskMgmtPdu
  | LoginRequestPdu
  | TextRequestPdu
  | LogoutRequestPdu
  | SnackPdu;

/** Decode a framed initiator PDU into its typed record. */
export function decodeInitiatorPdu(pdu: Pdu): InitiatorPdu {
  const b = pdu.bhs;
  const op = opcodeOf(b);
  const immediate = isImmediate(b);
  const final = isFinal(b);
  switch (op) {
    case Opcode.ScsiCommand: {
      const read = (b[1]! & 0x40) !== 0;
      const write = (b[1]! & 0x20) !== 0;
      const edtl = u32(b, 20);
      if (!final) throw new SyntaxError("Cannot decode SCSI Command: F bit clear (bidirectional/linked not supported)");
      if (read && write) throw new SyntaxError("Cannot decode SCSI Command: bidirectional commands are not supported");
      if (pdu.data.length > 0 && !write) {
        throw new SyntaxError("Cannot decode SCSI Command: immediate data without the W bit");
      }
      if (pdu.data.length > edtl) {
        throw new RangeError(`Cannot decode SCSI Command: ${pdu.data.length} bytes of data exceed EDTL ${edtl}`);
      }
      return {
        kind: "scsi",
        immediate,
        final,
        read,
        write,
        lun: decodeLun(b),
        itt: u32(b, 16),
        edtl,
        cmdSN: u32(b, 24),
        expStatSN: u32(b, 28),
        cdb: extendedCdb(b, pdu.ahs),
        data: pdu.data,
      };
    }
    case Opcode.DataOut:
      return {
        kind: "data-out",
        final,
        lun: decodeLun(b),
        itt: u32(b, 16),
        ttt: u32(b, 20),
        expStatSN: u32(b, 28),
        dataSN: u32(b, 36),
        bufferOffset: u32(b, 40),
        data: pdu.data,
      };
    case Opcode.NopOut:
      return {
        kind: "nop-out",
        immediate,
        lun: decodeLun(b),
        itt: u32(b, 16),
        ttt: u32(b, 20),
        cmdSN: u32(b, 24),
        expStatSN: u32(b, 28),
        data: pdu.data,
      };
    case Opcode.TaskMgmtRequest:
      if (!final) throw new SyntaxError("Cannot decode Task Management Request: F bit clear");
      return {
        kind: "tmf",
        immediate,
        fn: b[1]! & 0x7f,
        lun: decodeLun(b),
        itt: u32(b, 16),
        rtt: u32(b, 20),
        cmdSN: u32(b, 24),
        expStatSN: u32(b, 28),
        refCmdSN: u32(b, 32),
      };
    case Opcode.LoginRequest: {
      const transit = (b[1]! & 0x80) !== 0;
      const cont = (b[1]! & 0x40) !== 0;
      if (transit && cont) throw new SyntaxError("Cannot decode Login Request: both T and C bits set");
      const csg = (b[1]! >> 2) & 3;
      const nsg = b[1]! & 3;
      if (csg === 2 || (transit && (nsg === 2 || nsg <= csg))) {
        throw new SyntaxError(`Cannot decode Login Request: invalid stage transition ${csg} -> ${nsg}`);
      }
      return {
        kind: "login",
        transit,
        cont,
        csg,
        nsg,
        versionMax: b[2]!,
        versionMin: b[3]!,
        isid: b.slice(8, 14),
        tsih: (b[14]! << 8) | b[15]!,
        itt: u32(b, 16),
        cid: (b[20]! << 8) | b[21]!,
        cmdSN: u32(b, 24),
        expStatSN: u32(b, 28),
        data: pdu.data,
      };
    }
    case Opcode.TextRequest: {
      const cont = (b[1]! & 0x40) !== 0;
      if (final && cont) throw new SyntaxError("Cannot decode Text Request: both F and C bits set");
      return {
        kind: "text",
        immediate,
        final,
        cont,
        itt: u32(b, 16),
        ttt: u32(b, 20),
        cmdSN: u32(b, 24),
        expStatSN: u32(b, 28),
        data: pdu.data,
      };
    }
    case Opcode.LogoutRequest:
      if (!final) throw new SyntaxError("Cannot decode Logout Request: F bit clear");
      return {
        kind: "logout",
        immediate,
        reason: b[1]! & 0x7f,
        itt: u32(b, 16),
        cid: (b[20]! << 8) | b[21]!,
        cmdSN: u32(b, 24),
        expStatSN: u32(b, 28),
      };
    case Opcode.Snack:
      return { kind: "snack", itt: u32(b, 16) };
    default:
      throw new SyntaxError(`Cannot decode PDU: opcode 0x${op.toString(16)} is not an initiator opcode`);
  }
}

/** The CDB: 16 bytes from the BHS plus an Extended CDB AHS (type 1) when present. */
function extendedCdb(bhs: Uint8Array, ahs: Uint8Array): Uint8Array {
  const base = bhs.slice(32, 48);
  let pos = 0;
  while (pos + 3 <= ahs.length) {
    const len = (ahs[pos]! << 8) | ahs[pos + 1]!;
    const type = ahs[pos + 2]!;
    if (pos + 3 + len > ahs.length) throw new RangeError(`Cannot decode AHS: length ${len} overruns the segment`);
    if (type === 1) {
      const ext = ahs.subarray(pos + 4, pos + 3 + len);
      const cdb = new Uint8Array(16 + ext.length);
      cdb.set(base);
      cdb.set(ext, 16);
      return cdb;
    }
    pos += (3 + len + 3) & ~3;
  }
  return base;
}
