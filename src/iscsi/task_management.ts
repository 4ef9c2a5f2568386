/** Task management functions (RFC 7143 §11.5-11.6, SAM-5 §7) for one connection. */
import type { ConnectionCore, Task } from "./connection_core.ts";
import type { TaskMgmtPdu } from "./pdu/initiator.ts";
import { encodeTaskMgmtResponse } from "./pdu/target.ts";
import { resetLogicalUnit } from "./scsi/logical_unit.ts";
import { Asc } from "./scsi/sense.ts";

export const TmfFunction = {
  AbortTask: 1,
  AbortTaskSet: 2,
  ClearAca: 3,
  ClearTaskSet: 4,
  LogicalUnitReset: 5,
  TargetWarmReset: 6,
  TargetColdReset: 7,
  TaskReassign: 8,
} as const;

export const TmfResponse = {
  Complete: 0,
  TaskDoesNotExist: 1,
  LunDoesNotExist: 2,
  ReassignNotSupported: 4,
  NotSupported: 5,
  Rejected: 255,
} as const;

/** Abort (without answering) every task of this connection that `match` selects, and wait until they stop. */
export async function abortTasks(core: ConnectionCore, match: (t: Task) => boolean): Promise<void> {
  const victims = [...core.tasks.values()].filter(match);
  for (const t of victims) {
    t.aborted = true;
    if (!t.started) {
      // Still collecting data or waiting for its CmdSN turn: nothing runs yet, so the task ends here.
      core.retire(t);
      t.finish();
    }
  }
  await Promise.all(victims.map((t) => t.done));
}

export async function handleTaskManagement(core: ConnectionCore, req: TaskMgmtPdu): Promise<void> {
  const response = await perform(core, req);
  await core.send(encodeTaskMgmtResponse({ itt: req.itt, response, ...core.sequence(true) }));
  if (req.fn === TmfFunction.TargetColdReset && response === TmfResponse.Complete) {
    for (const s of core.directory.sessions()) if (s.targetName === core.session.targetName) s.drop();
  }
}

async function perform(core: ConnectionCore, req: TaskMgmtPdu): Promise<number> {
  const s = core.session;
  const issuer = s.nexus.id;
  switch (req.fn) {
    case TmfFunction.AbortTask: {
      const task = core.tasks.get(req.rtt);
      if (!task || task.lun !== req.lun || task.answering) return TmfResponse.TaskDoesNotExist;
      await abortTasks(core, (t) => t === task);
      return TmfResponse.Complete;
    }
    case TmfFunction.AbortTaskSet:
    case TmfFunction.ClearTaskSet:
      if (!s.lus.has(req.lun)) return TmfResponse.LunDoesNotExist;
      await abortTasks(core, (t) => t.lun === req.lun && t.itt !== req.itt);
      return TmfResponse.Complete;
    case TmfFunction.LogicalUnitReset: {
      const lu = s.lus.get(req.lun);
      if (!lu) return TmfResponse.LunDoesNotExist;
      await Promise.all(
        core.directory.sessions().filter((x) => x.targetName === s.targetName).map((x) => x.abortTasks(req.lun)),
      );
      resetLogicalUnit(lu, Asc.BusDeviceReset, issuer);
      return TmfResponse.Complete;
    }
    case TmfFunction.TargetWarmReset:
    case TmfFunction.TargetColdReset:
      await Promise.all(
        core.directory.sessions().filter((x) => x.targetName === s.targetName).map((x) => x.abortTasks()),
      );
      for (const lu of s.lus.values()) resetLogicalUnit(lu, Asc.TargetReset, issuer);
      return TmfResponse.Complete;
    case TmfFunction.TaskReassign:
      return TmfResponse.ReassignNotSupported;
    case TmfFunction.ClearAca:
      return TmfResponse.NotSupported;
    default:
      return TmfResponse.Rejected;
  }
}
