/**
 * The whole database schema (every service's tables live here, in one section per service).
 * SQL names are snake_case; TypeScript fields camelCase. After a change run `deno task db:generate`
 * and commit the SQL under `migrations/`.
 *
 * Foreign keys document the references and guard a local database file, where the one connection enforces them. A
 * shared sqld database does not: it runs each request on a connection of its own, where `PRAGMA foreign_keys` is
 * off. So no code relies on them: a delete removes the rows that depend on it by name, in the same batch (one
 * transaction), and a referenced row is refused by an explicit check before it is deleted.
 *
 * @module
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
  /** The bucket's CORS rules as JSON (`CorsRule[]`); null when none are set. */
  cors: text("cors"),
  /** The bucket's lifecycle rules as JSON (`LifecycleRule[]`, dates as ISO strings); null when none are set. */
  lifecycle: text("lifecycle"),
  /** The bucket's tags as JSON (`BucketTag[]`); null when none are set. */
  tags: text("tags"),
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

/**
 * Which appliance works on the database: one row (id 1) while an appliance holds it, renewed every few seconds
 * (`db/lease.ts`). `owner` is the holder's host and data dir.
 */
export const applianceLease = sqliteTable("appliance_lease", {
  id: integer("id").primaryKey(),
  owner: text("owner").notNull(),
  pid: integer("pid").notNull(),
  renewedAt: integer("renewed_at", { mode: "timestamp_ms" }).notNull(),
});

// ── Sync ──────────────────────────────────────────────────────────────────────────────────────────────

