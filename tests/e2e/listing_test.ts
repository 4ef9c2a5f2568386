import assert from "node:assert/strict";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { run, sdkClient, withAppliance } from "./_appliance.ts";

const KEYS = 10_000;

Deno.test("10,000 keys list exactly once each, in order, across pages (SDK v2 pages and aws CLI)", async () => {
  await withAppliance(async (app, scratch) => {
    const s3 = sdkClient(app, { maxAttempts: 3 });
    const bucket = app.creds.bucket;
    const keys = Array.from({ length: KEYS }, (_, i) => `many/${String(i).padStart(5, "0")}-${(i * 7919) % 10007}`);
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
      }
    }));

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: "many/", MaxKeys: 997, ContinuationToken: token }),
      );
      pages++;
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
      assert.equal(page.KeyCount, (page.Contents ?? []).length);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated) assert.ok(token, "a truncated page carries a continuation token");
    } while (token);
    s3.destroy();
    assert.equal(pages, Math.ceil(KEYS / 997));
    assert.deepEqual(seen, [...keys].sort());

    const cli = await run("/usr/bin/aws", [
      "--endpoint-url",
      app.s3,
      "s3api",
      "list-objects-v2",
      "--bucket",
      bucket,
      "--prefix",
      "many/",
      "--page-size",
      "1000",
      "--query",
      "Contents[].Key",
      "--output",
      "json",
    ], {
      env: {
        HOME: scratch,
        AWS_ACCESS_KEY_ID: app.creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: app.creds.secretAccessKey,
        AWS_DEFAULT_REGION: "us-east-1",
      },
    });
    assert.deepEqual(JSON.parse(cli.stdout), [...keys].sort());
  });
});
