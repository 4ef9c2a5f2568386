/**
 * fs backend: streaming MD5 speed, put/get throughput and peak RSS for one large object, and listing cost over
 * many keys. Anchors in the same run: `md5sum` for hashing, `dd … conv=fsync` / `cat` for raw file write/read.
 *
 * Env: BENCH_FS_DIR (default: a temp dir), BENCH_FS_MB (object size, default 1024), BENCH_FS_KEYS (default 100000).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createFsStore } from "../src/storage/fs.ts";

const dir = Deno.env.get("BENCH_FS_DIR") ?? await Deno.makeTempDir({ prefix: "bench-fs-" });
const mb = Number(Deno.env.get("BENCH_FS_MB") ?? 1024);
const keyCount = Number(Deno.env.get("BENCH_FS_KEYS") ?? 100_000);
const chunk = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);

function rate(bytes: number, ms: number): string {
  return `${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(0)} MiB/s`;
}

function source(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent++ === mb) return c.close();
      c.enqueue(chunk.slice());
    },
  }, { highWaterMark: 0 });
}

async function run(cmd: string, args: string[]): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "null" }).output();
  if (!out.success) throw new Error(`${cmd} failed`);
  return performance.now() - t;
}

let peakRss = 0;
const sampler = setInterval(() => peakRss = Math.max(peakRss, Deno.memoryUsage().rss), 20);
try {
  const hash = createHash("md5");
  let t = performance.now();
  for (let i = 0; i < mb; i++) hash.update(chunk);
  hash.digest();
  console.log(`md5 (node:crypto, 1 MiB updates): ${rate(mb * 1024 * 1024, performance.now() - t)}`);

  const store = await createFsStore({ root: `${dir}/store` });
  await store.createBucket("bench");
  const baseRss = Deno.memoryUsage().rss;
  peakRss = baseRss;
  t = performance.now();
  await store.putObject("bench", "big", source());
  console.log(`fs put ${mb} MiB (md5 + fsync): ${rate(mb * 1024 * 1024, performance.now() - t)}`);
  t = performance.now();
  let read = 0;
  for await (const c of (await store.getObject("bench", "big")).body) read += c.byteLength;
  console.log(`fs get ${mb} MiB: ${rate(read, performance.now() - t)}`);
  console.log(
    `peak RSS during put+get: ${((peakRss - baseRss) / 1024 / 1024).toFixed(0)} MiB above the ${
      (baseRss / 1024 / 1024).toFixed(0)
    } MiB baseline`,
  );

  const file = `${dir}/anchor.bin`;
  const ddMs = await run("dd", ["if=/dev/zero", `of=${file}`, "bs=1M", `count=${mb}`, "conv=fsync", "status=none"]);
  console.log(`anchor dd write+fsync ${mb} MiB: ${rate(mb * 1024 * 1024, ddMs)}`);
  console.log(`anchor md5sum ${mb} MiB: ${rate(mb * 1024 * 1024, await run("md5sum", [file]))}`);
  console.log(`anchor cat ${mb} MiB: ${rate(mb * 1024 * 1024, await run("cat", [file]))}`);
  await Deno.remove(file);
  await store.deleteObject("bench", "big");

  t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    const empty = new Uint8Array(0);
    while (next < keyCount) {
      const i = next++;
      await store.putObject("bench", `vm-${i % 100}/disk-${String(i).padStart(7, "0")}`, ReadableStream.from([empty]));
    }
  }));
  console.log(
    `put ${keyCount} empty objects (32 in flight): ${
      (keyCount / ((performance.now() - t) / 1000)).toFixed(0)
    } objects/s`,
  );
  const reopened = await createFsStore({ root: `${dir}/store` });
  t = performance.now();
  let listed = 0;
  let pages = 0;
  let startAfter: string | undefined;
  for (;;) {
    const page = await reopened.listObjects("bench", startAfter === undefined ? {} : { startAfter });
    listed += page.objects.length;
    pages++;
    if (!page.isTruncated) break;
    startAfter = page.nextStartAfter;
  }
  const listMs = performance.now() - t;
  console.log(
    `list ${listed} keys after reopen (index rebuild included): ${pages} pages in ${listMs.toFixed(0)} ms (${
      (listMs / pages).toFixed(1)
    } ms/page)`,
  );
  t = performance.now();
  const delimited = await reopened.listObjects("bench", { delimiter: "/" });
  console.log(
    `delimiter listing (${delimited.commonPrefixes.length} prefixes): ${(performance.now() - t).toFixed(1)} ms`,
  );
} finally {
  clearInterval(sampler);
  if (!Deno.env.get("BENCH_FS_DIR")) await Deno.remove(dir, { recursive: true });
}
