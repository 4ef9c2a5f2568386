import assert from "node:assert/strict";
import { createMemoryStore } from "../storage/memory.ts";
import { createHarness, keysOf, put, readText } from "./_testing/harness.ts";
import { applyRetention, isReferenced, keptGenerations, restoreGeneration } from "./generations.ts";
import { silentLogger } from "../log.ts";

const DAY = 86_400_000;
const now = new Date("2026-03-10T00:00:00Z");
const runs = [1, 2, 3, 4, 5].map((g) => ({ generation: g, finishedAt: new Date(now.getTime() - (5 - g) * DAY) }));

Deno.test("keptGenerations() applies keep-last and keep-days, always keeping the newest", () => {
  const cases: [number | null, number | null, number[]][] = [
    [null, null, [5, 4, 3, 2, 1]],
    [2, null, [5, 4]],
    [0, null, [5]],
    [null, 2, [5, 4, 3]],
    [1, 3, [5, 4, 3, 2]],
  ];
  for (const [keepLast, keepDays, want] of cases) {
    assert.deepEqual(keptGenerations(runs, { keepLast, keepDays }, now), want, `${keepLast}/${keepDays}`);
  }
});

Deno.test("isReferenced() checks the [fromGen, toGen) range", () => {
  assert.equal(isReferenced({ fromGen: 2, toGen: 4 }, [5, 3]), true);
  assert.equal(isReferenced({ fromGen: 2, toGen: 4 }, [5, 4]), false);
  assert.equal(isReferenced({ fromGen: 2, toGen: null }, [5]), true);
});

Deno.test("retention deletes version copies no kept generation references and expires generations", async () => {
  const store = createMemoryStore();
  await store.createBucket("primary");
  await store.createBucket("mirror");
  const h = await createHarness({ s: store });
  try {
    await h.addJob({
      id: "r",
      keepLast: 2,
      source: { backend: "s", bucket: "primary" },
      target: { backend: "s", bucket: "mirror" },
    });
    await put(store, "primary", "stable", "never changes");
    for (let v = 1; v <= 4; v++) {
      await put(store, "primary", "hot", `version ${v}`);
      h.clock.advance(DAY);
      assert.equal((await h.engine.run("r")).status, "succeeded");
    }
    // Generations 3 and 4 are kept: gen 3 needs hot@3 (a version copy); hot@1 and hot@2 are gone.
    assert.deepEqual(await keysOf(store, "mirror", ".cowsync/"), [".cowsync/versions/hot/3"]);
    const job = (await h.repo.getJob("r"))!;
    const deps = { repo: h.repo, resolveStore: h.resolveStore };
    await assert.rejects(restoreGeneration(deps, job, { generation: 2 }), { code: "NotFound" });
    await store.createBucket("back");
    await restoreGeneration(deps, job, { generation: 3, to: { backend: "s", bucket: "back", prefix: "" } });
    assert.equal(await readText(store, "back", "hot"), "version 3");
    assert.equal(await readText(store, "back", "stable"), "never changes");

    await h.repo.updateJob("r", { keepLast: 1 });
    const result = await applyRetention(
      { repo: h.repo, clock: h.clock, logger: silentLogger(), store },
      (await h.repo.getJob("r"))!,
    );
    assert.deepEqual(result, { expired: [3], deleted: 1 });
    assert.deepEqual(await keysOf(store, "mirror", ".cowsync/"), []);
    assert.deepEqual((await h.repo.generationEntries("r", 4)).map((e) => e.key), ["hot", "stable"]);
  } finally {
    await h.close();
  }
});

Deno.test("keepLast 0 keeps no history: nothing is preserved on overwrite", async () => {
  const store = createMemoryStore();
  await store.createBucket("primary");
  await store.createBucket("mirror");
  const h = await createHarness({ s: store });
  try {
    await h.addJob({
      id: "n",
      keepLast: 0,
      source: { backend: "s", bucket: "primary" },
      target: { backend: "s", bucket: "mirror" },
    });
    await put(store, "primary", "k", "1");
    await h.engine.run("n");
    await put(store, "primary", "k", "2");
    await h.engine.run("n");
    assert.deepEqual(await keysOf(store, "mirror"), ["k"]);
    assert.equal(await readText(store, "mirror", "k"), "2");
  } finally {
    await h.close();
  }
});
