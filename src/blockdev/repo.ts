/**
 * Block device rows in the database: volumes, snapshots, orphaned chunk folders, targets and LUNs.
 *
 * @module
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import {
  blockdevLuns,
  blockdevOrphanPrefixes,
  blockdevSnapshots,
  blockdevTargets,
  blockdevVolumes,
} from "../db/schema.ts";
import { AppError } from "../errors.ts";

export type VolumeRow = typeof blockdevVolumes.$inferSelect;
type TargetRow = typeof blockdevTargets.$inferSelect;
type LunRow = typeof blockdevLuns.$inferSelect;

export function createRepo(db: Db) {
  return {
    listVolumes: () => db.select().from(blockdevVolumes).orderBy(blockdevVolumes.name),
    async volumeByName(name: string): Promise<VolumeRow> {
      const [row] = await db.select().from(blockdevVolumes).where(eq(blockdevVolumes.name, name));
      if (!row) throw new AppError("NotFound", `No volume named "${name}"`);
      return row;
    },
    insertVolume: (row: VolumeRow) => db.insert(blockdevVolumes).values(row),
    setVolumeSize: (id: string, sizeBytes: number) =>
      db.update(blockdevVolumes).set({ sizeBytes }).where(eq(blockdevVolumes.id, id)),
    /** The volume and its snapshots' rows, in one transaction (why by name: see db/schema.ts). */
    deleteVolume: (id: string) =>
      db.batch([
        db.delete(blockdevSnapshots).where(eq(blockdevSnapshots.volumeId, id)),
        db.delete(blockdevVolumes).where(eq(blockdevVolumes.id, id)),
      ]),
    volumesIn: (backendId: string, bucket: string) =>
      db.select().from(blockdevVolumes).where(
        and(eq(blockdevVolumes.backendId, backendId), eq(blockdevVolumes.bucket, bucket)),
      ),

    listSnapshots: (volumeId: string) =>
      db.select().from(blockdevSnapshots).where(eq(blockdevSnapshots.volumeId, volumeId)).orderBy(
        blockdevSnapshots.createdAt,
      ),
    insertSnapshot: (row: typeof blockdevSnapshots.$inferSelect) => db.insert(blockdevSnapshots).values(row),
    deleteSnapshot: (volumeId: string, name: string) =>
      db.delete(blockdevSnapshots).where(
        and(eq(blockdevSnapshots.volumeId, volumeId), eq(blockdevSnapshots.name, name)),
      ),

    addOrphan: (row: typeof blockdevOrphanPrefixes.$inferSelect) =>
      db.insert(blockdevOrphanPrefixes).values(row).onConflictDoNothing(),
    orphansIn: (backendId: string, bucket: string) =>
      db.select().from(blockdevOrphanPrefixes).where(
        and(eq(blockdevOrphanPrefixes.backendId, backendId), eq(blockdevOrphanPrefixes.bucket, bucket)),
      ),
    dropOrphan: (row: typeof blockdevOrphanPrefixes.$inferSelect) =>
      db.delete(blockdevOrphanPrefixes).where(
        and(
          eq(blockdevOrphanPrefixes.backendId, row.backendId),
          eq(blockdevOrphanPrefixes.bucket, row.bucket),
          eq(blockdevOrphanPrefixes.prefix, row.prefix),
        ),
      ),

    listTargets: () => db.select().from(blockdevTargets).orderBy(blockdevTargets.iqn),
    upsertTarget: (row: TargetRow) =>
      db.insert(blockdevTargets).values(row).onConflictDoUpdate({
        target: blockdevTargets.iqn,
        set: { chapUser: row.chapUser, chapSecret: row.chapSecret },
      }),
    deleteTarget: (iqn: string) =>
      db.batch([
        db.delete(blockdevLuns).where(eq(blockdevLuns.targetIqn, iqn)),
        db.delete(blockdevTargets).where(eq(blockdevTargets.iqn, iqn)),
      ]),
    listLuns: () => db.select().from(blockdevLuns),
    insertLun: (row: LunRow) => db.insert(blockdevLuns).values(row),
    deleteLun: (volumeId: string) => db.delete(blockdevLuns).where(eq(blockdevLuns.volumeId, volumeId)),
  };
}
