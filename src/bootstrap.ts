/**
 * First start: the embedded `fs` backend "local", an admin access key and API token (written once to
 * `<data-dir>/admin-credentials.json`, mode 0600) and the default bucket. Every step is idempotent, and the
 * `initialized` setting is written last, so a start interrupted half-way simply redoes the missing steps.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { AccessKeyAdmin } from "./api/mod.ts";
import type { BucketRouter } from "./bucket_router.ts";
import type { Clock } from "./clock.ts";
import type { Db } from "./db/client.ts";
import { createApiToken } from "./db/repos/api_tokens.ts";
import { findBackend, insertBackend, type SecretSealer } from "./db/repos/backends.ts";
import { findBucketRow, insertBucketRow } from "./db/repos/buckets.ts";
import { getSetting, setSetting, SETTING } from "./db/repos/settings.ts";
import { isAppError } from "./errors.ts";

export const DEFAULT_BACKEND_ID = "local";
export const DEFAULT_BUCKET = "s3plugin";
export const CREDENTIALS_FILE = "admin-credentials.json";
const INITIALIZED = "initialized";

export interface AdminCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  apiToken: string;
  bucket: string;
}

/** Writes `text` to `path` atomically with mode 0600 (temp file + rename). */
export async function writeSecretFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

/** Registers the embedded `fs` backend on a fresh database and makes it the default. */
export async function ensureDefaultBackend(
  deps: { db: Db; sealer: SecretSealer; clock: Clock; dataDir: string },
): Promise<void> {
  const { db, sealer } = deps;
  if (await getSetting(db, INITIALIZED)) return;
  if (!await findBackend(db, sealer, DEFAULT_BACKEND_ID)) {
    await insertBackend(db, sealer, {
      id: DEFAULT_BACKEND_ID,
      kind: "fs",
      config: { root: resolve(join(deps.dataDir, "objects")) },
      createdAt: deps.clock.now(),
    });
  }
  if (!await getSetting(db, SETTING.defaultBackend)) await setSetting(db, SETTING.defaultBackend, DEFAULT_BACKEND_ID);
}

/**
 * Creates the admin identity and the default bucket when the database is new; returns the credentials
 * (already written to the data dir) or undefined when the appliance was initialized before.
 */
export async function firstStart(deps: {
  db: Db;
  clock: Clock;
  dataDir: string;
  accessKeys: AccessKeyAdmin;
  buckets: BucketRouter;
}): Promise<AdminCredentials | undefined> {
  const { db } = deps;
  if (await getSetting(db, INITIALIZED)) return undefined;
  const key = await deps.accessKeys.create({ description: "admin (created at first start)", admin: true, grants: [] });
  const token = await createApiToken(db, deps.clock, "admin (created at first start)");
  if (!await findBucketRow(db, DEFAULT_BUCKET)) {
    const backendId = (await getSetting(db, SETTING.defaultBackend))!;
    try {
      await deps.buckets.createBucketOn(DEFAULT_BUCKET, backendId);
    } catch (err) {
      // A data dir whose database was lost still holds the bucket: take it over instead of failing to start.
      if (!isAppError(err, "BucketAlreadyExists")) throw err;
      await insertBucketRow(db, { name: DEFAULT_BUCKET, backendId, createdAt: deps.clock.now() });
    }
  }
  await setSetting(db, SETTING.defaultBucket, DEFAULT_BUCKET);
  const credentials: AdminCredentials = {
    accessKeyId: key.info.accessKeyId,
    secretAccessKey: key.secretAccessKey,
    apiToken: token.token,
    bucket: DEFAULT_BUCKET,
  };
  await writeSecretFile(join(deps.dataDir, CREDENTIALS_FILE), JSON.stringify(credentials, null, 2) + "\n");
  await setSetting(db, INITIALIZED, deps.clock.now().toISOString());
  return credentials;
}
