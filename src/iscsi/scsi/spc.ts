/** Primary commands (SPC-4) other than INQUIRY and reservations: REPORT LUNS, REQUEST SENSE, MODE SENSE/SELECT. */
import { be16, be32, put16, put32, truncate } from "./cdb.ts";
import type { CommandContext, CommandOutcome } from "./command.ts";
import { Asc, encodeSense, invalidField, invalidParameter, ScsiError, SenseKey } from "./sense.ts";

export function reportLuns(ctx: CommandContext): Promise<CommandOutcome> {
  return Promise.resolve({ data: reportLunsData(ctx.cdb, ctx.luns) });
}

/** REPORT LUNS data; it answers on any LUN, attached or not. */
export function reportLunsData(cdb: Uint8Array, all: readonly number[]): Uint8Array {
  const select = cdb[2]!;
  if (select > 2 && !(select >= 0x10 && select <= 0x12)) throw invalidField(2);
  const allocation = be32(cdb, 6);
  if (allocation < 16) throw invalidField(6);
  const luns = select === 1 ? [] : [...all].sort((a, b) => a - b);
  const out = new Uint8Array(8 + 8 * luns.length);
  put32(out, 0, 8 * luns.length);
  luns.forEach((lun, i) => {
    out[8 + 8 * i] = lun < 256 ? 0 : 0x40 | (lun >> 8);
    out[9 + 8 * i] = lun & 0xff;
  });
  return truncate(out, allocation);
}

/** Without deferred errors there is nothing pending: NO SENSE (unit attentions are reported by the dispatcher). */
export function requestSense(ctx: CommandContext): Promise<CommandOutcome> {
  if (ctx.cdb[1]! & 0x01) throw invalidField(1, 0); // DESC: descriptor format not supported
  const sense = encodeSense({ key: SenseKey.NoSense, asc: Asc.NoAdditionalSense });
  return Promise.resolve({ data: truncate(sense, ctx.cdb[4]!) });
}

export function noop(): Promise<CommandOutcome> {
  return Promise.resolve({});
}

/** START STOP UNIT power conditions SBC-3 defines; the unit is always active. */
const POWER_CONDITIONS = new Set([0x0, 0x1, 0x2, 0x3, 0x7, 0xa, 0xb]);

export function startStopUnit(ctx: CommandContext): Promise<CommandOutcome> {
  if (!POWER_CONDITIONS.has(ctx.cdb[4]! >> 4)) throw invalidField(4, 7);
  return noop();
}

export function preventAllow(ctx: CommandContext): Promise<CommandOutcome> {
  if (ctx.cdb[4]! & 0xfc) throw invalidField(4);
  return noop();
}

const PAGE_CACHING = 0x08;
const PAGE_CONTROL = 0x0a;
const PAGE_INFORMATIONAL_EXCEPTIONS = 0x1c;

/** Page bytes for page control `pc` (0 current, 1 changeable mask, 2 default). */
function modePage(ctx: CommandContext, page: number, pc: number): Uint8Array {
  switch (page) {
    case PAGE_CACHING: {
      const p = new Uint8Array(20);
      p[0] = PAGE_CACHING;
      p[1] = 18;
      if (pc === 1) p[2] = 0x04;
      else if (pc === 2 || ctx.lu.writeCacheEnabled) p[2] = 0x04; // WCE
      return p;
    }
    case PAGE_CONTROL: {
      const p = new Uint8Array(12);
      p[0] = PAGE_CONTROL;
      p[1] = 10;
      if (pc !== 1) {
        p[3] = 0x10; // queue algorithm modifier 1: unrestricted reordering
        put16(p, 8, 0xffff); // busy timeout period: unlimited
      }
      return p;
    }
    case PAGE_INFORMATIONAL_EXCEPTIONS: {
      const p = new Uint8Array(12);
      p[0] = PAGE_INFORMATIONAL_EXCEPTIONS;
      p[1] = 10;
      return p;
    }
    default:
      throw invalidField(2, 5);
  }
}

export function modeSense(ctx: CommandContext): Promise<CommandOutcome> {
  const cdb = ctx.cdb;
  const ten = cdb[0] === 0x5a;
  const dbd = (cdb[1]! & 0x08) !== 0;
  const pc = cdb[2]! >> 6;
  const page = cdb[2]! & 0x3f;
  const subpage = cdb[3]!;
  if (pc === 3) throw new ScsiError(SenseKey.IllegalRequest, Asc.SavingParametersNotSupported);
  if (subpage !== 0 && !(page === 0x3f && subpage === 0xff)) throw invalidField(3);
  const pages = page === 0x3f
    ? [PAGE_CACHING, PAGE_CONTROL, PAGE_INFORMATIONAL_EXCEPTIONS].map((p) => modePage(ctx, p, pc))
    : [modePage(ctx, page, pc)];
  const dev = ctx.lu.device;
  const descriptor = new Uint8Array(dbd ? 0 : 8);
  if (!dbd) {
    put32(descriptor, 0, Math.min(dev.sizeBytes / dev.blockSize, 0xffffffff));
    put32(descriptor, 4, dev.blockSize & 0xffffff);
  }
  const headerLength = ten ? 8 : 4;
  const total = headerLength + descriptor.length + pages.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  const deviceSpecific = (dev.readOnly ? 0x80 : 0) | 0x10; // WP, DPOFUA
  if (ten) {
    put16(out, 0, total - 2);
    out[3] = deviceSpecific;
    put16(out, 6, descriptor.length);
  } else {
    out[0] = total - 1;
    out[2] = deviceSpecific;
    out[3] = descriptor.length;
  }
  out.set(descriptor, headerLength);
  let at = headerLength + descriptor.length;
  for (const p of pages) {
    out.set(p, at);
    at += p.length;
  }
  return Promise.resolve({ data: truncate(out, ten ? be16(cdb, 7) : cdb[4]!) });
}

/** MODE SELECT: the caching page's WCE is changeable; other pages must equal their current values. */
export function modeSelect(ctx: CommandContext): Promise<CommandOutcome> {
  const cdb = ctx.cdb;
  const ten = cdb[0] === 0x55;
  if (cdb[1]! & 0x01) throw invalidField(1, 0); // SP: saving not supported
  const length = ten ? be16(cdb, 7) : cdb[4]!;
  if (length === 0) return noop();
  const p = ctx.dataOut.subarray(0, length);
  const headerLength = ten ? 8 : 4;
  if (p.length < headerLength) throw new ScsiError(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
  const descLength = ten ? be16(p, 6) : p[3]!;
  let at = headerLength + descLength;
  while (at < p.length) {
    if (at + 2 > p.length) throw new ScsiError(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
    const page = p[at]! & 0x3f;
    const len = p[at + 1]! + 2;
    if (at + len > p.length) throw new ScsiError(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
    const current = modePageOrUndefined(ctx, page);
    if (!current || current.length !== len) throw invalidParameter(at);
    if (page === PAGE_CACHING) {
      ctx.lu.writeCacheEnabled = (p[at + 2]! & 0x04) !== 0;
    } else {
      for (let i = 2; i < len; i++) if (p[at + i] !== current[i]) throw invalidParameter(at + i);
    }
    at += len;
  }
  return noop();
}

function modePageOrUndefined(ctx: CommandContext, page: number): Uint8Array | undefined {
  try {
    return modePage(ctx, page, 0);
  } catch {
    return undefined;
  }
}
