import assert from "node:assert/strict";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createDb } from "../../src/db/client.ts";
import { startSqld } from "../../src/db/_testing/sqld.ts";
import { tempLeftovers } from "../../src/storage/_testing/contract_helpers.ts";
import { run, type RunningAppliance, sdkClient, startAppliance, trickleUpload, withAppliance } from "./_appliance.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

function cli(app: RunningAppliance, args: string[], allowFailure = false) {
  return run(Deno.execPath(), ["run", "-A", MAIN, ...args, "--data-dir", app.dataDir], {
    env: { HOME: Deno.env.get("HOME") ?? "/root", NO_COLOR: "1" },
    allowFailure,
  });
}

function awsAs(app: RunningAppliance, scratch: string, key: { accessKeyId: string; secretAccessKey: string }) {
  return (args: string[]) =>
    run("/usr/bin/aws", ["--endpoint-url", app.s3, ...args], {
      env: {
        HOME: scratch,
        AWS_ACCESS_KEY_ID: key.accessKeyId,
        AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
        AWS_DEFAULT_REGION: "us-east-1",
      },
      allowFailure: true,
    });
}

/** A key made with the user CLI: the gateway enforces its grants, changed at once, and locks it out once deleted. */
async function userKeyLifecycle(app: RunningAppliance, scratch: string) {
  const bucket = app.creds.bucket;
  const created = JSON.parse(
    (await cli(app, ["user", "create", "--description", "pve1", "--grant", `${bucket}/pve1/=write`, "--json"]))
      .stdout,
  );
  assert.match(created.accessKeyId, /^AK[A-Z2-7]{18}$/);
  assert.equal(created.secretAccessKey.length, 40);
  const file = join(scratch, "f.txt");
  await Deno.writeTextFile(file, "data");
  const as = awsAs(app, scratch, created);
  // Within the grant: allowed.
  assert.equal((await as(["s3", "cp", file, `s3://${bucket}/pve1/f.txt`])).code, 0);
  // Outside the prefix: denied.
  const denied = await as(["s3", "cp", file, `s3://${bucket}/other/f.txt`]);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /AccessDenied/);

  const listed = (await cli(app, ["user", "list"])).stdout;
  assert.match(listed, new RegExp(`${created.accessKeyId}\\s+pve1\\s+${bucket}/pve1/=write`));

  await cli(app, ["user", "grants", created.accessKeyId, "--grant", `${bucket}/pve1/=read`]);
  // Credentials are cached up to 5 s in the gateway; grants changed through this appliance apply at once.
  const readOnly = await as(["s3", "cp", file, `s3://${bucket}/pve1/g.txt`]);
  assert.match(readOnly.stderr, /AccessDenied/);

  await cli(app, ["user", "delete", created.accessKeyId]);
  const gone = await as(["s3", "ls", `s3://${bucket}/pve1/`]);
  assert.match(gone.stderr, /InvalidAccessKeyId/);
}

Deno.test("user CLI creates a key whose grants the gateway enforces; deleting it locks it out", async () => {
  await withAppliance(userKeyLifecycle);
});

Deno.test("user CLI keys work the same on a database in a real sqld server (--db-url, with a token)", async () => {
  const sqld = await startSqld({ auth: true });
  try {
    await withAppliance(userKeyLifecycle, {
      env: { S3PLUGIN_DB_URL: sqld.url, S3PLUGIN_DB_AUTH_TOKEN: sqld.authToken! },
    });
  } finally {
    await sqld.close();
  }
});

Deno.test("CLI errors are clear: unknown command, bad grant, unreachable appliance", async () => {
  await withAppliance(async (app) => {
    const unknown = await cli(app, ["frobnicate"], true);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const bad = await cli(app, ["user", "create", "--grant", "nobucket"], true);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid --grant "nobucket": expected BUCKET\[\/PREFIX\]=read\|write/);
    const down = await run(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "user",
      "list",
      "--api",
      "http://127.0.0.1:9",
      "--token",
      "x",
    ], {
      allowFailure: true,
    });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /Cannot reach the appliance API at http:\/\/127\.0\.0\.1:9/);
  });
});

Deno.test("serve stops with a clear message on a bad flag, a port already in use, or a database it cannot open", async () => {
  await withAppliance(async (app, scratch) => {
    const serve = (args: string[]) =>
      run(Deno.execPath(), ["run", "-A", MAIN, "serve", "--data-dir", join(scratch, "second"), ...args], {
        allowFailure: true,
      });
    const bad = await serve(["--api-listen", "localhost"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid --api-listen\/S3PLUGIN_API_LISTEN "localhost": expected HOST:PORT/);
    const taken = await serve(["--api-listen", "127.0.0.1:0", "--s3-listen", new URL(app.s3).host]);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, new RegExp(`Cannot listen on ${new URL(app.s3).host} for s3: address in use`));

    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close(); // nothing listens there now
    const unreachable = await serve([
      "--api-listen",
      "127.0.0.1:0",
      "--s3-listen",
      "127.0.0.1:0",
      "--db-url",
      `http://127.0.0.1:${port}`,
    ]);
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      new RegExp(`^s3plugin: Cannot open the database http://127\\.0\\.0\\.1:${port}/: .*Connection refused`),
    );
    await Deno.writeTextFile(join(scratch, "not-a.db"), "this is not a database ".repeat(40));
    const broken = await serve([
      "--api-listen",
      "127.0.0.1:0",
      "--s3-listen",
      "127.0.0.1:0",
      "--db-url",
      `file:${join(scratch, "not-a.db")}`,
    ]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /Cannot open the database file:.*not-a\.db: file is not a database/);
  });
});

