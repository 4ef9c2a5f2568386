import assert from "node:assert/strict";
import { createFsStore } from "./fs.ts";
import { createGroupCommit, SPARE_PREFIX, SPARES } from "./_fs_group_commit.ts";
import { LOG_FILE, readCheckpoint, replaySmallLog, scanRecords } from "./_fs_small_log.ts";
import type { GroupReply, GroupRequest } from "./_fs_group_commit_worker.ts";
import {
  bytes,
  collect,
  getBytes,
  md5Hex,
  putSmall,
  rejectsWithCode,
  streamOf,
  tempLeftovers,
} from "./_testing/contract_helpers.ts";
import { smallVersion, versionOf } from "./_testing/small_versions.ts";
import { withLoopExt4 } from "./_testing/loop_ext4.ts";
import { withTempDir } from "../_testing/temp_dir.ts";

const withRoot = (fn: (root: string) => Promise<void>) => withTempDir("fs-group-", fn);

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

/** Waits until the writer has made all its spare files in `tmp/` (it is idle then); their names. */
async function sparesOf(root: string): Promise<string[]> {
  let spares: string[] = [];
  for (let i = 0; i < 300 && spares.length < SPARES; i++) {
    await new Promise((r) => setTimeout(r, 10));
    spares = (await names(`${root}/tmp`)).filter((name) => name.startsWith(SPARE_PREFIX));
  }
  assert.equal(spares.length, SPARES, `the writer keeps ${SPARES} spares ready`);
  return spares;
}

/** A group committer on `root`, with its `tmp/` and an `objects/` directory for the targets. */
async function groupIn(root: string, options?: { idleMs?: number }) {
  await Deno.mkdir(`${root}/tmp`);
  await Deno.mkdir(`${root}/objects`);
  const group = createGroupCommit(root, options);
  assert.ok(group, "the tests run with FFI permission and glibc, as the appliance does");
  return group;
}

/** The whole file of a group-commit item. */
function fileOf(data: Uint8Array) {
  return { size: data.byteLength, write: (out: Uint8Array) => out.set(data) };
}

Deno.test("group commit: one batch publishes its files durably and isolates a failing item", async () => {
  await withRoot(async (root) => {
    const group = await groupIn(root);
    const renamed: string[] = [];
    const item = (name: string, dir = "objects") => ({
      target: `${root}/${dir}/${name}`,
      ...fileOf(bytes(100, name.length)),
    });
    const ok = ["a", "bb", "ccc"].map((n) => group.publish(item(n), () => renamed.push(n)));
    const missing = group.publish(item("dddd", "no-such-dir"), () => renamed.push("dddd"));
    const outside = group.publish({ ...item("eeeee"), target: `${root}-elsewhere/eeeee` }, () => renamed.push("eeeee"));
    await Promise.all([
      ...ok,
      assert.rejects(missing, Deno.errors.NotFound),
      assert.rejects(outside, /not under/),
    ]);
    assert.deepEqual(renamed.sort(), ["a", "bb", "ccc"]);
    assert.deepEqual(await names(`${root}/objects`), ["a", "bb", "ccc"]);
    assert.deepEqual(await Deno.readFile(`${root}/objects/bb`), bytes(100, 2));
    assert.equal((await Deno.stat(`${root}/objects/bb`)).mode! & 0o777, 0o600, "object files are private");
    assert.deepEqual(tempLeftovers(`${root}/tmp`), [], "a failed item leaves no temp file");
    const inFlight = group.publish(item("e"), () => {});
    const closing = group.close();
    await assert.rejects(group.publish(item("f"), () => {}), /closed/);
    await Promise.all([inFlight, closing]);
    assert.deepEqual(await Deno.readFile(`${root}/objects/e`), bytes(100, 1), "the cycle in flight finishes");
    assert.deepEqual(await names(`${root}/tmp`), [], "the stopped writer removed its spares");
  });
});

Deno.test("group commit: files are written into spares made between cycles, which the stop removes", async () => {
  await withRoot(async (root) => {
    const group = await groupIn(root);
    const item = (name: string) => ({ target: `${root}/objects/${name}`, ...fileOf(bytes(200, name.length)) });
    await group.publish(item("first"), () => {});
    const spareInodes = new Set<number | null>();
    for (const name of await sparesOf(root)) {
      const stat = await Deno.stat(`${root}/tmp/${name}`);
      assert.equal(stat.size, 0);
      spareInodes.add(stat.ino);
    }
    await Promise.all(["a", "bb", "ccc"].map((n) => group.publish(item(n), () => {})));
    for (const n of ["a", "bb", "ccc"]) {
      assert.ok(spareInodes.has((await Deno.stat(`${root}/objects/${n}`)).ino), `${n} was written into a spare`);
      assert.deepEqual(await Deno.readFile(`${root}/objects/${n}`), bytes(200, n.length));
      assert.equal((await Deno.stat(`${root}/objects/${n}`)).mode! & 0o777, 0o600, "object files are private");
    }
    assert.deepEqual(tempLeftovers(`${root}/tmp`), []);
    await group.close();
    assert.deepEqual(await names(`${root}/tmp`), [], "the stopped writer removed its spares");
  });
});

