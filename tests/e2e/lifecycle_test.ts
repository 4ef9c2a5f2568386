import assert from "node:assert/strict";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { sdkClient, startAppliance, trickleUpload, withAppliance } from "./_appliance.ts";

Deno.test("first start: data dir, credentials file mode 0600 printed once, listen.json; restart keeps them", async () => {
  const app = await startAppliance();
  try {
    const info = await Deno.stat(`${app.dataDir}/admin-credentials.json`);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.deepEqual(Object.keys(app.creds).sort(), ["accessKeyId", "apiToken", "bucket", "secretAccessKey"]);
    assert.ok(app.stdout().includes(app.creds.secretAccessKey), "credentials are printed at first start");
    const listen = JSON.parse(await Deno.readTextFile(`${app.dataDir}/listen.json`));
    assert.equal(`http://${listen.api}`, app.api);
    assert.equal(listen.s3Url, `http://${listen.s3}`);
    assert.equal(await app.stop(), 0);

    const again = await startAppliance({ dataDir: app.dataDir });
    try {
      assert.ok(!again.stdout().includes(app.creds.secretAccessKey), "not printed again");
      assert.deepEqual(again.creds, app.creds);
      const res = await fetch(`${again.api}/api/v1/buckets`, {
        headers: { authorization: `Bearer ${again.creds.apiToken}` },
      });
      assert.deepEqual((await res.json()).map((b: { name: string }) => b.name), [app.creds.bucket]);
    } finally {
      assert.equal(await again.stop(), 0);
    }
  } finally {
    await Deno.remove(app.dataDir, { recursive: true });
  }
});

Deno.test("oversized request headers are refused and the server keeps serving", async () => {
  await withAppliance(async (app) => {
    const s3 = sdkClient(app);
    const bucket = app.creds.bucket;
    await assert.rejects(
      s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: "big-meta", Body: "x", Metadata: { pad: "a".repeat(80 * 1024) } }),
      ),
      (err: { $metadata?: { httpStatusCode?: number } }) => (err.$metadata?.httpStatusCode ?? 0) >= 400,
    );
    const huge = await fetch(`${app.s3}/${bucket}/x`, { headers: { "x-pad": "b".repeat(1024 * 1024) } })
      .then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }, () => "connection closed");
    assert.ok(huge === "connection closed" || (typeof huge === "number" && huge >= 400), `got ${huge}`);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "after", Body: "still fine" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "after" }));
    assert.equal(await got.Body!.transformToString(), "still fine");
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "big-meta" })), { name: "NoSuchKey" });
    s3.destroy();
  });
});

Deno.test("SIGTERM drains: an upload in flight completes, then the process exits 0", async () => {
  const app = await startAppliance();
  try {
    const s3 = sdkClient(app);
    const size = 6 * 1024 * 1024;
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: app.creds.bucket, Key: "drained" }));
    let signalled = false;
    const status = await trickleUpload(url, new Uint8Array(size).fill(7), {
      chunk: 128 * 1024,
      delayMs: 25,
      onProgress: (sent) => {
        if (sent > size / 4 && !signalled) {
          signalled = true;
          Deno.kill(app.pid, "SIGTERM");
        }
      },
    });
    assert.ok(signalled, "SIGTERM was sent while the body was still streaming");
    assert.equal(status, 200);
    assert.equal(await app.exited, 0, "the appliance exits cleanly once drained");
    const refused = await fetch(`${app.api}/api/v1/health`).then(() => "answered", () => "refused");
    assert.equal(refused, "refused", "the stopped appliance no longer listens");
    s3.destroy();

    const again = await startAppliance({ dataDir: app.dataDir });
    try {
      const s3b = sdkClient(again);
      const got = await s3b.send(new GetObjectCommand({ Bucket: again.creds.bucket, Key: "drained" }));
      assert.equal((await got.Body!.transformToByteArray()).length, size);
      s3b.destroy();
    } finally {
      await again.stop();
    }
  } finally {
    await Deno.remove(app.dataDir, { recursive: true });
  }
});
