/**
 * What every service (gateway, integrity, sync, blockdev/iSCSI, envctl) receives from the composition root
 * (`src/appliance.ts`), and what it gives back. No service reads env, args or module-level singletons.
 *
 * @module
 */
import type { Hono } from "hono";
import type { Clock } from "./clock.ts";
import type { Db } from "./db/client.ts";
import type { EventBus, OperationEvent } from "./events/mod.ts";
import type { BucketConfigStore } from "./gateway/bucket_config.ts";
import type { Logger } from "./log.ts";
import type { ObjectStore } from "./storage/mod.ts";

/** Storage backends by id (`fs` default is id "local"). */
export interface BackendRegistry {
  get(id: string): ObjectStore;
  ids(): string[];
}

export interface ServiceContext {
  db: Db;
  /** Root of all local state (`./data` in dev, `/var/lib/s3plugin` on the appliance). */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** One event per gateway operation. */
  events: EventBus<OperationEvent>;
  backends: BackendRegistry;
  /** The gateway's buckets, each routed to its backend: what S3 clients of the appliance see. */
  buckets: ObjectStore;
  /** The settings of those buckets that clients set through S3 (CORS rules, lifecycle rules, tags). */
  bucketConfig: BucketConfigStore;
  /** Listen addresses from the command line (`HOST:PORT`, port 0 = pick a free one). */
  listen: { api: string; s3: string; iscsi: string };
}

export interface RunningService {
  name: string;
  /** Mounted by the management API at `/api/v1/<name>`. */
  routes?: Hono;
  /** Prometheus text appended to `/metrics`. */
  metrics?(): string;
  /** Addresses this service actually listens on (merged into `<data-dir>/listen.json`), e.g. `{iscsi: "127.0.0.1:3260"}`. */
  addresses?: Record<string, string>;
  stop(): Promise<void>;
}
