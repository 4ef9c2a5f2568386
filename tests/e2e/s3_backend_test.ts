import assert from "node:assert/strict";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { createApiClient } from "../../src/api/client.ts";
import { AppError } from "../../src/errors.ts";
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
