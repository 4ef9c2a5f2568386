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
import { snapshotDatabase } from "../db/backup.ts";
import { migrateDb } from "../db/migrate.ts";
import { createApiToken } from "../db/repos/api_tokens.ts";
import { createAccessKeyStore } from "../db/repos/access_keys.ts";
import type { BackendRecord } from "../db/repos/backends.ts";
import { createSecretBox } from "../secret_box.ts";
import { silentLogger } from "../log.ts";
import type { RunningService } from "../service.ts";
import { validateStoreConfig } from "../storage/factory.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { createApiClient } from "./client.ts";
import type { ServiceStatus } from "./deps.ts";
import { createApi } from "./mod.ts";

export async function createTestApi(
  options: { services?: RunningService[]; config?: Record<string, unknown> } = {},
) {
  const handle = createDb(":memory:");
  await migrateDb(handle);
  const snapshotDir = await Deno.makeTempDir({ prefix: "s3plugin-api-snapshots-" });
  const clock = fakeClock();
  const { db } = handle;
  const sealer = await createSecretBox({ key: crypto.getRandomValues(new Uint8Array(32)) });
  const accessKeys = createAccessKeyStore({ db, sealer, clock });
  await ensureDefaultBackend({ db, sealer: sealer, clock, dataDir: "/nonexistent" });
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
    sealer: sealer,
    // The real config validation of each kind, over memory stores.
    openBackend: (record) => {
      validateStoreConfig(record.kind, record.config);
      opened.push(record);
      return Promise.resolve(createMemoryStore({ clock }));
    },
    accessKeys,
    services: () => services,
    serviceStatus: () => status,
    metrics: () => "# TYPE test_metric counter\ntest_metric 1\n",
    publicConfig: () => Promise.resolve({ dataDir: "/nonexistent", ...options.config }),
    snapshotDatabase: () => snapshotDatabase(handle.client, snapshotDir, clock),
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
    accessKeys,
    backends,
    buckets,
    snapshotDir,
    /** The database stops answering (as a remote one that went away). */
    loseDatabase: () => handle.close(),
    close: async () => {
      await backends.close();
      handle.close();
      await Deno.remove(snapshotDir, { recursive: true });
    },
  };
}
