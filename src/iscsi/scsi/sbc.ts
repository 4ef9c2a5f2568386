/** Block commands (SBC-3): capacity, read/write in all CDB sizes, verify, write same, unmap, sync, compare and write. */
import type { BlockDevice } from "../../blockdev/block_device.ts";
import { be16, be32, be64, put32, put64, truncate } from "./cdb.ts";
import type { CommandContext, CommandOutcome } from "./command.ts";
import { Asc, invalidField, invalidParameter, ScsiError, SenseKey } from "./sense.ts";

/** Largest transfer per command (Block Limits VPD): bounds the memory one command can pin. */
export const MAX_TRANSFER_BYTES = 32 * 1024 * 1024;
export const MAX_COMPARE_AND_WRITE_BLOCKS = 128;
export const MAX_UNMAP_DESCRIPTORS = 256;

const NONE: CommandOutcome = {};

/** LBA and block count locations per CDB layout. */
interface Extent {
  lba: number;
  blocks: number;
}

function extentOf(cdb: Uint8Array): Extent {
  switch (cdbGroupLength(cdb[0]!)) {
    case 6: {
      const lba = ((cdb[1]! & 0x1f) << 16) | be16(cdb, 2);
      const len = cdb[4]!;
      // READ(6)/WRITE(6): a length of 0 means 256 blocks.
      return { lba, blocks: len === 0 ? 256 : len };
    }
    case 10:
      return { lba: be32(cdb, 2), blocks: be16(cdb, 7) };
    case 12:
      return { lba: be32(cdb, 2), blocks: be32(cdb, 6) };
    default:
      return { lba: be64(cdb, 2), blocks: be32(cdb, 10) };
  }
}

function cdbGroupLength(opcode: number): number {
  const group = opcode >> 5;
  return group === 0 ? 6 : group === 1 || group === 2 ? 10 : group === 5 ? 12 : 16;
}

function totalBlocks(dev: BlockDevice): number {
  return Math.floor(dev.sizeBytes / dev.blockSize);
}

function checkRange(dev: BlockDevice, e: Extent): void {
  if (e.lba + e.blocks > totalBlocks(dev) || e.lba > totalBlocks(dev)) {
    throw new ScsiError(SenseKey.IllegalRequest, Asc.LbaOutOfRange);
  }
}

function checkTransfer(dev: BlockDevice, e: Extent, lengthByte: number): void {
  if (e.blocks * dev.blockSize > MAX_TRANSFER_BYTES) throw invalidField(lengthByte);
}

function checkWritable(dev: BlockDevice): void {
  if (dev.readOnly) throw new ScsiError(SenseKey.DataProtect, Asc.WriteProtected);
}

/** The PROTECT field (bits 7-5 of byte 1) must be zero: the device has no protection information. */
function checkNoProtect(cdb: Uint8Array): void {
  if (cdb[1]! & 0xe0) throw invalidField(1, 7);
}

function lengthByte(cdb: Uint8Array): number {
  const n = cdbGroupLength(cdb[0]!);
  return n === 6 ? 4 : n === 10 ? 7 : n === 12 ? 6 : 10;
}

export function readCapacity10(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  const out = new Uint8Array(8);
  put32(out, 0, Math.min(totalBlocks(dev) - 1, 0xffffffff));
  put32(out, 4, dev.blockSize);
  return Promise.resolve({ data: out });
}

export function readCapacity16(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  const out = new Uint8Array(32);
  put64(out, 0, totalBlocks(dev) - 1);
  put32(out, 8, dev.blockSize);
  // Logical blocks per 4 KiB physical block (exponent), the granularity the volumes store and unmap best.
  out[13] = dev.blockSize < 4096 ? Math.log2(4096 / dev.blockSize) : 0;
  out[14] = 0xc0; // LBPME: thin provisioned with UNMAP; LBPRZ: unmapped blocks read as zeros.
  return Promise.resolve({ data: truncate(out, be32(ctx.cdb, 10)) });
}

