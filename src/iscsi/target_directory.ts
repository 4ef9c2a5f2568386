/**
 * State shared by every connection of one target instance: target lookup, logical units (so reservations and unit
 * attentions are per LU, not per session), live sessions by TSIH and by initiator port (for reinstatement).
 */
import type { BlockDevice } from "../blockdev/block_device.ts";
import { createLogicalUnit, type LogicalUnit } from "./scsi/logical_unit.ts";
import type { SessionInfo, TargetConfig } from "./types.ts";

/** What a live session exposes to the directory. */
export interface SessionHandle {
  tsih: number;
  /** initiator name + ISID + target name: a new login with the same key reinstates (replaces) the session. */
  key: string;
  /** The I_T nexus (initiator name + ISID) this session carries. */
  nexusId: string;
  targetName: string;
  info(): SessionInfo;
  /** Abort this session's tasks on `lun` (all LUNs when undefined) without answering them. */
  abortTasks(lun?: number): Promise<void>;
  /** Drop the connection (session reinstatement, cold reset, target shutdown). */
  drop(): void;
}

export interface TargetDirectory {
  resolve(iqn: string): TargetConfig | undefined;
  list(): string[];
  logicalUnits(iqn: string, config: TargetConfig): Map<number, LogicalUnit>;
  /** Register a new session, dropping an older one with the same key; returns the TSIH assigned. */
  add(make: (tsih: number) => SessionHandle): SessionHandle;
  remove(tsih: number): void;
  get(tsih: number): SessionHandle | undefined;
  findByKey(key: string): SessionHandle | undefined;
  sessions(): SessionHandle[];
}

export function createTargetDirectory(deps: {
  resolveTarget(iqn: string): TargetConfig | undefined;
  listTargets(): string[];
}): TargetDirectory {
  const units = new Map<string, { device: BlockDevice; lu: LogicalUnit }>();
  const live = new Map<number, SessionHandle>();
  let lastTsih = 0;

  function nextTsih(): number {
    do {
      lastTsih = (lastTsih % 0xffff) + 1;
    } while (live.has(lastTsih));
    return lastTsih;
  }

  return {
    resolve: (iqn) => deps.resolveTarget(iqn),
    list: () => deps.listTargets(),
    logicalUnits(iqn, config) {
      const out = new Map<number, LogicalUnit>();
      for (const [lun, device] of config.luns) {
        const key = `${iqn}\0${lun}`;
        let entry = units.get(key);
        if (!entry || entry.device !== device) {
          const abortTasksOf = async (ids: string[]) => {
            const victims = [...live.values()].filter((s) => s.targetName === iqn && ids.includes(s.nexusId));
            await Promise.all(victims.map((s) => s.abortTasks(lun)));
          };
          entry = { device, lu: createLogicalUnit({ lun, device, targetName: iqn, abortTasksOf }) };
          units.set(key, entry);
        }
        out.set(lun, entry.lu);
      }
      return out;
    },
    add(make) {
      const handle = make(nextTsih());
      const old = [...live.values()].find((s) => s.key === handle.key);
      if (old) {
        live.delete(old.tsih);
        old.drop();
      }
      live.set(handle.tsih, handle);
      return handle;
    },
    remove(tsih) {
      live.delete(tsih);
    },
    get: (tsih) => live.get(tsih),
    findByKey: (key) => [...live.values()].find((s) => s.key === key),
    sessions: () => [...live.values()],
  };
}
