/** What the full-feature-phase handlers (`scsi_task.ts`, `task_management.ts`) need from their connection. */
import type { Logger } from "../log.ts";
import type { Sequence } from "./pdu/target.ts";
import type { SessionParams } from "./session/negotiate.ts";
import type { WriteTask } from "./session/write_task.ts";
import type { LogicalUnit, Nexus } from "./scsi/logical_unit.ts";
import type { TargetDirectory } from "./target_directory.ts";

export interface ActiveSession {
  tsih: number;
  type: "Discovery" | "Normal";
  targetName: string;
  params: SessionParams;
  nexus: Nexus;
  lus: Map<number, LogicalUnit>;
  lunNumbers: number[];
}

export interface Task {
  itt: number;
  lun: number;
  cmdSN: number;
  immediate: boolean;
  aborted: boolean;
  /** Execution began (its data is complete and its CmdSN turn came). */
  started: boolean;
  /** Its status is being sent: too late to abort. */
  answering: boolean;
  edtl: number;
  cdb: Uint8Array;
  /** Resolves when the command's CmdSN turn has come. */
  turn: Promise<void>;
  /** Write residual: EDTL minus the Data-Out length the CDB asks for (negative = overflow). */
  residual: number;
  /** The CDB has a data-out phase: residuals are counted against it rather than against Data-In. */
  hasDataOut: boolean;
  write: { state: WriteTask; buffer: Uint8Array } | undefined;
  /** Resolves once the task has answered or been aborted. */
  done: Promise<void>;
  finish(): void;
}

export interface ConnectionCore {
  readonly session: ActiveSession;
  readonly tasks: Map<number, Task>;
  readonly directory: TargetDirectory;
  readonly logger: Logger;
  /** Sequence numbers for the next PDU; `advance` consumes a StatSN (status-bearing PDUs). */
  sequence(advance: boolean): Sequence;
  /** Frame and queue a PDU; resolves when the transport has taken it (backpressure). */
  send(bhs: Uint8Array, data?: Uint8Array): Promise<void>;
  nextTtt(): number;
  /** Release the task's command slot and forget it. */
  retire(task: Task): void;
  /** End the connection after a protocol error (ErrorRecoveryLevel 0). */
  drop(reason: string): void;
}
