/**
 * The OpenAPI 3.1 document of `/api/v1`, generated from the same route table that serves the API, plus the
 * routes each running service mounts under `/api/v1/<name>`.
 *
 * @module
 */
import type { RunningService } from "../service.ts";
import type { ApiRoute } from "./route.ts";
import { PROBLEM_SCHEMA } from "./route.ts";

export const API_PREFIX = "/api/v1";

type Operation = Record<string, unknown>;

/** `/backends/:id` → `/backends/{id}` and its path parameter names. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  }).replace(/\/\*$/, "/{path}");
  if (path.endsWith("/*")) params.push("path");
  return { path: converted, params };
}

function parameters(params: string[]) {
  return params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }));
}

function operation(route: ApiRoute, params: string[]): Operation {
  const op: Operation = {
    summary: route.summary,
    tags: [route.tag],
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[/:]+([a-z])/g, (_m, ch) => ch.toUpperCase())}`,
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, r]) => [
        status,
        r.schema ? { description: r.description, content: { "application/json": { schema: r.schema } } } : {
          description: r.description,
        },
      ]),
    ),
  };
  if (params.length > 0) op.parameters = parameters(params);
  if (route.body) op.requestBody = { required: true, content: { "application/json": { schema: route.body } } };
  if (route.public) op.security = [];
  return op;
}

export function buildOpenApi(routes: ApiRoute[], services: RunningService[], version: string) {
  const paths: Record<string, Record<string, Operation>> = {};
  const add = (path: string, method: string, op: Operation) => {
    (paths[path] ??= {})[method] = op;
  };
  for (const route of routes) {
    const p = openApiPath(route.path);
    add(API_PREFIX + p.path, route.method.toLowerCase(), operation(route, p.params));
  }
  for (const service of services) {
    for (const r of service.routes?.routes ?? []) {
      if (r.method === "ALL") continue;
      const p = openApiPath(r.path);
      add(`${API_PREFIX}/${service.name}${p.path === "/" ? "" : p.path}`, r.method.toLowerCase(), {
        summary: `${service.name}: ${r.method} ${r.path}`,
        tags: [service.name],
        ...(p.params.length > 0 ? { parameters: parameters(p.params) } : {}),
        responses: { 200: { description: "Success" }, default: { description: "Error (problem JSON)" } },
      });
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: "S3Plugin appliance management API", version },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { Problem: PROBLEM_SCHEMA },
    },
    paths,
  };
}
