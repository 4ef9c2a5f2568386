/**
 * A management API over a fresh in-memory database and memory backends, for the API's unit tests.
 *
 * @module
 */
import { createBackendRegistry } from "../backend_registry.ts";
import { ensureDefaultBackend } from "../bootstrap.ts";
import { createBucketRouter } from "../bucket_router.ts";
import { fakeClock } from "../clock.ts";
import { createDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { createApiToken } from "../db/repos/api_tokens.ts";
import type { BackendRecord, SecretSealer } from "../db/repos/backends.ts";
import { AppError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import type { RunningService } from "../service.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { createApiClient } from "./client.ts";
import type { ApiDeps, ServiceStatus } from "./deps.ts";
import { createApi } from "./mod.ts";

export async function createTestApi(
  options: { sealer: SecretSealer; accessKeys: ApiDeps["accessKeys"]; services?: RunningService[] },
) {
  const handle = createDb(":memory:");
  await migrateDb(handle);
  const clock = fakeClock();
  const { db } = handle;
  await ensureDefaultBackend({ db, sealer: options.sealer, clock, dataDir: "/nonexistent" });
  const backends = createBackendRegistry();
  await backends.set("local", createMemoryStore({ clock }));
  const buckets = createBucketRouter({ db, backends, clock });
  const status: ServiceStatus[] = [];
  const services = options.services ?? [];
  const opened: BackendRecord[] = [];
  const app = createApi({
    db,
    clock,
    logger: silentLogger(),
    backends,
    buckets,
    sealer: options.sealer,
    openBackend: (record) => {
      if (record.kind !== "fs" || typeof record.config.path !== "string") {
        return Promise.reject(new AppError("InvalidArgument", "test backends must be fs with a path"));
      }
      opened.push(record);
      return Promise.resolve(createMemoryStore({ clock }));
    },
    accessKeys: options.accessKeys,
    services: () => services,
    serviceStatus: () => status,
    metrics: () => "# TYPE test_metric counter\ntest_metric 1\n",
    publicConfig: () => Promise.resolve({ dataDir: "/nonexistent" }),
  });
  const { token } = await createApiToken(db, clock, "test");
  const client = createApiClient({ url: "http://api.test", token, fetch: (req) => app.fetch(req) });
  return {
    app,
    client,
    db,
    token,
    status,
    opened,
    backends,
    buckets,
    close: async () => {
      await backends.close();
      handle.close();
    },
  };
}
