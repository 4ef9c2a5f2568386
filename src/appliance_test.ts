import assert from "node:assert/strict";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Hono } from "hono";
import { createAppliance } from "./appliance.ts";
import { realApplianceParts } from "./appliance_parts.ts";
import { parseServeConfig } from "./config.ts";
import { createDb } from "./db/client.ts";
import { RENEW_MS } from "./db/lease.ts";
import { silentLogger } from "./log.ts";
import { createFsStore } from "./storage/fs.ts";
import type { ServiceFactory } from "./appliance.ts";

function config(dataDir: string) {
  const args = ["--data-dir", dataDir, "--api-listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0"];
  return parseServeConfig([...args, "--iscsi-listen", "127.0.0.1:0"], {});
}

function parts(services: ServiceFactory[], printed: string[] = []) {
  return { ...realApplianceParts({ logger: silentLogger() }), services, print: (t: string) => printed.push(t) };
}

/** The first start's admin credentials in `dir`, and an S3 client of the appliance's gateway that uses them. */
async function adminClient(dir: string, app: { addresses: Record<string, string> }) {
  const creds = JSON.parse(await Deno.readTextFile(`${dir}/admin-credentials.json`));
  const s3 = new S3Client({
    endpoint: `http://${app.addresses.s3}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
  });
  return { creds, s3 };
}

async function health(api: string) {
  const res = await fetch(`http://${api}/api/v1/health`);
  return { status: res.status, body: await res.json() };
}

Deno.test("createAppliance() runs two appliances in one process, each with its own state", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const printed: string[][] = [[], []];
  const apps = await Promise.all(dirs.map((d, i) => createAppliance(config(d), parts([], printed[i]))));
  try {
    assert.notEqual(apps[0]!.addresses.s3, apps[1]!.addresses.s3);
    const creds = await Promise.all(
      dirs.map(async (d) => JSON.parse(await Deno.readTextFile(`${d}/admin-credentials.json`))),
    );
    assert.notEqual(creds[0].accessKeyId, creds[1].accessKeyId);
    for (const [i, app] of apps.entries()) {
      assert.equal((await health(app.addresses.api!)).status, 200);
      assert.ok(printed[i]!.join("").includes(creds[i].secretAccessKey));
      const other = await fetch(`http://${app.addresses.api}/api/v1/buckets`, {
        headers: { authorization: `Bearer ${creds[1 - i].apiToken}` },
      });
      await other.body?.cancel();
      assert.equal(other.status, 401, "a token of one appliance is not valid on the other");
    }
  } finally {
    await Promise.all(apps.map((a) => a.stop()));
    await Promise.all(dirs.map((d) => Deno.remove(d, { recursive: true })));
  }
});

Deno.test("health is 503 while a service starts, its routes and addresses appear once it runs", async () => {
  const dir = await Deno.makeTempDir();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let started!: (api: string) => void;
  const apiKnown = new Promise<string>((r) => started = r);
  const routes = new Hono().get("/ping", (c) => c.json({ pong: true }));
  const slow: ServiceFactory = {
    name: "slow",
    create: async (ctx) => {
      started(JSON.parse(await Deno.readTextFile(`${ctx.dataDir}/listen.json`)).api);
      await gate;
      return { name: "slow", routes, addresses: { slow: "127.0.0.1:1" }, stop: () => Promise.resolve() };
    },
  };
  const starting = createAppliance(config(dir), parts([slow]));
  try {
    const api = await apiKnown;
    const before = await health(api);
    assert.equal(before.status, 503);
    assert.deepEqual(before.body.services, [{ name: "slow", ready: false }]);
    release();
    const app = await starting;
    assert.equal((await health(api)).status, 200);
    const token = JSON.parse(await Deno.readTextFile(`${dir}/admin-credentials.json`)).apiToken;
    const ping = await fetch(`http://${api}/api/v1/slow/ping`, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(await ping.json(), { pong: true });
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/listen.json`)).slow, "127.0.0.1:1");
    await app.stop();
  } finally {
    release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a restart keeps the credentials and does not print them again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await createAppliance(config(dir), parts([]));
    await first.stop();
    const before = await Deno.readTextFile(`${dir}/admin-credentials.json`);
    const printed: string[] = [];
    const second = await createAppliance(config(dir), parts([], printed));
    await second.stop();
    assert.deepEqual(printed, []);
    assert.equal(await Deno.readTextFile(`${dir}/admin-credentials.json`), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--db-url puts the database where it points, not in the data dir", async () => {
  const dir = await Deno.makeTempDir();
  const dbDir = await Deno.makeTempDir();
  try {
    const app = await createAppliance({ ...config(dir), dbUrl: `file:${dbDir}/shared.db` }, parts([]));
    assert.equal((await health(app.addresses.api!)).status, 200);
    await app.stop();
    assert.ok((await Deno.stat(`${dbDir}/shared.db`)).isFile);
    await assert.rejects(Deno.stat(`${dir}/s3plugin.db`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(dbDir, { recursive: true });
  }
});

Deno.test("a data dir that lost its database starts again and keeps the objects of the default bucket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await createAppliance(config(dir), parts([]));
    await first.stop();
    const store = await createFsStore({ root: `${dir}/objects` });
    await store.putObject("s3plugin", "kept", new Blob(["still here"]).stream());
    await store.close();
    for (const f of ["s3plugin.db", "s3plugin.db-wal", "s3plugin.db-shm"]) {
      await Deno.remove(`${dir}/${f}`).catch(() => {});
    }
    const printed: string[] = [];
    const second = await createAppliance(config(dir), parts([], printed));
    try {
      assert.equal(printed.length, 1, "new credentials are issued for the new database");
      const creds = JSON.parse(await Deno.readTextFile(`${dir}/admin-credentials.json`));
      const res = await fetch(`http://${second.addresses.api}/api/v1/buckets`, {
        headers: { authorization: `Bearer ${creds.apiToken}` },
      });
      assert.deepEqual((await res.json()).map((b: { name: string }) => b.name), ["s3plugin"]);
    } finally {
      await second.stop();
    }
    const reopened = await createFsStore({ root: `${dir}/objects` });
    assert.equal((await reopened.headObject("s3plugin", "kept")).size, 10);
    await reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createAppliance() on a --db-url another appliance works on: refused with its name until it stops", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir(), await Deno.makeTempDir()];
  const shared = `file:${dirs[2]}/shared.db`;
  const withDb = (dataDir: string) => ({ ...config(dataDir), dbUrl: shared });
  const first = await createAppliance(withDb(dirs[0]!), parts([]));
  let second: Awaited<ReturnType<typeof createAppliance>> | undefined;
  try {
    await assert.rejects(createAppliance(withDb(dirs[1]!), parts([])), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`^The database ${shared} is in use by the appliance [^:]+:${dirs[0]} \\(pid ${Deno.pid}, `),
      );
      return true;
    });
    assert.equal((await health(first.addresses.api!)).status, 200, "the first goes on");
    await assert.rejects(Deno.stat(`${dirs[1]}/listen.json`), Deno.errors.NotFound, "the second never listened");

    await first.stop();
    // A standby takes over with a copy of the first one's key (the database's secrets are sealed with it).
    await Deno.copyFile(`${dirs[0]}/secret.key`, `${dirs[1]}/secret.key`);
    second = await createAppliance(withDb(dirs[1]!), parts([]));
    assert.equal((await health(second.addresses.api!)).status, 200);
  } finally {
    await first.stop();
    await second?.stop();
    await Promise.all(dirs.map((d) => Deno.remove(d, { recursive: true })));
  }
});

