import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { createHarness, put } from "./_testing/harness.ts";
import { startScheduler } from "./scheduler.ts";
import { createThrottle } from "./throttle.ts";

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error("Timed out waiting for the condition");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("startScheduler() runs interval jobs when due and never on-demand ones", async () => {
  const store = createMemoryStore();
  await store.createBucket("primary");
  await store.createBucket("mirror");
  await put(store, "primary", "k", "v");
  const h = await createHarness({ s: store });
  const scheduler = startScheduler({ repo: h.repo, engine: h.engine, clock: h.clock, logger: silentLogger() }, {
    tickMs: 10,
  });
  try {
    const side = { source: { backend: "s", bucket: "primary" }, target: { backend: "s", bucket: "mirror" } };
    await h.addJob({ id: "hourly", intervalSeconds: 3600, ...side });
    await h.addJob({ id: "manual", ...side, target: { backend: "s", bucket: "mirror", prefix: "m/" } });
    const runs = async (job: string) => (await h.repo.listRuns(job)).filter((r) => r.status === "succeeded").length;
    await until(async () => (await runs("hourly")) === 1);
    h.clock.advance(1800 * 1000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await runs("hourly"), 1, "not due yet");
    h.clock.advance(1800 * 1000);
    await until(async () => (await runs("hourly")) === 2);
    assert.equal(await runs("manual"), 0);
  } finally {
    await scheduler.stop();
    await h.close();
  }
});

Deno.test("createThrottle() holds the average rate across callers", async () => {
  let now = 0;
  const waits: number[] = [];
  const throttle = createThrottle(1000, {
    now: () => now,
    sleep: (ms) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve();
    },
  });
  await throttle(500);
  await throttle(500);
  await throttle(1000);
  assert.deepEqual(waits, [500, 500]);
  assert.equal(now, 1000);
});

Deno.test("engine progress reports objects, bytes, rate and ETA during a run", async () => {
  const store = createMemoryStore();
  const mirror = createMemoryStore();
  await store.createBucket("primary");
  await mirror.createBucket("mirror");
  for (let i = 0; i < 8; i++) await put(store, "primary", `k${i}`, new Uint8Array(32 * 1024));
  const h = await createHarness({ p: store, m: mirror });
  try {
    await h.addJob({
      id: "slow",
      concurrency: 1,
      bandwidthLimit: 256 * 1024,
      source: { backend: "p", bucket: "primary" },
      target: { backend: "m", bucket: "mirror" },
    });
    assert.equal(h.engine.progress("slow"), null);
    const running = h.engine.run("slow");
    await until(() => (h.engine.progress("slow")?.objectsDone ?? 0) >= 2);
    h.clock.advance(1000);
    const p = h.engine.progress("slow")!;
    assert.equal(p.objectsTotal, 8);
    assert.equal(p.bytesTotal, 8 * 32 * 1024);
    assert.ok(p.bytesDone >= 2 * 32 * 1024 && p.bytesPerSecond > 0 && p.etaSeconds !== null && p.etaSeconds > 0);
    await assert.rejects(h.engine.run("slow"), { code: "Conflict" });
    assert.equal((await running).copied, 8);
    assert.equal(h.engine.progress("slow"), null);
  } finally {
    await h.close();
  }
});

Deno.test("engine stopAll() interrupts a run between objects; the next run resumes it", async () => {
  const store = createMemoryStore();
  const mirror = createMemoryStore();
  await store.createBucket("primary");
  await mirror.createBucket("mirror");
  for (let i = 0; i < 8; i++) await put(store, "primary", `k${i}`, new Uint8Array(32 * 1024));
  const h = await createHarness({ p: store, m: mirror });
  try {
    await h.addJob({
      id: "stop",
      concurrency: 1,
      bandwidthLimit: 256 * 1024,
      source: { backend: "p", bucket: "primary" },
      target: { backend: "m", bucket: "mirror" },
    });
    const running = h.engine.run("stop");
    await until(() => (h.engine.progress("stop")?.objectsDone ?? 0) >= 2);
    await h.engine.stopAll();
    await assert.rejects(running, { code: "Unavailable" });
    const [run] = await h.repo.listRuns("stop");
    assert.equal(run!.status, "running");
    const left = (await h.repo.items(run!.id, ["pending"])).length;
    assert.ok(left > 0 && left < 8);
    await h.repo.updateJob("stop", { bandwidthLimit: null });
    const resumed = await h.engine.run("stop");
    assert.deepEqual([resumed.resumed, resumed.generation, resumed.status], [true, 1, "succeeded"]);
  } finally {
    await h.close();
  }
});
