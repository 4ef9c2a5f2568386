// A bucket's lifecycle rules on the served appliance: set with the AWS CLI, carried out by the lifecycle service
// within seconds, and recorded in the integrity journal so that reconciling the bucket finds nothing amiss.
import assert from "node:assert/strict";
import { join } from "node:path";
import { aws, withAppliance } from "./_appliance.ts";

Deno.test("lifecycle rules set with the aws CLI expire objects at once from a past date, by prefix or by tag; the journal records each", async () => {
  await withAppliance(async (app, scratch) => {
    const bucket = app.creds.bucket;
    const api = (path: string, method = "GET") =>
      fetch(`${app.api}/api/v1${path}`, { method, headers: { authorization: `Bearer ${app.creds.apiToken}` } })
        .then((r) => r.json());
    await Deno.writeTextFile(join(scratch, "f"), "scratch data");
    const tagsOf: Record<string, string> = { "keep/scratch": "scratch=yes", "keep/d": "scratch=no" };
    for (const key of ["tmp/a", "tmp/b", "keep/c", "keep/scratch", "keep/d"]) {
      const tagging = tagsOf[key] ? ["--tagging", tagsOf[key]] : [];
      const body = join(scratch, "f");
      await aws(app, scratch, ["s3api", "put-object", "--bucket", bucket, "--key", key, "--body", body, ...tagging]);
    }
    // Tags set later count too, and a retag is a recorded change that leaves the object as it was.
    const later = JSON.stringify({ TagSet: [{ Key: "note", Value: "kept" }] });
    await aws(app, scratch, ["s3api", "put-object-tagging", "--bucket", bucket, "--key", "keep/c", "--tagging", later]);
    const rules = {
      Rules: [
        { ID: "tmp", Filter: { Prefix: "tmp/" }, Status: "Enabled", Expiration: { Date: "2020-01-01" } },
        {
          ID: "scratch",
          Filter: { Tag: { Key: "scratch", Value: "yes" } },
          Status: "Enabled",
          Expiration: { Date: "2020-01-01" },
        },
      ],
    };
    await aws(app, scratch, [
      "s3api",
      "put-bucket-lifecycle-configuration",
      "--bucket",
      bucket,
      "--lifecycle-configuration",
      JSON.stringify(rules),
    ]);
    const listed = async () => {
      const out = await aws(app, scratch, ["s3api", "list-objects-v2", "--bucket", bucket]);
      return (JSON.parse(out.stdout || "{}").Contents ?? []).map((o: { Key: string }) => o.Key);
    };
    const deadline = Date.now() + 30_000;
    while ((await listed()).length > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(await listed(), ["keep/c", "keep/d"]);

    const status = await api("/lifecycle/status");
    assert.equal(status.totals.expired, 3);
    const records = await api("/integrity/records?from=0&limit=1000");
    const expirations = records.records
      .map((r: { record: { op: string; actor: string; key?: string } }) => r.record)
      .filter((r: { actor: string }) => r.actor === "lifecycle")
      .map((r: { op: string; key?: string }) => `${r.op} ${r.key}`);
    assert.deepEqual(expirations.sort(), ["DeleteObject keep/scratch", "DeleteObject tmp/a", "DeleteObject tmp/b"]);
    const retags = records.records.filter((r: { record: { op: string } }) => r.record.op === "PutObjectTagging");
    assert.equal(retags.length, 1);
    const report = await api(`/integrity/reconcile/${bucket}`, "POST");
    assert.deepEqual(report.anomalies, [], "nothing changed outside the recorded path");
    const metrics = await (await fetch(`${app.api}/metrics`)).text();
    assert.match(metrics, /^s3_lifecycle_objects_expired_total 3$/m);
  });
});