Deno.test("an fs root belongs to one backend: a second one on it is refused; changing the config reopens it in place", async () => {
  const dir = await Deno.makeTempDir();
  const app = await createAppliance(config(dir), parts([]));
  const { creds, s3 } = await adminClient(dir, app);
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`http://${app.addresses.api}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${creds.apiToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  try {
    await s3.send(new PutObjectCommand({ Bucket: creds.bucket, Key: "before", Body: "kept" }));
    const twin = await api("POST", "/backends", { id: "twin", kind: "fs", config: { root: `${dir}/objects` } });
    assert.equal(twin.status, 409);
    assert.match((await twin.json()).detail, new RegExp(`The fs store ${dir}/objects is open elsewhere`));

    const changed = await api("PUT", "/backends/local", { config: { root: `${dir}/objects`, minFreeBytes: 0 } });
    assert.equal(changed.status, 200, await changed.text());
    const got = await s3.send(new GetObjectCommand({ Bucket: creds.bucket, Key: "before" }));
    assert.equal(await got.Body!.transformToString(), "kept");
    await s3.send(new PutObjectCommand({ Bucket: creds.bucket, Key: "after", Body: "new" }));

    // A config the store cannot open with: refused, and the backend goes on with the one it had.
    await Deno.writeTextFile(`${dir}/not-a-dir`, "");
    const bad = await api("PUT", "/backends/local", { config: { root: `${dir}/not-a-dir` } });
    assert.notEqual(bad.status, 200);
    await bad.body?.cancel();
    const after = await s3.send(new GetObjectCommand({ Bucket: creds.bucket, Key: "after" }));
    assert.equal(await after.Body!.transformToString(), "new");
    const listed = await (await api("GET", "/backends/local")).json();
    assert.equal(listed.config.root, `${dir}/objects`);
  } finally {
    s3.destroy();
    await app.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a start removes database backups a crash left behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/db-snapshots`);
    await Deno.writeTextFile(`${dir}/db-snapshots/s3plugin-20260101T000000000Z-0badc0de.db`, "half a copy");
    const app = await createAppliance(config(dir), parts([]));
    await app.stop();
    await assert.rejects(Deno.stat(`${dir}/db-snapshots`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an appliance whose database lease another one took learns at its next renewal that it must stop", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const shared = `file:${dirs[1]}/shared.db`;
  const app = await createAppliance({ ...config(dirs[0]!), dbUrl: shared }, parts([]));
  const other = createDb(shared);
  try {
    const started = Date.now();
    await other.client.execute({
      sql: "UPDATE appliance_lease SET owner = ?, renewed_at = ?",
      args: ["pve9:/var/lib/s3plugin", Date.now()],
    });
    assert.equal(
      await app.mustStop,
      "the database lease was taken by the appliance pve9:/var/lib/s3plugin",
    );
    assert.ok(Date.now() - started <= RENEW_MS + 2_000, "within one renewal");
  } finally {
    other.close();
    await app.stop();
    await Promise.all(dirs.map((d) => Deno.remove(d, { recursive: true })));
  }
});

Deno.test("a start refuses a secret.key that is missing or does not open the database's secrets, and makes none", async () => {
  const dir = await Deno.makeTempDir();
  const start = () => createAppliance(config(dir), parts([]));
  try {
    await (await start()).stop();
    const key = await Deno.readTextFile(`${dir}/secret.key`);

    await Deno.remove(`${dir}/secret.key`);
    await assert.rejects(start(), new RegExp(`sealed with a ${dir}/secret.key that is missing; restore it`));
    await assert.rejects(Deno.stat(`${dir}/secret.key`), Deno.errors.NotFound, "no new key was made");

    await Deno.writeTextFile(`${dir}/secret.key`, crypto.getRandomValues(new Uint8Array(32)).toBase64() + "\n");
    await assert.rejects(
      start(),
      new RegExp(`${dir}/secret.key is not the key the database's secrets are sealed with`),
    );

    // A database from before the check: an access key's secret stands in for it.
    await Deno.writeTextFile(`${dir}/secret.key`, key);
    const handle = createDb(`file:${dir}/s3plugin.db`);
    await handle.client.execute("DELETE FROM settings WHERE key = 'secret_key_check'");
    handle.close();
    await Deno.writeTextFile(`${dir}/secret.key`, crypto.getRandomValues(new Uint8Array(32)).toBase64() + "\n");
    await assert.rejects(start(), /is not the key the database's secrets are sealed with/);

    await Deno.writeTextFile(`${dir}/secret.key`, key);
    const app = await start();
    try {
      const { creds, s3 } = await adminClient(dir, app);
      await s3.send(new PutObjectCommand({ Bucket: creds.bucket, Key: "signed", Body: "with the right key" }));
      s3.destroy();
    } finally {
      await app.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
