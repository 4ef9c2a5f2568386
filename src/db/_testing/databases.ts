/**
 * The two kinds of database the appliance opens, for tests that run on each: a libsql file (the embedded default)
 * and a real sqld (libsql server) over HTTP with a token, whose SQL parser is not SQLite's own.
 *
 * @module
 */
import { createDb, type DbHandle } from "../client.ts";
import { migrateDb } from "../migrate.ts";
import { startSqld } from "./sqld.ts";

export const DATABASE_KINDS = ["file", "sqld"] as const;
export type DatabaseKind = typeof DATABASE_KINDS[number];

export interface TestDatabase {
  url: string;
  authToken?: string;
  /** A new connection to the database (the caller closes it). */
  connect(): DbHandle;
  /** Stops the server, if any, and removes the database. */
  close(): Promise<void>;
}

/** A new, empty database of `kind`; migrated when `migrate` (a connection is opened and closed for it). */
export async function openTestDatabase(kind: DatabaseKind, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  let db: TestDatabase;
  if (kind === "file") {
    const dir = await Deno.makeTempDir({ prefix: "test-db-" });
    const url = `file:${dir}/s3plugin.db`;
    db = { url, connect: () => createDb(url), close: () => Deno.remove(dir, { recursive: true }) };
  } else {
    const server = await startSqld({ auth: true });
    const auth = { authToken: server.authToken! };
    db = { url: server.url, ...auth, connect: () => createDb(server.url, auth), close: server.close };
  }
  if (options.migrate) {
    const handle = db.connect();
    try {
      await migrateDb(handle);
    } finally {
      handle.close();
    }
  }
  return db;
}
