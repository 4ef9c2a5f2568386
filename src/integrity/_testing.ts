/**
 * Test fixtures for the integrity service: a real database file in a temp dir, a memory store serving the
 * gateway's buckets, a second memory store (backend "anchor") for the anchors, a fake clock, manual timers and
 * an event bus.
 *
 * @module
 */
import { Hono } from "hono";
import { createBackendRegistry } from "../backend_registry.ts";
import { fakeClock } from "../clock.ts";
import { createDb, type DbHandle } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { createEventBus, type OperationEvent } from "../events/mod.ts";
import { silentLogger } from "../log.ts";
import type { RunningService, ServiceContext } from "../service.ts";
import { createMemoryStore } from "../storage/memory.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { Timers } from "./integrity.ts";
import { createIntegrityService } from "./mod.ts";
import { createMemoryBucketConfigStore } from "../gateway/bucket_config.ts";

export interface ManualTimers extends Timers {
  /** Run every callback whose period is `ms`. */
  fire(ms: number): void;
  active(): number;
}

export function manualTimers(): ManualTimers {
  const entries = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    setInterval(fn, ms) {
      entries.set(next, { fn, ms });
      return next++;
    },
    clearInterval: (handle) => void entries.delete(handle as number),
    fire(ms) {
      for (const e of [...entries.values()]) if (e.ms === ms) e.fn();
    },
    active: () => entries.size,
  };
}

export interface TestContext {
  ctx: ServiceContext;
  dir: string;
  dbUrl: string;
  handle: DbHandle;
  /** The store behind the gateway's buckets. */
  data: ObjectStore;
  /** The store holding the anchors. */
  anchorStore: ObjectStore;
  clock: ReturnType<typeof fakeClock>;
  timers: ManualTimers;
  /** Reopen the database (e.g. after replacing its file). */
  reopen(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createTestContext(): Promise<TestContext> {
  const dir = await Deno.makeTempDir({ prefix: "integrity-test-" });
  const dbUrl = `file:${dir}/s3plugin.db`;
  const clock = fakeClock(new Date("2026-03-01T10:00:00Z"));
  const data = createMemoryStore({ clock });
  const anchorStore = createMemoryStore({ clock });
  const backends = createBackendRegistry();
  await backends.set("local", data);
  await backends.set("anchor", anchorStore);
  const t: TestContext = {
    dir,
    dbUrl,
    handle: createDb(dbUrl),
    data,
    anchorStore,
    clock,
    timers: manualTimers(),
    ctx: undefined as unknown as ServiceContext,
    async reopen() {
      t.handle.close();
      t.handle = createDb(dbUrl);
      await migrateDb(t.handle);
      t.ctx = { ...t.ctx, db: t.handle.db };
    },
    async cleanup() {
      t.handle.close();
      await backends.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  await migrateDb(t.handle);
  t.ctx = {
    db: t.handle.db,
    dataDir: dir,
    clock,
    logger: silentLogger(),
    events: createEventBus<OperationEvent>(),
    backends,
    buckets: data,
    bucketConfig: createMemoryBucketConfigStore(data),
    listen: { api: "127.0.0.1:0", s3: "127.0.0.1:0", iscsi: "127.0.0.1:0" },
  };
  return t;
}

/** A gateway event as the gateway publishes it. */
export function putEvent(
  clock: { now(): Date },
  bucket: string,
  key: string,
  etag: string,
  size: number,
): OperationEvent {
  return {
    actor: "AKIATEST",
    op: "PutObject",
    bucket,
    key,
    size,
    etag,
    status: 200,
    requestId: crypto.randomUUID(),
    clientAddress: "127.0.0.1",
    time: clock.now(),
    durationMs: 1,
    bytesIn: size,
    bytesOut: 0,
  };
}

export function bytes(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

/** Serves a service's routes at `/api/v1/integrity` on 127.0.0.1:0, requiring `token` as the API does. */
export function serveRoutes(routes: Hono, token: string): { url: string; close(): Promise<void> } {
  const app = new Hono();
  app.use("/api/v1/*", async (c, next) => {
    if (c.req.header("authorization") !== `Bearer ${token}`) return c.json({ code: "Unauthorized" }, 401);
    await next();
  });
  app.route("/api/v1/integrity", routes);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** A service with `n` gateway PUTs in bucket "data", served over HTTP for the CLI. */
export async function servedJournal(n: number): Promise<{
  t: TestContext;
  service: RunningService;
  api: { url: string; token: string };
  publish(i: number): Promise<void>;
  close(): Promise<void>;
}> {
  const t = await createTestContext();
  const service = await createIntegrityService(t.ctx, { anchor: { backend: "anchor" }, timers: t.timers });
  await t.data.createBucket("data");
  const publish = async (i: number) => {
    const info = await t.data.putObject("data", `k/${i}`, bytes(`object ${i}`));
    t.ctx.events.publish(putEvent(t.clock, "data", `k/${i}`, info.etag, info.size));
    t.clock.advance(1000);
  };
  for (let i = 0; i < n; i++) await publish(i);
  const token = "test-token-" + crypto.randomUUID();
  const server = serveRoutes(service.routes!, token);
  return {
    t,
    service,
    api: { url: server.url, token },
    publish,
    async close() {
      await server.close();
      await service.stop();
      await t.cleanup();
    },
  };
}

/** Calls one of the service's routes; returns status and parsed JSON body. */
export async function request<T>(
  service: RunningService,
  method: string,
  path: string,
): Promise<{ status: number; body: T }> {
  const res = await service.routes!.request(path, { method });
  return { status: res.status, body: await res.json() as T };
}

/** Like `request`, but the call must succeed; returns the body. */
export async function call<T>(service: RunningService, method: string, path: string): Promise<T> {
  const { status, body } = await request<T>(service, method, path);
  if (status >= 300) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(body)}`);
  return body;
}
