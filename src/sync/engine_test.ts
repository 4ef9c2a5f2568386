import assert from "node:assert/strict";
import { DATABASE_KINDS, openTestDatabase, type TestDatabase } from "../db/_testing/databases.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { createHarness, keysOf, put, read, readText } from "./_testing/harness.ts";
import { createCountingStore } from "./counting_store.ts";
import { generationManifest, restoreGeneration } from "./generations.ts";

const ODD_KEYS = [
  "ünïcödé/文件.txt",
  "emoji/😀 smile.bin",
  "spaces and  double/x y.txt",
  "percent%20plus+amp&eq=q?.txt",
  "deep/a/b/c/d/e/f/g.txt",
  "trailing-slash-dir/",
  "zero-bytes",
];

async function setup(options: { sameStore?: boolean; db?: TestDatabase } = {}) {
  const primary = createCountingStore(createMemoryStore());
  const mirror = options.sameStore ? primary : createCountingStore(createMemoryStore());
  await primary.createBucket("primary");
  await mirror.createBucket("mirror");
  const h = await createHarness({ p: primary, m: mirror }, options.db ? { db: options.db } : {});
  return { primary, mirror, h };
}

for (const kind of DATABASE_KINDS) {
  Deno.test(`${kind} database: sync run copies everything, then only changes, keeping generations restorable`, async () => {
    const db = await openTestDatabase(kind);
    const { primary, mirror, h } = await setup({ db });
    try {
      await h.addJob({
        id: "j",
        source: { backend: "p", bucket: "primary" },
        target: { backend: "m", bucket: "mirror" },
      });
      for (const k of ODD_KEYS) await put(primary, "primary", k, k === "zero-bytes" ? "" : `v1 ${k}`, "text/plain");
      await put(primary, "primary", "keep", "unchanged");

      const first = await h.engine.run("j");
      assert.equal(first.status, "succeeded");
      assert.equal(first.generation, 1);
      assert.equal(first.copied, ODD_KEYS.length + 1);
      assert.deepEqual(await keysOf(mirror, "mirror"), await keysOf(primary, "primary"));
      assert.equal((await mirror.headObject("mirror", "ünïcödé/文件.txt")).contentType, "text/plain");
      assert.equal((await mirror.headObject("mirror", "zero-bytes")).size, 0);

      primary.reset();
      mirror.reset();
      const idle = await h.engine.run("j");
      assert.equal(idle.copied + idle.deleted, 0);
      const metrics = h.engine.metrics();
      assert.match(metrics, /^s3plugin_sync_runs_total\{job="j",status="succeeded"\} 2$/m);
      assert.match(metrics, new RegExp(`^s3plugin_sync_objects_total\\{job="j"\\} ${ODD_KEYS.length + 1}$`, "m"));
      // Manifest mode: one listing page of the source, nothing on the mirror but the bucket check.
      assert.deepEqual(primary.counts, { headBucket: 1, listObjects: 1 });
      assert.deepEqual(mirror.counts, { headBucket: 1 });

      await put(primary, "primary", "ünïcödé/文件.txt", "v2 changed");
      await primary.deleteObject("primary", "emoji/😀 smile.bin");
      await put(primary, "primary", "new", "brand new");
      const third = await h.engine.run("j");
      assert.deepEqual([third.generation, third.copied, third.deleted], [3, 2, 1]);
      assert.equal(await readText(mirror, "mirror", "ünïcödé/文件.txt"), "v2 changed");
      await assert.rejects(mirror.headObject("mirror", "emoji/😀 smile.bin"), { code: "NoSuchKey" });
      assert.deepEqual(
        (await keysOf(mirror, "mirror", ".cowsync/")).sort(),
        [".cowsync/versions/emoji/😀 smile.bin/1", ".cowsync/versions/ünïcödé/文件.txt/1"],
      );

      const job = (await h.repo.getJob("j"))!;
      const gen1 = await generationManifest(h.repo, job, { generation: 1 });
      assert.equal(gen1.length, ODD_KEYS.length + 1);
      assert.equal(gen1.filter((e) => e.versionKey !== null).length, 2, "unchanged objects are not stored twice");

      await mirror.createBucket("restored");
      const restored = await restoreGeneration({ repo: h.repo, resolveStore: h.resolveStore }, job, {
        generation: 1,
        to: { backend: "m", bucket: "restored", prefix: "r/" },
      });
      assert.equal(restored.restored, ODD_KEYS.length + 1);
      for (const k of ODD_KEYS) {
        assert.equal(await readText(mirror, "restored", "r/" + k), k === "zero-bytes" ? "" : `v1 ${k}`);
      }
      const partial = await restoreGeneration({ repo: h.repo, resolveStore: h.resolveStore }, job, {
        generation: 3,
        prefix: "ünïcödé/",
        to: { backend: "m", bucket: "restored", prefix: "g3/" },
      });
      assert.equal(partial.restored, 1);
      assert.equal(await readText(mirror, "restored", "g3/ünïcödé/文件.txt"), "v2 changed");
    } finally {
      await h.close();
      await db.close();
    }
  });
}

