/** Encoders for the PDUs a target sends (RFC 7143 §11): each returns a fresh 48-byte BHS; framing adds the data. */
import { BHS_LENGTH, encodeLun, Opcode, RESERVED_TAG } from "./bhs.ts";

/** Sequence numbers every target response carries. */
export interface Sequence {
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

function bhs(opcode: number, flags: number): { b: Uint8Array; v: DataView } {
  const b = new Uint8Array(BHS_LENGTH);
  b[0] = opcode;
  b[1] = flags;
  return { b, v: new DataView(b.buffer) };
}

function putSeq(v: DataView, seq: Sequence, withStatSN = true): void {
  if (withStatSN) v.setUint32(24, seq.statSN);
  v.setUint32(28, seq.expCmdSN);
  v.setUint32(32, seq.maxCmdSN);
}

/** Residual flags and count: positive = underflow (fewer bytes moved than EDTL), negative = overflow. */
function residualFlags(residual: number): number {
  if (residual > 0) return 0x02;
  if (residual < 0) return 0x04;
  return 0;
}

export function encodeScsiResponse(
  r: { itt: number; status: number; response?: number; residual: number; expDataSN: number } & Sequence,
): Uint8Array {
  const { b, v } = bhs(Opcode.ScsiResponse, 0x80 | residualFlags(r.residual));
  b[2] = r.response ?? 0;
  b[3] = r.status;
  v.setUint32(16, r.itt);
  putSeq(v, r);
  v.setUint32(36, r.expDataSN);
  v.setUint32(44, Math.abs(r.residual));
  return b;
}

/** Data-In; `status` set means the S bit (phase collapse): it must then be the final PDU of the command. */
export function encodeDataIn(
  r: {
    itt: number;
    lun: number;
    final: boolean;
    dataSN: number;
    bufferOffset: number;
    status?: number;
    residual?: number;
  } & Sequence,
): Uint8Array {
  const withStatus = r.status !== undefined;
  const flags = (r.final ? 0x80 : 0) | (withStatus ? 0x01 | residualFlags(r.residual ?? 0) : 0);
  const { b, v } = bhs(Opcode.DataIn, flags);
  if (withStatus) b[3] = r.status!;
  encodeLun(b, r.lun);
  v.setUint32(16, r.itt);
  v.setUint32(20, RESERVED_TAG);
  putSeq(v, r, withStatus);
  v.setUint32(36, r.dataSN);
  v.setUint32(40, r.bufferOffset);
  if (withStatus) v.setUint32(44, Math.abs(r.residual ?? 0));
  return b;
}

export function encodeR2t(
  r: { itt: number; lun: number; ttt: number; r2tSN: number; bufferOffset: number; length: number } & Sequence,
): Uint8Array {
  const { b, v } = bhs(Opcode.R2t, 0x80);
  encodeLun(b, r.lun);
  v.setUint32(16, r.itt);
  v.setUint32(20, r.ttt);
  putSeq(v, r);
  v.setUint32(36, r.r2tSN);
  v.setUint32(40, r.bufferOffset);
  v.setUint32(44, r.length);
  return b;
}

export function encodeNopIn(r: { itt: number; ttt: number; lun: number } & Sequence): Uint8Array {
  const { b, v } = bhs(Opcode.NopIn, 0x80);
  encodeLun(b, r.lun);
  v.setUint32(16, r.itt);
  v.setUint32(20, r.ttt);
  putSeq(v, r);
  return b;
}

export function encodeTaskMgmtResponse(r: { itt: number; response: number } & Sequence): Uint8Array {
  const { b, v } = bhs(Opcode.TaskMgmtResponse, 0x80);
  b[2] = r.response;
  v.setUint32(16, r.itt);
  putSeq(v, r);
  return b;
}

export function encodeLoginResponse(
  r: {
    transit: boolean;
    csg: number;
    nsg: number;
    isid: Uint8Array;
    tsih: number;
    itt: number;
    statusClass: number;
    statusDetail: number;
  } & Sequence,
): Uint8Array {
  const { b, v } = bhs(Opcode.LoginResponse, (r.transit ? 0x80 : 0) | (r.csg << 2) | (r.transit ? r.nsg : 0));
  b[2] = 0;
  b[3] = 0;
  b.set(r.isid.subarray(0, 6), 8);
  v.setUint16(14, r.tsih);
  v.setUint32(16, r.itt);
  putSeq(v, r);
  b[36] = r.statusClass;
  b[37] = r.statusDetail;
  return b;
}

export function encodeTextResponse(r: { itt: number; final: boolean; ttt: number } & Sequence): Uint8Array {
  const { b, v } = bhs(Opcode.TextResponse, r.final ? 0x80 : 0x40);
  v.setUint32(16, r.itt);
  v.setUint32(20, r.ttt);
  putSeq(v, r);
  return b;
}

export function encodeLogoutResponse(r: { itt: number; response: number } & Sequence): Uint8Array {
  const { b, v } = bhs(Opcode.LogoutResponse, 0x80);
  b[2] = r.response;
  v.setUint32(16, r.itt);
  putSeq(v, r);
  v.setUint16(40, 2);
  v.setUint16(42, 0);
  return b;
}

/** Reject reason codes (RFC 7143 §11.17.1). */
export const RejectReason = {
  DataDigestError: 0x02,
  ProtocolError: 0x04,
  CommandNotSupported: 0x05,
  InvalidPduField: 0x09,
} as const;

/** Reject; the data segment carries the rejected PDU's BHS. */
export function encodeReject(r: { reason: number } & Sequence): Uint8Array {
  const { b, v } = bhs(Opcode.Reject, 0x80);
  b[2] = r.reason;
  v.setUint32(16, RESERVED_TAG);
  putSeq(v, r);
  return b;
}
