/**
 * One entry of the API's route table: how it is served (method, path, auth, body schema, handler) and how
 * it is documented (summary, responses). `mod.ts` registers the table; `openapi.ts` documents the same table.
 *
 * @module
 */
import type { Context } from "hono";
import type { ApiEnv } from "./middleware/auth.ts";
import type { JsonSchema } from "./schema.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface ApiRoute<B = unknown> {
  method: HttpMethod;
  /** Below `/api/v1`, Hono syntax (`/backends/:id`). */
  path: string;
  summary: string;
  tag: string;
  /** Served without a bearer token. */
  public?: boolean;
  /** JSON request body, validated before `handle` runs. */
  body?: JsonSchema;
  responses: Record<number, { description: string; schema?: JsonSchema }>;
  handle(c: Context<ApiEnv>, body: B): Response | Promise<Response>;
}

/** Types `handle`'s body from the route's declared schema at the definition site. */
export function defineRoute<B = undefined>(route: ApiRoute<B>): ApiRoute {
  return route as ApiRoute;
}

/** Problem JSON (RFC 9457), the body of every error response. */
export const PROBLEM_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", description: "Stable machine-readable error code" },
    details: { type: "object", properties: {}, additionalProperties: true },
  },
  required: ["title", "status", "detail", "code"],
};

/** Shorthand for the documented error responses of a route. */
export function errors(...statuses: number[]): Record<number, { description: string; schema: JsonSchema }> {
  const text: Record<number, string> = {
    400: "Invalid request",
    401: "Missing or invalid bearer token",
    404: "Not found",
    409: "Conflict with the current state",
    503: "Not ready or unavailable",
  };
  return Object.fromEntries(statuses.map((s) => [s, { description: text[s] ?? "Error", schema: PROBLEM_SCHEMA }]));
}
