/**
 * End to end through real S3 gateways over fs stores: jobs made with the CLI, changes written with rclone,
 * every sync checked with `rclone check`, journal mode fed by the gateway's events.
 */
import assert from "node:assert/strict";
import { createFsStore } from "../storage/fs.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { rclone, rcloneEnv, startTestAppliance } from "./_testing/appliance.ts";
import { put, readText } from "./_testing/harness.ts";
import { runCli } from "./cli.ts";
import { createCountingStore } from "./counting_store.ts";

async function captureStdout(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  const err = console.error;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  console.error = () => {};
  try {
    return { code: await fn(), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = err;
  }
}

async function check(env: Record<string, string>, src: string, dst: string): Promise<void> {
  const r = await rclone(["check", src, dst, "--exclude", ".cowsync/**"], env);
  assert.equal(r.code, 0, `rclone check ${src} ${dst} found differences:\n${r.stderr}`);
}

async function withFsStores(n: number, fn: (stores: ObjectStore[], dirs: string[]) => Promise<void>) {
  const dirs = await Promise.all(Array.from({ length: n }, () => Deno.makeTempDir({ prefix: "sync-fs-" })));
  const stores = await Promise.all(dirs.map((root) => createFsStore({ root })));
  try {
    await fn(stores, dirs);
  } finally {
    for (const s of stores) await s.close();
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

Deno.test("sync through the gateway (fs ↔ fs buckets): CLI plan/run, rclone check after each run", async () => {
  await withFsStores(1, async ([fs]) => {
    const store = createCountingStore(fs!);
    const app = await startTestAppliance({ stores: { local: store }, gateway: "local" });
    try {
      const env = rcloneEnv({ gw: app.endpoints.local! });
      await store.createBucket("primary");
      await store.createBucket("mirror");
      const created = await captureStdout(() =>
        runCli([
          "create",
          "fsjob",
          "--source",
          "gateway:primary",
          "--target",
          "gateway:mirror",
          "--detection",
          "manifest",
        ], app.api)
      );
      assert.equal(created.code, 0, created.out);

      const src = await Deno.makeTempDir({ prefix: "sync-src-" });
      await Deno.mkdir(`${src}/ünï cødé`, { recursive: true });
      await Deno.writeTextFile(`${src}/ünï cødé/😀 file+1.txt`, "unicode");
      await Deno.writeFile(`${src}/zero`, new Uint8Array());
      await Deno.writeTextFile(`${src}/a b&c=d.txt`, "odd");
      const big = new Uint8Array(7 * 1024 * 1024).map((_, i) => i % 239);
      await Deno.writeFile(`${src}/big.bin`, big);
      const up = await rclone(["copy", src, "gw:primary", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"], env);
      assert.equal(up.code, 0, up.stderr);
      await Deno.remove(src, { recursive: true });

      const plan = await captureStdout(() => runCli(["plan", "fsjob"], app.api));
      const items = plan.out.split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(items.map((i) => [i.op, i.key, i.reason]), [
        ["copy", "a b&c=d.txt", "new"],
        ["copy", "big.bin", "new"],
        ["copy", "zero", "new"],
        ["copy", "ünï cødé/😀 file+1.txt", "new"],
      ]);
      assert.match(items[1].etag, /-2"$/, "rclone uploaded big.bin in parts");

      const run = await captureStdout(() => runCli(["run", "fsjob"], app.api));
      assert.equal(run.code, 0);
      assert.equal(JSON.parse(run.out).copied, 4);
      await check(env, "gw:primary", "gw:mirror");

      const mod = await Deno.makeTempDir({ prefix: "sync-src-" });
      await Deno.writeTextFile(`${mod}/x`, "changed");
      assert.equal((await rclone(["copyto", `${mod}/x`, "gw:primary/a b&c=d.txt"], env)).code, 0);
      assert.equal((await rclone(["deletefile", "gw:primary/zero"], env)).code, 0);
      await Deno.remove(mod, { recursive: true });
      const second = JSON.parse((await captureStdout(() => runCli(["run", "fsjob"], app.api))).out);
      assert.deepEqual([second.generation, second.copied, second.deleted], [2, 1, 1]);
      await check(env, "gw:primary", "gw:mirror");

      await store.createBucket("restore");
      const restored = await captureStdout(() =>
        runCli(["restore", "fsjob", "--generation", "1", "--to", "gateway:restore/r/"], app.api)
      );
      assert.equal(restored.code, 0, restored.out);
      assert.equal(JSON.parse(restored.out).restored, 4);
      assert.equal(await readText(store, "restore", "r/a b&c=d.txt"), "odd");
      const g1 = await rclone(["check", "gw:restore/r", "gw:mirror", "--exclude", ".cowsync/**"], env);
      assert.notEqual(g1.code, 0, "generation 1 differs from the current mirror");

      const bad = await captureStdout(() => runCli(["plan", "nope"], app.api));
      assert.equal(bad.code, 1);
      const usage = await captureStdout(() => runCli(["create", "x", "--source", "nocolon"], app.api));
      assert.equal(usage.code, 2);
    } finally {
      await app.close();
    }
  });
});

Deno.test("journal mode takes changes from gateway events: no LIST, requests proportional to changes", async () => {
  await withFsStores(2, async ([a, b]) => {
    const primary = createCountingStore(a!);
    const mirror = createCountingStore(b!);
    const app = await startTestAppliance({
      stores: { local: primary, remote: mirror },
      gateway: "local",
      extraGateways: ["remote"],
    });
    try {
      const env = rcloneEnv({ gw: app.endpoints.local!, remote: app.endpoints.remote! });
      await primary.createBucket("primary");
      await mirror.createBucket("mirror");
      for (let i = 0; i < 50; i++) await put(primary, "primary", `obj/${String(i).padStart(3, "0")}`, `v1-${i}`);
      const created = await captureStdout(() =>
        runCli(
          ["create", "jj", "--source", "gateway:primary", "--target", "remote:mirror", "--detection", "journal"],
          app.api,
        )
      );
      assert.equal(created.code, 0, created.out);
      const first = JSON.parse((await captureStdout(() => runCli(["run", "jj"], app.api))).out);
      assert.equal(first.detection, "manifest", "the first run of a journal job reconciles with a listing");
      assert.equal(first.copied, 50);
      await check(env, "gw:primary", "remote:mirror");

      const tmp = await Deno.makeTempDir({ prefix: "sync-j-" });
      await Deno.writeTextFile(`${tmp}/f`, "v2");
      for (const k of ["obj/003", "obj/017", "new/😀"]) {
        assert.equal((await rclone(["copyto", `${tmp}/f`, `gw:primary/${k}`], env)).code, 0);
      }
      assert.equal((await rclone(["deletefile", "gw:primary/obj/040"], env)).code, 0);
      await Deno.remove(tmp, { recursive: true });

      primary.reset();
      mirror.reset();
      const plan = (await captureStdout(() => runCli(["plan", "jj"], app.api))).out.split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.deepEqual(plan.map((i) => `${i.op} ${i.key}`), [
        "copy new/😀",
        "copy obj/003",
        "copy obj/017",
        "delete obj/040",
      ]);
      const second = JSON.parse((await captureStdout(() => runCli(["run", "jj"], app.api))).out);
      assert.equal(second.detection, "journal");
      assert.deepEqual([second.copied, second.deleted], [3, 1]);
      assert.equal(primary.counts.listObjects, undefined, "journal mode lists nothing");
      assert.equal(mirror.counts.listObjects, undefined);
      // Per change: one GET from the primary; on the mirror one PUT, plus one version copy per overwrite/delete.
      assert.equal(primary.counts.getObject, 3);
      assert.equal(mirror.counts.putObject, 3);
      assert.equal(mirror.counts.copyObject, 3);
      assert.equal(mirror.counts.deleteObject, 1);
      await check(env, "gw:primary", "remote:mirror");

      // The feed is in the database: a change made before a restart is synced after it, still without a LIST.
      assert.equal((await rclone(["deletefile", "gw:primary/obj/041"], env)).code, 0);
      await app.restartSync();
      primary.reset();
      const third = JSON.parse((await captureStdout(() => runCli(["run", "jj"], app.api))).out);
      assert.deepEqual([third.detection, third.deleted], ["journal", 1]);
      assert.equal(primary.counts.listObjects, undefined);
      await check(env, "gw:primary", "remote:mirror");

      await put(primary, "primary", "outside-gateway", "not seen by the feed");
      const fourth = JSON.parse((await captureStdout(() => runCli(["run", "jj", "--verify"], app.api))).out);
      assert.equal(fourth.copied, 1, "--verify finds what bypassed the gateway");
      await check(env, "gw:primary", "remote:mirror");
    } finally {
      await app.close();
    }
  });
});
