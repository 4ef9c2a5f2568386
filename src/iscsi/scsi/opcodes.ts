/**
 * The command table: every supported operation code with its handler, how it touches the medium (reservation
 * conflicts), and its CDB usage map (REPORT SUPPORTED OPERATION CODES), plus the two "report supported" commands.
 */
import { be16, be32, put16, put32, truncate } from "./cdb.ts";
import type { CommandContext, CommandHandler, CommandOutcome } from "./command.ts";
import { inquiry } from "./inquiry.ts";
import { type Access, persistentReserveIn, persistentReserveOut, release6, reserve6 } from "./reservations.ts";
import * as sbc from "./sbc.ts";
import { invalidField } from "./sense.ts";
import * as spc from "./spc.ts";
import { concatBytes } from "../../bytes.ts";

export interface OpcodeEntry {
  opcode: number;
  serviceAction?: number;
  name: string;
  access: Access;
  /** False for commands that unit attentions do not interrupt (INQUIRY, REPORT LUNS, REQUEST SENSE). */
  reportsUnitAttention: boolean;
  /** CDB usage data: byte 0 is the opcode, then the bits the target interprets in each byte. */
  usage: number[];
  run: CommandHandler;
}

const FF4 = [0xff, 0xff, 0xff, 0xff];
const FF8 = [...FF4, ...FF4];

function entry(
  opcode: number,
  name: string,
  access: Access,
  usageTail: number[],
  run: CommandHandler,
  options: { serviceAction?: number; reportsUnitAttention?: boolean } = {},
): OpcodeEntry {
  return {
    opcode,
    name,
    access,
    usage: [opcode, ...usageTail, 0x07],
    run,
    reportsUnitAttention: options.reportsUnitAttention ?? true,
    ...(options.serviceAction === undefined ? {} : { serviceAction: options.serviceAction }),
  };
}

const RW10 = [0x18, ...FF4, 0x1f, 0xff, 0xff];
const RW12 = [0x18, ...FF4, ...FF4, 0x1f];
const RW16 = [0x18, ...FF8, ...FF4, 0x1f];

export const OPCODES: readonly OpcodeEntry[] = [
  entry(0x00, "TEST UNIT READY", "none", [0, 0, 0, 0], spc.noop),
  entry(0x03, "REQUEST SENSE", "none", [0x01, 0, 0, 0xff], spc.requestSense, { reportsUnitAttention: false }),
  entry(0x08, "READ(6)", "read", [0x1f, 0xff, 0xff, 0xff], sbc.read),
  entry(0x0a, "WRITE(6)", "write", [0x1f, 0xff, 0xff, 0xff], sbc.write),
  entry(0x12, "INQUIRY", "none", [0x01, 0xff, 0xff, 0xff], inquiry, { reportsUnitAttention: false }),
  entry(0x15, "MODE SELECT(6)", "write", [0x11, 0, 0, 0xff], spc.modeSelect),
  entry(0x16, "RESERVE(6)", "none", [0, 0, 0, 0], reserve6),
  entry(0x17, "RELEASE(6)", "none", [0, 0, 0, 0], release6),
  entry(0x1a, "MODE SENSE(6)", "read", [0x08, 0xff, 0xff, 0xff], spc.modeSense),
  entry(0x1b, "START STOP UNIT", "none", [0x01, 0, 0x0f, 0xf7], spc.startStopUnit),
  entry(0x1e, "PREVENT ALLOW MEDIUM REMOVAL", "none", [0, 0, 0, 0x03], spc.preventAllow),
  entry(0x25, "READ CAPACITY(10)", "none", [0, ...FF4, 0, 0, 0], sbc.readCapacity10),
  entry(0x28, "READ(10)", "read", RW10, sbc.read),
  entry(0x2a, "WRITE(10)", "write", RW10, sbc.write),
  entry(0x2e, "WRITE AND VERIFY(10)", "write", [0x12, ...FF4, 0x1f, 0xff, 0xff], sbc.write),
  entry(0x2f, "VERIFY(10)", "read", [0x16, ...FF4, 0x1f, 0xff, 0xff], sbc.verify),
  entry(0x34, "PRE-FETCH(10)", "read", [0x02, ...FF4, 0x1f, 0xff, 0xff], sbc.prefetch),
  entry(0x35, "SYNCHRONIZE CACHE(10)", "write", [0x02, ...FF4, 0x1f, 0xff, 0xff], sbc.synchronizeCache),
  entry(0x41, "WRITE SAME(10)", "write", [0x08, ...FF4, 0x1f, 0xff, 0xff], sbc.writeSame),
  entry(0x42, "UNMAP", "write", [0, 0, 0, 0, 0, 0x1f, 0xff, 0xff], sbc.unmap),
  entry(0x55, "MODE SELECT(10)", "write", [0x11, 0, 0, 0, 0, 0, 0xff, 0xff], spc.modeSelect),
  entry(0x5a, "MODE SENSE(10)", "read", [0x08, 0xff, 0xff, 0, 0, 0, 0xff, 0xff], spc.modeSense),
  ...[0, 1, 2, 3].map((sa) =>
    entry(0x5e, "PERSISTENT RESERVE IN", "none", [0x1f, 0, 0, 0, 0, 0, 0xff, 0xff], persistentReserveIn, {
      serviceAction: sa,
    })
  ),
  ...[0, 1, 2, 3, 4, 5, 6].map((sa) =>
    entry(0x5f, "PERSISTENT RESERVE OUT", "none", [0x1f, 0xff, 0, 0, ...FF4], persistentReserveOut, {
      serviceAction: sa,
    })
  ),
  entry(0x88, "READ(16)", "read", RW16, sbc.read),
  entry(0x89, "COMPARE AND WRITE", "write", [0x18, ...FF8, 0, 0, 0, 0xff, 0x1f], sbc.compareAndWrite),
  entry(0x8a, "WRITE(16)", "write", RW16, sbc.write),
  entry(0x8e, "WRITE AND VERIFY(16)", "write", [0x12, ...FF8, ...FF4, 0x1f], sbc.write),
  entry(0x8f, "VERIFY(16)", "read", [0x16, ...FF8, ...FF4, 0x1f], sbc.verify),
  entry(0x90, "PRE-FETCH(16)", "read", [0x02, ...FF8, ...FF4, 0x1f], sbc.prefetch),
  entry(0x91, "SYNCHRONIZE CACHE(16)", "write", [0x02, ...FF8, ...FF4, 0x1f], sbc.synchronizeCache),
  entry(0x93, "WRITE SAME(16)", "write", [0x09, ...FF8, ...FF4, 0x1f], sbc.writeSame),
  entry(0x9e, "READ CAPACITY(16)", "none", [0x1f, 0, 0, 0, 0, 0, 0, 0, 0, ...FF4, 0], sbc.readCapacity16, {
    serviceAction: 0x10,
  }),
  entry(0x9e, "GET LBA STATUS", "read", [0x1f, ...FF8, ...FF4, 0], sbc.getLbaStatus, { serviceAction: 0x12 }),
  entry(0xa0, "REPORT LUNS", "none", [0, 0xff, 0, 0, 0, ...FF4, 0], spc.reportLuns, { reportsUnitAttention: false }),
  entry(0xa3, "REPORT SUPPORTED OPERATION CODES", "none", [0x1f, 0x87, 0xff, 0xff, 0xff, ...FF4, 0], reportOpcodes, {
    serviceAction: 0x0c,
  }),
  entry(0xa3, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", "none", [0x1f, 0x80, 0, 0, 0, ...FF4, 0], reportTmfs, {
    serviceAction: 0x0d,
  }),
  entry(0xa8, "READ(12)", "read", RW12, sbc.read),
  entry(0xaa, "WRITE(12)", "write", RW12, sbc.write),
  entry(0xae, "WRITE AND VERIFY(12)", "write", [0x12, ...FF4, ...FF4, 0x1f], sbc.write),
  entry(0xaf, "VERIFY(12)", "read", [0x16, ...FF4, ...FF4, 0x1f], sbc.verify),
];

