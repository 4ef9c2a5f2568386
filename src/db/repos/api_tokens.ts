/**
 * Management API tokens. Only a SHA-256 of each token is stored; the token itself is shown once at creation.
 *
 * @module
 */
import { eq } from "drizzle-orm";
import type { Clock } from "../../clock.ts";
import type { Db } from "../client.ts";
import { apiTokens } from "../schema.ts";

export interface ApiTokenInfo {
  id: string;
  description: string;
  createdAt: Date;
}

/** SHA-256 hex of a token, as stored in `api_tokens.token_hash`. */
export async function hashApiToken(token: string): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))).toHex();
}

/** Creates a token; returns its id and the plaintext (which is not stored). */
export async function createApiToken(
  db: Db,
  clock: Clock,
  description: string,
): Promise<{ info: ApiTokenInfo; token: string }> {
  const id = "tok_" + crypto.getRandomValues(new Uint8Array(6)).toHex();
  const token = "s3p_" + crypto.getRandomValues(new Uint8Array(24)).toHex();
  const info = { id, description, createdAt: clock.now() };
  await db.insert(apiTokens).values({ ...info, tokenHash: await hashApiToken(token) });
  return { info, token };
}

/** The token's record when `token` is valid, otherwise undefined. */
export async function findApiToken(db: Db, token: string): Promise<ApiTokenInfo | undefined> {
  const rows = await db.select({ id: apiTokens.id, description: apiTokens.description, createdAt: apiTokens.createdAt })
    .from(apiTokens).where(eq(apiTokens.tokenHash, await hashApiToken(token)));
  return rows[0];
}

export async function listApiTokens(db: Db): Promise<ApiTokenInfo[]> {
  return await db.select({ id: apiTokens.id, description: apiTokens.description, createdAt: apiTokens.createdAt })
    .from(apiTokens).orderBy(apiTokens.createdAt);
}

/** True when a token was deleted. */
export async function deleteApiToken(db: Db, id: string): Promise<boolean> {
  const rows = await db.delete(apiTokens).where(eq(apiTokens.id, id)).returning({ id: apiTokens.id });
  return rows.length > 0;
}
