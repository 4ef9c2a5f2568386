import assert from "node:assert/strict";
import { createBackendRegistry } from "./backend_registry.ts";
import { AppError } from "./errors.ts";
import { BUCKET_ROW_TTL_MS, createBucketRouter } from "./bucket_router.ts";
import { fakeClock } from "./clock.ts";
import { createDb } from "./db/client.ts";
import { migrateDb } from "./db/migrate.ts";
import { insertBackend } from "./db/repos/backends.ts";
import { setSetting, SETTING } from "./db/repos/settings.ts";
import { createMemoryStore } from "./storage/memory.ts";
import { objectStoreContract } from "./storage/_testing/object_store_contract.ts";
import { collect, streamOf, text } from "./storage/_testing/contract_helpers.ts";

const plainSealer = { seal: (s: string) => Promise.resolve(s), open: (s: string) => Promise.resolve(s) };

async function setup() {
  const handle = createDb(":memory:");
  await migrateDb(handle);
  const clock = fakeClock();
  const backends = createBackendRegistry();
  for (const id of ["a", "b"]) {
    await insertBackend(handle.db, plainSealer, { id, kind: "fs", config: {}, createdAt: clock.now() });
    await backends.set(id, createMemoryStore({ clock }));
  }
  await setSetting(handle.db, SETTING.defaultBackend, "a");
  const router = createBucketRouter({ db: handle.db, backends, clock });
  return {
    router,
    backends,
    clock,
    db: handle.db,
    /** The database stops answering. */
    goAway: () => handle.close(),
    cleanup: async () => {
      await backends.close();
      handle.close();
    },
  };
}

objectStoreContract("bucket router over memory backends", async () => {
  const { router, cleanup } = await setup();
  return { store: router, cleanup };
});

Deno.test("bucket router sends each bucket to its backend and copies across backends by streaming, tags too", async () => {
  const t = await setup();
  try {
    await t.router.createBucket("on-a");
    await t.router.createBucketOn("on-b", "b");
    assert.deepEqual((await t.backends.get("b").listBuckets()).map((b) => b.name), ["on-b"]);
    await t.router.putObject("on-a", "k", streamOf(text("hello world")), {
      contentType: "text/plain",
      metadata: { owner: "ops" },
      tags: { tier: "hot" },
    });
    const copied = await t.router.copyObject({ bucket: "on-a", key: "k", range: { start: 6, end: 10 } }, {
      bucket: "on-b",
      key: "k2",
    });
    assert.equal(copied.size, 5);
    const got = await t.backends.get("b").getObject("on-b", "k2");
    assert.equal(new TextDecoder().decode(await collect(got.body)), "world");
    assert.equal(got.info.contentType, "text/plain");
    assert.deepEqual(got.info.metadata, { owner: "ops" });
    assert.deepEqual(await t.router.getObjectTagging("on-b", "k2"), { tier: "hot" }, "the source's tags by default");
    await t.router.copyObject({ bucket: "on-a", key: "k" }, { bucket: "on-b", key: "k3" }, {
      taggingDirective: "REPLACE",
      tags: { tier: "cold" },
    });
    assert.deepEqual(await t.router.getObjectTagging("on-b", "k3"), { tier: "cold" });
    assert.equal(await t.router.backendOf("on-b"), "b");
    await assert.rejects(t.router.backendOf("missing"), /does not exist/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("bucket router answers Unavailable for a bucket whose backend is not open", async () => {
  const t = await setup();
  try {
    await t.router.createBucketOn("on-b", "b");
    await t.backends.remove("b");
    await assert.rejects(
      t.router.headBucket("on-b"),
      (err: unknown) =>
        err instanceof AppError && err.code === "Unavailable" &&
        /backend "b", which is not available/.test(err.message),
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("a bucket's row the database does not answer for is served as last read; a bucket never read is Unavailable", async () => {
  const t = await setup();
  try {
    await t.router.createBucketOn("known", "b");
    await t.router.putObject("known", "k", streamOf(text("still served")));
    t.goAway();
    t.clock.advance(BUCKET_ROW_TTL_MS);
    const got = await t.router.getObject("known", "k");
    assert.equal(new TextDecoder().decode(await collect(got.body)), "still served");
    assert.deepEqual((await t.backends.get("b").listBuckets()).map((b) => b.name), ["known"], "from its backend");
    await assert.rejects(
      t.router.headBucket("unknown"),
      (err: unknown) =>
        err instanceof AppError && err.code === "Unavailable" &&
        err.message === 'Cannot read the bucket "unknown": the database does not answer; try again',
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("bucket router keeps CORS and lifecycle rules in the bucket's row: kept across restarts, gone with the bucket", async () => {
  const t = await setup();
  try {
    const rules = [{ allowedOrigins: ["*"], allowedMethods: ["GET" as const], allowedHeaders: [], exposeHeaders: [] }];
    await assert.rejects(
      t.router.setConfig("web", "cors", rules),
      (err) => err instanceof AppError && err.code === "NoSuchBucket",
    );
    await t.router.createBucketOn("web", "b");
    assert.equal(await t.router.configOf("web", "cors"), undefined);
    await t.router.setConfig("web", "cors", rules);
    assert.deepEqual(await t.router.configOf("web", "cors"), rules);
    const restarted = createBucketRouter({ db: t.db, backends: t.backends, clock: fakeClock() });
    assert.deepEqual(await restarted.configOf("web", "cors"), rules, "read back from the database");
    const lifecycle = [{ enabled: true, prefix: "tmp/", expiration: { date: new Date("2027-01-01T00:00:00Z") } }];
    await restarted.setConfig("web", "lifecycle", lifecycle);
    const again = createBucketRouter({ db: t.db, backends: t.backends, clock: fakeClock() });
    assert.deepEqual(await again.configOf("web", "lifecycle"), lifecycle, "dates come back as dates");
    assert.deepEqual(await again.configOf("web", "cors"), rules, "each setting in its own column");
    await restarted.setConfig("web", "cors", undefined);
    assert.equal(await restarted.configOf("web", "cors"), undefined);
    await restarted.setConfig("web", "cors", rules);
    await restarted.deleteBucket("web");
    await assert.rejects(Promise.resolve(restarted.configOf("web", "cors")), (err) => err instanceof AppError);
    await restarted.createBucketOn("web", "b");
    assert.equal(await restarted.configOf("web", "cors"), undefined, "a bucket created again starts without rules");
  } finally {
    await t.cleanup();
  }
});

Deno.test("two appliances on one database: what one changes shows on the other within the row TTL", async () => {
  const t = await setup();
  try {
    const clock = fakeClock();
    const other = createBucketRouter({ db: t.db, backends: t.backends, clock });
    await t.router.createBucketOn("shared", "b");
    assert.equal(await other.configOf("shared", "cors"), undefined, "the other reads the row on first use");
    const rules = [{ allowedOrigins: ["*"], allowedMethods: ["GET" as const], allowedHeaders: [], exposeHeaders: [] }];
    await t.router.setConfig("shared", "cors", rules);
    assert.equal(await other.configOf("shared", "cors"), undefined, "served from its cache for a while");
    clock.advance(BUCKET_ROW_TTL_MS);
    assert.deepEqual(await other.configOf("shared", "cors"), rules);
    await t.router.setConfig("shared", "cors", undefined);
    await t.router.deleteBucket("shared");
    clock.advance(BUCKET_ROW_TTL_MS);
    await assert.rejects(other.headBucket("shared"), (err) => err instanceof AppError && err.code === "NoSuchBucket");
  } finally {
    await t.cleanup();
  }
});
