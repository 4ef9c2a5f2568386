/**
 * The real implementations the appliance is composed of: the `fs`/`s3` stores, the sealed secrets, the access
 * keys in the database, the S3 gateway and the services. Adding a service is one line in `serviceFactories`.
 *
 * @module
 */
import type { ApplianceParts, ServiceFactory } from "./appliance.ts";
import { systemClock } from "./clock.ts";
import type { BackendRecord } from "./db/repos/backends.ts";
import { createGateway } from "./gateway/mod.ts";
import type { Logger } from "./log.ts";
import { createStore } from "./storage/factory.ts";
import type { ObjectStore } from "./storage/mod.ts";
import { createAccessKeyStore } from "./db/repos/access_keys.ts";
import { createDataDirSecretBox } from "./secret_box.ts";
import { createBlockdevService } from "./blockdev/mod.ts";
import { createSyncService } from "./sync/mod.ts";
import { createIntegrityService, type IntegrityOptions } from "./integrity/mod.ts";
import { createLifecycleService } from "./lifecycle/mod.ts";

/** Every service the appliance runs, in start order (stopped in reverse). */
export function serviceFactories(options: { integrity?: IntegrityOptions } = {}): ServiceFactory[] {
  return [
    { name: "blockdev", create: (ctx) => createBlockdevService(ctx) },
    { name: "sync", create: (ctx) => createSyncService(ctx) },
    { name: "integrity", create: (ctx) => createIntegrityService(ctx, options.integrity) },
    { name: "lifecycle", create: (ctx) => createLifecycleService(ctx) },
  ];
}

/** How long SIGTERM waits for in-flight requests before stopping anyway. */
const DRAIN_MS = 30_000;

export function realApplianceParts(options: { logger: Logger; integrity?: IntegrityOptions }): ApplianceParts {
  const clock = systemClock();
  return {
    clock,
    logger: options.logger,
    print: (text) => console.log(text),
    sealer: (dataDir, options) => createDataDirSecretBox(dataDir, options),
    openBackend: (record: BackendRecord): Promise<ObjectStore> => createStore(record.kind, record.config, { clock }),
    accessKeys: (db, sealer) => createAccessKeyStore({ db, sealer, clock }),
    gateway: (ctx) =>
      createGateway({
        buckets: ctx.buckets,
        bucketConfig: ctx.bucketConfig,
        credentials: ctx.credentials,
        events: ctx.events,
        clock: ctx.clock,
        logger: ctx.logger,
      }),
    services: serviceFactories(options),
    drainMs: DRAIN_MS,
  };
}
