/**
 * Gateway buckets: list, read, create on a chosen backend, delete (only when empty), and what each holds.
 *
 * @module
 */
import { createBucketUsageCache } from "../../bucket_usage.ts";
import { type BucketRow, findBucketRow, listBucketRows } from "../../db/repos/buckets.ts";
import { getSetting, SETTING } from "../../db/repos/settings.ts";
import { AppError } from "../../errors.ts";
import { decodeConfig } from "../../gateway/bucket_config.ts";
import type { ApiDeps } from "../deps.ts";
import { type ApiRoute, defineRoute, errors } from "../route.ts";
import type { JsonSchema } from "../schema.ts";

const BUCKET_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    backend: { type: "string", description: "Id of the backend storing the bucket" },
    default: { type: "boolean", description: "The appliance's default bucket" },
    createdAt: { type: "string", format: "date-time" },
    corsRules: { type: "integer", description: "CORS rules set through S3 (PutBucketCors)" },
    lifecycleRules: {
      type: "integer",
      description: "Lifecycle rules set through S3 (PutBucketLifecycleConfiguration)",
    },
    tags: {
      type: "object",
      properties: {},
      additionalProperties: { type: "string" },
      description: "Tags set through S3 (PutBucketTagging)",
    },
  },
  required: ["name", "backend", "default", "createdAt", "corsRules", "lifecycleRules", "tags"],
};

const USAGE_PROPERTIES: Record<string, JsonSchema> = {
  bucket: { type: "string" },
  objects: { type: "integer" },
  bytes: { type: "integer", description: "Sum of the objects' sizes" },
  multipartUploads: { type: "integer", description: "Unfinished multipart uploads" },
  multipartParts: { type: "integer", description: "Parts uploaded to them" },
  multipartBytes: { type: "integer", description: "Bytes those parts hold (not in any object yet)" },
  scannedAt: { type: "string", format: "date-time", description: "When the listing walk ended" },
  scanMs: { type: "integer", description: "How long the walk took" },
};
const USAGE_SCHEMA: JsonSchema = {
  type: "object",
  properties: USAGE_PROPERTIES,
  required: Object.keys(USAGE_PROPERTIES),
};

export function bucketRoutes(deps: ApiDeps): ApiRoute[] {
  const { db } = deps;
  const usage = createBucketUsageCache({ store: deps.buckets, clock: deps.clock });

  /** The bucket as the API shows it; `def` is the default bucket's name (read once per request). */
  function present(row: BucketRow, def: string | undefined) {
    const tags = row.tags ? decodeConfig("tags", row.tags) : [];
    return {
      name: row.name,
      backend: row.backendId,
      default: row.name === def,
      createdAt: row.createdAt.toISOString(),
      corsRules: row.cors ? decodeConfig("cors", row.cors).length : 0,
      lifecycleRules: row.lifecycle ? decodeConfig("lifecycle", row.lifecycle).length : 0,
      tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
    };
  }

  const defaultBucket = () => getSetting(db, SETTING.defaultBucket);

  async function load(name: string) {
    const row = await findBucketRow(db, name);
    if (!row) throw new AppError("NoSuchBucket", `Bucket "${name}" does not exist`, { details: { bucket: name } });
    return row;
  }

  return [
    defineRoute({
      method: "GET",
      path: "/buckets",
      tag: "buckets",
      summary: "List the gateway's buckets and their backends",
      responses: { 200: { description: "Buckets", schema: { type: "array", items: BUCKET_SCHEMA } } },
      handle: async (c) => {
        const def = await defaultBucket();
        return c.json((await listBucketRows(db)).map((row) => present(row, def)));
      },
    }),
    defineRoute({
      method: "GET",
      path: "/buckets/:name",
      tag: "buckets",
      summary: "Read one bucket",
      responses: { 200: { description: "The bucket", schema: BUCKET_SCHEMA }, ...errors(404) },
      handle: async (c) => c.json(present(await load(c.req.param("name")!), await defaultBucket())),
    }),
    defineRoute({
      method: "GET",
      path: "/buckets/:name/usage",
      tag: "buckets",
      summary: "Objects, bytes and unfinished multipart uploads of a bucket, by walking its listings; a result up to " +
        "60 s old is answered again unless ?refresh=true",
      responses: { 200: { description: "The bucket's usage", schema: USAGE_SCHEMA }, ...errors(404) },
      handle: async (c) => {
        const row = await load(c.req.param("name")!);
        return c.json(await usage.usage(row.name, { refresh: c.req.query("refresh") === "true" }));
      },
    }),
    defineRoute<{ name: string; backend?: string }>({
      method: "POST",
      path: "/buckets",
      tag: "buckets",
      summary: "Create a bucket (on the default backend unless one is named)",
      body: {
        type: "object",
        properties: {
          name: { type: "string", description: "S3 bucket name (3-63 characters: a-z 0-9 . -)" },
          backend: { type: "string", description: "Backend id; default backend when omitted" },
        },
        required: ["name"],
      },
      responses: { 201: { description: "Created", schema: BUCKET_SCHEMA }, ...errors(400, 404, 409) },
      handle: async (c, body) => {
        const backend = body.backend ?? await getSetting(db, SETTING.defaultBackend);
        if (!backend) throw new AppError("Conflict", 'No default backend is configured; name one in "backend"');
        await deps.buckets.createBucketOn(body.name, backend);
        return c.json(present(await load(body.name), await defaultBucket()), 201);
      },
    }),
    defineRoute({
      method: "DELETE",
      path: "/buckets/:name",
      tag: "buckets",
      summary: "Delete an empty bucket",
      responses: { 204: { description: "Deleted" }, ...errors(404, 409) },
      handle: async (c) => {
        const row = await load(c.req.param("name")!);
        await deps.buckets.deleteBucket(row.name);
        return c.body(null, 204);
      },
    }),
  ];
}
