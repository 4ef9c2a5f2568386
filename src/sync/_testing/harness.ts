/**
 * Test wiring for the sync engine: a migrated in-memory database, stores by backend id, and small helpers to
 * write and read objects as text or bytes.
 *
 * @module
 */
import { fakeClock } from "../../clock.ts";
import { createDb } from "../../db/client.ts";
import { migrateDb } from "../../db/migrate.ts";
import { silentLogger } from "../../log.ts";
import type { ObjectStore } from "../../storage/mod.ts";
import type { EventBus, OperationEvent } from "../../events/mod.ts";
import { createChangeFeed } from "../change_feed.ts";
import { createSyncEngine, type SyncEngineDeps } from "../engine.ts";
import { type JobInput, jobRowOf } from "../jobs.ts";
import { createSyncRepo } from "../repo.ts";

export async function createHarness(
  stores: Record<string, ObjectStore>,
  options: Partial<Pick<SyncEngineDeps, "limits" | "retry">> & {
    /** The database to use (a temp file's by default). */
    db?: { url: string; authToken?: string };
    /** With a bus, a change feed records its events for the watched buckets. */
    feed?: { events: EventBus<OperationEvent>; watch: string[] };
  } = {},
) {
  // A file, not ":memory:": libsql runs each transaction on a new connection, which would see an empty database.
  const dir = options.db ? null : await Deno.makeTempDir({ prefix: "sync-test-" });
  const handle = createDb(options.db?.url ?? `file:${dir}/sync.db`, { authToken: options.db?.authToken });
  await migrateDb(handle);
  const repo = createSyncRepo(handle.db);
  const clock = fakeClock(new Date("2026-03-01T00:00:00Z"));
  const resolveStore = (id: string) => {
    const s = stores[id];
    if (!s) throw new Error(`no store ${id}`);
    return s;
  };
  const feed = options.feed && createChangeFeed({ events: options.feed.events, repo, clock, logger: silentLogger() });
  feed?.watch(options.feed!.watch);
  const engine = createSyncEngine({
    repo,
    clock,
    logger: silentLogger(),
    resolveStore,
    retry: options.retry ?? { attempts: 3, baseDelayMs: 1 },
    ...(options.limits ? { limits: options.limits } : {}),
    ...(feed ? { feed } : {}),
  });
  return {
    handle,
    repo,
    clock,
    engine,
    resolveStore,
    async addJob(input: JobInput) {
      await repo.insertJob({ ...jobRowOf(input, clock.now()), journalSeq: await repo.headSeq() });
    },
    feed,
    async close() {
      await feed?.stop();
      handle.close();
      if (dir) Deno.removeSync(dir, { recursive: true });
    },
  };
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export async function put(
  store: ObjectStore,
  bucket: string,
  key: string,
  data: string | Uint8Array,
  contentType?: string,
) {
  const bytes = typeof data === "string" ? bytesOf(data) : data;
  return await store.putObject(bucket, key, ReadableStream.from([bytes]), {
    contentLength: bytes.length,
    ...(contentType ? { contentType } : {}),
  });
}

export async function read(store: ObjectStore, bucket: string, key: string): Promise<Uint8Array> {
  const { body } = await store.getObject(bucket, key);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

export async function readText(store: ObjectStore, bucket: string, key: string): Promise<string> {
  return new TextDecoder().decode(await read(store, bucket, key));
}

/** Every key of a bucket (all pages). */
export async function keysOf(store: ObjectStore, bucket: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.listObjects(bucket, { prefix, ...(startAfter ? { startAfter } : {}) });
    keys.push(...page.objects.map((o) => o.key));
    if (!page.isTruncated) return keys;
    startAfter = page.nextStartAfter;
  }
}
