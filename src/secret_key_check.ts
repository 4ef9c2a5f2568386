/**
 * The data dir's secret.key must open the secrets in the database before anything uses them. A database restored
 * without its key, or beside another data dir's, would otherwise start with a new key and answer every signed
 * request with an internal error, since no access key's secret opens any more. The database keeps one known text
 * sealed with the key; a start checks the key against it (on a database from before the check, against an access
 * key's secret) before it opens anything that holds secrets.
 *
 * @module
 */
import { join } from "node:path";
import type { Db } from "./db/client.ts";
import type { SecretSealer } from "./db/repos/backends.ts";
import { getSetting, setSetting, SETTING } from "./db/repos/settings.ts";
import { accessKeys } from "./db/schema.ts";
import { AppError } from "./errors.ts";
import { SECRET_KEY_FILE } from "./secret_box.ts";

const CHECK_TEXT = "s3plugin secret.key check";

/** Opens the data dir's sealer with `open` once the key is known to fit the database; refuses otherwise. */
export async function openCheckedSealer(
  db: Db,
  dataDir: string,
  open: (dataDir: string, options: { create: boolean }) => Promise<SecretSealer>,
): Promise<SecretSealer> {
  const check = await getSetting(db, SETTING.secretKeyCheck);
  const sample = check ?? (await db.select({ secret: accessKeys.secret }).from(accessKeys).limit(1))[0]?.secret;
  const keyFile = join(dataDir, SECRET_KEY_FILE);
  const restore = "restore it from the backup of the data dir the database belongs to, then start again";
  // With secrets in the database a missing key is an error: a new key would open none of them.
  const sealer = await open(dataDir, { create: sample === undefined }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new AppError(
      "InvalidArgument",
      `The database's secrets are sealed with a ${keyFile} that is missing; ${restore}`,
    );
  });
  if (sample !== undefined) {
    try {
      await sealer.open(sample);
    } catch (err) {
      throw new AppError(
        "InvalidArgument",
        `${keyFile} is not the key the database's secrets are sealed with; ${restore}`,
        { cause: err },
      );
    }
  }
  if (check === undefined) await setSetting(db, SETTING.secretKeyCheck, await sealer.seal(CHECK_TEXT));
  return sealer;
}