export async function read(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  const e = extentOf(ctx.cdb);
  if (ctx.cdb[0] !== 0x08) checkNoProtect(ctx.cdb);
  checkRange(dev, e);
  checkTransfer(dev, e, lengthByte(ctx.cdb));
  if (e.blocks === 0) return NONE;
  return { data: await dev.read(e.lba * dev.blockSize, e.blocks * dev.blockSize) };
}

export async function write(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  const e = extentOf(ctx.cdb);
  if (ctx.cdb[0] !== 0x0a) checkNoProtect(ctx.cdb);
  checkWritable(dev);
  checkRange(dev, e);
  checkTransfer(dev, e, lengthByte(ctx.cdb));
  // With less Data-Out than the CDB asks for (EDTL < SPDTL), only the whole blocks that arrived are written
  // (FCP-4 9.4.2 a); the transport reports the overflow residual.
  const bytes = Math.min(e.blocks * dev.blockSize, ctx.dataOut.length - (ctx.dataOut.length % dev.blockSize));
  if (bytes === 0) return NONE;
  const fua = (ctx.cdb[0] !== 0x0a && (ctx.cdb[1]! & 0x08) !== 0) || !ctx.lu.writeCacheEnabled;
  const release = await ctx.lu.lock.acquire(e.lba * dev.blockSize, bytes);
  try {
    await dev.write(e.lba * dev.blockSize, ctx.dataOut.subarray(0, bytes), { fua });
  } finally {
    release();
  }
  return NONE;
}

/** VERIFY(10/12/16): BYTCHK 0 checks the range, 1 compares every block, 3 compares one block against each. */
export async function verify(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  const e = extentOf(ctx.cdb);
  checkNoProtect(ctx.cdb);
  const bytchk = (ctx.cdb[1]! >> 1) & 3;
  if (bytchk === 2) throw invalidField(1, 2);
  checkRange(dev, e);
  checkTransfer(dev, e, lengthByte(ctx.cdb));
  if (bytchk === 0 || e.blocks === 0) return NONE;
  const expected = bytchk === 1 ? e.blocks * dev.blockSize : dev.blockSize;
  if (ctx.dataOut.length < expected) throw invalidField(lengthByte(ctx.cdb));
  const actual = await dev.read(e.lba * dev.blockSize, e.blocks * dev.blockSize);
  for (let i = 0; i < actual.length; i++) {
    const want = bytchk === 1 ? ctx.dataOut[i] : ctx.dataOut[i % dev.blockSize];
    if (actual[i] !== want) {
      throw new ScsiError(SenseKey.Miscompare, Asc.MiscompareDuringVerify, { information: i });
    }
  }
  return NONE;
}

export async function synchronizeCache(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  checkRange(dev, extentOf(ctx.cdb));
  await dev.flush();
  return NONE;
}

export function prefetch(ctx: CommandContext): Promise<CommandOutcome> {
  checkRange(ctx.lu.device, extentOf(ctx.cdb));
  return Promise.resolve(NONE);
}

/** WRITE SAME(10/16), with UNMAP (deallocate when the pattern is zeros) and NDOB (no data-out: zeros). */
export async function writeSame(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  const cdb = ctx.cdb;
  const e = extentOf(cdb);
  checkNoProtect(cdb);
  if (cdb[1]! & 0x10) throw invalidField(1, 4); // ANCHOR
  const unmap = (cdb[1]! & 0x08) !== 0;
  const ndob = cdb[0] === 0x93 && (cdb[1]! & 0x01) !== 0;
  checkWritable(dev);
  const blocks = e.blocks === 0 ? totalBlocks(dev) - e.lba : e.blocks;
  checkRange(dev, { lba: e.lba, blocks });
  if (blocks > maxWriteSameBlocks(dev)) throw invalidField(lengthByte(cdb));
  // Exactly one block of Data-Out (none with NDOB): a short or long buffer means a confused initiator.
  if (ctx.dataOut.length !== (ndob ? 0 : dev.blockSize)) throw invalidField(lengthByte(cdb));
  const pattern = ndob ? new Uint8Array(dev.blockSize) : ctx.dataOut;
  if (blocks === 0) return NONE;
  const start = e.lba * dev.blockSize;
  const total = blocks * dev.blockSize;
  const release = await ctx.lu.lock.acquire(start, total);
  try {
    if (unmap) {
      await dev.unmap(start, total);
      return NONE;
    }
    const chunkBlocks = Math.max(1, Math.floor(1024 * 1024 / dev.blockSize));
    const chunk = new Uint8Array(Math.min(blocks, chunkBlocks) * dev.blockSize);
    for (let off = 0; off < chunk.length; off += dev.blockSize) chunk.set(pattern, off);
    for (let done = 0; done < total; done += chunk.length) {
      const n = Math.min(chunk.length, total - done);
      await dev.write(start + done, chunk.subarray(0, n), { fua: !ctx.lu.writeCacheEnabled });
    }
  } finally {
    release();
  }
  return NONE;
}

