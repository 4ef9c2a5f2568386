/**
 * SCSI tasks on one connection: write data collection (immediate, unsolicited, R2T-solicited), execution over the
 * SCSI layer, and the answer as Data-In PDUs (split by MaxRecvDataSegmentLength and MaxBurstLength, status in the
 * last one when possible) and/or a SCSI Response with sense data.
 */
import type { ConnectionCore, Task } from "./connection_core.ts";
import type { DataOutPdu, ScsiCommandPdu } from "./pdu/initiator.ts";
import { encodeDataIn, encodeR2t, encodeScsiResponse } from "./pdu/target.ts";
import { executeScsi, type ScsiResult } from "./scsi/dispatch.ts";
import { MAX_TRANSFER_BYTES } from "./scsi/sbc.ts";
import { dataOutLength } from "./scsi/data_out_length.ts";
import { encodeSense, invalidField, Status } from "./scsi/sense.ts";
import { onDataOut, type R2tRequest, startWrite, type WriteStep } from "./session/write_task.ts";

/** Writes above this are refused before any buffer is allocated (a little over the advertised transfer limit). */
const MAX_WRITE_BUFFER = MAX_TRANSFER_BYTES + 65536;
/** Data-In PDUs of one command queued on the socket at once. */
const DATA_IN_WINDOW = 8;

/** Start a command: its Data-Out is collected now, it executes once `turn` (its CmdSN order) has come. */
export function startScsiCommand(core: ConnectionCore, cmd: ScsiCommandPdu, turn: Promise<void>): void {
  let finish!: () => void;
  const task: Task = {
    itt: cmd.itt,
    lun: cmd.lun,
    cmdSN: cmd.cmdSN,
    immediate: cmd.immediate,
    aborted: false,
    edtl: cmd.edtl,
    cdb: cmd.cdb,
    turn,
    started: false,
    answering: false,
    residual: 0,
    hasDataOut: false,
    write: undefined,
    done: new Promise<void>((r) => (finish = r)),
    finish: () => finish(),
  };
  core.tasks.set(cmd.itt, task);
  const lu = core.session.lus.get(cmd.lun);
  const wanted = lu ? dataOutLength(cmd.cdb, lu.device.blockSize) : undefined;
  task.residual = wanted === undefined ? 0 : cmd.edtl - wanted;
  task.hasDataOut = wanted !== undefined;
  if (!cmd.write || cmd.edtl === 0) {
    void run(core, task, new Uint8Array(0));
    return;
  }
  if (cmd.edtl > MAX_WRITE_BUFFER) {
    void answer(core, task, { status: Status.CheckCondition, sense: encodeSense(invalidField(0).sense) }, 0);
    return;
  }
  // The frame was copied out of the socket buffer, so immediate data covering the whole write is used in place.
  const buffer = cmd.data.length === cmd.edtl ? cmd.data : new Uint8Array(cmd.edtl);
  if (buffer !== cmd.data) buffer.set(cmd.data);
  const step = startWrite(cmd.edtl, cmd.data.length, core.session.params, core.nextTtt);
  if (!step.ok) return;
  task.write = { state: step.task, buffer };
  advance(core, task, step);
}

export function acceptDataOut(core: ConnectionCore, pdu: DataOutPdu): void {
  const task = core.tasks.get(pdu.itt);
  // Data for a task that was aborted or already refused is dropped silently (RFC 7143 §11.7).
  if (!task || !task.write || task.aborted) return;
  const step = onDataOut(task.write.state, pdu, core.session.params, core.nextTtt);
  if (!step.ok) {
    core.drop(step.reason);
    return;
  }
  task.write.buffer.set(pdu.data, pdu.bufferOffset);
  task.write.state = step.task;
  advance(core, task, step);
}

