import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createApiClient } from "../../src/api/client.ts";
import { sdkClient, withAppliance } from "./_appliance.ts";

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