Deno.test("sync run in additive mode never deletes on the mirror", async () => {
  const { primary, mirror, h } = await setup();
  try {
    await h.addJob({
      id: "a",
      mode: "additive",
      source: { backend: "p", bucket: "primary", prefix: "src/" },
      target: { backend: "m", bucket: "mirror", prefix: "dst/" },
      exclude: ["*.tmp"],
    });
    await put(primary, "primary", "src/x", "x");
    await put(primary, "primary", "src/skip.tmp", "t");
    await put(primary, "primary", "outside", "o");
    await h.engine.run("a");
    await primary.deleteObject("primary", "src/x");
    const second = await h.engine.run("a");
    assert.equal(second.deleted, 0);
    assert.deepEqual(await keysOf(mirror, "mirror"), ["dst/x"]);
  } finally {
    await h.close();
  }
});

Deno.test("sync run uses server-side copies within one store, multipart above the copy limit", async () => {
  const { primary, h } = await setup({ sameStore: true });
  await h.close();
  const big = new Uint8Array(11 * 1024 * 1024).map((_, i) => (i * 7) % 251);
  await put(primary, "primary", "big.img", big);
  await put(primary, "primary", "small", "s");
  const h2 = await createHarness({ p: primary }, {
    limits: { multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024, copyPartThreshold: 6 * 1024 * 1024 },
  });
  try {
    await h2.addJob({
      id: "s",
      source: { backend: "p", bucket: "primary" },
      target: { backend: "p", bucket: "mirror" },
    });
    primary.reset();
    const run = await h2.engine.run("s");
    assert.equal(run.copied, 2);
    assert.equal(primary.counts.getObject, undefined, "no bytes streamed through the process");
    assert.equal(primary.counts.uploadPartCopy, 3);
    assert.equal(primary.counts.copyObject, 1);
    assert.deepEqual(await read(primary, "mirror", "big.img"), big);
  } finally {
    await h2.close();
  }
});

Deno.test("sync run streams across stores with verified multipart parts", async () => {
  const { primary, mirror, h } = await setup();
  await h.close();
  const big = new Uint8Array(12 * 1024 * 1024 + 5).map((_, i) => (i * 13) % 253);
  await put(primary, "primary", "big.img", big, "application/octet-stream");
  const h2 = await createHarness({ p: primary, m: mirror }, {
    limits: { multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024, copyPartThreshold: 5 * 1024 ** 3 },
  });
  try {
    await h2.addJob({
      id: "x",
      source: { backend: "p", bucket: "primary" },
      target: { backend: "m", bucket: "mirror" },
    });
    mirror.reset();
    await h2.engine.run("x");
    assert.equal(mirror.counts.uploadPart, 3);
    const info = await mirror.headObject("mirror", "big.img");
    assert.match(info.etag, /-3"$/);
    assert.equal(info.contentType, "application/octet-stream");
    assert.deepEqual(await read(mirror, "mirror", "big.img"), big);
  } finally {
    await h2.close();
  }
});

Deno.test("sync run --verify repairs a mirror changed behind its back", async () => {
  const { primary, mirror, h } = await setup();
  try {
    await h.addJob({
      id: "v",
      source: { backend: "p", bucket: "primary" },
      target: { backend: "m", bucket: "mirror" },
    });
    for (const k of ["a", "b", "c"]) await put(primary, "primary", k, k);
    await h.engine.run("v");
    await put(mirror, "mirror", "a", "tampered");
    await mirror.deleteObject("mirror", "b");
    await put(mirror, "mirror", "stray", "s");
    assert.equal((await h.engine.plan("v")).items.length, 0, "manifest mode trusts the manifest");
    const plan = await h.engine.plan("v", { verify: true });
    assert.deepEqual(plan.items.map((i) => `${i.op} ${i.key} ${i.reason}`), [
      "copy a differs-on-mirror",
      "copy b missing-on-mirror",
      "delete stray extra-on-mirror",
    ]);
    const run = await h.engine.run("v", { verify: true });
    assert.equal(run.detection, "verify");
    assert.deepEqual(await keysOf(mirror, "mirror", ""), [".cowsync/versions/a/1", "a", "b", "c"]);
    assert.equal(await readText(mirror, "mirror", "a"), "a");
  } finally {
    await h.close();
  }
});

Deno.test("sync run rejects a missing bucket and an unknown job clearly", async () => {
  const { h } = await setup();
  try {
    await h.addJob({ id: "nb", source: { backend: "p", bucket: "nope" }, target: { backend: "m", bucket: "mirror" } });
    await assert.rejects(h.engine.run("nb"), { code: "NotFound", message: 'Bucket "nope" does not exist' });
    await assert.rejects(h.engine.run("missing"), { code: "NotFound" });
    assert.equal((await h.repo.listRuns("nb")).length, 0);
  } finally {
    await h.close();
  }
});
