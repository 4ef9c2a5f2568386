/**
 * Execute one SCSI command against a logical unit: opcode lookup, LUN checks, capacity-change and unit attentions,
 * reservation conflicts, then the handler; every failure becomes status + sense here.
 */
import type { CommandContext } from "./command.ts";
import { inquiryNoLun } from "./inquiry.ts";
import { type LogicalUnit, type Nexus, raiseUnitAttention, takeUnitAttention } from "./logical_unit.ts";
import { findOpcode, hasServiceAction } from "./opcodes.ts";
import { conflicts } from "./reservations.ts";
import { Asc, encodeSense, invalidField, ScsiError, type Sense, senseFromError, SenseKey, Status } from "./sense.ts";
import { reportLunsData } from "./spc.ts";

export interface ScsiResult {
  status: number;
  data?: Uint8Array;
  /** Encoded sense data (only with CHECK CONDITION). */
  sense?: Uint8Array;
}

export interface ScsiRequest {
  lu: LogicalUnit | undefined;
  nexus: Nexus;
  cdb: Uint8Array;
  dataOut: Uint8Array;
  luns: readonly number[];
}

function check(sense: Sense): ScsiResult {
  return { status: Status.CheckCondition, sense: encodeSense(sense) };
}

export async function executeScsi(req: ScsiRequest): Promise<ScsiResult> {
  const op = req.cdb[0]!;
  const entry = findOpcode(req.cdb);
  try {
    if (!req.lu) return withoutLogicalUnit(req);
    if (!entry) {
      throw hasServiceAction(op) ? invalidField(1, 4) : new ScsiError(SenseKey.IllegalRequest, Asc.InvalidOpcode);
    }
    const lu = req.lu;
    const nexus = req.nexus.id;
    lu.nexuses.add(nexus);
    if (lu.device.sizeBytes !== lu.knownSize) {
      lu.knownSize = lu.device.sizeBytes;
      raiseUnitAttention(lu, Asc.CapacityDataChanged);
    }
    if (entry.reportsUnitAttention) {
      const ua = takeUnitAttention(lu, nexus);
      if (ua) return check({ key: SenseKey.UnitAttention, asc: ua });
    } else if (op === 0x03) {
      const ua = takeUnitAttention(lu, nexus);
      if (ua) return { status: Status.Good, data: encodeSense({ key: SenseKey.UnitAttention, asc: ua }) };
    }
    if (conflicts(lu, nexus, entry.access)) return { status: Status.ReservationConflict };
    const ctx: CommandContext = { lu, nexus: req.nexus, cdb: req.cdb, dataOut: req.dataOut, luns: req.luns };
    const out = await entry.run(ctx);
    return out.data ? { status: out.status ?? Status.Good, data: out.data } : { status: out.status ?? Status.Good };
  } catch (err) {
    return check(senseFromError(err, entry?.access === "write"));
  }
}

/** A LUN the target does not have: INQUIRY and REPORT LUNS still answer (SPC-4 §4.6.4). */
function withoutLogicalUnit(req: ScsiRequest): ScsiResult {
  const op = req.cdb[0]!;
  if (op === 0x12) return { status: Status.Good, ...inquiryNoLun(req.cdb) };
  if (op === 0xa0) {
    return { status: Status.Good, data: reportLunsData(req.cdb, req.luns) };
  }
  if (op === 0x03) {
    return { status: Status.Good, data: encodeSense({ key: SenseKey.IllegalRequest, asc: Asc.LunNotSupported }) };
  }
  return check({ key: SenseKey.IllegalRequest, asc: Asc.LunNotSupported });
}
