/**
 * iSCSI target (RFC 7143) exporting BlockDevices as SCSI block LUNs (SPC-4/SBC-3).
 *
 * Layers: `pdu/` (pure codec) → `session/` (pure login, negotiation, CmdSN and Data-Out state machines) →
 * `scsi/` (command set over BlockDevice) → `connection.ts` (one connection's full feature phase) →
 * `transport/tcp.ts` (sockets).
 *
 * @example
 * ```ts
 * const target = createIscsiTarget({ logger, clock, resolveTarget: (iqn) => targets.get(iqn), listTargets });
 * const { address } = await target.serve("127.0.0.1:3260");
 * // … later
 * await target.close();
 * ```
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { createConnection } from "./connection.ts";
import { createTargetDirectory } from "./target_directory.ts";
import { listenTcp, type TcpListener } from "./transport/tcp.ts";
import type { SessionInfo, TargetConfig } from "./types.ts";

export type { ChapConfig, SessionInfo, TargetConfig } from "./types.ts";

export interface IscsiTargetDeps {
  logger: Logger;
  clock: Clock;
  /** The LUNs (and CHAP credentials) of a target IQN, or undefined when it does not exist. */
  resolveTarget(iqn: string): TargetConfig | undefined;
  /** Every target IQN, for SendTargets discovery. */
  listTargets(): string[];
  /** Interval of target NOP-In pings on idle connections (default 30 s, 0 disables). */
  nopIntervalMs?: number;
  /** Time a new connection gets to complete login (default 30 s). */
  loginTimeoutMs?: number;
}

export interface IscsiTarget {
  serve(addr: string, signal?: AbortSignal): Promise<{ address: string }>;
  sessions(): SessionInfo[];
  close(): Promise<void>;
}

export function createIscsiTarget(deps: IscsiTargetDeps): IscsiTarget {
  const directory = createTargetDirectory(deps);
  const listeners: TcpListener[] = [];
  const logger = deps.logger.child({ service: "iscsi" });
  return {
    serve(addr, signal) {
      const listener = listenTcp(addr, (io) =>
        createConnection(io, {
          directory,
          logger,
          clock: deps.clock,
          random: (n) => crypto.getRandomValues(new Uint8Array(n)),
          nopIntervalMs: deps.nopIntervalMs ?? 30_000,
          loginTimeoutMs: deps.loginTimeoutMs ?? 30_000,
        }), signal ? { logger, signal } : { logger });
      listeners.push(listener);
      logger.info("iscsi: listening", { address: listener.address });
      return Promise.resolve({ address: listener.address });
    },
    sessions: () => directory.sessions().map((s) => s.info()),
    async close() {
      for (const s of directory.sessions()) s.drop();
      await Promise.all(listeners.splice(0).map((l) => l.close()));
    },
  };
}
