/**
 * The whole database schema (every service's tables live here, in one section per service).
 * SQL names are snake_case; TypeScript fields camelCase. After a change run `deno task db:generate`
 * and commit the SQL under `migrations/`.
 *
 * @module
 */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// ── Core ──────────────────────────────────────────────────────────────────────────────────────────────

/** Key/value settings of the appliance (e.g. the default bucket name). */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

/** Storage backends objects can live on. `config` is JSON; secrets inside it are encrypted (`secret_box`). */
export const backends = sqliteTable("backends", {
  id: text("id").primaryKey(),
  kind: text("kind", { enum: ["fs", "s3"] }).notNull(),
  config: text("config").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** Which backend serves each bucket of the gateway. */
export const buckets = sqliteTable("buckets", {
  name: text("name").primaryKey(),
  backendId: text("backend_id").notNull().references(() => backends.id),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** S3 access keys (users). `secret` is encrypted at rest. */
export const accessKeys = sqliteTable("access_keys", {
  accessKeyId: text("access_key_id").primaryKey(),
  secret: text("secret").notNull(),
  description: text("description").notNull().default(""),
  /** true: full access; false: only what `access_grants` allows. */
  admin: integer("admin", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** Bucket/prefix grants for non-admin access keys. */
export const accessGrants = sqliteTable("access_grants", {
  accessKeyId: text("access_key_id").notNull().references(() => accessKeys.accessKeyId, { onDelete: "cascade" }),
  bucket: text("bucket").notNull(),
  prefix: text("prefix").notNull().default(""),
  permission: text("permission", { enum: ["read", "write"] }).notNull(),
}, (t) => [primaryKey({ columns: [t.accessKeyId, t.bucket, t.prefix, t.permission] })]);

/** Management API tokens (hashed). */
export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  tokenHash: text("token_hash").notNull().unique(),
  description: text("description").notNull().default(""),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});
