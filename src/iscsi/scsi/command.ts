/** What a command handler receives and returns. */
import type { LogicalUnit, Nexus } from "./logical_unit.ts";

export interface CommandContext {
  lu: LogicalUnit;
  nexus: Nexus;
  cdb: Uint8Array;
  /** Data-Out bytes (empty for commands without a data-out phase). */
  dataOut: Uint8Array;
  /** All LUNs of the target (REPORT LUNS). */
  luns: readonly number[];
}

export interface CommandOutcome {
  /** Data-In bytes (already cut to the allocation length). */
  data?: Uint8Array;
  /** Non-GOOD status without sense (RESERVATION CONFLICT). */
  status?: number;
}

export type CommandHandler = (ctx: CommandContext) => Promise<CommandOutcome>;
