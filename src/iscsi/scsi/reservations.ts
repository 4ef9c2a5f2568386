/**
 * PERSISTENT RESERVE IN/OUT (SPC-4 §5.13, §6.15-16), RESERVE/RELEASE(6), and the conflict check every command
 * passes first. Reservations are held in memory per LU (they do not survive a restart: APTPL is not offered).
 */
import { be16, be32, put16, put32, truncate } from "./cdb.ts";
import type { CommandContext, CommandOutcome } from "./command.ts";
import { type LogicalUnit, type Nexus, raiseUnitAttention } from "./logical_unit.ts";
import { Asc, invalidField, invalidParameter, ScsiError, SenseKey, Status } from "./sense.ts";
import { concatBytes } from "../../bytes.ts";

export const PrType = {
  WriteExclusive: 1,
  ExclusiveAccess: 3,
  WriteExclusiveRegistrantsOnly: 5,
  ExclusiveAccessRegistrantsOnly: 6,
  WriteExclusiveAllRegistrants: 7,
  ExclusiveAccessAllRegistrants: 8,
} as const;

const VALID_TYPES = new Set<number>(Object.values(PrType));
const CONFLICT: CommandOutcome = { status: Status.ReservationConflict };
const GOOD: CommandOutcome = {};

/** How a command touches the medium, for reservation conflicts. */
export type Access = "read" | "write" | "none";

function allRegistrants(type: number): boolean {
  return type === PrType.WriteExclusiveAllRegistrants || type === PrType.ExclusiveAccessAllRegistrants;
}

function isHolder(lu: LogicalUnit, nexus: string): boolean {
  const r = lu.pr.reservation;
  if (!r) return false;
  return allRegistrants(r.type) ? lu.pr.registrations.has(nexus) : r.holder === nexus;
}

/** True when `nexus` may not run a command with this access (SPC-4 table 5.10, SPC-2 reservations). */
export function conflicts(lu: LogicalUnit, nexus: string, access: Access): boolean {
  if (access === "none") return false;
  if (lu.reservedBy !== undefined && lu.reservedBy !== nexus) return true;
  const r = lu.pr.reservation;
  if (!r || isHolder(lu, nexus)) return false;
  const exclusiveAccess = r.type === PrType.ExclusiveAccess || r.type === PrType.ExclusiveAccessRegistrantsOnly ||
    r.type === PrType.ExclusiveAccessAllRegistrants;
  if (access === "read" && !exclusiveAccess) return false;
  if (r.type === PrType.WriteExclusive || r.type === PrType.ExclusiveAccess) return true;
  return !lu.pr.registrations.has(nexus);
}

function key(b: Uint8Array, at: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at);
}

function putKey(b: Uint8Array, at: number, k: bigint): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setBigUint64(at, k);
}

