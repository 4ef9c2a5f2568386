import assert from "node:assert/strict";
import type { RunningService } from "../service.ts";
import { bytes, call, createTestContext, putEvent, type TestContext } from "./_testing.ts";
import { createIntegrityService, type IntegrityOptions, type IntegrityStatus } from "./mod.ts";

async function withService(
  options: IntegrityOptions,
  fn: (t: TestContext, service: RunningService) => Promise<void>,
): Promise<void> {
  const t = await createTestContext();
  const service = await createIntegrityService(t.ctx, { anchor: { backend: "anchor" }, timers: t.timers, ...options });
  try {
    await fn(t, service);
  } finally {
    await service.stop();
    await t.cleanup();
  }
}

const anchoredNotes = async (t: TestContext) =>
  (await t.anchorStore.listObjects("s3plugin-integrity", { prefix: "checkpoints/" })).objects.map((o) => o.key);

Deno.test("every event kind becomes a record with all its fields; successful reads only when configured", async () => {
  for (const journalReads of [false, true]) {
    await withService({ journalReads }, async (t, service) => {
      const base = putEvent(t.clock, "data", "k", '"etag"', 5);
      t.ctx.events.publish({ ...base, checksums: { sha256: "abc=" }, op: "CompleteMultipartUpload" });
      t.ctx.events.publish({ ...base, op: "CopyObject", source: { bucket: "src", key: "s" } });
      t.ctx.events.publish({ ...base, op: "GetObject" });
      t.ctx.events.publish({ ...base, op: "GetObject", status: 403, errorCode: "AccessDenied", actor: "anonymous" });
      t.ctx.events.publish({ ...base, op: "DeleteObject", status: 204, size: undefined, etag: undefined });
      const { records } = await call<{ records: { record: Record<string, unknown> }[] }>(
        service,
        "GET",
        "/records?from=0",
      );
      assert.deepEqual(
        records.map((r) => r.record.op),
        journalReads
          ? ["CompleteMultipartUpload", "CopyObject", "GetObject", "GetObject", "DeleteObject"]
          : ["CompleteMultipartUpload", "CopyObject", "GetObject", "DeleteObject"],
      );
      assert.deepEqual(records[0]!.record, {
        v: 1,
        seq: 0,
        prev: "0".repeat(64),
        time: "2026-03-01T10:00:00.000Z",
        actor: "AKIATEST",
        op: "CompleteMultipartUpload",
        bucket: "data",
        key: "k",
        size: 5,
        etag: '"etag"',
        checksums: { sha256: "abc=" },
        status: 200,
        clientAddress: "127.0.0.1",
        requestId: base.requestId,
      });
      const denied = records.find((r) => r.record.status === 403)!.record;
      assert.equal(denied.errorCode, "AccessDenied");
      assert.equal(denied.actor, "anonymous");
    });
  }
});

Deno.test("checkpoints every N records and every T on the timer, anchored with leaves", async () => {
  await withService({ checkpointEvery: 5, checkpointIntervalMs: 30_000 }, async (t, service) => {
    for (let i = 0; i < 12; i++) t.ctx.events.publish(putEvent(t.clock, "data", `k${i}`, '"e"', 1));
    // No API call: the 5-record rule alone makes (and anchors) a checkpoint, at a batch boundary.
    let notes: string[] = [];
    for (let i = 0; i < 100 && notes.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      notes = await anchoredNotes(t);
    }
    assert.equal(notes.length, 1);
    assert.ok(Number(notes[0]!.slice(12, 32)) >= 5);
    t.ctx.events.publish(putEvent(t.clock, "data", "late", '"e"', 1));
    t.timers.fire(30_000);
    let status = await call<IntegrityStatus>(service, "GET", "/status");
    for (let i = 0; i < 100 && status.latestCheckpoint?.size !== 13; i++) {
      await new Promise((r) => setTimeout(r, 10));
      status = await call<IntegrityStatus>(service, "GET", "/status");
    }
    assert.equal(status.latestCheckpoint?.size, 13);
    assert.ok(status.latestCheckpoint?.anchoredAt);
    assert.ok((await anchoredNotes(t)).includes(`checkpoints/${"13".padStart(20, "0")}.note`));
    const leaves = (await t.anchorStore.listObjects("s3plugin-integrity", { prefix: "leaves/" })).objects;
    assert.equal(leaves.reduce((n, o) => n + o.size, 0), 13 * 32);
  });
});