Deno.test("a second serve on a running appliance's data dir stops before it opens anything; an upload in flight completes", async () => {
  await withAppliance(async (app) => {
    const s3 = sdkClient(app);
    try {
      // Over 64 KiB, so the body goes to a temp file as it arrives (smaller ones are read into memory first).
      const data = new Uint8Array(1024 * 1024).map((_, i) => (i * 7 + (i >> 12)) & 0xff);
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: app.creds.bucket, Key: "in-flight" }));
      let sent = 0;
      const upload = trickleUpload(url, data, { chunk: 32 * 1024, delayMs: 250, onProgress: (n) => sent = n });
      const tmp = join(app.dataDir, "objects", "tmp");
      while (tempLeftovers(tmp).length === 0) await new Promise((r) => setTimeout(r, 20));

      // Bounded: a second appliance that started would serve until killed.
      const second = await run("timeout", [
        "60",
        Deno.execPath(),
        "run",
        "-A",
        MAIN,
        "serve",
        "--data-dir",
        app.dataDir,
        "--api-listen",
        "127.0.0.1:0",
        "--s3-listen",
        "127.0.0.1:0",
        "--iscsi-listen",
        "127.0.0.1:0",
      ], { allowFailure: true });
      assert.equal(second.code, 1);
      assert.match(
        second.stderr,
        new RegExp(`Another appliance is running on the data dir ${app.dataDir}.*\\(held by pid ${app.pid}\\)`),
      );
      assert.ok(sent < data.length, "the second start was refused while the upload was still arriving");
      assert.equal(tempLeftovers(tmp).length, 1, "the upload's temp file is still there");
      const listen = JSON.parse(await Deno.readTextFile(join(app.dataDir, "listen.json")));
      assert.equal(`http://${listen.api}`, app.api, "listen.json still names the running appliance");

      assert.equal(await upload, 200);
      const got = await s3.send(new GetObjectCommand({ Bucket: app.creds.bucket, Key: "in-flight" }));
      assert.deepEqual(await got.Body!.transformToByteArray(), data);
    } finally {
      s3.destroy();
    }
  });
});

Deno.test("db backup: a consistent copy of the database while objects are written; mode 0600; never overwrites", async () => {
  await withAppliance(async (app, scratch) => {
    const s3 = sdkClient(app);
    let writing = true;
    const writes = (async () => {
      let n = 0;
      while (writing) {
        await s3.send(new PutObjectCommand({ Bucket: app.creds.bucket, Key: `busy-${n++}`, Body: "x" }));
      }
      return n;
    })();
    try {
      const target = join(scratch, "s3plugin-backup.db");
      const done = await cli(app, ["db", "backup", target]);
      assert.equal(done.stdout.trim(), `${target}: ${(await Deno.stat(target)).size} bytes`);
      assert.equal((await Deno.stat(target)).mode! & 0o777, 0o600);
      writing = false;
      assert.ok(await writes > 0, "objects were written while the copy was taken");

      const copy = createDb(`file:${target}`);
      try {
        assert.deepEqual((await copy.client.execute("PRAGMA integrity_check")).rows.map((r) => r[0]), ["ok"]);
        const keys = await copy.client.execute("SELECT access_key_id FROM access_keys");
        assert.deepEqual(keys.rows.map((r) => r[0]), [app.creds.accessKeyId]);
      } finally {
        copy.close();
      }
      assert.deepEqual([...Deno.readDirSync(join(app.dataDir, "db-snapshots"))], []);

      const again = await cli(app, ["db", "backup", target], true);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /Cannot create .*s3plugin-backup\.db: File exists/);
      const usage = await cli(app, ["db"], true);
      assert.equal(usage.code, 2);
      assert.match(usage.stdout, /Usage: s3plugin db backup FILE/);

      // Into a directory, named by time, the newest N kept; other files there are left alone.
      const dir = join(scratch, "nightly");
      await Deno.mkdir(dir);
      await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
      const first = await cli(app, ["db", "backup", "--dir", dir, "--keep", "1"]);
      const [older] = first.stdout.split(":");
      await new Promise((r) => setTimeout(r, 1100)); // a copy is named by the second it was taken
      const second = await cli(app, ["db", "backup", "--dir", dir, "--keep", "1"]);
      assert.match(second.stdout, new RegExp(`removed ${older}$`, "m"));
      const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.equal(left.length, 2);
      assert.equal(left[0], "notes.txt");
      assert.equal(join(dir, left[1]!), second.stdout.split(":")[0]);
      assert.equal((await cli(app, ["db", "backup", "--dir", dir, "--keep", "0"], true)).code, 2);
    } finally {
      writing = false;
      await writes.catch(() => {});
      s3.destroy();
    }
  });
});

Deno.test("serve exits with code 1 once another appliance has taken its database lease", async () => {
  const dbDir = await Deno.makeTempDir({ prefix: "s3plugin-e2e-db-" });
  const shared = `file:${dbDir}/shared.db`;
  const app = await startAppliance({ env: { S3PLUGIN_DB_URL: shared } });
  const other = createDb(shared);
  try {
    await other.client.execute({
      sql: "UPDATE appliance_lease SET owner = ?, renewed_at = ?",
      args: ["pve9:/var/lib/s3plugin", Date.now()],
    });
    assert.equal(await app.exited, 1);
  } finally {
    other.close();
    await app.stop();
    await Deno.remove(app.dataDir, { recursive: true });
    await Deno.remove(dbDir, { recursive: true });
  }
});