export function persistentReserveIn(ctx: CommandContext): Promise<CommandOutcome> {
  const { pr } = ctx.lu;
  const allocation = be16(ctx.cdb, 7);
  let out: Uint8Array;
  switch (ctx.cdb[1]! & 0x1f) {
    case 0: { // READ KEYS
      const regs = [...pr.registrations.values()];
      out = new Uint8Array(8 + 8 * regs.length);
      regs.forEach((r, i) => putKey(out, 8 + 8 * i, r.key));
      put32(out, 4, 8 * regs.length);
      break;
    }
    case 1: { // READ RESERVATION
      const r = pr.reservation;
      out = new Uint8Array(r ? 24 : 8);
      if (r) {
        put32(out, 4, 16);
        putKey(out, 8, allRegistrants(r.type) ? 0n : pr.registrations.get(r.holder)?.key ?? 0n);
        out[21] = r.type;
      }
      break;
    }
    case 2: { // REPORT CAPABILITIES
      out = new Uint8Array(8);
      put16(out, 0, 8);
      out[2] = 0x10; // CRH: RESERVE(6)/RELEASE(6) are handled as SPC-4 5.13.3 says
      out[3] = 0x80; // TMV: the type mask is valid
      out[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
      out[5] = 0x01;
      break;
    }
    case 3:
      out = readFullStatus(ctx.lu);
      break;
    default:
      throw invalidField(1, 4);
  }
  if ((ctx.cdb[1]! & 0x1f) !== 2) put32(out, 0, pr.generation);
  return Promise.resolve({ data: truncate(out, allocation) });
}

function transportId(nexus: Nexus): Uint8Array {
  const name = new TextEncoder().encode(`${nexus.initiatorName},i,0x${nexus.isid}`);
  const length = (name.length + 1 + 3) & ~3;
  const t = new Uint8Array(4 + length);
  t[0] = 0x45; // iSCSI, format 01b: name with ISID
  put16(t, 2, length);
  t.set(name, 4);
  return t;
}

function readFullStatus(lu: LogicalUnit): Uint8Array {
  const parts = [...lu.pr.registrations.entries()].map(([id, reg]) => {
    const tid = transportId(reg.nexus);
    const d = new Uint8Array(24 + tid.length);
    putKey(d, 0, reg.key);
    if (isHolder(lu, id)) {
      d[12] = 0x01;
      d[13] = lu.pr.reservation!.type;
    }
    put16(d, 18, 1);
    put32(d, 20, tid.length);
    d.set(tid, 24);
    return d;
  });
  const out = concatBytes(parts, { offset: 8 });
  put32(out, 4, out.length - 8);
  return out;
}

export function persistentReserveOut(ctx: CommandContext): Promise<CommandOutcome> {
  const { lu, nexus, cdb } = ctx;
  const { pr } = lu;
  const action = cdb[1]! & 0x1f;
  const type = cdb[2]! & 0x0f;
  if (be32(cdb, 5) !== 24) throw new ScsiError(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
  if (ctx.dataOut.length < 24) throw new ScsiError(SenseKey.IllegalRequest, Asc.ParameterListLengthError);
  const p = ctx.dataOut;
  const resKey = key(p, 0);
  const saKey = key(p, 8);
  if (p[20]! & 0x08) throw invalidParameter(20, 3); // SPEC_I_PT
  if (p[20]! & 0x01) throw invalidParameter(20, 0); // APTPL
  const mine = pr.registrations.get(nexus.id);
  if (action === 0 || action === 6) return Promise.resolve(register(lu, nexus, mine?.key, action === 6, resKey, saKey));
  if (action > 7 || action === 7) throw invalidField(1, 4);
  if (!mine || mine.key !== resKey) return Promise.resolve(CONFLICT);
  switch (action) {
    case 1: { // RESERVE
      if (!VALID_TYPES.has(type)) throw invalidField(2, 3);
      const r = pr.reservation;
      if (!r) {
        pr.reservation = { holder: nexus.id, type };
        return Promise.resolve(GOOD);
      }
      return Promise.resolve(isHolder(lu, nexus.id) && r.type === type ? GOOD : CONFLICT);
    }
    case 2: { // RELEASE
      const r = pr.reservation;
      if (!r || !isHolder(lu, nexus.id)) return Promise.resolve(GOOD);
      if (r.type !== type) throw new ScsiError(SenseKey.IllegalRequest, Asc.InvalidReleaseOfPr);
      pr.reservation = undefined;
      if (r.type !== PrType.WriteExclusive && r.type !== PrType.ExclusiveAccess) {
        raiseUnitAttention(lu, Asc.ReservationsReleased, { except: nexus.id, only: [...pr.registrations.keys()] });
      }
      return Promise.resolve(GOOD);
    }
    case 3: { // CLEAR
      const others = [...pr.registrations.keys()];
      pr.registrations.clear();
      pr.reservation = undefined;
      pr.generation++;
      raiseUnitAttention(lu, Asc.ReservationsPreempted, { except: nexus.id, only: others });
      return Promise.resolve(GOOD);
    }
    default: // 4 PREEMPT, 5 PREEMPT AND ABORT
      return preempt(lu, nexus, type, saKey, action === 5);
  }
}

function register(
  lu: LogicalUnit,
  nexus: Nexus,
  current: bigint | undefined,
  ignoreExisting: boolean,
  resKey: bigint,
  saKey: bigint,
): CommandOutcome {
  const { pr } = lu;
  if (!ignoreExisting && (current ?? 0n) !== resKey) return CONFLICT;
  if (current === undefined && saKey === 0n) return GOOD;
  if (saKey === 0n) {
    pr.registrations.delete(nexus.id);
    const r = pr.reservation;
    if (r && (r.holder === nexus.id || (allRegistrants(r.type) && pr.registrations.size === 0))) {
      pr.reservation = undefined;
    }
    if (r && r.holder === nexus.id && allRegistrants(r.type) && pr.registrations.size > 0) {
      pr.reservation = { ...r, holder: pr.registrations.keys().next().value! };
    }
  } else {
    pr.registrations.set(nexus.id, { nexus, key: saKey });
  }
  pr.generation++;
  return GOOD;
}

async function preempt(
  lu: LogicalUnit,
  nexus: Nexus,
  type: number,
  saKey: bigint,
  abort: boolean,
): Promise<CommandOutcome> {
  const { pr } = lu;
  const r = pr.reservation;
  if (!VALID_TYPES.has(type)) throw invalidField(2, 3);
  const victims = [...pr.registrations.entries()]
    .filter(([id, reg]) => id !== nexus.id && (reg.key === saKey || (saKey === 0n && r && allRegistrants(r.type))))
    .map(([id]) => id);
  const takesReservation = r !== undefined &&
    (allRegistrants(r.type) ? saKey === 0n : pr.registrations.get(r.holder)?.key === saKey);
  if (saKey === 0n && !(r && allRegistrants(r.type))) throw invalidParameter(8);
  if (victims.length === 0 && !takesReservation) return CONFLICT;
  for (const id of victims) pr.registrations.delete(id);
  if (takesReservation) pr.reservation = { holder: nexus.id, type };
  pr.generation++;
  raiseUnitAttention(lu, Asc.RegistrationsPreempted, { only: victims });
  if (abort) await lu.abortTasksOf(victims);
  return GOOD;
}

export function reserve6(ctx: CommandContext): Promise<CommandOutcome> {
  const { lu, nexus } = ctx;
  if (lu.pr.reservation || lu.pr.registrations.size > 0) return Promise.resolve(CONFLICT);
  if (lu.reservedBy !== undefined && lu.reservedBy !== nexus.id) return Promise.resolve(CONFLICT);
  lu.reservedBy = nexus.id;
  return Promise.resolve(GOOD);
}

export function release6(ctx: CommandContext): Promise<CommandOutcome> {
  if (ctx.lu.pr.reservation) return Promise.resolve(CONFLICT);
  if (ctx.lu.reservedBy === ctx.nexus.id) ctx.lu.reservedBy = undefined;
  return Promise.resolve(GOOD);
}