Deno.test("group commit: the writer makes no spare while a cycle it was sent waits, and makes them all after", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(`${root}/tmp`);
    const spares = async () => (await names(`${root}/tmp`)).filter((name) => name.startsWith(SPARE_PREFIX));
    const cyclesSent = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const worker = new Worker(new URL("./_fs_group_commit_worker.ts", import.meta.url).href, { type: "module" });
    try {
      worker.postMessage({ root, cyclesSent } satisfies GroupRequest);
      const emptyCycle = (stop: boolean) =>
        new Promise<GroupReply>((resolve) => {
          worker.onmessage = (e: MessageEvent<GroupReply>) => resolve(e.data);
          Atomics.add(cyclesSent, 0, 1);
          const request = { buffer: new ArrayBuffer(0), length: 0, count: 0, checkpoint: false, stop };
          worker.postMessage(request satisfies GroupRequest);
        });
      // One cycle more than posted is announced: to the worker, the next cycle is always already waiting.
      Atomics.add(cyclesSent, 0, 1);
      assert.deepEqual((await emptyCycle(false)).failures, []);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await spares(), [], "no spare is made while a cycle waits");
      Atomics.sub(cyclesSent, 0, 1);
      await emptyCycle(false);
      await sparesOf(root);
      await emptyCycle(true);
      assert.deepEqual(await spares(), [], "the stop removed them");
    } finally {
      worker.terminate();
    }
  });
});

