/**
 * Storage backends: list, read, create, replace config, delete, test connection, make default.
 *
 * @module
 */
import type { Context } from "hono";
import {
  type BackendKind,
  type BackendRecord,
  backendUsers,
  deleteBackendRow,
  findBackend,
  insertBackend,
  listBackends,
  redactConfig,
  updateBackendConfig,
} from "../../db/repos/backends.ts";
import { getSetting, setSetting, SETTING } from "../../db/repos/settings.ts";
import { AppError } from "../../errors.ts";
import { testConnection } from "../../storage/factory.ts";
import type { ApiDeps } from "../deps.ts";
import type { ApiEnv } from "../middleware/auth.ts";
import { type ApiRoute, defineRoute, errors } from "../route.ts";
import type { JsonSchema } from "../schema.ts";

const ID_PATTERN = "^[a-z0-9][a-z0-9_-]{0,62}$";
const CONFIG_SCHEMA: JsonSchema = {
  type: "object",
  description: 'fs: {"root"}; s3: {"endpoint","region","accessKeyId","secretAccessKey",…}. Secrets are never returned.',
  properties: {},
  additionalProperties: true,
};
const BACKEND_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    kind: { type: "string", enum: ["fs", "s3"] },
    config: CONFIG_SCHEMA,
    default: { type: "boolean", description: "New S3 buckets are created on this backend" },
    createdAt: { type: "string", format: "date-time" },
  },
  required: ["id", "kind", "config", "default", "createdAt"],
};
const TEST_RESULT_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    ok: { type: "boolean" },
    latencyMs: { type: "number" },
    buckets: { type: "integer", description: "Buckets the backend lists" },
    error: { type: "string" },
  },
  required: ["ok", "latencyMs"],
};

interface CreateBody {
  id: string;
  kind: BackendKind;
  config: Record<string, unknown>;
  default?: boolean;
}

export function backendRoutes(deps: ApiDeps): ApiRoute[] {
  const { db, sealer } = deps;

  async function present(record: BackendRecord) {
    const def = await getSetting(db, SETTING.defaultBackend);
    return {
      id: record.id,
      kind: record.kind,
      config: redactConfig(record.config),
      default: record.id === def,
      createdAt: record.createdAt.toISOString(),
    };
  }

  async function load(c: Context<ApiEnv>): Promise<BackendRecord> {
    const id = c.req.param("id")!;
    const record = await findBackend(db, sealer, id);
    if (!record) throw new AppError("NotFound", `Backend "${id}" does not exist`, { details: { backend: id } });
    return record;
  }

  return [
    defineRoute({
      method: "GET",
      path: "/backends",
      tag: "backends",
      summary: "List storage backends",
      responses: { 200: { description: "Backends", schema: { type: "array", items: BACKEND_SCHEMA } } },
      handle: async (c) => c.json(await Promise.all((await listBackends(db, sealer)).map(present))),
    }),
    defineRoute({
      method: "GET",
      path: "/backends/:id",
      tag: "backends",
      summary: "Read one storage backend",
      responses: { 200: { description: "The backend", schema: BACKEND_SCHEMA }, ...errors(404) },
      handle: async (c) => c.json(await present(await load(c))),
    }),
    defineRoute<CreateBody>({
      method: "POST",
      path: "/backends",
      tag: "backends",
      summary: "Add a storage backend (its config is checked by opening it)",
      body: {
        type: "object",
        properties: {
          id: { type: "string", pattern: ID_PATTERN },
          kind: { type: "string", enum: ["fs", "s3"] },
          config: CONFIG_SCHEMA,
          default: { type: "boolean" },
        },
        required: ["id", "kind", "config"],
      },
      responses: { 201: { description: "Created", schema: BACKEND_SCHEMA }, ...errors(400, 409) },
      handle: async (c, body) => {
        const record: BackendRecord = {
          id: body.id,
          kind: body.kind,
          config: body.config,
          createdAt: deps.clock.now(),
        };
        if (deps.backends.has(body.id) || await findBackend(db, sealer, body.id)) {
          throw new AppError("Conflict", `Backend "${body.id}" already exists`, { details: { backend: body.id } });
        }
        const store = await deps.openBackend(record);
        if (!await insertBackend(db, sealer, record)) {
          await store.close();
          throw new AppError("Conflict", `Backend "${body.id}" already exists`, { details: { backend: body.id } });
        }
        await deps.backends.set(record.id, store);
        if (body.default) await setSetting(db, SETTING.defaultBackend, record.id);
        return c.json(await present(record), 201);
      },
    }),
    defineRoute<{ config: Record<string, unknown>; default?: boolean }>({
      method: "PUT",
      path: "/backends/:id",
      tag: "backends",
      summary: 'Replace a backend\'s config; "***" keeps a stored secret; optionally make it the default',
      body: {
        type: "object",
        properties: { config: CONFIG_SCHEMA, default: { type: "boolean" } },
        required: ["config"],
      },
      responses: { 200: { description: "Updated", schema: BACKEND_SCHEMA }, ...errors(400, 404) },
      handle: async (c, body) => {
        const old = await load(c);
        const config = Object.fromEntries(
          Object.entries(body.config).map(([k, v]) => [k, v === "***" && k in old.config ? old.config[k] : v]),
        );
        const record = { ...old, config };
        if (old.kind === "fs") {
          // The running store lets go of its root before the new one opens it (one store per root).
          await deps.backends.reopen(record.id, () => deps.openBackend(record), () => deps.openBackend(old));
          await updateBackendConfig(db, sealer, record.id, config);
        } else {
          const store = await deps.openBackend(record);
          await updateBackendConfig(db, sealer, record.id, config);
          await deps.backends.set(record.id, store);
        }
        if (body.default) await setSetting(db, SETTING.defaultBackend, record.id);
        return c.json(await present(record));
      },
    }),
    defineRoute({
      method: "DELETE",
      path: "/backends/:id",
      tag: "backends",
      summary: "Remove a backend that holds no bucket or block device volume and is not the default",
      responses: { 204: { description: "Deleted" }, ...errors(404, 409) },
      handle: async (c) => {
        const record = await load(c);
        if (await getSetting(db, SETTING.defaultBackend) === record.id) {
          throw new AppError("Conflict", `Backend "${record.id}" is the default backend`);
        }
        const users = await backendUsers(db, record.id);
        if (users.length > 0) {
          throw new AppError("Conflict", `Backend "${record.id}" still holds ${users.join(" and ")}`);
        }
        await deleteBackendRow(db, record.id);
        await deps.backends.remove(record.id);
        return c.body(null, 204);
      },
    }),
    defineRoute({
      method: "POST",
      path: "/backends/:id/test",
      tag: "backends",
      summary: "Test the connection: list the backend's buckets",
      responses: {
        200: { description: "Result (ok false with the error when it failed)", schema: TEST_RESULT_SCHEMA },
      },
      handle: async (c) => {
        const record = await load(c);
        if (!deps.backends.has(record.id)) {
          return c.json({ ok: false, latencyMs: 0, error: "The backend could not be opened at start (see the log)" });
        }
        const result = await testConnection(deps.backends.get(record.id));
        return c.json(result.ok ? result : { ok: false, latencyMs: result.latencyMs, error: result.error.message });
      },
    }),
  ];
}
