/**
 * A real ServiceContext for block device service tests: a migrated database, the default backend row, and the
 * given stores registered as backends.
 *
 * @module
 */
import { createBackendRegistry } from "../../backend_registry.ts";
import { ensureDefaultBackend } from "../../bootstrap.ts";
import { createBucketRouter } from "../../bucket_router.ts";
import { systemClock } from "../../clock.ts";
import { createDb } from "../../db/client.ts";
import { migrateDb } from "../../db/migrate.ts";
import { insertBackend } from "../../db/repos/backends.ts";
import { createEventBus, type OperationEvent } from "../../events/mod.ts";
import { silentLogger } from "../../log.ts";
import type { RunningService, ServiceContext } from "../../service.ts";
import type { ObjectStore } from "../../storage/mod.ts";

export const plainSealer = { seal: (s: string) => Promise.resolve(s), open: (s: string) => Promise.resolve(s) };

/** `stores` maps backend ids to stores; ids other than "local" get an `s3` backend row. */
export async function serviceContext(
  dataDir: string,
  stores: Record<string, ObjectStore>,
  dbUrl = ":memory:",
): Promise<ServiceContext & { close(): Promise<void> }> {
  const handle = createDb(dbUrl);
  await migrateDb(handle);
  const clock = systemClock();
  await ensureDefaultBackend({ db: handle.db, sealer: plainSealer, clock, dataDir });
  const backends = createBackendRegistry();
  for (const [id, store] of Object.entries(stores)) {
    await backends.set(id, store);
    if (id !== "local") {
      await insertBackend(handle.db, plainSealer, { id, kind: "s3", config: {}, createdAt: clock.now() });
    }
  }
  const router = createBucketRouter({ db: handle.db, backends, clock });
  return {
    db: handle.db,
    dataDir,
    clock,
    logger: silentLogger(),
    events: createEventBus<OperationEvent>({ onSubscriberError: () => {} }),
    backends,
    buckets: router,
    bucketConfig: router,
    listen: { api: "127.0.0.1:0", s3: "127.0.0.1:0", iscsi: "127.0.0.1:0" },
    async close() {
      await backends.close();
      handle.close();
    },
  };
}

/** Calls a service route with a JSON body; fails on a non-2xx answer. */
export async function callRoute(service: RunningService, method: string, path: string, body?: unknown) {
  const res = await service.routes!.request(path, {
    method,
    ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${text}`);
  return text;
}
