/**
 * S3 access keys and their grants. Secrets are sealed at rest; the gateway's credential lookups are cached
 * briefly (and dropped at once when this process changes a key), so SigV4 checks cost no query per request, and
 * a key looked up before goes on signing while the database does not answer (`read_cache.ts`).
 *
 * @module
 */
import { eq } from "drizzle-orm";
import type { AccessKeyAdmin, AccessKeyInfo } from "../../api/mod.ts";
import type { Clock } from "../../clock.ts";
import type { Credential, CredentialStore, Grant } from "../../gateway/mod.ts";
import { databaseUnavailable, type Db } from "../client.ts";
import { createReadCache } from "../read_cache.ts";
import { accessGrants, accessKeys } from "../schema.ts";
import type { SecretSealer } from "./backends.ts";

/** How long a looked-up credential is reused (changes made through another appliance show up after this). */
const CACHE_MS = 5_000;
/** Bounds the cache against floods of made-up access key ids. */
const CACHE_MAX = 10_000;
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function randomString(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  // Both alphabets have a power-of-two size, so the modulo is unbiased.
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

export interface AccessKeyStore extends AccessKeyAdmin {
  /** The gateway's view: secrets and grants by access key id. */
  credentials: CredentialStore;
}

export function createAccessKeyStore(deps: { db: Db; sealer: SecretSealer; clock: Clock }): AccessKeyStore {
  const { db, sealer, clock } = deps;
  const cache = createReadCache<Credential | null>({
    read: async (accessKeyId) => {
      const [row] = await db.select().from(accessKeys).where(eq(accessKeys.accessKeyId, accessKeyId));
      return row
        ? { secretAccessKey: await sealer.open(row.secret), admin: row.admin, grants: await grantsOf(accessKeyId) }
        : null;
    },
    clock,
    ttlMs: CACHE_MS,
    maxEntries: CACHE_MAX,
    unavailable: (accessKeyId, cause) => databaseUnavailable(`the access key ${accessKeyId}`, cause),
  });

  async function grantsOf(accessKeyId: string): Promise<Grant[]> {
    const rows = await db.select().from(accessGrants).where(eq(accessGrants.accessKeyId, accessKeyId));
    return rows.map((r) => ({ bucket: r.bucket, prefix: r.prefix, permission: r.permission }));
  }

  async function info(row: typeof accessKeys.$inferSelect): Promise<AccessKeyInfo> {
    return {
      accessKeyId: row.accessKeyId,
      description: row.description,
      admin: row.admin,
      createdAt: row.createdAt,
      grants: await grantsOf(row.accessKeyId),
    };
  }

  // Grants are deleted by name in the batch (one transaction) that drops them, not by cascade: see db/schema.ts.
  const dropGrants = (accessKeyId: string) => db.delete(accessGrants).where(eq(accessGrants.accessKeyId, accessKeyId));

  /** The statements that store `grants` as the key's only grants (run them in one batch with the key's others). */
  function grantWrites(accessKeyId: string, grants: Grant[]) {
    const unique = new Map(grants.map((g) => [`${g.bucket}\0${g.prefix}\0${g.permission}`, g]));
    return [
      dropGrants(accessKeyId),
      ...unique.size > 0
        ? [db.insert(accessGrants).values([...unique.values()].map((g) => ({ accessKeyId, ...g })))]
        : [],
    ] as const;
  }

  return {
    async create(input) {
      const accessKeyId = "AK" + randomString(ID_ALPHABET, 18);
      const secretAccessKey = randomString(SECRET_ALPHABET, 40);
      const row = {
        accessKeyId,
        secret: await sealer.seal(secretAccessKey),
        description: input.description,
        admin: input.admin,
        createdAt: clock.now(),
      };
      await db.batch([db.insert(accessKeys).values(row), ...grantWrites(accessKeyId, input.grants)]);
      cache.delete(accessKeyId);
      return { info: await info(row), secretAccessKey };
    },
    async list() {
      const rows = await db.select().from(accessKeys).orderBy(accessKeys.createdAt, accessKeys.accessKeyId);
      return await Promise.all(rows.map(info));
    },
    async get(accessKeyId) {
      const rows = await db.select().from(accessKeys).where(eq(accessKeys.accessKeyId, accessKeyId));
      return rows[0] && await info(rows[0]);
    },
    async delete(accessKeyId) {
      const [, rows] = await db.batch([
        dropGrants(accessKeyId),
        db.delete(accessKeys).where(eq(accessKeys.accessKeyId, accessKeyId)).returning({ id: accessKeys.accessKeyId }),
      ]);
      cache.delete(accessKeyId);
      return rows.length > 0;
    },
    async setGrants(accessKeyId, grants) {
      await db.batch(grantWrites(accessKeyId, grants));
      cache.delete(accessKeyId);
    },
    credentials: {
      lookup: (accessKeyId) => cache.get(accessKeyId),
    },
  };
}
