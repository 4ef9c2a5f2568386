/**
 * Open the database: a libsql file (embedded default) or a remote libsql/sqld URL.
 *
 * @module
 */
import { type Client, createClient } from "@libsql/client";
import { sql } from "drizzle-orm";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { AppError } from "../errors.ts";
import * as schema from "./schema.ts";

export type Db = LibSQLDatabase<typeof schema>;

export interface DbHandle {
  db: Db;
  client: Client;
  close(): void;
}

/** `url` is `file:/path/to.db`, `:memory:`, `libsql://…` or `http(s)://…` (sqld). */
export function createDb(url: string, options: { authToken?: string } = {}): DbHandle {
  const client = createClient(options.authToken ? { url, authToken: options.authToken } : { url });
  const db = drizzle(client, { schema });
  return { db, client, close: () => client.close() };
}

/**
 * The error of a read the database did not answer, where nothing read before can stand in for it. Reads that keep a
 * copy fall back on it instead: the appliance holding the database's lease is the only one writing it and keeps its
 * copies in step with its own writes, and it stops once it has not renewed its lease for 30 s.
 */
export function databaseUnavailable(what: string, cause: unknown): AppError {
  return new AppError("Unavailable", `Cannot read ${what}: the database does not answer; try again`, { cause });
}

/** Why the database does not answer a trivial query now; undefined when it does. */
export async function databaseFault(db: Db): Promise<unknown> {
  try {
    await db.run(sql`SELECT 1`);
    return undefined;
  } catch (err) {
    return err ?? new Error("The database failed without saying why");
  }
}
