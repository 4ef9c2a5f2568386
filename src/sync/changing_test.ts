/** Objects that change while a run copies them: what is read is copied, and the next run catches up. */
import assert from "node:assert/strict";
import { createMemoryStore } from "../storage/memory.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { createHarness, put, readText } from "./_testing/harness.ts";

/** A store that runs `hook` once, just before the first read or copy of `key` (after planning). */
function changingStore(inner: ObjectStore, key: string, hook: () => Promise<void>): ObjectStore {
  let fired = false;
  const fire = async (k: string) => {
    if (k === key && !fired) {
      fired = true;
      await hook();
    }
  };
  return Object.assign(Object.create(inner), {
    getObject: async (...a: Parameters<ObjectStore["getObject"]>) => (await fire(a[1]), inner.getObject(...a)),
    copyObject: async (...a: Parameters<ObjectStore["copyObject"]>) => (await fire(a[0].key), inner.copyObject(...a)),
  });
}

for (const sameStore of [false, true]) {
  Deno.test(`an object rewritten between plan and copy is copied as read (${sameStore ? "server-side" : "streamed"})`, async () => {
    const primary = createMemoryStore();
    const mirror = sameStore ? primary : createMemoryStore();
    await primary.createBucket("primary");
    await mirror.createBucket("mirror");
    await put(primary, "primary", "hot", "before");
    const source = changingStore(
      primary,
      "hot",
      async () => void await put(primary, "primary", "hot", "during the run"),
    );
    const h = await createHarness({ p: source, m: sameStore ? source : mirror });
    try {
      await h.addJob({
        id: "c",
        source: { backend: "p", bucket: "primary" },
        target: { backend: sameStore ? "p" : "m", bucket: "mirror" },
      });
      const plan = await h.engine.plan("c");
      assert.equal(plan.items[0]!.size, "before".length);
      const run = await h.engine.run("c");
      assert.equal(run.status, "succeeded");
      assert.equal(await readText(mirror, "mirror", "hot"), "during the run");
      const entry = (await h.repo.currentManifest("c")).get("hot");
      assert.equal(
        entry!.etag,
        (await primary.headObject("primary", "hot")).etag,
        "the manifest records what was copied",
      );
      assert.equal((await h.engine.run("c")).copied, 0);
    } finally {
      await h.close();
    }
  });
}

Deno.test("an object rewritten after it was read is marked for the next run", async () => {
  const primary = createMemoryStore();
  const mirror = createMemoryStore();
  await primary.createBucket("primary");
  await mirror.createBucket("mirror");
  await put(primary, "primary", "hot", "old");
  let rewrite = true;
  const source = Object.assign(Object.create(primary), {
    getObject: async (...a: Parameters<ObjectStore["getObject"]>) => {
      const got = await primary.getObject(...a);
      if (rewrite) {
        rewrite = false;
        await put(primary, "primary", "hot", "newer");
      }
      return got;
    },
  });
  const h = await createHarness({ p: source, m: mirror });
  try {
    await h.addJob({
      id: "c",
      source: { backend: "p", bucket: "primary" },
      target: { backend: "m", bucket: "mirror" },
    });
    await h.engine.run("c");
    assert.equal(await readText(mirror, "mirror", "hot"), "old", "the consistent version that was read");
    const next = await h.engine.plan("c");
    assert.deepEqual(next.items.map((i) => `${i.op} ${i.key} ${i.reason}`), ["copy hot modified"]);
    await h.engine.run("c");
    assert.equal(await readText(mirror, "mirror", "hot"), "newer");
  } finally {
    await h.close();
  }
});

Deno.test("an object deleted between plan and copy is skipped and counted; the next run has nothing to do", async () => {
  const primary = createMemoryStore();
  await primary.createBucket("primary");
  await primary.createBucket("mirror");
  await put(primary, "primary", "kept", "stays");
  await put(primary, "primary", "gone", "deleted during the run");
  const source = changingStore(primary, "gone", () => primary.deleteObject("primary", "gone"));
  const h = await createHarness({ p: source });
  try {
    await h.addJob({
      id: "d",
      source: { backend: "p", bucket: "primary" },
      target: { backend: "p", bucket: "mirror" },
    });
    const run = await h.engine.run("d");
    assert.deepEqual([run.status, run.copied, run.skipped, run.failed], ["succeeded", 1, 1, 0]);
    assert.deepEqual((await primary.listObjects("mirror")).objects.map((o) => o.key), ["kept"]);
    const next = await h.engine.run("d");
    assert.deepEqual([next.copied, next.deleted, next.skipped], [0, 0, 0], "never copied, so nothing to delete");
  } finally {
    await h.close();
  }
});
