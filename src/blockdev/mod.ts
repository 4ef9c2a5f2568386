/**
 * The S3 block device service: chunked volumes in buckets, exported as LUNs by the iSCSI target.
 *
 * @module
 */
import type { SecretSealer } from "../db/repos/backends.ts";
import { getSetting, SETTING } from "../db/repos/settings.ts";
import { createIscsiTarget } from "../iscsi/mod.ts";
import { createDataDirSecretBox } from "../secret_box.ts";
import type { RunningService, ServiceContext } from "../service.ts";
import { createVolumeManager } from "./manager.ts";
import { formatMetrics } from "./metrics.ts";
import { createRoutes } from "./routes.ts";
import type { VolumeOptions } from "./volume.ts";

export type { BlockDevice } from "./block_device.ts";
export type { Volume, VolumeOptions, VolumeStats } from "./volume.ts";

export interface BlockdevServiceOptions {
  /** Seals CHAP secrets at rest; default: the appliance's secret box (`<data-dir>/secret.key`). */
  sealer?: SecretSealer;
  /** Cache tuning for every volume (dirty bound, read cache size, write-through…). */
  volumeOptions?: Partial<VolumeOptions>;
  /** How often chunks replaced by newer writes are garbage collected. Default 15 minutes. */
  gcIntervalMs?: number;
  /** How often mapped volumes that could not be opened (backend unreachable) are retried. Default 10 s. */
  retryIntervalMs?: number;
}

export async function createBlockdevService(
  ctx: ServiceContext,
  options: BlockdevServiceOptions = {},
): Promise<RunningService> {
  const manager = createVolumeManager({
    db: ctx.db,
    backends: ctx.backends,
    dataDir: ctx.dataDir,
    clock: ctx.clock,
    logger: ctx.logger,
    defaults: async () => ({
      backend: await getSetting(ctx.db, SETTING.defaultBackend) ?? "local",
      bucket: await getSetting(ctx.db, SETTING.defaultBucket) ?? "blockdev",
    }),
    sealer: options.sealer ?? await createDataDirSecretBox(ctx.dataDir),
    ...(options.volumeOptions ? { volumeOptions: options.volumeOptions } : {}),
  });
  await manager.start();
  const target = createIscsiTarget({
    logger: ctx.logger.child({ component: "iscsi" }),
    clock: ctx.clock,
    resolveTarget: (iqn) => manager.resolveTarget(iqn),
    listTargets: () => manager.targetNames(),
  });
  let listening;
  try {
    listening = await target.serve(ctx.listen.iscsi);
  } catch (err) {
    await manager.close();
    throw err;
  }
  const gcTimer = setInterval(() => {
    manager.gc().catch((err) => ctx.logger.warn("blockdev: garbage collection failed", { error: String(err) }));
  }, options.gcIntervalMs ?? 15 * 60_000);
  Deno.unrefTimer(gcTimer);
  const retryTimer = setInterval(() => {
    manager.retryUnopened().catch((err) =>
      ctx.logger.warn("blockdev: reopening volumes failed", { error: String(err) })
    );
  }, options.retryIntervalMs ?? 10_000);
  Deno.unrefTimer(retryTimer);
  return {
    name: "blockdev",
    routes: createRoutes({ manager, sessions: () => target.sessions(), logger: ctx.logger, db: ctx.db }),
    addresses: { iscsi: listening.address },
    metrics: () => formatMetrics(manager.openVolumes().map((v) => ({ name: v.name, stats: v.volume.stats() }))),
    async stop() {
      clearInterval(gcTimer);
      clearInterval(retryTimer);
      await target.close();
      await manager.close();
    },
  };
}
