/**
 * An `ObjectStore` decorator that counts the requests made through it, per operation: what a sync costs in
 * S3 calls, for tests (resume without re-copying) and the benchmark.
 *
 * @module
 */
import type { ObjectStore } from "../storage/mod.ts";

export interface CountingStore extends ObjectStore {
  /** Calls per ObjectStore method name since creation or the last `reset()`. */
  readonly counts: Record<string, number>;
  total(): number;
  reset(): void;
}

const METHODS = [
  "listBuckets",
  "createBucket",
  "deleteBucket",
  "headBucket",
  "putObject",
  "getObject",
  "headObject",
  "deleteObject",
  "copyObject",
  "listObjects",
  "getObjectTagging",
  "putObjectTagging",
  "listObjectParts",
  "createMultipartUpload",
  "uploadPart",
  "uploadPartCopy",
  "completeMultipartUpload",
  "abortMultipartUpload",
  "listParts",
  "listMultipartUploads",
] as const satisfies readonly (keyof ObjectStore)[];

export function createCountingStore(inner: ObjectStore): CountingStore {
  const counts: Record<string, number> = {};
  const wrapped: Record<string, unknown> = {};
  for (const name of METHODS) {
    const fn = inner[name] as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => {
      counts[name] = (counts[name] ?? 0) + 1;
      return fn.apply(inner, args);
    };
  }
  return {
    ...(wrapped as unknown as Omit<ObjectStore, "kind" | "capabilities" | "close">),
    kind: inner.kind,
    capabilities: inner.capabilities,
    close: () => inner.close(),
    counts,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset() {
      for (const k of Object.keys(counts)) delete counts[k];
    },
  };
}
