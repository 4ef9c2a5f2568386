/**
 * Job definitions: validation of what the API and CLI accept, defaults, and the JSON shape they return.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { globToRegExp } from "./glob.ts";
import type { JobRow } from "./repo.ts";

/** What creating a job takes; `source`/`target` are `{backend, bucket, prefix?}`, backend "gateway" or an id. */
export interface JobInput {
  id: string;
  source: { backend: string; bucket: string; prefix?: string };
  target: { backend: string; bucket: string; prefix?: string };
  mode?: "mirror" | "additive";
  detection?: "manifest" | "journal";
  intervalSeconds?: number | null;
  include?: string[];
  exclude?: string[];
  concurrency?: number;
  bandwidthLimit?: number | null;
  keepLast?: number | null;
  keepDays?: number | null;
  reconcileSeconds?: number;
}

const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function invalid(message: string): AppError {
  return new AppError("InvalidArgument", message);
}

function int(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`"${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optionalInt(name: string, v: unknown, min: number): number | null {
  return v === undefined || v === null ? null : int(name, v, min);
}

function side(name: string, v: unknown): { backend: string; bucket: string; prefix: string } {
  const s = v as Record<string, unknown> | undefined;
  if (!s || typeof s !== "object") throw invalid(`"${name}" must be an object {backend, bucket, prefix?}`);
  if (typeof s.backend !== "string" || s.backend === "") {
    throw invalid(`"${name}.backend" must be a backend id or "gateway"`);
  }
  if (typeof s.bucket !== "string" || s.bucket === "") throw invalid(`"${name}.bucket" must be a bucket name`);
  const prefix = s.prefix ?? "";
  if (typeof prefix !== "string") throw invalid(`"${name}.prefix" must be a string`);
  return { backend: s.backend, bucket: s.bucket, prefix };
}

function globs(name: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((g) => typeof g !== "string")) throw invalid(`"${name}" must be an array of globs`);
  for (const g of v) {
    try {
      globToRegExp(g);
    } catch (err) {
      throw invalid(`"${name}": ${(err as Error).message}`);
    }
  }
  return v;
}

/** Validates a job definition and fills defaults; `now` stamps creation. */
export function jobRowOf(input: JobInput, now: Date): Omit<JobRow, "journalSeq" | "lastReconcileAt"> {
  if (typeof input.id !== "string" || !ID.test(input.id)) {
    throw invalid(`Job id must match ${ID.source}, got ${JSON.stringify(input.id)}`);
  }
  const source = side("source", input.source);
  const target = side("target", input.target);
  const mode = input.mode ?? "mirror";
  if (mode !== "mirror" && mode !== "additive") throw invalid(`"mode" must be "mirror" or "additive"`);
  const detection = input.detection ?? (source.backend === "gateway" ? "journal" : "manifest");
  if (detection !== "manifest" && detection !== "journal") throw invalid(`"detection" must be "manifest" or "journal"`);
  if (detection === "journal" && source.backend !== "gateway") {
    throw invalid(`Journal detection needs a source served by the gateway (source.backend "gateway")`);
  }
  if (
    source.backend === target.backend && source.bucket === target.bucket &&
    (source.prefix.startsWith(target.prefix) || target.prefix.startsWith(source.prefix))
  ) {
    throw invalid("Source and mirror overlap: use another bucket or disjoint prefixes");
  }
  return {
    id: input.id,
    sourceBackend: source.backend,
    sourceBucket: source.bucket,
    sourcePrefix: source.prefix,
    targetBackend: target.backend,
    targetBucket: target.bucket,
    targetPrefix: target.prefix,
    mode,
    detection,
    intervalSeconds: optionalInt("intervalSeconds", input.intervalSeconds, 1),
    include: JSON.stringify(globs("include", input.include)),
    exclude: JSON.stringify(globs("exclude", input.exclude)),
    concurrency: input.concurrency === undefined ? 16 : int("concurrency", input.concurrency, 1, 256),
    bandwidthLimit: optionalInt("bandwidthLimit", input.bandwidthLimit, 1024),
    keepLast: optionalInt("keepLast", input.keepLast, 0),
    keepDays: optionalInt("keepDays", input.keepDays, 1),
    reconcileSeconds: input.reconcileSeconds === undefined ? 86400 : int("reconcileSeconds", input.reconcileSeconds, 0),
    createdAt: now,
  };
}

/** The API/CLI view of a job. */
export function jobView(row: JobRow) {
  return {
    id: row.id,
    source: { backend: row.sourceBackend, bucket: row.sourceBucket, prefix: row.sourcePrefix },
    target: { backend: row.targetBackend, bucket: row.targetBucket, prefix: row.targetPrefix },
    mode: row.mode,
    detection: row.detection,
    intervalSeconds: row.intervalSeconds,
    include: JSON.parse(row.include) as string[],
    exclude: JSON.parse(row.exclude) as string[],
    concurrency: row.concurrency,
    bandwidthLimit: row.bandwidthLimit,
    keepLast: row.keepLast,
    keepDays: row.keepDays,
    reconcileSeconds: row.reconcileSeconds,
    journalSeq: row.journalSeq,
    lastReconcileAt: row.lastReconcileAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}