/** WRITE SAME may cover a whole volume of ordinary size; it writes in 1 MiB chunks. */
export function maxWriteSameBlocks(dev: BlockDevice): number {
  return Math.floor(2 ** 40 / dev.blockSize);
}

export async function unmap(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  if (ctx.cdb[1]! & 0x01) throw invalidField(1, 0); // ANCHOR
  checkWritable(dev);
  const listLength = be16(ctx.cdb, 7);
  if (listLength === 0) return NONE;
  const p = ctx.dataOut.subarray(0, listLength);
  if (p.length < 8) throw new ScsiError(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
  const descLength = be16(p, 2);
  if (descLength % 16 !== 0 || 8 + descLength > p.length) throw invalidParameter(2);
  if (descLength / 16 > MAX_UNMAP_DESCRIPTORS) throw invalidParameter(2);
  const ranges: Extent[] = [];
  for (let at = 8; at < 8 + descLength; at += 16) {
    const e = { lba: be64(p, at), blocks: be32(p, at + 8) };
    checkRange(dev, e);
    ranges.push(e);
  }
  for (const e of ranges) {
    if (e.blocks === 0) continue;
    const release = await ctx.lu.lock.acquire(e.lba * dev.blockSize, e.blocks * dev.blockSize);
    try {
      await dev.unmap(e.lba * dev.blockSize, e.blocks * dev.blockSize);
    } finally {
      release();
    }
  }
  return NONE;
}

/** COMPARE AND WRITE: atomic against other writes to the range; MISCOMPARE reports the first differing offset. */
export async function compareAndWrite(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  const cdb = ctx.cdb;
  checkNoProtect(cdb);
  const e = { lba: be64(cdb, 2), blocks: cdb[13]! };
  checkWritable(dev);
  if (e.blocks > MAX_COMPARE_AND_WRITE_BLOCKS) throw invalidField(13);
  checkRange(dev, e);
  const bytes = e.blocks * dev.blockSize;
  if (ctx.dataOut.length !== 2 * bytes) throw invalidField(13);
  if (e.blocks === 0) return NONE;
  const start = e.lba * dev.blockSize;
  const release = await ctx.lu.lock.acquire(start, bytes);
  try {
    const current = await dev.read(start, bytes);
    for (let i = 0; i < bytes; i++) {
      if (current[i] !== ctx.dataOut[i]) {
        throw new ScsiError(SenseKey.Miscompare, Asc.MiscompareDuringVerify, { information: i });
      }
    }
    await dev.write(start, ctx.dataOut.subarray(bytes), { fua: (cdb[1]! & 0x08) !== 0 });
  } finally {
    release();
  }
  return NONE;
}

/** GET LBA STATUS: the device cannot tell allocation, so every block reads back as mapped (always correct). */
export function getLbaStatus(ctx: CommandContext): Promise<CommandOutcome> {
  const dev = ctx.lu.device;
  const lba = be64(ctx.cdb, 2);
  const total = totalBlocks(dev);
  if (lba >= total) throw new ScsiError(SenseKey.IllegalRequest, Asc.LbaOutOfRange);
  const out = new Uint8Array(24);
  put32(out, 0, 20);
  put64(out, 8, lba);
  put32(out, 16, Math.min(total - lba, 0xffffffff));
  return Promise.resolve({ data: truncate(out, be32(ctx.cdb, 10)) });
}
