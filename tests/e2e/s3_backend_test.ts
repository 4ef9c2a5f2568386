import assert from "node:assert/strict";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { createApiClient } from "../../src/api/client.ts";
import { AppError } from "../../src/errors.ts";
import { startTcpRelay } from "../../src/_testing/tcp_relay.ts";
import { sdkClient, startAppliance, withAppliance } from "./_appliance.ts";

Deno.test("an s3 backend added through the API stores a bucket's objects upstream (here: a second appliance)", async () => {
  const upstream = await startAppliance();
  try {
    await withAppliance(async (app) => {
      const api = createApiClient({ url: app.api, token: app.creds.apiToken });
      const config = {
        endpoint: upstream.s3,
        region: "us-east-1",
        forcePathStyle: true,
        accessKeyId: upstream.creds.accessKeyId,
        secretAccessKey: upstream.creds.secretAccessKey,
        bucketPrefix: "edge-",
      };
      const backend = await api.backends.create({ id: "upstream", kind: "s3", config });
      assert.equal(backend.config.secretAccessKey, "***");
      const probe = await api.backends.test("upstream");
      assert.equal(probe.ok, true, probe.error ?? "");
      assert.equal(probe.buckets, 0, "with bucketPrefix the backend sees only its own upstream buckets");
      await api.buckets.create({ name: "offsite", backend: "upstream" });

      const s3 = sdkClient(app);
      await s3.send(new PutObjectCommand({ Bucket: "offsite", Key: "dump/vm-100.vma", Body: "backup bytes" }));
      s3.destroy();
      const direct = sdkClient(upstream);
      const got = await direct.send(new GetObjectCommand({ Bucket: "edge-offsite", Key: "dump/vm-100.vma" }));
      assert.equal(await got.Body!.transformToString(), "backup bytes");
      direct.destroy();

      const wrong = { ...config, secretAccessKey: "not-the-secret" };
      await api.backends.create({ id: "badcreds", kind: "s3", config: wrong });
      const failed = await api.backends.test("badcreds");
      assert.equal(failed.ok, false);
      assert.match(failed.error ?? "", /SignatureDoesNotMatch|signature/i);
      await assert.rejects(
        api.backends.create({ id: "incomplete", kind: "s3", config: { endpoint: upstream.s3 } }),
        (err: unknown) => err instanceof AppError && /region/.test(err.message),
      );
    });
  } finally {
    await upstream.stop();
    await Deno.remove(upstream.dataDir, { recursive: true });
  }
});

Deno.test("an s3 backend whose upstream goes away answers 503 ServiceUnavailable at once, stores nothing, and serves again when it is back", async () => {
  const upstream = await startAppliance();
  const [hostname, port] = new URL(upstream.s3).host.split(":");
  const relay = startTcpRelay({ hostname: hostname!, port: Number(port) });
  try {
    await withAppliance(async (app) => {
      const api = createApiClient({ url: app.api, token: app.creds.apiToken });
      await api.backends.create({
        id: "upstream",
        kind: "s3",
        config: {
          endpoint: `http://${relay.address}`,
          region: "us-east-1",
          forcePathStyle: true,
          accessKeyId: upstream.creds.accessKeyId,
          secretAccessKey: upstream.creds.secretAccessKey,
        },
      });
      await api.buckets.create({ name: "offsite", backend: "upstream" });
      const s3 = sdkClient(app);
      const put = (bucket: string, key: string) =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key} bytes` }));
      await put("offsite", "before");

      relay.cut();
      const refused = async (what: string, request: Promise<unknown>) => {
        const started = Date.now();
        await assert.rejects(request, (err: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(err.$metadata?.httpStatusCode, 503, `${what}: ${err.name}`);
          assert.equal(err.name, "ServiceUnavailable", what);
          return true;
        });
        assert.ok(Date.now() - started < 10_000, `${what} answered after ${Date.now() - started} ms`);
      };
      await refused("PUT", put("offsite", "during"));
      await refused("GET", s3.send(new GetObjectCommand({ Bucket: "offsite", Key: "before" })));
      const probe = await api.backends.test("upstream");
      assert.equal(probe.ok, false);
      // The appliance itself, and buckets on other backends, go on working.
      assert.equal((await api.health()).status, "ok");
      await put(app.creds.bucket, "local-while-upstream-is-away");

      relay.restore();
      await put("offsite", "after");
      const got = await s3.send(new GetObjectCommand({ Bucket: "offsite", Key: "before" }));
      assert.equal(await got.Body!.transformToString(), "before bytes");
      const direct = sdkClient(upstream);
      await assert.rejects(
        direct.send(new GetObjectCommand({ Bucket: "offsite", Key: "during" })),
        (err: { name?: string }) => err.name === "NoSuchKey",
      );
      direct.destroy();
      s3.destroy();
    });
  } finally {
    relay.close();
    await upstream.stop();
    await Deno.remove(upstream.dataDir, { recursive: true });
  }
});
