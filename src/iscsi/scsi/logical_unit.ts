/**
 * Per-LUN state shared by every session: unit attentions per I_T nexus, reservations, mode page settings and the
 * range lock that makes COMPARE AND WRITE atomic against concurrent writes.
 */
import type { BlockDevice } from "../../blockdev/block_device.ts";
import type { AscPair } from "./sense.ts";

/** An I_T nexus: initiator port (name + ISID) on this target. */
export interface Nexus {
  id: string;
  initiatorName: string;
  isid: string;
}

export interface Registration {
  nexus: Nexus;
  key: bigint;
}

export interface PersistentReservations {
  generation: number;
  registrations: Map<string, Registration>;
  reservation: { holder: string; type: number } | undefined;
}

export interface LogicalUnit {
  readonly lun: number;
  readonly device: BlockDevice;
  readonly targetName: string;
  writeCacheEnabled: boolean;
  /** Pending unit attentions by nexus id, oldest first. */
  readonly unitAttentions: Map<string, AscPair[]>;
  /** Every nexus that has addressed this LU (unit attentions go to all of them). */
  readonly nexuses: Set<string>;
  readonly pr: PersistentReservations;
  /** SPC-2 RESERVE(6) holder. */
  reservedBy: string | undefined;
  /** Capacity last reported, to raise CAPACITY DATA HAS CHANGED. */
  knownSize: number;
  readonly lock: RangeLock;
  /** Abort the tasks of these nexuses on this LU (PREEMPT AND ABORT); wired by the target to its sessions. */
  abortTasksOf(nexusIds: string[]): Promise<void>;
}

export function createLogicalUnit(options: {
  lun: number;
  device: BlockDevice;
  targetName: string;
  abortTasksOf?: (nexusIds: string[]) => Promise<void>;
}): LogicalUnit {
  return {
    lun: options.lun,
    device: options.device,
    targetName: options.targetName,
    writeCacheEnabled: true,
    unitAttentions: new Map(),
    nexuses: new Set(),
    pr: { generation: 0, registrations: new Map(), reservation: undefined },
    reservedBy: undefined,
    knownSize: options.device.sizeBytes,
    lock: new RangeLock(),
    abortTasksOf: options.abortTasksOf ?? (() => Promise.resolve()),
  };
}

/** Queue a unit attention for every known nexus of `lu` except `except`. */
export function raiseUnitAttention(lu: LogicalUnit, asc: AscPair, options: { except?: string; only?: string[] } = {}) {
  const targets = options.only ?? [...lu.nexuses];
  for (const id of targets) {
    if (id === options.except) continue;
    const list = lu.unitAttentions.get(id) ?? [];
    if (!list.some((a) => a[0] === asc[0] && a[1] === asc[1])) list.push(asc);
    lu.unitAttentions.set(id, list);
  }
}

/** Take the oldest unit attention pending for `nexus`, if any. */
export function takeUnitAttention(lu: LogicalUnit, nexus: string): AscPair | undefined {
  const list = lu.unitAttentions.get(nexus);
  const first = list?.shift();
  if (list && list.length === 0) lu.unitAttentions.delete(nexus);
  return first;
}

/** Reset side effects of LUN RESET / TARGET RESET on one LU (SPC-4 §6.2: PR survive, RESERVE(6) does not). */
export function resetLogicalUnit(lu: LogicalUnit, asc: AscPair, issuer: string): void {
  lu.reservedBy = undefined;
  raiseUnitAttention(lu, asc, { except: issuer });
}

/** Drop state tied to a nexus that went away (logout or connection loss). */
export function forgetNexus(lu: LogicalUnit, nexus: string): void {
  if (lu.reservedBy === nexus) lu.reservedBy = undefined;
  lu.unitAttentions.delete(nexus);
  lu.nexuses.delete(nexus);
}

/** Byte-range lock: `acquire` waits until no overlapping range is held. */
export class RangeLock {
  #held: { start: number; end: number; done: Promise<void> }[] = [];

  async acquire(start: number, length: number): Promise<() => void> {
    const end = start + length;
    for (;;) {
      const clash = this.#held.find((h) => h.start < end && start < h.end);
      if (!clash) break;
      await clash.done;
    }
    let release!: () => void;
    const entry = { start, end, done: new Promise<void>((r) => (release = r)) };
    this.#held.push(entry);
    return () => {
      this.#held = this.#held.filter((h) => h !== entry);
      release();
    };
  }
}
