/**
 * The management API: one Hono app serving `/api/v1` (bearer-token auth, JSON problem errors), each running
 * service's routes at `/api/v1/<name>`, the OpenAPI document and the unauthenticated Prometheus `/metrics`.
 *
 * @example
 * ```ts
 * const app = createApi(deps);
 * const res = await app.request("/api/v1/health");
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import { AppError } from "../errors.ts";
import type { ApiDeps } from "./deps.ts";
import { type ApiEnv, bearerAuth } from "./middleware/auth.ts";
import { createErrorHandler } from "./middleware/error_handler.ts";
import { API_PREFIX, buildOpenApi } from "./openapi.ts";
import { defineRoute } from "./route.ts";
import type { ApiRoute } from "./route.ts";
import { accessKeyRoutes } from "./routes/access_keys.ts";
import { apiTokenRoutes } from "./routes/api_tokens.ts";
import { backendRoutes } from "./routes/backends.ts";
import { bucketRoutes } from "./routes/buckets.ts";
import { systemRoutes } from "./routes/system.ts";
import { validate } from "./schema.ts";
import { forwardedRequest } from "../forwarded_request.ts";

export type { ApiDeps, ServiceStatus } from "./deps.ts";
export type { AccessKeyAdmin, AccessKeyInfo, Grant } from "./routes/access_keys.ts";

export const API_VERSION = "1.0.0";
/** JSON request bodies of the management API are small; larger ones are refused before parsing. */
const MAX_JSON_BODY = 1024 * 1024;

async function readJson(req: Request): Promise<unknown> {
  const length = Number(req.headers.get("content-length") ?? "0");
  if (length > MAX_JSON_BODY) throw new AppError("EntityTooLarge", `Request body exceeds ${MAX_JSON_BODY} bytes`);
  const text = await req.text();
  if (text.length > MAX_JSON_BODY) throw new AppError("EntityTooLarge", `Request body exceeds ${MAX_JSON_BODY} bytes`);
  if (text.trim() === "") throw new AppError("InvalidArgument", "Request body must be JSON, got an empty body");
  return JSON.parse(text);
}

export function createApi(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const auth = bearerAuth(deps.db);
  app.onError(createErrorHandler(deps.logger, deps.db));
  app.notFound((c) => {
    throw new AppError("NotFound", `No route for ${c.req.method} ${c.req.path}`);
  });

  const routes: ApiRoute[] = [
    ...systemRoutes(deps),
    ...backendRoutes(deps),
    ...bucketRoutes(deps),
    ...accessKeyRoutes(deps),
    ...apiTokenRoutes(deps),
  ];
  routes.push(defineRoute({
    method: "GET",
    path: "/openapi.json",
    tag: "system",
    public: true,
    summary: "This OpenAPI 3.1 document",
    responses: { 200: { description: "OpenAPI document" } },
    handle: (c) => c.json(buildOpenApi(routes, deps.services(), API_VERSION)),
  }));

  for (const route of routes) {
    const path = API_PREFIX + route.path;
    if (!route.public) app.on(route.method, path, auth);
    app.on(route.method, path, async (c) => {
      const body = route.body ? validate(route.body, await readJson(c.req.raw)) : undefined;
      return await route.handle(c, body);
    });
  }

  app.all(`${API_PREFIX}/:service/*`, auth, (c) => {
    const name = c.req.param("service");
    const service = deps.services().find((s) => s.name === name && s.routes);
    if (!service?.routes) throw new AppError("NotFound", `No route for ${c.req.method} ${c.req.path}`);
    const url = new URL(c.req.url);
    url.pathname = url.pathname.slice(`${API_PREFIX}/${name}`.length) || "/";
    return service.routes.fetch(forwardedRequest(url, c.req.raw));
  });

  app.get("/metrics", (c) => c.text(deps.metrics(), 200, { "content-type": "text/plain; version=0.0.4" }));
  return app;
}
