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

/**
 * How long one request to a database server may take. A server gone silent (stopped, or cut off by the network)
 * accepts or drops the request and never answers; without a bound, every query waited forever, and with them the
 * S3 requests, the health check and the lease renewal that would have stopped the appliance.
 */
const DB_REQUEST_TIMEOUT_MS = 10_000;

/** `fetch` for the HTTP requests of a database server's client: fails after `DB_REQUEST_TIMEOUT_MS`. */
async function fetchWithTimeout(request: Request): Promise<Response> {
  try {
    return await fetch(request, { signal: AbortSignal.timeout(DB_REQUEST_TIMEOUT_MS) });
  } catch (err) {
    if ((err as Error).name !== "TimeoutError") throw err;
    throw new Error(`The database did not answer within ${DB_REQUEST_TIMEOUT_MS / 1000} s`);
  }
}

/**
 * `url` is `file:/path/to.db`, `:memory:`, `libsql://…`, `http(s)://…` (sqld; each request bounded by
 * `DB_REQUEST_TIMEOUT_MS`) or `ws(s)://…` (sqld over one WebSocket, without that bound).
 */
export function createDb(url: string, options: { authToken?: string } = {}): DbHandle {
  const client = createClient({
    url,
    ...(options.authToken ? { authToken: options.authToken } : {}),
    fetch: fetchWithTimeout,
  });
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

/** How long `databaseFault` waits for an answer: a health check should answer sooner than a request times out. */
const FAULT_CHECK_MS = 3_000;

/** Why the database does not answer a trivial query now (or within `FAULT_CHECK_MS`); undefined when it does. */
export async function databaseFault(db: Db): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`The database did not answer within ${FAULT_CHECK_MS / 1000} s`)),
      FAULT_CHECK_MS,
    );
  });
  // One promise: drizzle's query runs again for every `then` called on it.
  const query = Promise.resolve(db.run(sql`SELECT 1`));
  query.catch(() => {}); // still running when the deadline comes first
  try {
    await Promise.race([query, silent]);
    return undefined;
  } catch (err) {
    return err ?? new Error("The database failed without saying why");
  } finally {
    clearTimeout(timer);
  }
}
