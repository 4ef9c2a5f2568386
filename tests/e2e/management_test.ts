import assert from "node:assert/strict";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createApiClient } from "../../src/api/client.ts";
import { aws, sdkClient, withAppliance, writeTestFile } from "./_appliance.ts";

Deno.test("served appliance: health lists every service, /metrics counts S3 operations, OpenAPI covers service routes", async () => {
  await withAppliance(async (app) => {
    const api = createApiClient({ url: app.api, token: app.creds.apiToken });
    const health = await api.health();
    assert.equal(health.status, "ok");
    const services = health.services.map((s) => s.name).sort();
    assert.ok(services.length > 0 && health.services.every((s) => s.ready), JSON.stringify(health));

    const s3 = sdkClient(app);
    await s3.send(new PutObjectCommand({ Bucket: app.creds.bucket, Key: "m", Body: "metrics" }));
    s3.destroy();
    const metrics = await (await fetch(`${app.api}/metrics`)).text();
    assert.match(metrics, /^s3_requests_total\{op="PutObject",status="200"\} 1$/m);

    const doc = await api.openapi() as { paths: Record<string, unknown> };
    for (const name of services) {
      assert.ok(
        Object.keys(doc.paths).some((p) => p.startsWith(`/api/v1/${name}/`) || p === `/api/v1/${name}`),
        `OpenAPI documents routes of ${name}`,
      );
    }
    const config = JSON.stringify(await api.config());
    for (const secret of [app.creds.secretAccessKey, app.creds.apiToken]) assert.ok(!config.includes(secret));
  });
});

Deno.test("bucket usage agrees with what the AWS CLI lists: objects, bytes, and the unfinished multipart uploads", async () => {
  await withAppliance(async (app, scratch) => {
    const bucket = `s3://${app.creds.bucket}`;
    const tree = join(scratch, "tree");
    await Deno.mkdir(join(tree, "dump"), { recursive: true });
    await writeTestFile(join(tree, "dump", "vzdump-qemu-100.vma.zst"), 9 * 1024 * 1024 + 3); // multipart by the CLI
    await writeTestFile(join(tree, "notes.txt"), 1234);
    await writeTestFile(join(tree, "empty"), 0);
    await aws(app, scratch, ["s3", "sync", tree, `${bucket}/`]);
    await aws(app, scratch, ["s3", "cp", join(tree, "notes.txt"), `${bucket}/notes.txt`]); // overwritten
    // An upload a client never finished: its parts hold space no object listing shows.
    const part = join(scratch, "part");
    await writeTestFile(part, 5 * 1024 * 1024);
    const create = await aws(app, scratch, [
      "s3api",
      "create-multipart-upload",
      "--bucket",
      app.creds.bucket,
      "--key",
      "lost.vma",
    ]);
    const uploadId = JSON.parse(create.stdout).UploadId;
    for (const n of ["1", "2"]) {
      const args = ["--bucket", app.creds.bucket, "--key", "lost.vma", "--upload-id", uploadId, "--part-number", n];
      await aws(app, scratch, ["s3api", "upload-part", ...args, "--body", part]);
    }

    const summary = (await aws(app, scratch, ["s3", "ls", "--recursive", "--summarize", `${bucket}/`])).stdout;
    const listed = {
      objects: Number(/Total Objects: (\d+)/.exec(summary)?.[1]),
      bytes: Number(/Total Size: (\d+)/.exec(summary)?.[1]),
    };
    const uploads = JSON.parse(
      (await aws(app, scratch, ["s3api", "list-multipart-uploads", "--bucket", app.creds.bucket])).stdout,
    ).Uploads;
    const api = createApiClient({ url: app.api, token: app.creds.apiToken });
    const usage = await api.buckets.usage(app.creds.bucket, { refresh: true });
    assert.deepEqual({ objects: usage.objects, bytes: usage.bytes }, listed);
    assert.deepEqual(listed, { objects: 3, bytes: 9 * 1024 * 1024 + 3 + 1234 });
    assert.equal(usage.multipartUploads, uploads.length);
    assert.deepEqual([usage.multipartUploads, usage.multipartParts, usage.multipartBytes], [1, 2, 10 * 1024 * 1024]);

    await aws(app, scratch, [
      "s3api",
      "abort-multipart-upload",
      "--bucket",
      app.creds.bucket,
      "--key",
      "lost.vma",
      "--upload-id",
      uploadId,
    ]);
    await aws(app, scratch, ["s3", "rm", `${bucket}/notes.txt`]);
    const after = await api.buckets.usage(app.creds.bucket, { refresh: true });
    assert.deepEqual([after.objects, after.bytes, after.multipartUploads], [2, 9 * 1024 * 1024 + 3, 0]);
  });
});
