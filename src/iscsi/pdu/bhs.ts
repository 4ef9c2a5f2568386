/**
 * PDU framing (RFC 7143 §11.2): the 48-byte Basic Header Segment, optional AHS, header digest, data segment padded
 * to 4 bytes, data digest. Pure: bytes in, records out.
 */
import { crc32c } from "../../crc32c.ts";

export const BHS_LENGTH = 48;
/** Reserved tag meaning "no task" (RFC 7143 §11.2.1.5). */
export const RESERVED_TAG = 0xffffffff;

export const Opcode = {
  NopOut: 0x00,
  ScsiCommand: 0x01,
  TaskMgmtRequest: 0x02,
  LoginRequest: 0x03,
  TextRequest: 0x04,
  DataOut: 0x05,
  LogoutRequest: 0x06,
  Snack: 0x10,
  NopIn: 0x20,
  ScsiResponse: 0x21,
  TaskMgmtResponse: 0x22,
  LoginResponse: 0x23,
  TextResponse: 0x24,
  DataIn: 0x25,
  LogoutResponse: 0x26,
  R2t: 0x31,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;

const INITIATOR_OPCODES = new Set<number>([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10]);

/** One PDU as it travels: the BHS, additional header segments and the (unpadded) data segment. */
export interface Pdu {
  bhs: Uint8Array;
  ahs: Uint8Array;
  data: Uint8Array;
}

export interface Digests {
  header: boolean;
  data: boolean;
}

/** A digest mismatch: a header digest error ends the connection, a data digest error earns a Reject. */
export class DigestError extends SyntaxError {
  readonly segment: "header" | "data";
  readonly pdu: Pdu | undefined;
  constructor(segment: "header" | "data", pdu?: Pdu) {
    super(`Cannot accept PDU: ${segment} digest mismatch`);
    this.name = "DigestError";
    this.segment = segment;
    this.pdu = pdu;
  }
}

export function opcodeOf(bhs: Uint8Array): number {
  return bhs[0]! & 0x3f;
}

export function isImmediate(bhs: Uint8Array): boolean {
  return (bhs[0]! & 0x40) !== 0;
}

export function isFinal(bhs: Uint8Array): boolean {
  return (bhs[1]! & 0x80) !== 0;
}

export function dataSegmentLength(bhs: Uint8Array): number {
  return (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;
}

export function u32(bhs: Uint8Array, offset: number): number {
  return new DataView(bhs.buffer, bhs.byteOffset, bhs.byteLength).getUint32(offset);
}

export function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * How many bytes the whole PDU starting with this BHS occupies on the wire. Throws a RangeError when the data
 * segment exceeds `maxData` (the declared MaxRecvDataSegmentLength) or the header is not 48 bytes.
 */
export function frameLength(bhs: Uint8Array, digests: Digests, maxData: number): number {
  if (bhs.length < BHS_LENGTH) {
    throw new RangeError(`Cannot decode BHS: length is ${bhs.length} bytes, expected ${BHS_LENGTH}`);
  }
  const dsl = dataSegmentLength(bhs);
  if (dsl > maxData) {
    throw new RangeError(`Cannot accept PDU: data segment of ${dsl} bytes exceeds the limit of ${maxData}`);
  }
  const ahsLen = bhs[4]! * 4;
  return BHS_LENGTH + ahsLen + (digests.header ? 4 : 0) + pad4(dsl) + (dsl > 0 && digests.data ? 4 : 0);
}

/**
 * Decode one complete initiator PDU from `bytes` (exactly `frameLength()` long). Throws SyntaxError for an opcode no
 * initiator may send, DigestError for a digest mismatch.
 */
export function decodeFrame(bytes: Uint8Array, digests: Digests, maxData: number): Pdu {
  const total = frameLength(bytes, digests, maxData);
  if (bytes.length !== total) {
    throw new RangeError(`Cannot decode PDU: have ${bytes.length} bytes, frame is ${total}`);
  }
  const bhs = bytes.subarray(0, BHS_LENGTH);
  const opcode = opcodeOf(bhs);
  const ahsEnd = BHS_LENGTH + bhs[4]! * 4;
  let pos = ahsEnd;
  if (digests.header) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(pos, true) !== crc32c(bytes.subarray(0, ahsEnd))) throw new DigestError("header");
    pos += 4;
  }
  const dsl = dataSegmentLength(bhs);
  const pdu: Pdu = { bhs, ahs: bytes.subarray(BHS_LENGTH, ahsEnd), data: bytes.subarray(pos, pos + dsl) };
  if (dsl > 0 && digests.data) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(pos + pad4(dsl), true) !== crc32c(bytes.subarray(pos, pos + pad4(dsl)))) {
      throw new DigestError("data", pdu);
    }
  }
  if (!INITIATOR_OPCODES.has(opcode)) {
    throw new SyntaxError(`Cannot decode PDU: opcode 0x${opcode.toString(16)} is not an initiator opcode`);
  }
  return pdu;
}

/** Frame a target PDU: sets the data segment length in `bhs`, pads the data and appends digests. */
export function encodeFrame(bhs: Uint8Array, data: Uint8Array, digests: Digests): Uint8Array {
  if (bhs.length !== BHS_LENGTH) {
    throw new RangeError(`Cannot encode BHS: length is ${bhs.length} bytes, expected ${BHS_LENGTH}`);
  }
  if (data.length > 0xffffff) throw new RangeError(`Cannot encode PDU: data segment of ${data.length} bytes`);
  bhs[5] = data.length >>> 16;
  bhs[6] = (data.length >>> 8) & 0xff;
  bhs[7] = data.length & 0xff;
  const hd = digests.header ? 4 : 0;
  const dd = data.length > 0 && digests.data ? 4 : 0;
  const out = new Uint8Array(BHS_LENGTH + hd + pad4(data.length) + dd);
  out.set(bhs, 0);
  const view = new DataView(out.buffer);
  if (hd) view.setUint32(BHS_LENGTH, crc32c(bhs), true);
  out.set(data, BHS_LENGTH + hd);
  if (dd) {
    const start = BHS_LENGTH + hd;
    view.setUint32(start + pad4(data.length), crc32c(out.subarray(start, start + pad4(data.length))), true);
  }
  return out;
}

/** Decode the 8-byte LUN field (SAM-5 single-level peripheral or flat addressing); -1 for other formats. */
export function decodeLun(bhs: Uint8Array): number {
  const method = bhs[8]! >> 6;
  if (method > 1) return -1;
  for (let i = 10; i < 16; i++) if (bhs[i] !== 0) return -1;
  return ((bhs[8]! & 0x3f) << 8) | bhs[9]!;
}

/** Write a LUN number into the 8-byte LUN field at `offset` (peripheral addressing below 256, flat above). */
export function encodeLun(bhs: Uint8Array, lun: number, offset = 8): void {
  bhs.fill(0, offset, offset + 8);
  bhs[offset] = lun < 256 ? 0 : 0x40 | ((lun >> 8) & 0x3f);
  bhs[offset + 1] = lun & 0xff;
}
