import assert from "node:assert/strict";
import { createFsStore } from "./fs.ts";
import { createGroupCommit } from "./_fs_group_commit.ts";
import { bytes, collect, getBytes, md5Hex, rejectsWithCode, streamOf } from "./_testing/contract_helpers.ts";
import { smallVersion, versionOf } from "./_testing/small_versions.ts";

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "fs-group-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

/** A PUT with a declared length of at most 64 KiB: the group-committed path. */
function putSmall(store: Awaited<ReturnType<typeof createFsStore>>, bucket: string, key: string, data: Uint8Array) {
  return store.putObject(bucket, key, streamOf(data, 1500), { contentLength: data.byteLength });
}

Deno.test("group commit: one batch publishes its files durably and isolates a failing item", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(`${root}/tmp`);
    await Deno.mkdir(`${root}/objects`);
    const group = createGroupCommit(root);
    assert.ok(group, "the tests run with FFI permission and glibc, as the appliance does");
    const renamed: string[] = [];
    const item = (name: string, dir = "objects") => ({
      tmp: `${root}/tmp/${name}`,
      target: `${root}/${dir}/${name}`,
      bytes: new Uint8Array(bytes(100, name.length)),
    });
    const ok = ["a", "bb", "ccc"].map((n) => group.publish(item(n), () => renamed.push(n)));
    const missing = group.publish(item("dddd", "no-such-dir"), () => renamed.push("dddd"));
    const uncreatable = group.publish(
      { ...item("eeeee"), tmp: `${root}/no-such-tmp/eeeee` },
      () => renamed.push("eeeee"),
    );
    const taken = group.publish({ ...item("ffffff"), tmp: `${root}/objects` }, () => renamed.push("ffffff"));
    await Promise.all([
      ...ok,
      assert.rejects(missing, Deno.errors.NotFound),
      assert.rejects(uncreatable, Deno.errors.NotFound),
      assert.rejects(taken, (err) => (err as { code?: string }).code === "EEXIST"),
    ]);
    assert.deepEqual(renamed.sort(), ["a", "bb", "ccc"]);
    assert.deepEqual(await names(`${root}/objects`), ["a", "bb", "ccc"]);
    assert.deepEqual(await Deno.readFile(`${root}/objects/bb`), bytes(100, 2));
    assert.equal((await Deno.stat(`${root}/objects/bb`)).mode! & 0o777, 0o600, "object files are private");
    assert.deepEqual(await names(`${root}/tmp`), [], "a failed item leaves no temp file");
    const late = group.publish(item("e"), () => {});
    group.close();
    await assert.rejects(late, /closed/);
  });
});

Deno.test("group commit: concurrent small overwrites, deletes and new keys agree with the disk and survive a reopen", async () => {
  await withRoot(async (root) => {
    const store = await createFsStore({ root });
    await store.createBucket("bkt");
    const overwrites = Array.from(
      { length: 48 },
      (_, v) =>
        v % 5 === 4 ? store.deleteObject("bkt", `k${v % 4}`) : putSmall(store, "bkt", `k${v % 4}`, smallVersion(v)),
    );
    const fresh = Array.from({ length: 64 }, (_, i) => putSmall(store, "bkt", `new/${i}`, bytes(4096, i)));
    const infos = await Promise.all(fresh);
    await Promise.all(overwrites);
    infos.forEach((info, i) => assert.equal(info.etag, `"${md5Hex(bytes(4096, i))}"`));
    const listed = (await store.listObjects("bkt", { prefix: "k" })).objects.map((o) => o.key);
    for (const key of ["k0", "k1", "k2", "k3"]) {
      const exists = await store.headObject("bkt", key).then(() => true, () => false);
      assert.equal(listed.includes(key), exists, `${key}: listing and disk agree`);
      if (!exists) continue;
      const got = await store.getObject("bkt", key);
      const body = await collect(got.body);
      assert.equal(`"${md5Hex(body)}"`, got.info.etag);
      assert.deepEqual(body, smallVersion(versionOf(body)));
    }
    assert.deepEqual(await names(`${root}/tmp`), []);
    await store.close();
    const reopened = await createFsStore({ root });
    assert.equal((await reopened.listObjects("bkt", { prefix: "new/" })).objects.length, 64);
    for (const i of [0, 17, 63]) assert.deepEqual(await getBytes(reopened, "bkt", `new/${i}`), bytes(4096, i));
    await reopened.close();
  });
});

Deno.test("group commit: a small body shorter or longer than declared, or with a wrong MD5, leaves nothing", async () => {
  await withRoot(async (root) => {
    const store = await createFsStore({ root });
    await store.createBucket("bkt");
    const data = bytes(4096, 3);
    await putSmall(store, "bkt", "kept", data);
    await rejectsWithCode(
      store.putObject("bkt", "kept", streamOf(data.subarray(0, 4000)), { contentLength: 4096 }),
      "IncompleteBody",
    );
    await rejectsWithCode(store.putObject("bkt", "kept", streamOf(data), { contentLength: 4000 }), "IncompleteBody");
    await rejectsWithCode(
      store.putObject("bkt", "other", streamOf(data), { contentLength: 4096, expectedMd5Hex: md5Hex(bytes(1)) }),
      "BadDigest",
    );
    await rejectsWithCode(putSmall(store, "no-such-bucket", "k", data), "NoSuchBucket");
    assert.deepEqual(await getBytes(store, "bkt", "kept"), data);
    await rejectsWithCode(store.headObject("bkt", "other"), "NoSuchKey");
    assert.deepEqual(await names(`${root}/tmp`), []);
    await store.close();
  });
});

Deno.test("group commit: kill -9 during small overwrites keeps every acknowledged PUT whole", async () => {
  await withRoot(async (root) => {
    const writer = new URL("./_testing/fs_small_writer.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", writer, root, "crash"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    /** Per key, the highest version acknowledged before the kill. */
    const acked = new Map<string, number>();
    let lines = 0;
    let pending = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (lines < 300) {
      const { value, done } = await reader.read();
      assert.ok(!done, "the writer kept running");
      const parts = (pending + value).split("\n");
      pending = parts.pop()!;
      for (const line of parts) {
        const { key, version } = JSON.parse(line) as { key: string; version: number };
        acked.set(key, Math.max(acked.get(key) ?? -1, version));
        lines++;
      }
    }
    child.kill("SIGKILL");
    assert.equal((await child.status).signal, "SIGKILL");
    await reader.cancel();

    const store = await createFsStore({ root });
    assert.deepEqual(await names(`${root}/tmp`), [], "reopen clears temp leftovers");
    const objects = (await store.listObjects("crash")).objects;
    assert.equal(objects.length, 20);
    for (const o of objects) {
      const body = await getBytes(store, "crash", o.key);
      assert.equal(`"${md5Hex(body)}"`, o.etag, `${o.key} is whole`);
      const version = versionOf(body);
      assert.deepEqual(body, smallVersion(version));
      assert.equal(`k${version % 20}`, o.key);
      assert.ok(version >= (acked.get(o.key) ?? -1), `${o.key}: version ${version} is at least the acknowledged one`);
    }
    await store.close();
  });
});
