import assert from "node:assert/strict";
import { systemClock } from "../clock.ts";
import { createEventBus, type OperationEvent } from "../events/mod.ts";
import { createMemoryBucketConfigStore } from "../gateway/bucket_config.ts";
import { silentLogger } from "../log.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { put } from "../storage/_testing/contract_helpers.ts";
import { createLifecycleService } from "./mod.ts";

async function setup() {
  const clock = systemClock();
  const buckets = createMemoryStore({ clock });
  const bucketConfig = createMemoryBucketConfigStore(buckets);
  const events = createEventBus<OperationEvent>();
  const seen: OperationEvent[] = [];
  events.subscribe((e) => seen.push(e));
  await buckets.createBucket("web");
  await put(buckets, "web", "tmp/a", "a");
  await put(buckets, "web", "keep/b", "b");
  const service = await createLifecycleService({ buckets, bucketConfig, clock, logger: silentLogger(), events }, {
    afterSetMs: 20,
    intervalMs: 60 * 60 * 1000,
  });
  return { buckets, bucketConfig, events, seen, service };
}

const setEvent = (bucket: string): OperationEvent => ({
  actor: "admin",
  op: "PutBucketLifecycleConfiguration",
  bucket,
  status: 200,
  requestId: "0000000000000001",
  clientAddress: "127.0.0.1",
  time: new Date(),
  durationMs: 1,
  bytesIn: 0,
  bytesOut: 0,
});

Deno.test("lifecycle service: rules just set are carried out within moments; status, run and metrics", async () => {
  const t = await setup();
  try {
    const past = new Date("2020-01-01T00:00:00Z");
    await t.bucketConfig.setConfig("web", "lifecycle", [{ enabled: true, prefix: "tmp/", expiration: { date: past } }]);
    t.events.publish(setEvent("web"));
    const deadline = Date.now() + 5000;
    while ((await t.buckets.listObjects("web")).objects.length > 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual((await t.buckets.listObjects("web")).objects.map((o) => o.key), ["keep/b"]);
    assert.ok(t.seen.some((e) => e.op === "DeleteObject" && e.actor === "lifecycle" && e.key === "tmp/a"));

    const status = await (await t.service.routes!.request("/status")).json();
    assert.equal(status.totals.expired, 1);
    assert.equal(status.lastPass.expired, 1);
    await put(t.buckets, "web", "tmp/c", "c");
    const run = await (await t.service.routes!.request("/run", { method: "POST" })).json();
    assert.deepEqual([run.buckets, run.expired, run.errors], [1, 1, 0]);
    const one = await (await t.service.routes!.request("/run?bucket=web", { method: "POST" })).json();
    assert.deepEqual([one.buckets, one.errors], [1, 0], "a pass over one bucket");
    const none = await t.service.routes!.request("/run?bucket=nope", { method: "POST" });
    assert.deepEqual([none.status, (await none.json()).code], [404, "NoSuchBucket"]);
    const metrics = t.service.metrics!();
    assert.match(metrics, /^s3_lifecycle_objects_expired_total 2$/m);
    assert.match(metrics, /^s3_lifecycle_uploads_aborted_total 0$/m);
    assert.match(metrics, /# TYPE s3_lifecycle_passes_total counter/);
  } finally {
    await t.service.stop();
  }
});
