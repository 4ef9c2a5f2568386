/**
 * COW Sync vs `rclone sync`, side by side against the same S3 gateway (fs store, in its own process) in one run:
 * N objects, an initial full sync, then 1% of the objects rewritten and an incremental sync. Manifest mode runs
 * here as a client, like rclone; journal mode runs inside the appliance process (it needs the gateway's events).
 * Requests are counted at the gateway's HTTP handler (every S3 request of any tool), and by the sync engine
 * itself for journal mode (whose source reads are in-process).
 *
 *   deno task bench sync [--objects 2000] [--size 4096] [--changed 0.01] [--full]   (--full = 100,000 objects)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { systemClock } from "../src/clock.ts";
import { createDb } from "../src/db/client.ts";
import { migrateDb } from "../src/db/migrate.ts";
import { silentLogger } from "../src/log.ts";
import { createS3Store } from "../src/storage/s3.ts";
import { createSyncEngine, type RunSummary } from "../src/sync/engine.ts";
import { jobRowOf } from "../src/sync/jobs.ts";
import { createSyncRepo } from "../src/sync/repo.ts";
import { KEY, rclone, rcloneEnv } from "../src/sync/_testing/appliance.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    objects: { type: "string", default: "2000" },
    size: { type: "string", default: "4096" },
    changed: { type: "string", default: "0.01" },
    full: { type: "boolean", default: false },
  },
});
const N = values.full ? 100_000 : Number(values.objects);
const SIZE = Number(values.size);
const CHANGED = Math.max(1, Math.round(N * Number(values.changed)));

const dir = await Deno.makeTempDir({ prefix: "bench-sync-" });
const clock = systemClock();
const logger = silentLogger();
// The appliance (gateway + journal-mode sync) runs in its own process; this process is the client side, like rclone.
const appliance = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./_sync_appliance.ts", import.meta.url).pathname, dir],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const lines = appliance.stdout.pipeThrough(new TextDecoderStream()).getReader();
const { endpoint } = JSON.parse((await lines.read()).value!.split("\n")[0]!) as { endpoint: string };
const s3 = createS3Store({ endpoint, region: "us-east-1", forcePathStyle: true, ...KEY });
const env = rcloneEnv({ gw: endpoint });

async function gatewayRequests(): Promise<number> {
  return (await (await fetch(`${endpoint}/__bench/requests`)).json()).requests;
}

const handle = createDb(`file:${dir}/client-sync.db`);
await migrateDb(handle);
const repo = createSyncRepo(handle.db);
const engine = createSyncEngine({ repo, clock, logger, resolveStore: () => s3 });

async function addManifestJob(): Promise<void> {
  const row = jobRowOf({
    id: "manifest",
    concurrency: 16,
    source: { backend: "gw", bucket: "primary" },
    target: { backend: "gw", bucket: "mirror-manifest" },
  }, clock.now());
  await repo.insertJob({ ...row, journalSeq: 0 });
}

async function runJournal(): Promise<RunSummary> {
  return await (await fetch(`${endpoint}/__bench/journal`, { method: "POST" })).json();
}

function body(i: number, version: number): ReadableStream<Uint8Array> {
  const bytes = new Uint8Array(SIZE);
  new DataView(bytes.buffer).setUint32(0, i);
  bytes[4] = version;
  return ReadableStream.from([bytes]);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; requests: number; result: T }> {
  const before = await gatewayRequests();
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  return { ms, requests: (await gatewayRequests()) - before - 1, result };
}

async function rcloneSync(args: string[]) {
  const r = await rclone(["sync", ...args, "--transfers", "16", "--checkers", "16"], env);
  if (r.code !== 0) throw new Error(`rclone sync failed: ${r.stderr}`);
}

async function rcloneCheck(a: string, b: string) {
  const r = await rclone(["check", "--fast-list", `gw:${a}`, `gw:${b}`, "--exclude", ".cowsync/**"], env);
  if (r.code !== 0) throw new Error(`rclone check ${a} ${b}: ${r.stderr}`);
}

try {
  for (const b of ["primary", "mirror-manifest", "mirror-journal", "mirror-rclone", "mirror-rclone-sum"]) {
    await s3.createBucket(b);
  }
  console.error(`writing ${N} objects of ${SIZE} bytes…`);
  for (let i = 0; i < N; i += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, N - i) }, (_, j) => {
        const key = `data/${String(i + j).padStart(7, "0")}`;
        return s3.putObject("primary", key, body(i + j, 1), { contentLength: SIZE });
      }),
    );
  }
  await addManifestJob();

  console.error("initial full syncs…");
  const fullOurs = await timed(() => engine.run("manifest"));
  const fullJournal = await timed(runJournal);
  const fullRclone = await timed(() => rcloneSync(["gw:primary", "gw:mirror-rclone"]));
  const fullRcloneSum = await timed(() =>
    rcloneSync(["--checksum", "--fast-list", "gw:primary", "gw:mirror-rclone-sum"])
  );

  console.error(`rewriting ${CHANGED} objects through the gateway…`);
  for (let k = 0; k < CHANGED; k++) {
    const i = Math.floor((k * N) / CHANGED);
    await s3.putObject("primary", `data/${String(i).padStart(7, "0")}`, body(i, 2), { contentLength: SIZE });
  }

  console.error("incremental syncs…");
  const incOurs = await timed(() => engine.run("manifest"));
  const incJournal = await timed(runJournal);
  const incRclone = await timed(() => rcloneSync(["gw:primary", "gw:mirror-rclone"]));
  const incRcloneSum = await timed(() =>
    rcloneSync(["--checksum", "--fast-list", "gw:primary", "gw:mirror-rclone-sum"])
  );
  for (const m of ["mirror-manifest", "mirror-journal", "mirror-rclone", "mirror-rclone-sum"]) {
    await rcloneCheck("primary", m);
  }

  const mib = (N * SIZE) / 1048576;
  const row = (
    name: string,
    full: { ms: number; requests: number },
    inc: { ms: number; requests: number },
    incReq = inc.requests,
  ) =>
    `| ${name} | ${(full.ms / 1000).toFixed(1)} s (${(mib / (full.ms / 1000)).toFixed(1)} MiB/s, ${
      Math.round(N / (full.ms / 1000))
    } obj/s) | ${full.requests} | ${(inc.ms / 1000).toFixed(2)} s | ${incReq} |`;
  console.log(`\n${N} objects × ${SIZE} B, ${CHANGED} rewritten (${(100 * CHANGED / N).toFixed(1)}%)\n`);
  console.log("| tool | initial full sync | requests (initial) | incremental sync | requests (incremental) |");
  console.log("| --- | --- | --- | --- | --- |");
  console.log(row("COW Sync, manifest mode", fullOurs, incOurs));
  console.log(row("COW Sync, journal mode", fullJournal, incJournal, incJournal.result.requests));
  console.log(row("rclone sync (defaults)", fullRclone, incRclone));
  console.log(row("rclone sync --checksum --fast-list", fullRcloneSum, incRcloneSum));
  console.log(
    `\nincremental: manifest ${incOurs.result.copied} copied; journal ${incJournal.result.copied} copied, ` +
      `${incJournal.result.requests} requests counted by the engine (${incJournal.requests} of them over HTTP)`,
  );
  console.log(
    `vs rclone defaults: ${(incRclone.requests / incOurs.requests).toFixed(1)}× fewer requests, ` +
      `${(incRclone.ms / incOurs.ms).toFixed(1)}× faster (manifest mode); ` +
      `vs --checksum --fast-list: ${(incRcloneSum.requests / incOurs.requests).toFixed(1)}× fewer, ${
        (incRcloneSum.ms / incOurs.ms).toFixed(1)
      }× faster`,
  );
} finally {
  handle.close();
  await s3.close();
  lines.releaseLock();
  appliance.kill("SIGTERM");
  await appliance.status;
  await appliance.stdout.cancel().catch(() => {});
  await Deno.remove(dir, { recursive: true });
}
