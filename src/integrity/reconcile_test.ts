import assert from "node:assert/strict";
import type { RunningService } from "../service.ts";
import { bytes, createTestContext, putEvent, request, type TestContext } from "./_testing.ts";
import { createIntegrityService } from "./mod.ts";
import type { ReconcileReport } from "./reconcile.ts";
import type { VerifyReport } from "./verifier.ts";

async function gatewayPut(t: TestContext, key: string, content: string): Promise<void> {
  const info = await t.data.putObject("data", key, bytes(content));
  t.ctx.events.publish(putEvent(t.clock, "data", key, info.etag, info.size));
}

async function withService(fn: (t: TestContext, service: RunningService) => Promise<void>): Promise<void> {
  const t = await createTestContext();
  const service = await createIntegrityService(t.ctx, { anchor: { backend: "anchor" }, timers: t.timers });
  try {
    await t.data.createBucket("data");
    await fn(t, service);
  } finally {
    await service.stop();
    await t.cleanup();
  }
}

Deno.test("reconcile reports objects added, changed and deleted outside the gateway, once, with when", async () => {
  await withService(async (t, service) => {
    for (const k of ["a", "b", "c", "d"]) await gatewayPut(t, k, `content ${k}`);
    t.ctx.events.publish({ ...putEvent(t.clock, "data", "d", "", 0), op: "DeleteObject", status: 204 });
    await t.data.deleteObject("data", "d");
    t.clock.advance(60_000);

    const clean = await request<ReconcileReport>(service, "POST", "/reconcile/data");
    assert.equal(clean.status, 200);
    assert.deepEqual(clean.body.anomalies, []);
    assert.equal(clean.body.expectedObjects, 3);

    const lastGatewayTime = t.clock.now().toISOString();
    t.clock.advance(3_600_000);
    await t.data.putObject("data", "b", bytes("changed behind the gateway's back"));
    await t.data.deleteObject("data", "c");
    await t.data.putObject("data", "e", bytes("smuggled in"));
    await t.data.putObject("data", "d", bytes("resurrected"));
    t.clock.advance(60_000);

    const { body } = await request<ReconcileReport>(service, "POST", "/reconcile/data");
    const byKey = Object.fromEntries(body.anomalies.map((a) => [a.key, a]));
    assert.deepEqual(Object.keys(byKey), ["b", "c", "d", "e"]);
    assert.equal(byKey.b!.op, "ObservedModify");
    assert.notEqual(byKey.b!.expected!.etag, byKey.b!.actual!.etag);
    assert.equal(byKey.b!.actual!.lastModified, "2026-03-01T11:01:00.000Z");
    assert.ok(byKey.b!.lastRecord!.time < lastGatewayTime);
    assert.equal(byKey.c!.op, "ObservedDelete");
    assert.equal(byKey.c!.lastRecord!.op, "PutObject");
    assert.equal(byKey.d!.op, "ObservedCreate");
    assert.equal(byKey.d!.lastRecord!.op, "DeleteObject", "the journal knows d was deleted through the gateway");
    assert.equal(byKey.e!.op, "ObservedCreate");
    assert.equal(byKey.e!.lastRecord, undefined);

    // Each anomaly is itself a chained record, so it is reported once and the chain still verifies.
    const records = await request<
      { records: { record: { op: string; key: string; detail?: Record<string, unknown> } }[] }
    >(
      service,
      "GET",
      "/records?from=5",
    );
    assert.deepEqual(records.body.records.map((r) => `${r.record.op} ${r.record.key}`), [
      "ObservedModify b",
      "ObservedDelete c",
      "ObservedCreate d",
      "ObservedCreate e",
    ]);
    assert.equal(records.body.records[0]!.record.detail!.lastModified, "2026-03-01T11:01:00.000Z");
    const again = await request<ReconcileReport>(service, "POST", "/reconcile/data");
    assert.deepEqual(again.body.anomalies, []);
    const verify = await request<VerifyReport>(service, "POST", "/verify");
    assert.equal(verify.body.ok, true);
    assert.match(service.metrics!(), /^integrity_anomalies_total 4$/m);
  });
});

Deno.test("reconcile skips keys the gateway touched while the bucket was listed", async () => {
  await withService(async (t, service) => {
    await gatewayPut(t, "a", "one");
    const original = t.data.listObjects.bind(t.data);
    // The upload lands after the journal replay but before the listing sees the bucket.
    t.data.listObjects = async (bucket, options) => {
      await gatewayPut(t, "late", "arrived during the listing");
      return await original(bucket, options);
    };
    const { body } = await request<ReconcileReport>(service, "POST", "/reconcile/data");
    t.data.listObjects = original;
    assert.equal(body.actualObjects, 2);
    assert.deepEqual(body.anomalies, []);
    const next = await request<ReconcileReport>(service, "POST", "/reconcile/data");
    assert.equal(next.body.expectedObjects, 2);
    assert.deepEqual(next.body.anomalies, []);
  });
});

Deno.test("reconcile of a missing bucket is a 404 problem and records nothing", async () => {
  await withService(async (_t, service) => {
    const res = await request<{ code: string }>(service, "POST", "/reconcile/nope");
    assert.equal(res.status, 404);
    assert.equal(res.body.code, "NoSuchBucket");
    const status = await request<{ size: number }>(service, "GET", "/status");
    assert.equal(status.body.size, 0);
  });
});
