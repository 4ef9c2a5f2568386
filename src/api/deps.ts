/**
 * What the management API needs from the composition root.
 *
 * @module
 */
import type { MutableBackendRegistry } from "../backend_registry.ts";
import type { BucketRouter } from "../bucket_router.ts";
import type { Clock } from "../clock.ts";
import type { Db } from "../db/client.ts";
import type { BackendRecord, SecretSealer } from "../db/repos/backends.ts";
import type { Logger } from "../log.ts";
import type { RunningService } from "../service.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { AccessKeyAdmin } from "./routes/access_keys.ts";

export interface ServiceStatus {
  name: string;
  ready: boolean;
}

export interface ApiDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  backends: MutableBackendRegistry;
  buckets: BucketRouter;
  /** Seals secret fields of backend configs at rest. */
  sealer: SecretSealer;
  /** Builds (and checks the config of) a backend store from its record. */
  openBackend(record: BackendRecord): Promise<ObjectStore>;
  accessKeys: AccessKeyAdmin;
  /** Every enabled service and whether it is running yet. */
  serviceStatus(): ServiceStatus[];
  /** Running services; each one's `routes` answer under `/api/v1/<name>` as soon as it runs. */
  services(): RunningService[];
  /** Prometheus text of the gateway and the services. */
  metrics(): string;
  /** Non-secret settings shown by `GET /config`. */
  publicConfig(): Promise<Record<string, unknown>>;
  /** A consistent copy of the database in a new file (the caller removes it); `Conflict` for a database on a server. */
  snapshotDatabase(): Promise<string>;
}
