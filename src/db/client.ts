/**
 * Open the database: a libsql file (embedded default) or a remote libsql/sqld URL.
 *
 * @module
 */
import { type Client, createClient } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
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
