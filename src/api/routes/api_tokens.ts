/**
 * Management API tokens: list, create (the token is returned once), delete (never the last one).
 *
 * @module
 */
import { createApiToken, deleteApiToken, listApiTokens } from "../../db/repos/api_tokens.ts";
import { AppError } from "../../errors.ts";
import type { ApiDeps } from "../deps.ts";
import { type ApiRoute, defineRoute, errors } from "../route.ts";
import type { JsonSchema } from "../schema.ts";

const TOKEN_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    description: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
  },
  required: ["id", "description", "createdAt"],
};

const present = (t: { id: string; description: string; createdAt: Date }) => ({
  ...t,
  createdAt: t.createdAt.toISOString(),
});

export function apiTokenRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: "GET",
      path: "/api-tokens",
      tag: "api-tokens",
      summary: "List API tokens (only ids and descriptions; tokens are stored hashed)",
      responses: { 200: { description: "Tokens", schema: { type: "array", items: TOKEN_SCHEMA } } },
      handle: async (c) => c.json((await listApiTokens(deps.db)).map(present)),
    }),
    defineRoute<{ description?: string }>({
      method: "POST",
      path: "/api-tokens",
      tag: "api-tokens",
      summary: "Create an API token; the token is in this response only",
      body: { type: "object", properties: { description: { type: "string", maxLength: 200 } } },
      responses: {
        201: {
          description: "Created",
          schema: {
            type: "object",
            properties: {
              ...(TOKEN_SCHEMA as { properties: Record<string, JsonSchema> }).properties,
              token: { type: "string" },
            },
            required: ["id", "description", "createdAt", "token"],
          },
        },
        ...errors(400),
      },
      handle: async (c, body) => {
        const { info, token } = await createApiToken(deps.db, deps.clock, body.description ?? "");
        c.header("cache-control", "no-store");
        return c.json({ ...present(info), token }, 201);
      },
    }),
    defineRoute({
      method: "DELETE",
      path: "/api-tokens/:id",
      tag: "api-tokens",
      summary: "Revoke an API token (the last one cannot be revoked)",
      responses: { 204: { description: "Revoked" }, ...errors(404, 409) },
      handle: async (c) => {
        const id = c.req.param("id")!;
        const all = await listApiTokens(deps.db);
        if (!all.some((t) => t.id === id)) throw new AppError("NotFound", `API token "${id}" does not exist`);
        if (all.length === 1) throw new AppError("Conflict", "Cannot revoke the last API token");
        await deleteApiToken(deps.db, id);
        return c.body(null, 204);
      },
    }),
  ];
}
