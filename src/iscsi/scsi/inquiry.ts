/** INQUIRY (SPC-4 §6.6): standard data and the VPD pages 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2. */
import { be16, put16, put32, put64, truncate } from "./cdb.ts";
import type { CommandContext, CommandOutcome } from "./command.ts";
import type { LogicalUnit } from "./logical_unit.ts";
import { MAX_COMPARE_AND_WRITE_BLOCKS, MAX_TRANSFER_BYTES, MAX_UNMAP_DESCRIPTORS, maxWriteSameBlocks } from "./sbc.ts";
import { invalidField } from "./sense.ts";
import { concatBytes } from "../../bytes.ts";

const VENDOR = "S3PLUGIN";
const PRODUCT = "S3 BLOCK DEVICE";
const REVISION = "0001";
/** SAM-5, iSCSI, SPC-4, SBC-3 version descriptors. */
const VERSION_DESCRIPTORS = [0x00a0, 0x0960, 0x0460, 0x04c0];
const SUPPORTED_VPD = [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2];

function ascii(s: string, length: number): Uint8Array {
  return new TextEncoder().encode(s.padEnd(length, " ").slice(0, length));
}

/** The volume id as hex digits (a UUID without dashes), the stable root of serial and NAA identifiers. */
function idHex(lu: LogicalUnit): string {
  const hex = lu.device.id.toLowerCase().replace(/[^0-9a-f]/g, "");
  return (hex + "0".repeat(32)).slice(0, 32);
}

/** Standard INQUIRY data for an unattached LUN: peripheral qualifier 3, device type 0x1f. */
export function inquiryNoLun(cdb: Uint8Array): CommandOutcome {
  const out = new Uint8Array(36);
  out[0] = 0x7f;
  out[2] = 0x06;
  out[3] = 0x12;
  out[4] = 31;
  return { data: truncate(out, be16(cdb, 3)) };
}

export function inquiry(ctx: CommandContext): Promise<CommandOutcome> {
  const cdb = ctx.cdb;
  const evpd = (cdb[1]! & 0x01) !== 0;
  if (cdb[1]! & 0x02) throw invalidField(1, 1); // CmdDt (obsolete)
  const page = cdb[2]!;
  const allocation = be16(cdb, 3);
  if (!evpd) {
    if (page !== 0) throw invalidField(2);
    return Promise.resolve({ data: truncate(standardInquiry(ctx.lu), allocation) });
  }
  const body = vpdPage(ctx.lu, page);
  const out = new Uint8Array(4 + body.length);
  out[1] = page;
  put16(out, 2, body.length);
  out.set(body, 4);
  return Promise.resolve({ data: truncate(out, allocation) });
}

function standardInquiry(lu: LogicalUnit): Uint8Array {
  const out = new Uint8Array(96);
  out[0] = 0x00; // direct access block device
  out[2] = 0x06; // SPC-4
  out[3] = 0x12; // HiSup, response data format 2
  out[4] = out.length - 5;
  out[7] = 0x02; // CmdQue
  out.set(ascii(VENDOR, 8), 8);
  out.set(ascii(PRODUCT, 16), 16);
  out.set(ascii(REVISION, 4), 32);
  out.set(ascii(idHex(lu).slice(0, 20), 20), 36);
  VERSION_DESCRIPTORS.forEach((v, i) => put16(out, 58 + 2 * i, v));
  return out;
}

function vpdPage(lu: LogicalUnit, page: number): Uint8Array {
  switch (page) {
    case 0x00:
      return Uint8Array.from(SUPPORTED_VPD);
    case 0x80:
      return ascii(idHex(lu), 32);
    case 0x83:
      return deviceIdentification(lu);
    case 0xb0:
      return blockLimits(lu);
    case 0xb1: {
      const b = new Uint8Array(0x3c);
      put16(b, 0, 1); // non-rotating medium
      return b;
    }
    case 0xb2: {
      const b = new Uint8Array(4);
      b[1] = 0xe4; // LBPU, LBPWS, LBPWS10, LBPRZ
      b[2] = 0x02; // thin provisioned
      return b;
    }
    default:
      throw invalidField(2);
  }
}

function designator(codeSet: number, association: number, type: number, value: Uint8Array, piv = false): Uint8Array {
  const d = new Uint8Array(4 + value.length);
  d[0] = (piv ? 0x50 : 0) | codeSet; // protocol identifier 5 (iSCSI) when PIV
  d[1] = (piv ? 0x80 : 0) | (association << 4) | type;
  d[3] = value.length;
  d.set(value, 4);
  return d;
}

function deviceIdentification(lu: LogicalUnit): Uint8Array {
  const hex = idHex(lu);
  // NAA 6 (IEEE Registered Extended) with a locally administered company id, then 100 bits of the volume id.
  const naa = new Uint8Array(16);
  const digits = "6" + "020000" + hex.slice(0, 25);
  for (let i = 0; i < 16; i++) naa[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  const t10 = new TextEncoder().encode(VENDOR.padEnd(8, " ") + hex);
  const relPort = new Uint8Array(4);
  put32(relPort, 0, 1);
  const tpg = new Uint8Array(4);
  put32(tpg, 0, 1);
  const portName = new TextEncoder().encode(`${lu.targetName},t,0x0001`);
  const nameField = new Uint8Array((portName.length + 4) & ~3);
  nameField.set(portName);
  const parts = [
    designator(1, 0, 3, naa),
    designator(2, 0, 1, t10),
    designator(1, 1, 4, relPort, true),
    designator(1, 1, 5, tpg, true),
    designator(3, 1, 8, nameField, true),
  ];
  return concatBytes(parts);
}

function blockLimits(lu: LogicalUnit): Uint8Array {
  const dev = lu.device;
  const b = new Uint8Array(0x3c);
  b[1] = MAX_COMPARE_AND_WRITE_BLOCKS;
  put16(b, 2, Math.max(1, 4096 / dev.blockSize)); // optimal transfer length granularity
  put32(b, 4, MAX_TRANSFER_BYTES / dev.blockSize);
  put32(b, 8, MAX_TRANSFER_BYTES / dev.blockSize);
  put32(b, 16, 0xffffffff); // maximum unmap LBA count
  put32(b, 20, MAX_UNMAP_DESCRIPTORS);
  put32(b, 24, Math.max(1, 4096 / dev.blockSize)); // optimal unmap granularity
  put64(b, 32, maxWriteSameBlocks(dev));
  return b;
}
