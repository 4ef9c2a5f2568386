import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { createDb } from "../db/client.ts";
import { blockdevVolumes } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import type { RunningService } from "../service.ts";
import { createApiClient } from "./client.ts";
import { createTestApi } from "./_test_deps.ts";

async function setup(services: RunningService[] = []) {
  return await createTestApi({ services });
}

async function rejectsCode(promise: Promise<unknown>, code: string, status: number) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected AppError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.details.status, status);
    return true;
  });
}

Deno.test("API refuses requests without a valid bearer token", async () => {
  const t = await setup();
  try {
    const none = await t.app.request("/api/v1/buckets");
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /Bearer/);
    const problem = await none.json();
    assert.equal(problem.code, "Unauthorized");
    const wrong = await t.app.request("/api/v1/buckets", { headers: { authorization: "Bearer s3p_wrong" } });
    assert.equal(wrong.status, 401);
    const ok = await t.app.request("/api/v1/buckets", { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(ok.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("GET /health answers 503 until every enabled service runs, then 200", async () => {
  const t = await setup();
  try {
    t.status.push({ name: "integrity", ready: false });
    const starting = await t.app.request("/api/v1/health");
    assert.equal(starting.status, 503);
    assert.deepEqual(await starting.json(), {
      status: "starting",
      database: true,
      services: [{ name: "integrity", ready: false }],
      storage: [],
    });
    t.status[0]!.ready = true;
    const ready = await t.app.request("/api/v1/health");
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).status, "ok");
  } finally {
    await t.close();
  }
});

Deno.test("a request that fails while the database does not answer is a 503 to retry, and health says why", async () => {
  const t = await setup();
  try {
    t.loseDatabase();
    const res = await t.app.request("/api/v1/buckets", { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 503);
    const problem = await res.json();
    assert.deepEqual([problem.code, problem.detail], ["Unavailable", "The database does not answer; try again"]);
    const health = await t.app.request("/api/v1/health");
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: "unavailable", database: false, services: [], storage: [] });
  } finally {
    await t.close();
  }
});

Deno.test("buckets: create on a chosen backend, list, conflict, usage, delete only when empty", async () => {
  const t = await setup();
  try {
    await t.client.backends.create({ id: "second", kind: "fs", config: { root: "/srv/second" } });
    const created = await t.client.buckets.create({ name: "photos", backend: "second" });
    assert.equal(created.backend, "second");
    await t.client.buckets.create({ name: "logs" });
    assert.deepEqual([created.corsRules, created.lifecycleRules, created.tags], [0, 0, {}]);
    await t.buckets.setConfig("logs", "tags", [{ key: "owner", value: "pve-admins" }, { key: "tier", value: "hot" }]);
    await t.buckets.setConfig("logs", "cors", [
      { allowedOrigins: ["*"], allowedMethods: ["GET"], allowedHeaders: [], exposeHeaders: [] },
    ]);
    const logs = await t.client.buckets.get("logs");
    assert.deepEqual([logs.corsRules, logs.lifecycleRules, logs.tags], [1, 0, { owner: "pve-admins", tier: "hot" }]);
    assert.deepEqual((await t.client.buckets.list()).map((b) => [b.name, b.backend]), [
      ["logs", "local"],
      ["photos", "second"],
    ]);
    assert.deepEqual((await t.backends.get("second").listBuckets()).map((b) => b.name), ["photos"]);
    await rejectsCode(t.client.buckets.create({ name: "photos" }), "BucketAlreadyExists", 409);
    await rejectsCode(t.client.buckets.create({ name: "Bad_Name" }), "InvalidBucketName", 400);
    await rejectsCode(t.client.buckets.create({ name: "x-y-z", backend: "nope" }), "NotFound", 404);

    const body = new Blob(["hello"]).stream();
    await t.buckets.putObject("photos", "a.txt", body);
    const usage = await t.client.buckets.usage("photos");
    assert.deepEqual([usage.bucket, usage.objects, usage.bytes, usage.multipartUploads], ["photos", 1, 5, 0]);
    await t.buckets.createMultipartUpload("photos", "pending.bin");
    assert.equal((await t.client.buckets.usage("photos")).multipartUploads, 0, "kept for a minute");
    assert.equal((await t.client.buckets.usage("photos", { refresh: true })).multipartUploads, 1);
    await rejectsCode(t.client.buckets.usage("nope"), "NoSuchBucket", 404);
    const uploads = await t.buckets.listMultipartUploads("photos");
    await t.buckets.abortMultipartUpload("photos", "pending.bin", uploads.uploads[0]!.uploadId);
    await rejectsCode(t.client.buckets.delete("photos"), "BucketNotEmpty", 409);
    await t.buckets.deleteObject("photos", "a.txt");
    await t.client.buckets.delete("photos");
    await rejectsCode(t.client.buckets.get("photos"), "NoSuchBucket", 404);
    assert.deepEqual((await t.backends.get("second").listBuckets()).map((b) => b.name), []);
  } finally {
    await t.close();
  }
});

Deno.test("backends: secrets are sealed at rest and never returned; '***' keeps the stored secret", async () => {
  const t = await setup();
  try {
    const created = await t.client.backends.create({
      id: "remote",
      kind: "s3",
      config: { region: "us-east-1", accessKeyId: "AK1", secretAccessKey: "very-secret-value" },
    });
    assert.equal(created.config.secretAccessKey, "***");
    const raw = await t.db.query.backends.findFirst({ where: (b, { eq }) => eq(b.id, "remote") });
    assert.ok(raw && !raw.config.includes("very-secret-value"), "secret must not be stored in clear");
    const listed = JSON.stringify(await t.client.backends.list());
    assert.ok(!listed.includes("very-secret-value"));

    await t.client.backends.update("remote", {
      config: { region: "eu-west-1", accessKeyId: "AK1", secretAccessKey: "***" },
    });
    const reopened = t.opened.at(-1)!;
    assert.deepEqual(reopened.config, {
      region: "eu-west-1",
      accessKeyId: "AK1",
      secretAccessKey: "very-secret-value",
    });
  } finally {
    await t.close();
  }
});

Deno.test("backends: invalid bodies name the field; bad configs are refused; in-use backends stay", async () => {
  const t = await setup();
  try {
    const res = await t.app.request("/api/v1/backends", {
      method: "POST",
      headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "Bad Id", kind: "fs", config: {} }),
    });
    assert.equal(res.status, 400);
    assert.match((await res.json()).detail, /id must match/);
    const malformed = await t.app.request("/api/v1/backends", {
      method: "POST",
      headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(malformed.status, 400);
    await rejectsCode(t.client.backends.create({ id: "s3x", kind: "s3", config: {} }), "InvalidArgument", 400);
    assert.equal(t.backends.has("s3x"), false);
    await rejectsCode(t.client.backends.create({ id: "local", kind: "fs", config: { root: "/x" } }), "Conflict", 409);
    await rejectsCode(t.client.backends.delete("local"), "Conflict", 409);

    await t.client.backends.create({ id: "spare", kind: "fs", config: { root: "/srv/spare" } });
    await t.client.buckets.create({ name: "on-spare", backend: "spare" });
    await rejectsCode(t.client.backends.delete("spare"), "Conflict", 409);
    await t.client.buckets.delete("on-spare");
    // A block device volume stored on the backend (in a bucket of its own namespace, no gateway bucket) keeps it too.
    await t.db.insert(blockdevVolumes).values({
      id: "vol-1",
      name: "disk",
      backendId: "spare",
      bucket: "blockdev",
      prefix: "volumes/vol-1/",
      sizeBytes: 1 << 20,
      chunkSize: 1 << 16,
      blockSize: 512,
      parentId: null,
      parentSnapshot: null,
      createdAt: new Date(),
    });
    await assert.rejects(t.client.backends.delete("spare"), (err: unknown) => {
      assert.ok(err instanceof AppError && err.code === "Conflict", String(err));
      assert.match(err.message, /still holds 1 block device volume\(s\)/);
      return true;
    });
    await t.db.delete(blockdevVolumes).where(eq(blockdevVolumes.id, "vol-1"));
    await t.client.backends.delete("spare");
    assert.equal(t.backends.has("spare"), false);
  } finally {
    await t.close();
  }
});

Deno.test("backends: test connection reports ok, and the default moves with default:true", async () => {
  const t = await setup();
  try {
    const result = await t.client.backends.test("local");
    assert.equal(result.ok, true);
    assert.equal(result.buckets, 0);
    await t.client.backends.create({ id: "next", kind: "fs", config: { root: "/srv/next" }, default: true });
    assert.deepEqual((await t.client.backends.list()).map((b) => [b.id, b.default]), [["local", false], [
      "next",
      true,
    ]]);
    await t.buckets.createBucket("via-s3");
    assert.equal((await t.client.buckets.get("via-s3")).backend, "next");
  } finally {
    await t.close();
  }
});

Deno.test("access keys: the secret is shown once, grants are replaced, deleted keys are gone", async () => {
  const t = await setup();
  try {
    const key = await t.client.accessKeys.create({
      description: "backup job",
      grants: [{ bucket: "backups", prefix: "pve1/", permission: "write" }],
    });
    assert.ok(key.secretAccessKey.length >= 30);
    const shown = await t.client.accessKeys.get(key.accessKeyId);
    assert.equal("secretAccessKey" in shown, false);
    assert.deepEqual(shown.grants, [{ bucket: "backups", prefix: "pve1/", permission: "write" }]);
    assert.ok(!JSON.stringify(await t.client.accessKeys.list()).includes(key.secretAccessKey));
    const updated = await t.client.accessKeys.setGrants(key.accessKeyId, [{ bucket: "iso", permission: "read" }]);
    assert.deepEqual(updated.grants, [{ bucket: "iso", prefix: "", permission: "read" }]);
    await rejectsCode(
      t.client.accessKeys.setGrants(key.accessKeyId, [{ bucket: "iso", permission: "all" as "read" }]),
      "InvalidArgument",
      400,
    );
    await t.client.accessKeys.delete(key.accessKeyId);
    await rejectsCode(t.client.accessKeys.get(key.accessKeyId), "NotFound", 404);
    await rejectsCode(t.client.accessKeys.delete(key.accessKeyId), "NotFound", 404);
  } finally {
    await t.close();
  }
});

Deno.test("service routes are mounted at /api/v1/<name> behind auth and listed in the OpenAPI document", async () => {
  const routes = new Hono();
  routes.get("/status", (c) => c.json({ running: true }));
  routes.post("/runs/:id", (c) => c.json({ id: c.req.param("id") }, 202));
  const t = await setup([{ name: "sync", routes, stop: () => Promise.resolve() }]);
  try {
    assert.equal((await t.app.request("/api/v1/sync/status")).status, 401);
    assert.deepEqual(await t.client.request("GET", "/sync/status"), { running: true });
    assert.deepEqual(await t.client.request("POST", "/sync/runs/42", {}), { id: "42" });
    await rejectsCode(t.client.request("GET", "/nothing/here"), "NotFound", 404);

    const doc = await (await t.app.request("/api/v1/openapi.json")).json();
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.paths["/api/v1/sync/runs/{id}"].post);
    assert.ok(doc.paths["/api/v1/backends/{id}/test"].post);
    assert.deepEqual(doc.paths["/api/v1/health"].get.security, []);
    assert.equal(doc.paths["/api/v1/buckets"].post.requestBody.content["application/json"].schema.required[0], "name");
  } finally {
    await t.close();
  }
});

Deno.test("every served route is in the OpenAPI document and every documented route is served", async () => {
  const t = await setup();
  try {
    const doc = await (await t.app.request("/api/v1/openapi.json")).json();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    const served = t.app.routes
      .filter((r) => r.method !== "ALL" && r.path.startsWith("/api/v1/"))
      .map((r) => `${r.method} ${r.path.replace(/:([a-z]+)/g, "{$1}")}`);
    assert.deepEqual([...new Set(served)].sort(), documented);
  } finally {
    await t.close();
  }
});

Deno.test("/metrics is public Prometheus text; /config needs auth", async () => {
  const t = await setup();
  try {
    const metrics = await t.app.request("/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await metrics.text(), /^test_metric 1$/m);
    assert.equal((await t.app.request("/api/v1/config")).status, 401);
    assert.deepEqual(await t.client.config(), { dataDir: "/nonexistent" });
  } finally {
    await t.close();
  }
});

Deno.test("API tokens: a new token works at once, is listed without its value, revoked tokens stop working", async () => {
  const t = await setup();
  try {
    const created = await t.client.apiTokens.create({ description: "tui on host2" });
    const second = createApiClient({ url: "http://api.test", token: created.token, fetch: (req) => t.app.fetch(req) });
    assert.equal((await second.apiTokens.list()).length, 2);
    assert.ok(!JSON.stringify(await t.client.apiTokens.list()).includes(created.token));
    await t.client.apiTokens.delete(created.id);
    await rejectsCode(second.buckets.list(), "Unauthorized", 401);
    const [last] = await t.client.apiTokens.list();
    await rejectsCode(t.client.apiTokens.delete(last!.id), "Conflict", 409);
    await rejectsCode(t.client.apiTokens.delete("tok_missing"), "NotFound", 404);
  } finally {
    await t.close();
  }
});

Deno.test("database backup: a consistent SQLite copy that holds what was written, streamed and not left behind", async () => {
  const t = await setup();
  const dir = await Deno.makeTempDir();
  try {
    assert.equal((await t.app.request("/api/v1/database/backup")).status, 401);
    const key = await t.client.accessKeys.create({ description: "pve1", grants: [] });
    await t.client.buckets.create({ name: "backups" });

    const res = await t.app.request("/api/v1/database/backup", { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/vnd.sqlite3");
    assert.match(
      res.headers.get("content-disposition") ?? "",
      /^attachment; filename="s3plugin-\d{8}T\d{9}Z-\w{8}\.db"$/,
    );
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(Number(res.headers.get("content-length")), bytes.length);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 16)), "SQLite format 3\0");
    assert.deepEqual([...Deno.readDirSync(t.snapshotDir)], [], "the snapshot file is gone once it is streamed");

    await Deno.writeFile(`${dir}/copy.db`, bytes);
    const copy = createDb(`file:${dir}/copy.db`);
    try {
      assert.deepEqual((await copy.client.execute("PRAGMA integrity_check")).rows.map((r) => r[0]), ["ok"]);
      const keys = await copy.client.execute("SELECT access_key_id FROM access_keys");
      assert.ok(keys.rows.some((r) => r[0] === key.accessKeyId));
      const buckets = await copy.client.execute("SELECT name FROM buckets");
      assert.deepEqual(buckets.rows.map((r) => r[0]), ["backups"]);
    } finally {
      copy.close();
    }
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});
