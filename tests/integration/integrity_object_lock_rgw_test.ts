/**
 * Integrity anchors on a real S3 server with Object Lock (Ceph RADOS Gateway, one-node lab from
 * ../shared/tools/radosgw/): the anchor bucket is created with Object Lock, every anchor object carries a
 * retention, the server refuses to delete a locked version, and verification reads its anchors back from there.
 * Needs root and the ceph packages (.ci/run installs them); Ceph's fixed monitor ports allow one lab at a time.
 */
import assert from "node:assert/strict";
import { DeleteObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { createIntegrityService } from "../../src/integrity/mod.ts";
import { call, createTestContext, putEvent } from "../../src/integrity/_testing.ts";
import type { VerifyReport } from "../../src/integrity/verifier.ts";
import { createS3Store } from "../../src/storage/s3.ts";
import { RGW_KEYS as KEYS, startRgw } from "../_rgw.ts";

Deno.test("integrity anchors are Object-Locked on Ceph RGW and verification reads them back", async () => {
  const t = await createTestContext();
  t.clock.set(new Date()); // retention dates must lie in the server's future
  const rgw = await startRgw().catch(async (err) => {
    await t.cleanup();
    throw err;
  });
  try {
    const { endpoint } = rgw;
    const store = createS3Store({ endpoint, region: "us-east-1", forcePathStyle: true, ...KEYS });
    assert.equal(store.capabilities.objectLock, true);
    const service = await createIntegrityService(t.ctx, {
      anchor: { store, bucket: "integrity-anchors", retentionDays: 2 },
      timers: t.timers,
    });
    try {
      for (let i = 0; i < 5; i++) t.ctx.events.publish(putEvent(t.clock, "data", `k${i}`, '"e"', 1));
      const cp = await call<{ size: number; anchoredAt?: string }>(service, "POST", "/checkpoints");
      assert.equal(cp.size, 5);
      assert.ok(cp.anchoredAt, "anchored on RGW");

      const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: KEYS });
      const key = `checkpoints/${"5".padStart(20, "0")}.note`;
      const head = await s3.send(new HeadObjectCommand({ Bucket: "integrity-anchors", Key: key }));
      assert.equal(head.ObjectLockMode, "GOVERNANCE");
      const until = head.ObjectLockRetainUntilDate!.getTime() - t.clock.now().getTime();
      assert.ok(Math.abs(until - 2 * 86_400_000) < 60_000, `retention ${until} ms`);
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: "integrity-anchors", Prefix: key }));
      const versionId = versions.Versions?.[0]?.VersionId;
      assert.ok(versionId);
      await assert.rejects(
        s3.send(new DeleteObjectCommand({ Bucket: "integrity-anchors", Key: key, VersionId: versionId })),
        (err: Error) => err.name === "AccessDenied",
      );
      s3.destroy();

      const report = await call<VerifyReport>(service, "POST", "/verify");
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.checkpoints.anchored, 1);
      assert.equal(report.anchoredLeaves, 5);
    } finally {
      await service.stop();
      await store.close();
    }
  } finally {
    await rgw.stop();
    await t.cleanup();
  }
});