Deno.test("group commit: a queue larger than one batch and than a batch's first buffer keeps every file whole", async () => {
  await withRoot(async (root) => {
    const group = await groupIn(root);
    // 150 files of 20-60 KiB queued at once: more than 64 items per cycle, several MiB per batch buffer.
    const files = Array.from({ length: 150 }, (_, i) => `f${i}`);
    const data = (i: number) => bytes(20_000 + (i % 5) * 10_000, i);
    await Promise.all(
      files.map((name, i) => group.publish({ target: `${root}/objects/${name}`, ...fileOf(data(i)) }, () => {})),
    );
    await group.close();
    for (const [i, name] of files.entries()) assert.deepEqual(await Deno.readFile(`${root}/objects/${name}`), data(i));
    assert.deepEqual(await names(`${root}/tmp`), []);
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
    assert.deepEqual(tempLeftovers(`${root}/tmp`), []);
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
    assert.deepEqual(tempLeftovers(`${root}/tmp`), []);
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

    assert.ok(replaySmallLog(root, `${root}/tmp`) > 0, "the writer was killed with records not yet checkpointed");
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

Deno.test("group commit: a published file is replayed from the log; a failed create is not logged, a failed rename is retired", async () => {
  await withRoot(async (root) => {
    const group = await groupIn(root);
    await Deno.writeFile(`${root}/plain`, bytes(10));
    const item = (name: string, dir = "objects") => ({
      target: `${root}/${dir}/${name}`,
      ...fileOf(bytes(300, name.charCodeAt(0))),
    });
    await group.publish(item("a"), () => {});
    // No temp file can be written for "b": its spare is gone and no file can be created in its place.
    await sparesOf(root);
    await Deno.remove(`${root}/tmp`, { recursive: true });
    await assert.rejects(group.publish(item("b"), () => {}), Deno.errors.NotFound);
    await Deno.mkdir(`${root}/tmp`);
    /** The log as a crash right now would leave it (it is flushed before a PUT is answered). */
    const afterPublish = await Deno.readFile(`${root}/${LOG_FILE}`);
    let renamed = false;
    await assert.rejects(
      group.publish(item("c", "plain"), () => renamed = true),
      (err) => (err as { code?: string }).code === "ENOTDIR",
    );
    assert.equal(renamed, false);
    const afterFailedRename = await Deno.readFile(`${root}/${LOG_FILE}`);
    await group.close();

    await Deno.remove(`${root}/objects/a`);
    await Deno.writeFile(`${root}/${LOG_FILE}`, afterPublish);
    assert.equal(replaySmallLog(root, `${root}/tmp`), 1, "only the written file was logged");
    assert.deepEqual(await Deno.readFile(`${root}/objects/a`), bytes(300, "a".charCodeAt(0)));
    await assert.rejects(Deno.stat(`${root}/objects/b`), Deno.errors.NotFound);

    await Deno.remove(`${root}/plain`);
    await Deno.mkdir(`${root}/plain`);
    await Deno.writeFile(`${root}/${LOG_FILE}`, afterFailedRename);
    assert.equal(
      replaySmallLog(root, `${root}/tmp`),
      0,
      "the record of the failed rename was retired before the answer",
    );
    assert.deepEqual(await names(`${root}/plain`), []);
    assert.deepEqual(await names(`${root}/tmp`), []);
  });
});

Deno.test("group commit: a delete, a large overwrite or a multipart completion after small PUTs is not undone by a replay", async () => {
  await withRoot(async (root) => {
    const relative = (key: string) => `buckets/bkt/objects/k${new TextEncoder().encode(key).toHex()}`;
    const objectFile = (key: string) => `${root}/${relative(key)}`;
    /** The target paths of the records a replay would apply now. */
    const replayable = async () => {
      const log = await Deno.readFile(`${root}/${LOG_FILE}`);
      const readAt = (at: number, length: number) => log.subarray(at, at + length);
      const paths: string[] = [];
      scanRecords(readAt, log.byteLength, readCheckpoint(readAt).seq, (r) => paths.push(r.path));
      return paths;
    };
    const store = await createFsStore({ root });
    await store.createBucket("bkt");
    await putSmall(store, "bkt", "kept", smallVersion(2));
    const uploadId = await store.createMultipartUpload("bkt", "mp");
    const part = await store.uploadPart("bkt", "mp", { uploadId, partNumber: 1 }, streamOf(bytes(3000, 4)));
    // Each change follows a small PUT of its key, whose record it finds pending and retires.
    await putSmall(store, "bkt", "gone", smallVersion(0));
    assert.deepEqual(await replayable(), [relative("kept"), relative("gone")]);
    await store.deleteObject("bkt", "gone");
    assert.deepEqual(await replayable(), []);
    await putSmall(store, "bkt", "large", smallVersion(1));
    await store.putObject("bkt", "large", streamOf(bytes(200_000, 9))); // no declared length: the per-file path
    assert.deepEqual(await replayable(), []);
    await putSmall(store, "bkt", "mp", smallVersion(3));
    await store.completeMultipartUpload("bkt", "mp", uploadId, [{ partNumber: 1, etag: part.etag }]);
    assert.deepEqual(await replayable(), []);
    await putSmall(store, "bkt", "late", smallVersion(5));
    const crashed = await Deno.readFile(`${root}/${LOG_FILE}`);
    await store.close();

    // A crash that lost the rename of the last small PUT: the log brings it back, and only it.
    await Deno.remove(objectFile("late"));
    await Deno.writeFile(`${root}/${LOG_FILE}`, crashed);
    const reopened = await createFsStore({ root });
    await rejectsWithCode(reopened.headObject("bkt", "gone"), "NoSuchKey");
    assert.deepEqual(await getBytes(reopened, "bkt", "large"), bytes(200_000, 9));
    assert.deepEqual(await getBytes(reopened, "bkt", "kept"), smallVersion(2));
    assert.deepEqual(await getBytes(reopened, "bkt", "mp"), bytes(3000, 4));
    assert.deepEqual(await getBytes(reopened, "bkt", "late"), smallVersion(5));
    await reopened.close();
  });
});

Deno.test("group commit: an idle worker checkpoints before it stops, and the next one logs on from there", async () => {
  await withRoot(async (root) => {
    const group = await groupIn(root, { idleMs: 20 });
    const checkpointOf = async () => {
      const log = await Deno.readFile(`${root}/${LOG_FILE}`);
      return readCheckpoint((at, length) => log.subarray(at, at + length)).seq;
    };
    const item = (name: string) => ({ target: `${root}/objects/${name}`, ...fileOf(bytes(50)) });
    await Promise.all([group.publish(item("a"), () => {}), group.publish(item("b"), () => {})]);
    assert.equal(await checkpointOf(), 0, "a busy log is not checkpointed");
    for (let i = 0; i < 100 && await checkpointOf() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await checkpointOf(), 2, "the idle worker retired both records");
    await group.publish(item("c"), () => {}); // a new worker, after the stop
    const crashed = await Deno.readFile(`${root}/${LOG_FILE}`);
    await group.close();
    assert.equal(await checkpointOf(), 3);
    await Deno.writeFile(`${root}/${LOG_FILE}`, crashed);
    await Deno.remove(`${root}/objects/c`);
    assert.equal(replaySmallLog(root, `${root}/tmp`), 1, "seq 3 follows the checkpoint of the stopped worker");
    assert.deepEqual(await Deno.readFile(`${root}/objects/c`), bytes(50));
  });
});

Deno.test("group commit: settle and settleUnder force a checkpoint only for paths with a pending record", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(`${root}/tmp`);
    await Deno.mkdir(`${root}/objects/deep`, { recursive: true });
    const group = createGroupCommit(root)!;
    const checkpointOf = async () => {
      const log = await Deno.readFile(`${root}/${LOG_FILE}`);
      return readCheckpoint((at, length) => log.subarray(at, at + length)).seq;
    };
    const item = (name: string) => ({ target: `${root}/objects/deep/${name}`, ...fileOf(bytes(50)) });
    await group.publish(item("a"), () => {});
    assert.equal(group.settle(`${root}/objects/deep/b`), undefined);
    assert.equal(group.settleUnder(`${root}/objects/dee`), undefined, "a sibling whose name is a prefix");
    assert.equal(group.settleUnder(`${root}/elsewhere`), undefined);
    assert.equal(await checkpointOf(), 0);
    await group.settleUnder(`${root}/objects`);
    assert.equal(await checkpointOf(), 1, "settleUnder retired the record of a path below");
    assert.equal(group.settle(`${root}/objects/deep/a`), undefined, "nothing pending any more");
    await group.publish(item("b"), () => {});
    await group.settle(`${root}/objects/deep/b`);
    assert.equal(await checkpointOf(), 2);
    await group.close();
  });
});

/** Runs `fn` with a store, and its bucket "bkt", on a 12 MiB ext4 made with `mkfsArgs`. */
function onSmallExt4(
  mkfsArgs: string[],
  fn: (root: string, store: Awaited<ReturnType<typeof createFsStore>>) => Promise<void>,
): Promise<void> {
  return withRoot((dir) =>
    withLoopExt4(dir, async (root) => {
      const store = await createFsStore({ root });
      await store.createBucket("bkt");
      await fn(root, store);
    }, mkfsArgs)
  );
}

Deno.test("group commit on a small ext4: a small PUT that finds the disk full is NoSpace and is not logged", async () => {
  await onSmallExt4(["-m", "0"], async (root, store) => {
    await putSmall(store, "bkt", "before", smallVersion(1));
    const filler = await Deno.open(`${root}/filler`, { write: true, createNew: true });
    for (const size of [256 * 1024, 4096, 512]) { // to the last free byte
      await assert.rejects(async () => {
        for (const block = new Uint8Array(size);;) await filler.write(block);
      }, (err) => (err as { code?: string }).code === "ENOSPC");
    }
    filler.close();
    await rejectsWithCode(putSmall(store, "bkt", "full", smallVersion(2)), "NoSpace");
    const crashed = await Deno.readFile(`${root}/${LOG_FILE}`);
    await Deno.remove(`${root}/filler`);
    await putSmall(store, "bkt", "after", smallVersion(3));
    await store.close();

    await Deno.writeFile(`${root}/${LOG_FILE}`, crashed);
    const reopened = await createFsStore({ root });
    await rejectsWithCode(reopened.headObject("bkt", "full"), "NoSuchKey");
    assert.deepEqual(await getBytes(reopened, "bkt", "before"), smallVersion(1));
    assert.deepEqual(await getBytes(reopened, "bkt", "after"), smallVersion(3));
    assert.deepEqual(await names(`${root}/tmp`), []);
    await reopened.close();
  });
});

Deno.test("group commit on a small ext4: with no inode left, small PUTs use up the spares, then fail as NoSpace unlogged", async () => {
  await onSmallExt4(["-N", "256"], async (root, store) => {
    await putSmall(store, "bkt", "first", smallVersion(0));
    await sparesOf(root);
    await Deno.mkdir(`${root}/fill`);
    await assert.rejects(async () => {
      for (let i = 0;; i++) await Deno.writeFile(`${root}/fill/${i}`, new Uint8Array(0), { createNew: true });
    }, (err) => (err as { code?: string }).code === "ENOSPC");
    for (let i = 0; i < SPARES; i++) await putSmall(store, "bkt", `spare/${i}`, smallVersion(i));
    await rejectsWithCode(putSmall(store, "bkt", "full", smallVersion(1)), "NoSpace");
    assert.deepEqual(await names(`${root}/tmp`), [], "every spare was used; nothing was left behind");
    const crashed = await Deno.readFile(`${root}/${LOG_FILE}`);
    await Deno.remove(`${root}/fill`, { recursive: true });
    await putSmall(store, "bkt", "after", smallVersion(2));
    await store.close();

    await Deno.writeFile(`${root}/${LOG_FILE}`, crashed);
    const reopened = await createFsStore({ root });
    await rejectsWithCode(reopened.headObject("bkt", "full"), "NoSuchKey");
    for (const i of [0, SPARES - 1]) assert.deepEqual(await getBytes(reopened, "bkt", `spare/${i}`), smallVersion(i));
    assert.deepEqual(await getBytes(reopened, "bkt", "after"), smallVersion(2));
    await reopened.close();
  });
});
