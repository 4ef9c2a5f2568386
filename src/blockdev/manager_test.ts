import assert from "node:assert/strict";
import { createBackendRegistry } from "../backend_registry.ts";
import { ensureDefaultBackend } from "../bootstrap.ts";
import { systemClock } from "../clock.ts";
import { createDb } from "../db/client.ts";
import { DATABASE_KINDS, type DatabaseKind, openTestDatabase } from "../db/_testing/databases.ts";
import { migrateDb } from "../db/migrate.ts";
import { blockdevTargets } from "../db/schema.ts";
import { isAppError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { parseSize, runCli } from "./cli.ts";
import { createVolumeManager } from "./manager.ts";
import { formatMetrics } from "./metrics.ts";
import { eventually } from "./_testing/fixtures.ts";
import { createRoutes } from "./routes.ts";

const sealer = {
  seal: (p: string) => Promise.resolve("sealed:" + btoa(p).split("").reverse().join("")),
  open: (s: string) => Promise.resolve(atob(s.slice("sealed:".length).split("").reverse().join(""))),
};

/** A manager and its routes on a new database: in memory, or of `kind` (see `openTestDatabase`). */
async function setup(kind?: DatabaseKind) {
  const database = kind ? await openTestDatabase(kind, { migrate: true }) : undefined;
  const handle = database?.connect() ?? createDb(":memory:");
  if (!database) await migrateDb(handle);
  const clock = systemClock();
  await ensureDefaultBackend({ db: handle.db, sealer, clock, dataDir: "/nonexistent" });
  const backends = createBackendRegistry();
  await backends.set("local", createMemoryStore());
  const dataDir = await Deno.makeTempDir({ prefix: "blockdev-manager-" });
  const manager = createVolumeManager({
    db: handle.db,
    backends,
    dataDir,
    clock,
    logger: silentLogger(),
    defaults: () => Promise.resolve({ backend: "local", bucket: "vols" }),
    sealer,
    volumeOptions: { flushDelayMs: 10 },
  });
  await manager.start();
  const routes = createRoutes({ manager, sessions: () => [], logger: silentLogger() });
  // The management API mounts service routes at /api/v1/<service>: do the same prefix strip here.
  const fetch = (req: Request) => {
    const url = new URL(req.url);
    url.pathname = url.pathname.replace(/^\/api\/v1\/blockdev/, "");
    return routes.fetch(new Request(url, req));
  };
  const lines: string[] = [];
  const cli = async (...args: string[]) => {
    lines.length = 0;
    const code = await runCli(args, { url: "http://appliance", token: "t", fetch }, (l) => lines.push(l));
    return { code, text: lines.join("\n"), json: () => JSON.parse(lines.join("\n")) };
  };
  const chunkObjects = async (volume: string) => {
    const { prefix } = await manager.getVolume(volume);
    return (await backends.get("local").listObjects("vols", { prefix: `${prefix}/chunks/` })).objects.length;
  };
  return {
    manager,
    handle,
    cli,
    chunkObjects,
    async [Symbol.asyncDispose]() {
      await manager.close();
      handle.close();
      await database?.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

Deno.test("parseSize reads bytes and K/M/G/T suffixes and rejects nonsense", () => {
  assert.equal(parseSize("4096"), 4096);
  assert.equal(parseSize("256M"), 256 * 2 ** 20);
  assert.equal(parseSize("1.5G"), 1.5 * 2 ** 30);
  assert.equal(parseSize("2TiB"), 2 * 2 ** 40);
  assert.throws(() => parseSize("ten gigs"), /Invalid size "ten gigs"/);
  assert.throws(() => parseSize("0"), /Invalid size/);
});

for (const kind of DATABASE_KINDS) {
  Deno.test(`${kind} database: blockdev CLI manages volumes, snapshots, clones and mappings through the routes`, async () => {
    await using t = await setup(kind);
    assert.equal((await t.cli("volume", "create", "vm-100-disk-0", "--size", "1M", "--chunk-size", "64K")).code, 0);
    let list = (await t.cli("volume", "list", "--json")).json();
    assert.equal(list.length, 1);
    assert.equal(list[0].sizeBytes, 2 ** 20);
    assert.equal(list[0].chunkSize, 65536);
    assert.equal(list[0].bucket, "vols");

    // Data through the volume the manager opened, then snapshot, change, clone, rollback.
    await t.cli("map", "vm-100-disk-0", "--iqn", "iqn.2026-01.lan.appliance:vm100", "--lun", "0");
    const device = t.manager.resolveTarget("iqn.2026-01.lan.appliance:vm100")!.luns.get(0)!;
    await device.write(0, new Uint8Array(4096).fill(0xab));
    const snap = await t.cli("snapshot", "create", "vm-100-disk-0", "base", "--json");
    assert.equal(snap.json().chunks, 1);
    await device.write(0, new Uint8Array(4096).fill(0xcd));
    await device.flush();

    assert.equal((await t.cli("clone", "vm-100-disk-0", "base", "vm-101-disk-0")).code, 0);
    const rollback = await t.cli("snapshot", "rollback", "vm-100-disk-0", "base").catch((e) => e);
    assert.ok(isAppError(rollback, "Conflict") && /unmap it first/.test(rollback.message));
    await t.cli("unmap", "vm-100-disk-0");
    assert.equal((await t.cli("snapshot", "rollback", "vm-100-disk-0", "base")).code, 0);

    await t.cli("map", "vm-100-disk-0", "--iqn", "iqn.2026-01.lan.appliance:vm100");
    await t.cli("map", "vm-101-disk-0", "--iqn", "iqn.2026-01.lan.appliance:vm100", "--lun", "1");
    const target = t.manager.resolveTarget("iqn.2026-01.lan.appliance:vm100")!;
    assert.deepEqual((await target.luns.get(0)!.read(0, 4096))[0], 0xab, "rolled back");
    assert.deepEqual((await target.luns.get(1)!.read(0, 4096))[0], 0xab, "clone has the snapshot's data");

    const busy = await t.cli("map", "vm-101-disk-0", "--iqn", "iqn.2026-01.lan.appliance:other").catch((e) => e);
    assert.ok(isAppError(busy, "Conflict"));
    const bad = await t.cli("map", "vm-100-disk-0", "--iqn", "not-an-iqn").catch((e) => e);
    assert.ok(isAppError(bad, "InvalidArgument") && /Invalid target name/.test(bad.message));

    list = (await t.cli("volume", "list", "--json")).json();
    assert.deepEqual(list.map((v: { name: string; mapping?: { lun: number } }) => [v.name, v.mapping?.lun]), [
      ["vm-100-disk-0", 0],
      ["vm-101-disk-0", 1],
    ]);
    assert.match(
      formatMetrics(t.manager.openVolumes().map((v) => ({ name: v.name, stats: v.volume.stats() }))),
      /blockdev_chunk_uploads_total\{volume="vm-100-disk-0"\} \d+/,
    );

    const resized = (await t.cli("volume", "resize", "vm-101-disk-0", "--size", "2M", "--json")).json();
    assert.equal(resized.sizeBytes, 2 * 2 ** 20);
    assert.equal(target.luns.get(1)!.sizeBytes, 2 * 2 ** 20, "the exported LUN sees the new capacity");
    const shrink = await t.cli("volume", "resize", "vm-101-disk-0", "--size", "1M").catch((e) => e);
    assert.ok(isAppError(shrink, "InvalidArgument") && /only grow/.test(shrink.message));
  });
}

Deno.test("blockdev CHAP secrets are sealed at rest and never listed", async () => {
  await using t = await setup();
  await t.cli("volume", "create", "disk", "--size", "1M", "--chunk-size", "64K");
  const iqn = "iqn.2026-01.lan.appliance:chap";
  const short = await t.cli("map", "disk", "--iqn", iqn, "--chap-user", "pve", "--chap-secret", "short").catch((e) =>
    e
  );
  assert.ok(isAppError(short, "InvalidArgument") && /12 to 16 characters/.test(short.message));
  await t.cli("unmap", "disk");
  await t.cli("map", "disk", "--iqn", iqn, "--chap-user", "pve", "--chap-secret", "s3cret-s3cret!");
  assert.deepEqual(t.manager.resolveTarget(iqn)!.chap, { user: "pve", secret: "s3cret-s3cret!" });
  const [row] = await t.handle.db.select().from(blockdevTargets);
  assert.ok(row!.chapSecret!.startsWith("sealed:") && !row!.chapSecret!.includes("s3cret"));
  const listed = await t.cli("targets", "--json");
  assert.ok(!listed.text.includes("s3cret"), listed.text);
  assert.equal(listed.json()[0].chapUser, "pve");
  const volumes = await t.cli("volume", "list", "--json");
  assert.ok(!volumes.text.includes("s3cret"));
});

Deno.test("blockdev volume delete keeps chunks a clone still uses and removes the rest", async () => {
  await using t = await setup();
  await t.manager.createVolume({ name: "parent", sizeBytes: 2 ** 20, chunkSize: 65536 });
  await t.cli("map", "parent", "--iqn", "iqn.2026-01.lan.appliance:p");
  const device = t.manager.resolveTarget("iqn.2026-01.lan.appliance:p")!.luns.get(0)!;
  await device.write(0, new Uint8Array(2 * 65536).fill(7), { fua: true });
  await t.manager.createSnapshot("parent", "s");
  await t.manager.clone("parent", "s", "child");
  await device.write(65536, new Uint8Array(65536).fill(8), { fua: true });
  const refused = await t.cli("volume", "delete", "parent").catch((e) => e);
  assert.ok(isAppError(refused, "Conflict"));
  await t.cli("unmap", "parent");
  const gc = (await t.cli("volume", "delete", "parent", "--json")).json();
  assert.equal(gc.deleted, 1, "only the chunk written after the snapshot");
  assert.equal(Object.values(gc.kept as Record<string, number>).reduce((a, b) => a + b, 0), 2);
  await t.cli("map", "child", "--iqn", "iqn.2026-01.lan.appliance:p");
  const child = t.manager.resolveTarget("iqn.2026-01.lan.appliance:p")!.luns.get(0)!;
  assert.deepEqual(await child.read(0, 2 * 65536), new Uint8Array(2 * 65536).fill(7));
  const missing = await t.cli("volume", "delete", "parent").catch((e) => e);
  assert.ok(isAppError(missing, "NotFound"));
});

Deno.test("blockdev routes answer bad input with problem JSON and change nothing; a database gone away with a 503", async () => {
  await using t = await setup();
  const routes = createRoutes({ manager: t.manager, sessions: () => [], logger: silentLogger(), db: t.handle.db });
  const send = async (method: string, path: string, body?: string) => {
    const res = await routes.request(path, { method, ...(body === undefined ? {} : { body }) });
    return { status: res.status, problem: await res.json() };
  };
  let r = await send("POST", "/volumes", JSON.stringify({ name: "d", sizeBytes: "10G" }));
  assert.equal(r.status, 400);
  assert.equal(r.problem.code, "InvalidArgument");
  assert.match(r.problem.detail, /"sizeBytes" must be a non-negative integer/);
  r = await send("POST", "/volumes", "{not json");
  assert.equal(r.status, 400);
  r = await send("POST", "/volumes", JSON.stringify({ name: "d", sizeBytes: 1000 }));
  assert.equal(r.status, 400);
  assert.match(r.problem.detail, /multiple of 512/);
  r = await send("POST", "/volumes", JSON.stringify({ name: "bad/name", sizeBytes: 2 ** 20 }));
  assert.match(r.problem.detail, /Invalid volume name/);
  r = await send("POST", "/volumes", JSON.stringify({ name: "d", sizeBytes: 2 ** 20, backend: "nope" }));
  assert.equal(r.status, 404);
  r = await send("GET", "/volumes/missing");
  assert.equal(r.status, 404);
  r = await send("POST", "/volumes/missing/snapshots", JSON.stringify({ name: "s" }));
  assert.equal(r.status, 404);
  assert.deepEqual(await t.manager.listVolumes(), []);
  const { code } = await t.cli("volume", "frobnicate");
  assert.equal(code, 2);

  t.handle.close();
  r = await send("GET", "/volumes");
  assert.deepEqual([r.status, r.problem.detail], [503, "The database does not answer; try again"]);
});

Deno.test("blockdev frees replaced and trimmed chunks at once until the volume has a snapshot", async () => {
  await using t = await setup();
  await t.manager.createVolume({ name: "v", sizeBytes: 2 ** 20, chunkSize: 65536 });
  await t.manager.map("v", { iqn: "iqn.2026-01.lan.appliance:v", lun: 0 });
  const device = t.manager.resolveTarget("iqn.2026-01.lan.appliance:v")!.luns.get(0)!;
  await device.write(0, new Uint8Array(2 * 65536).fill(1), { fua: true });
  await device.write(0, new Uint8Array(65536).fill(2), { fua: true });
  assert.equal(await eventually(() => t.chunkObjects("v"), 2), 2, "the first version of chunk 0 is gone");
  await device.unmap(65536, 65536);
  await device.flush();
  assert.equal(await eventually(() => t.chunkObjects("v"), 1), 1, "trimmed chunk 1 deleted");

  await t.manager.createSnapshot("v", "s");
  await device.write(0, new Uint8Array(65536).fill(3), { fua: true });
  await new Promise((r) => setTimeout(r, 200)); // time for a (wrong) eager deletion to show
  assert.equal(await t.chunkObjects("v"), 2, "the snapshot keeps its version of chunk 0");
  await t.manager.deleteSnapshot("v", "s");
  assert.equal(await t.chunkObjects("v"), 1, "collected with the snapshot");
  await device.write(0, new Uint8Array(65536).fill(4), { fua: true });
  assert.equal(await eventually(() => t.chunkObjects("v"), 1), 1, "unshared again");
  assert.deepEqual(await device.read(0, 65536), new Uint8Array(65536).fill(4));
});
