/**
 * Bearer-token authentication for `/api/v1` (tokens are looked up by hash in `api_tokens`).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Db } from "../../db/client.ts";
import { type ApiTokenInfo, findApiToken } from "../../db/repos/api_tokens.ts";
import { AppError } from "../../errors.ts";

export type ApiEnv = { Variables: { token: ApiTokenInfo } };

export function bearerAuth(db: Db): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) {
      c.header("www-authenticate", 'Bearer realm="s3plugin"');
      throw new AppError("Unauthorized", "Missing bearer token (Authorization: Bearer <token>)");
    }
    const token = await findApiToken(db, m[1]!);
    if (!token) {
      c.header("www-authenticate", 'Bearer realm="s3plugin", error="invalid_token"');
      throw new AppError("Unauthorized", "Invalid API token");
    }
    c.set("token", token);
    await next();
  };
}
