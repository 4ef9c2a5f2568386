/**
 * Storage backend records (`backends` table). Secret fields of a backend's config are sealed before they
 * reach the database and opened only when the backend is built.
 *
 * @module
 */
import { count, eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { backends, blockdevVolumes, buckets } from "../schema.ts";

export type BackendKind = "fs" | "s3";

export interface BackendRecord {
  id: string;
  kind: BackendKind;
  /** Plain config, secrets included (never returned by the API). */
  config: Record<string, unknown>;
  createdAt: Date;
}

/** Encrypts/decrypts secret strings at rest. */
export interface SecretSealer {
  seal(plain: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

/** Config fields that hold secrets: sealed at rest, redacted in API output. */
export const SECRET_FIELDS = ["secretAccessKey", "sessionToken"] as const;

async function mapSecrets(
  config: Record<string, unknown>,
  fn: (value: string) => Promise<string>,
): Promise<Record<string, unknown>> {
  const out = { ...config };
  for (const field of SECRET_FIELDS) {
    const value = out[field];
    if (typeof value === "string") out[field] = await fn(value);
  }
  return out;
}

async function toRecord(row: typeof backends.$inferSelect, sealer: SecretSealer): Promise<BackendRecord> {
  const config = await mapSecrets(JSON.parse(row.config), (v) => sealer.open(v));
  return { id: row.id, kind: row.kind, config, createdAt: row.createdAt };
}

export async function listBackends(db: Db, sealer: SecretSealer): Promise<BackendRecord[]> {
  const rows = await db.select().from(backends).orderBy(backends.id);
  return await Promise.all(rows.map((r) => toRecord(r, sealer)));
}

export async function findBackend(db: Db, sealer: SecretSealer, id: string): Promise<BackendRecord | undefined> {
  const rows = await db.select().from(backends).where(eq(backends.id, id));
  return rows[0] && await toRecord(rows[0], sealer);
}

/** Inserts a backend; false when the id is taken. */
export async function insertBackend(db: Db, sealer: SecretSealer, record: BackendRecord): Promise<boolean> {
  const config = JSON.stringify(await mapSecrets(record.config, (v) => sealer.seal(v)));
  const rows = await db.insert(backends).values({ ...record, config }).onConflictDoNothing()
    .returning({ id: backends.id });
  return rows.length > 0;
}

export async function updateBackendConfig(
  db: Db,
  sealer: SecretSealer,
  id: string,
  config: Record<string, unknown>,
): Promise<void> {
  const sealed = JSON.stringify(await mapSecrets(config, (v) => sealer.seal(v)));
  await db.update(backends).set({ config: sealed }).where(eq(backends.id, id));
}

/** What still lives on backend `id`, e.g. `["2 bucket(s)", "1 block device volume(s)"]`; empty when nothing does. */
export async function backendUsers(db: Db, id: string): Promise<string[]> {
  const [[onBuckets], [onVolumes]] = await db.batch([
    db.select({ n: count() }).from(buckets).where(eq(buckets.backendId, id)),
    db.select({ n: count() }).from(blockdevVolumes).where(eq(blockdevVolumes.backendId, id)),
  ]);
  return [
    ...onBuckets!.n > 0 ? [`${onBuckets!.n} bucket(s)`] : [],
    ...onVolumes!.n > 0 ? [`${onVolumes!.n} block device volume(s)`] : [],
  ];
}

export async function deleteBackendRow(db: Db, id: string): Promise<void> {
  await db.delete(backends).where(eq(backends.id, id));
}

/** A copy of the config with secret fields replaced by `"***"`. */
export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  for (const field of SECRET_FIELDS) if (field in out) out[field] = "***";
  return out;
}
