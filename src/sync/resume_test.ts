/** Crash safety: a `sync run` process killed with SIGKILL resumes without re-copying finished objects. */
import assert from "node:assert/strict";
import { createFsStore } from "../storage/fs.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { createHarness, keysOf, put, read } from "./_testing/harness.ts";
import { createCountingStore } from "./counting_store.ts";

const OBJECTS = 40;
const SIZE = 64 * 1024;

Deno.test("sync run killed with SIGKILL mid-run resumes without re-copying finished objects", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sync-kill-" });
  const paths = { db: `${dir}/sync.db`, primary: `${dir}/p`, mirror: `${dir}/m`, job: "k" };
  let primary = createCountingStore(await createFsStore({ root: paths.primary }));
  let mirror = createCountingStore(await createFsStore({ root: paths.mirror }));
  const stores: Record<string, ObjectStore> = { p: primary, m: mirror };
  const h = await createHarness(stores, { db: { url: `file:${paths.db}` } });
  let child: Deno.ChildProcess | undefined;
  try {
    await primary.createBucket("primary");
    await mirror.createBucket("mirror");
    for (let i = 0; i < OBJECTS; i++) {
      await put(primary, "primary", `o/${i}`, new Uint8Array(SIZE).fill(i));
    }
    // Bandwidth-limited (streamed across stores) so the run lasts long enough to be killed in the middle.
    await h.addJob({
      id: "k",
      source: { backend: "p", bucket: "primary" },
      target: { backend: "m", bucket: "mirror" },
      concurrency: 2,
      bandwidthLimit: 16 * SIZE,
    });
    // The run's own process opens the stores' roots, which one store at a time may hold.
    await primary.close();
    await mirror.close();
    child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_testing/run_job.ts", import.meta.url).pathname, JSON.stringify(paths)],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let done = 0;
    for (let i = 0; i < 400 && done < 10; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const [run] = await h.repo.listRuns("k");
      if (run) done = (await h.repo.items(run.id, ["done"])).length;
    }
    child.kill("SIGKILL");
    const status = await child.status;
    child = undefined;
    assert.equal(status.signal, "SIGKILL");
    assert.ok(done >= 10 && done < OBJECTS, `killed mid-run (${done} of ${OBJECTS} done)`);

    const [run] = await h.repo.listRuns("k");
    assert.equal(run!.status, "running");
    const finished = (await h.repo.items(run!.id, ["done"])).length;
    const left = OBJECTS - finished;
    stores.p = primary = createCountingStore(await createFsStore({ root: paths.primary }));
    stores.m = mirror = createCountingStore(await createFsStore({ root: paths.mirror }));
    await h.repo.updateJob("k", { bandwidthLimit: null });
    const resumed = await h.engine.run("k");
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.generation, 1);
    assert.equal(resumed.status, "succeeded");
    assert.equal(primary.counts.getObject, left, "only unfinished objects are read again");
    assert.equal(mirror.counts.putObject, left, "only unfinished objects are written again");
    assert.equal(primary.counts.listObjects, undefined, "the plan is not recomputed");
    assert.deepEqual(await keysOf(mirror, "mirror"), await keysOf(primary, "primary"));
    for (let i = 0; i < OBJECTS; i++) {
      assert.deepEqual(await read(mirror, "mirror", `o/${i}`), new Uint8Array(SIZE).fill(i));
    }
    assert.equal((await h.engine.run("k")).copied, 0);
  } finally {
    if (child) {
      child.kill("SIGKILL");
      await child.status;
    }
    await h.close();
    await primary.close();
    await mirror.close();
    await Deno.remove(dir, { recursive: true });
  }
});
