/**
 * S3 Integrity: every gateway operation becomes a record in a hash chain and an RFC 9162 Merkle tree, with
 * Ed25519-signed checkpoints anchored outside the database, inclusion/consistency proofs, verification and
 * bucket reconciliation (docs/integrity.md).
 *
 * @example
 * ```ts
 * const service = await createIntegrityService(ctx, { checkpointEvery: 1000 });
 * // mount service.routes at /api/v1/integrity; append service.metrics() to /metrics
 * await service.stop();
 * ```
 *
 * @module
 */
import type { RunningService, ServiceContext } from "../service.ts";
import { createIntegrity, type IntegrityOptions } from "./integrity.ts";
import { integrityRoutes } from "./routes.ts";

export type { IntegrityOptions, IntegrityStatus, Timers } from "./integrity.ts";
export type { VerifyReport } from "./verifier.ts";
export type { Anomaly, ReconcileReport } from "./reconcile.ts";

export async function createIntegrityService(
  ctx: ServiceContext,
  options: IntegrityOptions = {},
): Promise<RunningService> {
  const integrity = await createIntegrity(ctx, options);
  return {
    name: "integrity",
    routes: integrityRoutes(integrity, { logger: ctx.logger, now: () => ctx.clock.now(), db: ctx.db }),
    metrics: () => integrity.metrics(),
    stop: () => integrity.stop(),
  };
}
