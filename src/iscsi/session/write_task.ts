/**
 * Data-Out collection for one WRITE-direction command (RFC 7143 §10.7-10.8): immediate and unsolicited data up to
 * FirstBurstLength, then R2Ts of at most MaxBurstLength with at most MaxOutstandingR2T outstanding. Pure.
 */
import { RESERVED_TAG } from "../pdu/bhs.ts";
import type { DataOutPdu } from "../pdu/initiator.ts";
import type { SessionParams } from "./negotiate.ts";

interface Sequence {
  ttt: number;
  offset: number;
  length: number;
  received: number;
  nextDataSN: number;
}

export interface WriteTask {
  edtl: number;
  received: number;
  /** Unsolicited sequence (TTT 0xffffffff), open until its final Data-Out or its size is reached. */
  unsolicited: Sequence | undefined;
  open: Sequence[];
  nextOffset: number;
  r2tSN: number;
}

export interface R2tRequest {
  ttt: number;
  r2tSN: number;
  offset: number;
  length: number;
}

export type WriteStep =
  | { ok: true; task: WriteTask; r2ts: R2tRequest[]; complete: boolean }
  | { ok: false; reason: string };

/** Start collecting: `immediate` bytes came with the command. `nextTtt` mints target transfer tags. */
export function startWrite(
  edtl: number,
  immediate: number,
  params: SessionParams,
  nextTtt: () => number,
): WriteStep {
  const unsolicitedEnd = params.initialR2T ? immediate : Math.min(params.firstBurstLength, edtl);
  const task: WriteTask = {
    edtl,
    received: immediate,
    unsolicited: unsolicitedEnd > immediate
      ? { ttt: RESERVED_TAG, offset: 0, length: unsolicitedEnd, received: immediate, nextDataSN: 0 }
      : undefined,
    open: [],
    nextOffset: Math.max(unsolicitedEnd, immediate),
    r2tSN: 0,
  };
  return issue(task, params, nextTtt);
}

function issue(task: WriteTask, params: SessionParams, nextTtt: () => number): WriteStep {
  const r2ts: R2tRequest[] = [];
  let t = task;
  if (!t.unsolicited) {
    while (t.open.length < params.maxOutstandingR2T && t.nextOffset < t.edtl) {
      const length = Math.min(params.maxBurstLength, t.edtl - t.nextOffset);
      const r2t = { ttt: nextTtt(), r2tSN: t.r2tSN, offset: t.nextOffset, length };
      r2ts.push(r2t);
      t = {
        ...t,
        open: [...t.open, { ttt: r2t.ttt, offset: r2t.offset, length, received: 0, nextDataSN: 0 }],
        nextOffset: t.nextOffset + length,
        r2tSN: t.r2tSN + 1,
      };
    }
  }
  return { ok: true, task: t, r2ts, complete: t.received >= t.edtl };
}

/** Account one Data-Out; the caller copies `pdu.data` to `pdu.bufferOffset` only when the step is ok. */
export function onDataOut(task: WriteTask, pdu: DataOutPdu, params: SessionParams, nextTtt: () => number): WriteStep {
  const unsolicited = pdu.ttt === RESERVED_TAG;
  const seq = unsolicited ? task.unsolicited : task.open.find((s) => s.ttt === pdu.ttt);
  if (!seq) return { ok: false, reason: `Data-Out for unknown transfer tag 0x${pdu.ttt.toString(16)}` };
  if (pdu.dataSN !== seq.nextDataSN) {
    return { ok: false, reason: `Data-Out DataSN ${pdu.dataSN}, expected ${seq.nextDataSN}` };
  }
  const expectedOffset = unsolicited ? seq.received : seq.offset + seq.received;
  if (pdu.bufferOffset !== expectedOffset) {
    return { ok: false, reason: `Data-Out offset ${pdu.bufferOffset}, expected ${expectedOffset}` };
  }
  const end = unsolicited ? seq.length : seq.offset + seq.length;
  if (pdu.bufferOffset + pdu.data.length > end) {
    return { ok: false, reason: `Data-Out overruns its sequence (${pdu.bufferOffset}+${pdu.data.length} > ${end})` };
  }
  const updated = { ...seq, received: seq.received + pdu.data.length, nextDataSN: seq.nextDataSN + 1 };
  const full = updated.received >= seq.length;
  if (pdu.final !== full && !(unsolicited && pdu.final)) {
    return { ok: false, reason: `Data-Out F bit ${pdu.final} after ${updated.received} of ${seq.length} bytes` };
  }
  let t: WriteTask = { ...task, received: task.received + pdu.data.length };
  if (unsolicited) {
    // An unsolicited sequence may end early (F bit); R2Ts then start where it stopped.
    t = pdu.final || full
      ? { ...t, unsolicited: undefined, nextOffset: updated.received }
      : { ...t, unsolicited: updated };
  } else {
    t = { ...t, open: full ? t.open.filter((s) => s !== seq) : t.open.map((s) => (s === seq ? updated : s)) };
  }
  return issue(t, params, nextTtt);
}
