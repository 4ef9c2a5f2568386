/**
 * One appliance per database. A database named by `--db-url` can be reached from several appliances, but an
 * appliance keeps state that allows one writer only: the integrity journal's chain head in memory, the sync
 * scheduler's runs, open block device volumes, and the `fs` backend rows that name a directory. So the appliance
 * working on the database holds a lease, a row it renews every `RENEW_MS`; a start that finds the lease renewed
 * by another appliance within `TTL_MS` stops with its name, and the same appliance (host and data dir) takes
 * its own lease back at once after a crash. An appliance that finds its lease taken, or cannot renew it for
 * `TTL_MS`, must stop: a standby may already be working.
 *
 * @module
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import { eq, sql } from "drizzle-orm";
import type { Clock } from "../clock.ts";
import { AppError, rootMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Db } from "./client.ts";
import { applianceLease } from "./schema.ts";

export const TTL_MS = 30_000;
export const RENEW_MS = 10_000;

export interface DbLease {
  /**
   * Renews the lease now: false once it is lost (`onLost` has been called). A failed renewal is logged and
   * retried at the next one until `TTL_MS` has passed since the last that succeeded.
   */
  renew(): Promise<boolean>;
  /** Stops renewing and gives the lease up, so another appliance can start at once. */
  release(): Promise<void>;
}

export interface LeaseOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Who holds the lease: the same owner takes it back at once (`host:/data/dir`). */
  owner: string;
  /** Names the database in messages (no credentials). */
  database: string;
  /** The lease is gone (taken by another appliance, or not renewed for `TTL_MS`); called once. */
  onLost(reason: string): void;
  /** Renews every `RENEW_MS` on a timer unless false (tests renew by hand). */
  timer?: boolean;
}

/** The owner name of an appliance: its host and data dir. */
export function leaseOwner(dataDir: string): string {
  return `${hostname()}:${resolve(dataDir)}`;
}

/** Takes the lease, or throws `Conflict` naming the appliance that holds it. */
export async function acquireDbLease(options: LeaseOptions): Promise<DbLease> {
  const { db, clock, owner } = options;
  const now = clock.now();
  const taken = await db.insert(applianceLease).values({ id: 1, owner, pid: Deno.pid, renewedAt: now })
    .onConflictDoUpdate({
      target: applianceLease.id,
      set: { owner, pid: Deno.pid, renewedAt: now },
      where: sql`${applianceLease.owner} = ${owner} OR ${applianceLease.renewedAt} < ${now.getTime() - TTL_MS}`,
    }).returning({ owner: applianceLease.owner });
  if (taken.length === 0) {
    const [holder] = await db.select().from(applianceLease).where(eq(applianceLease.id, 1));
    const ago = holder ? Math.max(0, Math.round((now.getTime() - holder.renewedAt.getTime()) / 1000)) : 0;
    throw new AppError(
      "Conflict",
      `The database ${options.database} is in use by the appliance ${holder?.owner ?? "(unknown)"} (pid ` +
        `${holder?.pid ?? "?"}, lease renewed ${ago} s ago); one appliance works on a database at a time. Stop that ` +
        `one, or start this one again once its lease is ${TTL_MS / 1000} s old`,
    );
  }

  let lastRenewed = now.getTime();
  /** Why the renewals since `lastRenewed` failed. */
  let lastError = "";
  let lost = false;
  const lose = (reason: string) => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    options.onLost(reason);
  };
  const renew = async (): Promise<boolean> => {
    if (lost) return false;
    const at = clock.now();
    // Checked before the query, not when it fails: a database gone silent answers nothing until the request times
    // out. Half an interval early, so timer jitter cannot push the stop past the tick after the TTL.
    const since = at.getTime() - lastRenewed;
    if (since >= TTL_MS - RENEW_MS / 2) {
      lose(
        lastError
          ? `the database lease could not be renewed for ${TTL_MS / 1000} s: ${lastError}`
          : `the database lease was not renewed for ${Math.round(since / 1000)} s`,
      );
      return false;
    }
    try {
      const rows = await db.update(applianceLease).set({ renewedAt: at })
        .where(sql`${applianceLease.id} = 1 AND ${applianceLease.owner} = ${owner}`)
        .returning({ owner: applianceLease.owner });
      if (rows.length === 0) {
        const [holder] = await db.select().from(applianceLease).where(eq(applianceLease.id, 1));
        lose(`the database lease was taken by the appliance ${holder?.owner ?? "(none)"}`);
        return false;
      }
      lastRenewed = at.getTime();
      lastError = "";
      return true;
    } catch (err) {
      if (lost) return false; // a renewal in flight when the lease was given up
      lastError = rootMessage(err);
      options.logger.warn("cannot renew the database lease; retrying", { error: lastError });
      return true;
    }
  };
  const timer = options.timer === false ? undefined : setInterval(renew, RENEW_MS);
  return {
    renew,
    async release() {
      clearInterval(timer);
      if (lost) return;
      lost = true;
      await db.delete(applianceLease).where(sql`${applianceLease.id} = 1 AND ${applianceLease.owner} = ${owner}`);
    },
  };
}
