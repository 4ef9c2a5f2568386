/**
 * Which backend serves each gateway bucket (`buckets` table).
 *
 * @module
 */
import { eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { buckets } from "../schema.ts";

export interface BucketRow {
  name: string;
  backendId: string;
  createdAt: Date;
  /** The bucket's CORS rules as JSON; null when none are set. */
  cors?: string | null;
  /** The bucket's lifecycle rules as JSON; null when none are set. */
  lifecycle?: string | null;
  /** The bucket's tags as JSON; null when none are set. */
  tags?: string | null;
}

export async function listBucketRows(db: Db): Promise<BucketRow[]> {
  return await db.select().from(buckets).orderBy(buckets.name);
}

export async function findBucketRow(db: Db, name: string): Promise<BucketRow | undefined> {
  const rows = await db.select().from(buckets).where(eq(buckets.name, name));
  return rows[0];
}

/** Inserts the row; false when the bucket name is already taken. */
export async function insertBucketRow(db: Db, row: BucketRow): Promise<boolean> {
  const rows = await db.insert(buckets).values(row).onConflictDoNothing().returning({ name: buckets.name });
  return rows.length > 0;
}

/** Sets one JSON setting of the bucket (null: none); false when there is no such bucket. */
export async function updateBucketSetting(
  db: Db,
  name: string,
  setting: "cors" | "lifecycle" | "tags",
  json: string | null,
): Promise<boolean> {
  const rows = await db.update(buckets).set({ [setting]: json }).where(eq(buckets.name, name)).returning({
    name: buckets.name,
  });
  return rows.length > 0;
}

export async function deleteBucketRow(db: Db, name: string): Promise<void> {
  await db.delete(buckets).where(eq(buckets.name, name));
}