/** A COW Sync job: source (backend id or "gateway" + bucket + prefix) → mirror, with its schedule and limits. */
export const syncJobs = sqliteTable("sync_jobs", {
  id: text("id").primaryKey(),
  sourceBackend: text("source_backend").notNull(),
  sourceBucket: text("source_bucket").notNull(),
  sourcePrefix: text("source_prefix").notNull().default(""),
  targetBackend: text("target_backend").notNull(),
  targetBucket: text("target_bucket").notNull(),
  targetPrefix: text("target_prefix").notNull().default(""),
  /** mirror: propagate deletes; additive: never delete on the mirror. */
  mode: text("mode", { enum: ["mirror", "additive"] }).notNull(),
  /** manifest: list the source and diff with the last manifest; journal: use the gateway's change feed. */
  detection: text("detection", { enum: ["manifest", "journal"] }).notNull(),
  /** Seconds between scheduled runs; null = on demand only. */
  intervalSeconds: integer("interval_seconds"),
  /** JSON arrays of glob patterns. */
  include: text("include").notNull().default("[]"),
  exclude: text("exclude").notNull().default("[]"),
  concurrency: integer("concurrency").notNull().default(8),
  /** Bytes per second for transfers that stream through the appliance; null = unlimited. */
  bandwidthLimit: integer("bandwidth_limit"),
  keepLast: integer("keep_last"),
  keepDays: integer("keep_days"),
  /** Journal mode: a full listing reconcile at least this often. */
  reconcileSeconds: integer("reconcile_seconds").notNull().default(86400),
  /** Journal mode: last change-feed sequence number applied by a successful run. */
  journalSeq: integer("journal_seq").notNull().default(0),
  lastReconcileAt: integer("last_reconcile_at", { mode: "timestamp_ms" }),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** One run of a job; a succeeded run is a generation. Items of the plan are in `sync_run_items`. */
export const syncRuns = sqliteTable("sync_runs", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  jobId: text("job_id").notNull().references(() => syncJobs.id, { onDelete: "cascade" }),
  generation: integer("generation").notNull(),
  status: text("status", { enum: ["running", "succeeded", "failed"] }).notNull(),
  detection: text("detection", { enum: ["manifest", "journal", "verify"] }).notNull(),
  /** Change-feed sequence number this run covers (journal) or the feed head when the listing began. */
  journalSeq: integer("journal_seq").notNull().default(0),
  objectsTotal: integer("objects_total").notNull().default(0),
  bytesTotal: integer("bytes_total").notNull().default(0),
  requests: integer("requests").notNull().default(0),
  error: text("error"),
  expired: integer("expired", { mode: "boolean" }).notNull().default(false),
  startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
  finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
}, (t) => [uniqueIndex("sync_runs_job_generation").on(t.jobId, t.generation)]);

/** The exact plan of a run, one row per object; `state` is the crash-safe checkpoint. */
export const syncRunItems = sqliteTable("sync_run_items", {
  runId: integer("run_id").notNull().references(() => syncRuns.id, { onDelete: "cascade" }),
  idx: integer("idx").notNull(),
  op: text("op", { enum: ["copy", "delete"] }).notNull(),
  key: text("key").notNull(),
  size: integer("size").notNull(),
  etag: text("etag"),
  reason: text("reason").notNull(),
  /** pending → preserved (old mirror object saved as a version) → done | skipped | failed. */
  state: text("state", { enum: ["pending", "preserved", "done", "skipped", "failed"] }).notNull(),
  attempts: integer("attempts").notNull().default(0),
  error: text("error"),
}, (t) => [primaryKey({ columns: [t.runId, t.idx] })]);

/**
 * What each generation holds: an entry is valid for generations [fromGen, toGen) and lives at the mirror's live key
 * while current (toGen null), afterwards at `versionKey`. Unchanged objects are never stored twice.
 */
export const syncEntries = sqliteTable("sync_entries", {
  jobId: text("job_id").notNull().references(() => syncJobs.id, { onDelete: "cascade" }),
  key: text("key").notNull(),
  fromGen: integer("from_gen").notNull(),
  toGen: integer("to_gen"),
  size: integer("size").notNull(),
  etag: text("etag").notNull(),
  mirrorEtag: text("mirror_etag").notNull(),
  lastModified: integer("last_modified", { mode: "timestamp_ms" }).notNull(),
  versionKey: text("version_key"),
}, (t) => [
  primaryKey({ columns: [t.jobId, t.key, t.fromGen] }),
  index("sync_entries_job_to_gen").on(t.jobId, t.toGen),
]);

/** The change feed: gateway mutations of watched buckets, in order, for journal-mode jobs. */
export const syncChanges = sqliteTable("sync_changes", {
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  bucket: text("bucket").notNull(),
  /** null when the operation touched keys the event does not name (forces a full reconcile). */
  key: text("key"),
  op: text("op", { enum: ["put", "delete", "reset"] }).notNull(),
  etag: text("etag"),
  size: integer("size"),
  time: integer("time", { mode: "timestamp_ms" }).notNull(),
}, (t) => [index("sync_changes_bucket_seq").on(t.bucket, t.seq)]);

// ── Integrity ─────────────────────────────────────────────────────────────────────────────────────────

/** The operation journal: one row per record, `data` is the canonical encoding that is hashed (leaf data). */
export const integrityRecords = sqliteTable("integrity_records", {
  seq: integer("seq").primaryKey(),
  data: text("data").notNull(),
  /** Hex RFC 9162 leaf hash of `data` (a cache for proofs; verification recomputes it). */
  hash: text("hash").notNull(),
});

/** Hashes of the complete subtrees (level ≥ 1) of the journal's Merkle tree: node `idx` of `level` covers
 * leaves [idx·2^level, (idx+1)·2^level). */
export const integrityNodes = sqliteTable("integrity_nodes", {
  level: integer("level").notNull(),
  idx: integer("idx").notNull(),
  hash: text("hash").notNull(),
}, (t) => [primaryKey({ columns: [t.level, t.idx] })]);

/** Signed checkpoints (C2SP signed-note text) and where each was anchored outside the database. */
export const integrityCheckpoints = sqliteTable("integrity_checkpoints", {
  size: integer("size").primaryKey(),
  rootHash: text("root_hash").notNull(),
  note: text("note").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  anchoredAt: integer("anchored_at", { mode: "timestamp_ms" }),
});

// ── Block device ──────────────────────────────────────────────────────────────────────────────────────

/** iSCSI volumes: chunk objects under `prefix` in `bucket` of backend `backendId` (the bucket holds the chunk map). */
export const blockdevVolumes = sqliteTable("blockdev_volumes", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  backendId: text("backend_id").notNull().references(() => backends.id),
  bucket: text("bucket").notNull(),
  prefix: text("prefix").notNull(),
  sizeBytes: integer("size_bytes").notNull(),
  chunkSize: integer("chunk_size").notNull(),
  blockSize: integer("block_size").notNull(),
  /** Set for clones: the volume and snapshot they started from. */
  parentId: text("parent_id"),
  parentSnapshot: text("parent_snapshot"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** Snapshots (the frozen chunk map itself is an object in the volume's bucket). */
export const blockdevSnapshots = sqliteTable("blockdev_snapshots", {
  volumeId: text("volume_id").notNull().references(() => blockdevVolumes.id, { onDelete: "cascade" }),
  name: text("name").notNull(),
  chunks: integer("chunks").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
}, (t) => [primaryKey({ columns: [t.volumeId, t.name] })]);

/** Chunk folders of deleted volumes still referenced by clones; garbage collection empties and drops them. */
export const blockdevOrphanPrefixes = sqliteTable("blockdev_orphan_prefixes", {
  backendId: text("backend_id").notNull(),
  bucket: text("bucket").notNull(),
  prefix: text("prefix").notNull(),
}, (t) => [primaryKey({ columns: [t.backendId, t.bucket, t.prefix] })]);

/** iSCSI targets. `chapSecret` is sealed at rest when the appliance passes a secret sealer (see docs/block-device.md). */
export const blockdevTargets = sqliteTable("blockdev_targets", {
  iqn: text("iqn").primaryKey(),
  chapUser: text("chap_user"),
  chapSecret: text("chap_secret"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** LUN mapping: one volume appears as one LUN of one target. */
export const blockdevLuns = sqliteTable("blockdev_luns", {
  targetIqn: text("target_iqn").notNull().references(() => blockdevTargets.iqn, { onDelete: "cascade" }),
  lun: integer("lun").notNull(),
  volumeId: text("volume_id").notNull().unique().references(() => blockdevVolumes.id),
}, (t) => [primaryKey({ columns: [t.targetIqn, t.lun] })]);
