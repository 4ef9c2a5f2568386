import assert from "node:assert/strict";
import { fakeClock } from "../clock.ts";
import { createEventBus, type OperationEvent, type S3Operation } from "../events/mod.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { createHarness, put, readText } from "./_testing/harness.ts";
import { restoreGeneration } from "./generations.ts";
import { changeOf } from "./change_feed.ts";

const clock = fakeClock();
const watched = new Set(["primary"]);

function event(op: S3Operation, extra: Partial<OperationEvent> = {}): OperationEvent {
  return {
    actor: "AK",
    op,
    bucket: "primary",
    key: "k",
    status: 200,
    requestId: "r",
    clientAddress: "127.0.0.1",
    time: clock.now(),
    durationMs: 1,
    bytesIn: 0,
    bytesOut: 0,
    ...extra,
  };
}

Deno.test("changeOf() maps gateway operations to change-feed records", () => {
  const cases: [string, OperationEvent, string | null][] = [
    ["put", event("PutObject", { etag: '"e"', size: 3 }), 'put k "e" 3'],
    ["multipart completion", event("CompleteMultipartUpload", { etag: '"m-2"', size: 9 }), 'put k "m-2" 9'],
    ["copy target", event("CopyObject", { etag: '"c"', size: 1 }), 'put k "c" 1'],
    ["delete", event("DeleteObject"), "delete k null null"],
    ["multi-delete names no key", event("DeleteObjects", { key: undefined }), "reset null null null"],
    ["bucket deleted", event("DeleteBucket", { key: undefined }), "reset null null null"],
    ["failed put", event("PutObject", { status: 500 }), null],
    ["precondition failed", event("PutObject", { status: 412 }), null],
    ["read", event("GetObject"), null],
    ["part upload", event("UploadPart"), null],
    ["unwatched bucket", event("PutObject", { bucket: "other" }), null],
  ];
  for (const [name, e, want] of cases) {
    const c = changeOf(e, watched, clock);
    assert.equal(c && `${c.op} ${c.key} ${c.etag} ${c.size}`, want, name);
  }
});

Deno.test("journal jobs read the feed, and reconcile with a listing after a reset or when due", async () => {
  const events = createEventBus<OperationEvent>();
  const gateway = createMemoryStore();
  const mirror = createMemoryStore();
  await gateway.createBucket("primary");
  await mirror.createBucket("mirror");
  const h = await createHarness({ gateway, m: mirror }, { feed: { events, watch: ["primary"] } });
  try {
    await h.addJob({
      id: "j",
      detection: "journal",
      reconcileSeconds: 3600,
      source: { backend: "gateway", bucket: "primary" },
      target: { backend: "m", bucket: "mirror" },
    });
    const write = async (key: string, text: string) => {
      const info = await put(gateway, "primary", key, text);
      events.publish(event("PutObject", { key, etag: info.etag, size: info.size }));
    };
    await write("a", "1");
    assert.equal((await h.engine.run("j")).detection, "manifest", "first run lists");
    await write("b", "2");
    await h.feed!.flush();
    const journal = await h.engine.run("j");
    assert.deepEqual([journal.detection, journal.copied], ["journal", 1]);

    events.publish(event("DeleteObjects", { key: undefined }));
    await gateway.deleteObject("primary", "a");
    await h.feed!.flush();
    const reset = await h.engine.run("j");
    assert.deepEqual([reset.detection, reset.deleted], ["manifest", 1]);

    assert.equal((await h.engine.run("j")).detection, "journal");
    h.clock.advance(3600 * 1000);
    assert.equal((await h.engine.run("j")).detection, "manifest", "periodic reconcile");

    // A restore into the watched bucket bypasses the gateway: the next run lists instead of trusting the feed.
    const job = (await h.repo.getJob("j"))!;
    await restoreGeneration({ repo: h.repo, resolveStore: h.resolveStore }, job, { generation: 1 });
    assert.equal(await readText(gateway, "primary", "a"), "1");
    const after = await h.engine.run("j");
    assert.deepEqual([after.detection, after.copied], ["manifest", 1]);
  } finally {
    await h.close();
  }
});
