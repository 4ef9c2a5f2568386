/**
 * Key/value settings of the appliance (`settings` table).
 *
 * @module
 */
import { eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { settings } from "../schema.ts";

/** Setting names used by the appliance core. */
export const SETTING = {
  defaultBucket: "default_bucket",
  defaultBackend: "default_backend",
  /** A known text sealed with the data dir's secret.key: a start checks the key against it. */
  secretKeyCheck: "secret_key_check",
} as const;

export async function getSetting(db: Db, key: string): Promise<string | undefined> {
  const rows = await db.select().from(settings).where(eq(settings.key, key));
  return rows[0]?.value;
}

export async function setSetting(db: Db, key: string, value: string): Promise<void> {
  await db.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value } });
}