Deno.test("scheduled verification and reconciliation report to status and metrics", async () => {
  await withService(
    { verifyIntervalMs: 1000, reconcileIntervalMs: 2000, reconcileBuckets: ["data"] },
    async (t, service) => {
      await t.data.createBucket("data");
      await t.data.putObject("data", "outside", bytes("x"));
      t.timers.fire(1000);
      t.timers.fire(2000);
      let status = await call<IntegrityStatus>(service, "GET", "/status");
      for (let i = 0; i < 100 && (!status.lastVerify || !status.lastReconcile.data); i++) {
        await new Promise((r) => setTimeout(r, 10));
        status = await call<IntegrityStatus>(service, "GET", "/status");
      }
      assert.equal(status.lastVerify?.ok, true);
      assert.equal(status.lastReconcile.data?.anomalies, 1);
      const metrics = service.metrics!();
      assert.match(metrics, /^integrity_last_verify_ok 1$/m);
      assert.match(metrics, /^integrity_anomalies_total 1$/m);
      assert.match(metrics, /^integrity_records_total 1$/m);
      assert.match(metrics, /^# TYPE integrity_records_total counter$/m);
    },
  );
});

Deno.test("a restart continues the same chain and tree; stop writes a final checkpoint", async () => {
  const t = await createTestContext();
  try {
    const options = { anchor: { backend: "anchor" }, timers: t.timers };
    let service = await createIntegrityService(t.ctx, options);
    for (let i = 0; i < 7; i++) t.ctx.events.publish(putEvent(t.clock, "data", `a${i}`, '"e"', 1));
    await service.stop();
    assert.equal(t.timers.active(), 0, "stop clears its timers");
    service = await createIntegrityService(t.ctx, options);
    const first = await call<IntegrityStatus>(service, "GET", "/status");
    assert.equal(first.size, 7);
    assert.equal(first.latestCheckpoint?.size, 7, "stop made a checkpoint of the tail");
    for (let i = 0; i < 6; i++) t.ctx.events.publish(putEvent(t.clock, "data", `b${i}`, '"e"', 1));
    await call(service, "POST", "/checkpoints");
    const report = await call<{ ok: boolean; size: number }>(service, "POST", "/verify");
    assert.deepEqual([report.ok, report.size], [true, 13]);
    const proof = await call<{ proof: string[] }>(service, "GET", "/consistency?from=7&to=13");
    assert.ok(proof.proof.length > 0);
    await service.stop();
  } finally {
    await t.cleanup();
  }
});

Deno.test("a failing database keeps records queued and writes them, in order, once it works again", async () => {
  await withService({}, async (t, service) => {
    t.ctx.events.publish(putEvent(t.clock, "data", "before", '"e"', 1));
    await call(service, "POST", "/checkpoints");
    await t.handle.client.execute("ALTER TABLE integrity_records RENAME TO integrity_records_away");
    for (let i = 0; i < 3; i++) t.ctx.events.publish(putEvent(t.clock, "data", `during${i}`, '"e"', 1));
    // The write is attempted after the group-commit window and fails.
    for (let i = 0; i < 200 && /^integrity_write_failures_total 0$/m.test(service.metrics!()); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await call<IntegrityStatus>(service, "GET", "/status")).pending, 3);
    assert.match(service.metrics!(), /^integrity_write_failures_total [1-9]\d*$/m);
    await t.handle.client.execute("ALTER TABLE integrity_records_away RENAME TO integrity_records");
    t.ctx.events.publish(putEvent(t.clock, "data", "after", '"e"', 1));
    const { records } = await call<{ records: { record: { key: string } }[] }>(service, "GET", "/records?from=0");
    assert.deepEqual(records.map((r) => r.record.key), ["before", "during0", "during1", "during2", "after"]);
    assert.equal((await call<{ ok: boolean }>(service, "POST", "/verify")).ok, true);
  });
});

Deno.test("API parameters are checked and errors are problem JSON", async () => {
  await withService({}, async (_t, service) => {
    for (const path of ["/records?from=-1", "/records/x/proof", "/consistency?to=3", "/records/0/proof?size=1"]) {
      const res = await service.routes!.request(path);
      assert.equal(res.status, 400, path);
      const body = await res.json();
      assert.equal(body.code, "InvalidArgument", path);
      assert.ok(body.detail.length > 0);
    }
  });
});

Deno.test("checkpoints go to the configured anchor backend, bucket and prefix, and verify reads them there", async () => {
  const anchor = { backend: "anchor", bucket: "audit-anchors", prefix: "appliance-1/" };
  await withService({ anchor }, async (t, service) => {
    t.ctx.events.publish(putEvent(t.clock, "data", "k", '"e"', 1));
    await call(service, "POST", "/checkpoints");
    const keys = (await t.anchorStore.listObjects("audit-anchors", {})).objects.map((o) => o.key).sort();
    assert.deepEqual(keys, [
      "appliance-1/checkpoints/00000000000000000001.note",
      "appliance-1/key.txt",
      "appliance-1/leaves/00000000000000000000-00000000000000000001.bin",
    ]);
    const status = await call<IntegrityStatus>(service, "GET", "/status");
    assert.match(status.anchor, /:audit-anchors\/appliance-1\/$/);
    const report = await call<{ ok: boolean; checkpoints: { anchored: number } }>(service, "POST", "/verify");
    assert.deepEqual([report.ok, report.checkpoints.anchored], [true, 1]);
  });
});