function advance(core: ConnectionCore, task: Task, step: WriteStep & { ok: true }): void {
  // An R2T that cannot be sent means the connection is gone; its end aborts the task.
  for (const r2t of step.r2ts) {
    sendR2t(core, task, r2t).catch((err) => core.logger.debug("iscsi: could not send R2T", { error: String(err) }));
  }
  if (step.complete) void run(core, task, task.write!.buffer);
}

function sendR2t(core: ConnectionCore, task: Task, r: R2tRequest): Promise<void> {
  return core.send(encodeR2t({
    itt: task.itt,
    lun: task.lun,
    ttt: r.ttt,
    r2tSN: r.r2tSN,
    bufferOffset: r.offset,
    length: r.length,
    ...core.sequence(false),
  }));
}

async function run(core: ConnectionCore, task: Task, dataOut: Uint8Array): Promise<void> {
  await task.turn;
  if (task.aborted) return;
  task.started = true;
  const s = core.session;
  const lu = s.lus.get(task.lun);
  let result: ScsiResult;
  try {
    result = await executeScsi({ lu, nexus: s.nexus, cdb: task.cdb, dataOut, luns: s.lunNumbers });
  } catch (err) {
    core.logger.error("iscsi: command failed unexpectedly", { opcode: task.cdb[0], error: String(err) });
    result = { status: Status.CheckCondition };
  }
  await answer(core, task, result, task.write?.state.r2tSN ?? 0);
}

async function answer(core: ConnectionCore, task: Task, result: ScsiResult, r2ts: number): Promise<void> {
  // From the first byte of the answer on, ABORT TASK reports the task gone, as the initiator will see it complete.
  task.answering = !task.aborted;
  try {
    if (task.answering) await sendResult(core, task, result, r2ts);
  } catch (err) {
    core.logger.debug("iscsi: could not send response", { error: String(err) });
  } finally {
    core.retire(task);
    task.finish();
  }
}

async function sendResult(core: ConnectionCore, task: Task, result: ScsiResult, r2ts: number): Promise<void> {
  const params = core.session.params;
  const data = result.data ?? new Uint8Array(0);
  const length = Math.min(data.length, task.edtl);
  const residual = task.hasDataOut ? task.residual : task.edtl - data.length;
  const collapse = result.status === Status.Good && !result.sense && length > 0;
  let dataSN = 0;
  const inFlight: Promise<void>[] = [];
  for (let offset = 0; offset < length;) {
    const burstEnd = (Math.floor(offset / params.maxBurstLength) + 1) * params.maxBurstLength;
    const n = Math.min(params.initiatorMaxRecvDataSegmentLength, length - offset, burstEnd - offset);
    const last = offset + n >= length;
    const bhs = encodeDataIn({
      itt: task.itt,
      lun: task.lun,
      final: last || offset + n === burstEnd,
      dataSN: dataSN++,
      bufferOffset: offset,
      ...(last && collapse ? { status: result.status, residual } : {}),
      ...core.sequence(last && collapse),
    });
    const sent = core.send(bhs, data.subarray(offset, offset + n));
    // Awaited below; handled now too, since a failed send leaves the others queued with it unawaited.
    sent.catch(() => {});
    inFlight.push(sent);
    // Keep a bounded number of Data-In PDUs queued on the socket: enough to pipeline, little enough to stay bounded.
    if (inFlight.length >= DATA_IN_WINDOW) await inFlight.shift();
    offset += n;
  }
  await Promise.all(inFlight);
  if (collapse) return;
  let senseData = new Uint8Array(0);
  if (result.sense) {
    senseData = new Uint8Array(2 + result.sense.length);
    senseData[0] = result.sense.length >> 8;
    senseData[1] = result.sense.length & 0xff;
    senseData.set(result.sense, 2);
  }
  const bhs = encodeScsiResponse({
    itt: task.itt,
    status: result.status,
    residual,
    expDataSN: task.write ? r2ts : dataSN,
    ...core.sequence(true),
  });
  await core.send(bhs, senseData);
}
