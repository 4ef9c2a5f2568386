/**
 * Health and configuration of the appliance.
 *
 * @module
 */
import { basename } from "node:path";
import { backendCapacities } from "../../backend_capacity.ts";
import { databaseFault } from "../../db/client.ts";
import type { ApiDeps } from "../deps.ts";
import { type ApiRoute, defineRoute, errors } from "../route.ts";
import type { JsonSchema } from "../schema.ts";

const HEALTH_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    status: { type: "string", enum: ["ok", "starting", "unavailable"] },
    database: { type: "boolean" },
    services: {
      type: "array",
      items: {
        type: "object",
        properties: { name: { type: "string" }, ready: { type: "boolean" } },
        required: ["name", "ready"],
      },
    },
    storage: {
      type: "array",
      description: "Size and free space of each backend that has them (fs); writes of objects are refused with 507 " +
        "once availableBytes would fall below minFreeBytes",
      items: {
        type: "object",
        properties: {
          backend: { type: "string" },
          totalBytes: { type: "integer" },
          availableBytes: { type: "integer" },
          minFreeBytes: { type: "integer" },
        },
        required: ["backend", "totalBytes", "availableBytes", "minFreeBytes"],
      },
    },
  },
  required: ["status", "database", "services", "storage"],
};

export function systemRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    defineRoute({
      method: "GET",
      path: "/health",
      tag: "system",
      public: true,
      summary: "Readiness: 200 once the database answers and every enabled service runs",
      responses: {
        200: { description: "Ready", schema: HEALTH_SCHEMA },
        503: { description: "Starting or unavailable", schema: HEALTH_SCHEMA },
      },
      handle: async (c) => {
        const services = deps.serviceStatus();
        const fault = await databaseFault(deps.db);
        if (fault !== undefined) deps.logger.warn("health: database check failed", { error: String(fault) });
        const database = fault === undefined;
        const ready = services.every((s) => s.ready);
        const status = !database ? "unavailable" : ready ? "ok" : "starting";
        const storage = backendCapacities(deps.backends, deps.logger);
        return c.json({ status, database, services, storage }, status === "ok" ? 200 : 503);
      },
    }),
    defineRoute({
      method: "GET",
      path: "/config",
      tag: "system",
      summary: "The running configuration (never contains secrets)",
      responses: {
        200: { description: "Configuration", schema: { type: "object", properties: {}, additionalProperties: true } },
      },
      handle: async (c) => c.json(await deps.publicConfig()),
    }),
    defineRoute({
      method: "GET",
      path: "/database/backup",
      tag: "system",
      summary: "A consistent copy of the database file, taken now while the appliance goes on working (SQLite)",
      responses: {
        200: { description: "The copy (application/vnd.sqlite3)" },
        ...errors(409),
      },
      handle: async (c) => {
        const path = await deps.snapshotDatabase();
        const file = await Deno.open(path);
        // Gone from the directory at once; the open file still reads, whether or not the client takes it all.
        await Deno.remove(path);
        const { size } = await file.stat();
        return c.body(file.readable, 200, {
          "content-type": "application/vnd.sqlite3",
          "content-length": String(size),
          "content-disposition": `attachment; filename="${basename(path)}"`,
        });
      },
    }),
  ];
}