const WITH_SERVICE_ACTION = new Set(OPCODES.filter((e) => e.serviceAction !== undefined).map((e) => e.opcode));

/** Whether `opcode` carries a service action in byte 1. */
export function hasServiceAction(opcode: number): boolean {
  return WITH_SERVICE_ACTION.has(opcode);
}

export function findOpcode(cdb: Uint8Array): OpcodeEntry | undefined {
  const op = cdb[0]!;
  const sa = hasServiceAction(op) ? cdb[1]! & 0x1f : undefined;
  return OPCODES.find((e) => e.opcode === op && e.serviceAction === sa);
}

/** Timeouts descriptor (SPC-4 §6.31.4): nominal timeout unspecified, 30 s recommended. */
function timeouts(): Uint8Array {
  const t = new Uint8Array(12);
  put16(t, 0, 10);
  put32(t, 8, 30);
  return t;
}

function reportOpcodes(ctx: CommandContext): Promise<CommandOutcome> {
  const cdb = ctx.cdb;
  const rctd = (cdb[2]! & 0x80) !== 0;
  const options = cdb[2]! & 0x07;
  const allocation = be32(cdb, 6);
  if (options === 0) {
    const parts = OPCODES.map((e) => {
      const d = new Uint8Array(rctd ? 20 : 8);
      d[0] = e.opcode;
      put16(d, 2, e.serviceAction ?? 0);
      d[5] = (e.serviceAction !== undefined ? 0x01 : 0) | (rctd ? 0x02 : 0);
      put16(d, 6, e.usage.length);
      if (rctd) d.set(timeouts(), 8);
      return d;
    });
    const out = concatBytes(parts, { offset: 4 });
    put32(out, 0, out.length - 4);
    return Promise.resolve({ data: truncate(out, allocation) });
  }
  if (options > 3) throw invalidField(2, 2);
  const op = cdb[3]!;
  const sa = be16(cdb, 4);
  const withSa = hasServiceAction(op);
  if (options === 1 && withSa) throw invalidField(2, 2);
  if (options === 2 && !withSa) throw invalidField(2, 2);
  const found = OPCODES.find((e) => e.opcode === op && (withSa ? e.serviceAction === sa : true));
  const usage = found?.usage ?? [];
  const out = new Uint8Array(4 + usage.length + (found && rctd ? 12 : 0));
  out[1] = (found && rctd ? 0x80 : 0) | (found ? 0x03 : 0x01);
  put16(out, 2, usage.length);
  out.set(usage, 4);
  if (found && rctd) out.set(timeouts(), 4 + usage.length);
  return Promise.resolve({ data: truncate(out, allocation) });
}

function reportTmfs(ctx: CommandContext): Promise<CommandOutcome> {
  const repd = (ctx.cdb[2]! & 0x80) !== 0;
  const out = new Uint8Array(repd ? 16 : 4);
  out[0] = 0x80 | 0x40 | 0x10 | 0x08 | 0x02; // ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LUN RESET, TARGET RESET
  if (repd) out[3] = 0x0c;
  return Promise.resolve({ data: truncate(out, be32(ctx.cdb, 6)) });
}
