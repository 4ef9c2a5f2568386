/**
 * S3 access keys (the gateway's users): create (the secret is returned once), list, read, delete, and the
 * bucket/prefix grants of non-admin keys.
 *
 * @module
 */
import { AppError } from "../../errors.ts";
import type { Grant } from "../../gateway/credentials.ts";
import type { ApiDeps } from "../deps.ts";
import { type ApiRoute, defineRoute, errors } from "../route.ts";
import type { JsonSchema } from "../schema.ts";

export type { Grant };

export interface AccessKeyInfo {
  accessKeyId: string;
  description: string;
  admin: boolean;
  createdAt: Date;
  grants: Grant[];
}

/** Access-key administration, backed by the gateway's key store. */
export interface AccessKeyAdmin {
  create(input: { description: string; admin: boolean; grants: Grant[] }): Promise<
    { info: AccessKeyInfo; secretAccessKey: string }
  >;
  list(): Promise<AccessKeyInfo[]>;
  get(accessKeyId: string): Promise<AccessKeyInfo | undefined>;
  /** False when no such key exists. */
  delete(accessKeyId: string): Promise<boolean>;
  setGrants(accessKeyId: string, grants: Grant[]): Promise<void>;
}

const GRANT_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    bucket: { type: "string", minLength: 1, maxLength: 63 },
    prefix: { type: "string", maxLength: 1024 },
    permission: { type: "string", enum: ["read", "write"], description: "write implies read" },
  },
  required: ["bucket", "permission"],
};
const GRANTS_SCHEMA: JsonSchema = { type: "array", items: GRANT_SCHEMA, maxItems: 1000 };
const KEY_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    accessKeyId: { type: "string" },
    description: { type: "string" },
    admin: { type: "boolean", description: "Full access to every bucket" },
    createdAt: { type: "string", format: "date-time" },
    grants: GRANTS_SCHEMA,
  },
  required: ["accessKeyId", "description", "admin", "createdAt", "grants"],
};
const CREATED_SCHEMA: JsonSchema = {
  ...KEY_SCHEMA,
  properties: {
    ...KEY_SCHEMA.properties,
    secretAccessKey: { type: "string", description: "Shown only in this response" },
  },
  required: [...KEY_SCHEMA.required!, "secretAccessKey"],
} as JsonSchema;

function present(info: AccessKeyInfo) {
  return { ...info, createdAt: info.createdAt.toISOString() };
}

function normalize(grants: Array<Omit<Grant, "prefix"> & { prefix?: string }>): Grant[] {
  return grants.map((g) => ({ bucket: g.bucket, prefix: g.prefix ?? "", permission: g.permission }));
}

export function accessKeyRoutes(deps: ApiDeps): ApiRoute[] {
  const keys = deps.accessKeys;

  async function load(id: string): Promise<AccessKeyInfo> {
    const info = await keys.get(id);
    if (!info) throw new AppError("NotFound", `Access key "${id}" does not exist`, { details: { accessKeyId: id } });
    return info;
  }

  return [
    defineRoute({
      method: "GET",
      path: "/access-keys",
      tag: "access-keys",
      summary: "List access keys (secrets are never listed)",
      responses: { 200: { description: "Access keys", schema: { type: "array", items: KEY_SCHEMA } } },
      handle: async (c) => c.json((await keys.list()).map(present)),
    }),
    defineRoute<{ description?: string; admin?: boolean; grants?: Grant[] }>({
      method: "POST",
      path: "/access-keys",
      tag: "access-keys",
      summary: "Create an access key; the secret is in this response only",
      body: {
        type: "object",
        properties: {
          description: { type: "string", maxLength: 200 },
          admin: { type: "boolean" },
          grants: GRANTS_SCHEMA,
        },
      },
      responses: { 201: { description: "Created", schema: CREATED_SCHEMA }, ...errors(400) },
      handle: async (c, body) => {
        const created = await keys.create({
          description: body.description ?? "",
          admin: body.admin ?? false,
          grants: normalize(body.grants ?? []),
        });
        c.header("cache-control", "no-store");
        return c.json({ ...present(created.info), secretAccessKey: created.secretAccessKey }, 201);
      },
    }),
    defineRoute({
      method: "GET",
      path: "/access-keys/:id",
      tag: "access-keys",
      summary: "Read one access key",
      responses: { 200: { description: "The key", schema: KEY_SCHEMA }, ...errors(404) },
      handle: async (c) => c.json(present(await load(c.req.param("id")!))),
    }),
    defineRoute<Grant[]>({
      method: "PUT",
      path: "/access-keys/:id/grants",
      tag: "access-keys",
      summary: "Replace the grants of an access key",
      body: GRANTS_SCHEMA,
      responses: { 200: { description: "The key", schema: KEY_SCHEMA }, ...errors(400, 404) },
      handle: async (c, body) => {
        const id = (await load(c.req.param("id")!)).accessKeyId;
        await keys.setGrants(id, normalize(body));
        return c.json(present(await load(id)));
      },
    }),
    defineRoute({
      method: "DELETE",
      path: "/access-keys/:id",
      tag: "access-keys",
      summary: "Delete an access key (its requests fail from now on)",
      responses: { 204: { description: "Deleted" }, ...errors(404) },
      handle: async (c) => {
        const id = c.req.param("id")!;
        if (!await keys.delete(id)) {
          throw new AppError("NotFound", `Access key "${id}" does not exist`, { details: { accessKeyId: id } });
        }
        return c.body(null, 204);
      },
    }),
  ];
}
