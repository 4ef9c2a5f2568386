/**
 * Builds stores from the JSON configuration the management API keeps for its "backends", with validation that
 * names every bad field, and a connection check for the API's "test backend" action.
 *
 * @example
 * ```ts
 * const store = await createStore("s3", { endpoint: "https://minio:9000", region: "us-east-1", forcePathStyle: true,
 *   accessKeyId: "…", secretAccessKey: "…" });
 * console.log(await testConnection(store));
 * ```
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { AppError, type AppErrorCode, isAppError } from "../errors.ts";
import type { ObjectStore } from "./mod.ts";
import { createFsStore, type FsStoreOptions } from "./fs.ts";
import type { S3StoreOptions } from "./s3.ts";
import { MIN_PART_SIZE } from "./mod.ts";

export type StoreKind = "fs" | "s3";
export type FsBackendConfig = Omit<FsStoreOptions, "clock">;
export type S3BackendConfig = Omit<S3StoreOptions, "clock">;

type Check = (value: unknown) => string | undefined;

const text: Check = (v) => typeof v === "string" && v.length > 0 ? undefined : "must be a non-empty string";
const bool: Check = (v) => typeof v === "boolean" ? undefined : "must be true or false";
const int = (min: number, max: number): Check => (v) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max
    ? undefined
    : `must be an integer from ${min} to ${max}`;

const FS_FIELDS: Record<string, { check: Check; required?: boolean }> = {
  root: {
    required: true,
    check: (v) => text(v) ?? ((v as string).startsWith("/") ? undefined : "must be an absolute path"),
  },
  minFreeBytes: { check: int(0, Number.MAX_SAFE_INTEGER) },
};

const S3_FIELDS: Record<string, { check: Check; required?: boolean }> = {
  endpoint: {
    check: (v) => {
      if (typeof v !== "string") return "must be a URL string";
      try {
        const url = new URL(v);
        return url.protocol === "http:" || url.protocol === "https:" ? undefined : "must be an http:// or https:// URL";
      } catch {
        return "is not a valid URL";
      }
    },
  },
  region: { required: true, check: text },
  forcePathStyle: { check: bool },
  accessKeyId: { required: true, check: text },
  secretAccessKey: { required: true, check: text },
  sessionToken: { check: text },
  caCert: {
    check: (v) =>
      typeof v === "string" && v.includes("-----BEGIN CERTIFICATE-----")
        ? undefined
        : "must be PEM text (-----BEGIN CERTIFICATE-----)",
  },
  bucketPrefix: {
    check: (v) =>
      typeof v === "string" && /^[a-z0-9][a-z0-9.-]{0,29}$/.test(v)
        ? undefined
        : "must be 1-30 lower-case letters, digits, dots or hyphens",
  },
  partSize: { check: int(MIN_PART_SIZE, 5 * 1024 ** 3) },
  omitLocationConstraint: { check: bool },
  maxAttempts: { check: int(1, 10) },
  connectTimeoutMs: { check: int(100, 600_000) },
  requestTimeoutMs: { check: int(1000, 3_600_000) },
};

function validate<T>(
  kind: StoreKind,
  config: unknown,
  fields: Record<string, { check: Check; required?: boolean }>,
): T {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new AppError("InvalidArgument", `The ${kind} backend configuration must be a JSON object`);
  }
  const problems: string[] = [];
  for (const [name, value] of Object.entries(config)) {
    const field = fields[name];
    if (!field) problems.push(`unknown field "${name}"`);
    else if (value !== undefined) {
      const problem = field.check(value);
      if (problem) problems.push(`"${name}" ${problem}`); // values are never echoed: they may be secrets
    }
  }
  for (const [name, field] of Object.entries(fields)) {
    if (field.required && (config as Record<string, unknown>)[name] === undefined) {
      problems.push(`"${name}" is required`);
    }
  }
  if (problems.length > 0) {
    throw new AppError("InvalidArgument", `Invalid ${kind} backend configuration: ${problems.join("; ")}`, {
      details: { kind, problems },
    });
  }
  return config as T;
}

/** Validates a backend configuration without creating anything. */
export function validateStoreConfig(kind: "fs", config: unknown): FsBackendConfig;
export function validateStoreConfig(kind: "s3", config: unknown): S3BackendConfig;
export function validateStoreConfig(kind: string, config: unknown): FsBackendConfig | S3BackendConfig;
export function validateStoreConfig(kind: string, config: unknown): FsBackendConfig | S3BackendConfig {
  if (kind === "fs") return validate<FsBackendConfig>(kind, config, FS_FIELDS);
  if (kind === "s3") return validate<S3BackendConfig>(kind, config, S3_FIELDS);
  throw new AppError("InvalidArgument", `Unknown backend kind "${kind}" (expected "fs" or "s3")`, {
    details: { kind },
  });
}

export async function createStore(kind: string, config: unknown, deps: { clock?: Clock } = {}): Promise<ObjectStore> {
  const clock = deps.clock ? { clock: deps.clock } : {};
  if (kind === "fs") return await createFsStore({ ...validateStoreConfig("fs", config), ...clock });
  // Validated under the given kind: an unknown kind is refused here, not taken for s3.
  const s3Config = validateStoreConfig(kind, config) as S3BackendConfig;
  // The AWS SDK adds ~25 MiB of RSS: loaded only once an s3 backend exists.
  const { createS3Store } = await import("./s3.ts");
  return createS3Store({ ...s3Config, ...clock });
}

export type ConnectionResult =
  | { ok: true; latencyMs: number; buckets: number }
  | { ok: false; latencyMs: number; error: { code: AppErrorCode; message: string } };

/** Lists buckets once: proves reachability, TLS trust and credentials. Never throws. */
export async function testConnection(store: ObjectStore): Promise<ConnectionResult> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  try {
    const buckets = await store.listBuckets();
    return { ok: true, latencyMs: latencyMs(), buckets: buckets.length };
  } catch (err) {
    const error = isAppError(err)
      ? { code: err.code, message: err.message }
      : { code: "Internal" as const, message: err instanceof Error ? err.message : String(err) };
    return { ok: false, latencyMs: latencyMs(), error };
  }
}
