/**
 * COW Sync vs `rclone sync`, side by side against the same S3 gateway (fs store) in one run:
 * N objects, an initial full sync, then 1% of the objects rewritten and an incremental sync.
 * Requests are counted at the gateway's HTTP handler (every S3 request of either tool), and by the sync
 * engine itself for journal mode (whose source reads are in-process).
 *
 *   deno task bench sync [--objects 2000] [--size 4096] [--changed 0.01] [--full]   (--full = 100,000 objects)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { systemClock } from "../src/clock.ts";
import { createDb } from "../src/db/client.ts";
import { migrateDb } from "../src/db/migrate.ts";
import { createEventBus, type OperationEvent } from "../src/events/mod.ts";
import { createGateway, createStaticCredentialStore } from "../src/gateway/mod.ts";
import { silentLogger } from "../src/log.ts";
import { createFsStore } from "../src/storage/fs.ts";
import { createS3Store } from "../src/storage/s3.ts";
import { createChangeFeed } from "../src/sync/change_feed.ts";
import { createSyncEngine } from "../src/sync/engine.ts";
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
const fs = await createFsStore({ root: `${dir}/fs` });
const events = createEventBus<OperationEvent>();
const clock = systemClock();
const logger = silentLogger();
const gateway = createGateway({
  buckets: fs,
  credentials: createStaticCredentialStore({
    [KEY.accessKeyId]: { secretAccessKey: KEY.secretAccessKey, admin: true, grants: [] },
  }),
  events,
  clock,
  logger,
});
const counter = { requests: 0, byMethod: {} as Record<string, number> };
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req, info) => {
  counter.requests++;
  counter.byMethod[req.method] = (counter.byMethod[req.method] ?? 0) + 1;
  return gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname });
});
const endpoint = `http://127.0.0.1:${server.addr.port}`;
const s3 = createS3Store({ endpoint, region: "us-east-1", forcePathStyle: true, ...KEY });
const env = rcloneEnv({ gw: endpoint });

const handle = createDb(`file:${dir}/sync.db`);
await migrateDb(handle);
const repo = createSyncRepo(handle.db);
const feed = createChangeFeed({ events, repo, clock, logger });
feed.watch(["primary"]);
const stores: Record<string, typeof fs> = { gw: s3, gateway: fs };
const engine = createSyncEngine({ repo, clock, logger, feed, resolveStore: (id) => stores[id]! });

async function addJob(id: string, source: string, target: string, bucket: string, detection: "manifest" | "journal") {
  const row = jobRowOf({
    id,
    detection,
    concurrency: 16,
    source: { backend: source, bucket: "primary" },
    target: { backend: target, bucket },
  }, clock.now());
  await repo.insertJob({ ...row, journalSeq: await repo.headSeq() });
}

function body(i: number, version: number): ReadableStream<Uint8Array> {
  const bytes = new Uint8Array(SIZE);
  new DataView(bytes.buffer).setUint32(0, i);
  bytes[4] = version;
  return ReadableStream.from([bytes]);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; requests: number; result: T }> {
  const before = counter.requests;
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, requests: counter.requests - before, result };
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
    await fs.createBucket(b);
  }
  console.error(`writing ${N} objects of ${SIZE} bytes…`);
  for (let i = 0; i < N; i += 64) {
    await Promise.all(
      Array.from(
        { length: Math.min(64, N - i) },
        (_, j) =>
          fs.putObject("primary", `data/${String(i + j).padStart(7, "0")}`, body(i + j, 1), { contentLength: SIZE }),
      ),
    );
  }
  await addJob("manifest", "gw", "gw", "mirror-manifest", "manifest");
  await addJob("journal", "gateway", "gw", "mirror-journal", "journal");

  console.error("initial full syncs…");
  const fullOurs = await timed(() => engine.run("manifest"));
  const fullJournal = await timed(() => engine.run("journal"));
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
  const incJournal = await timed(() => engine.run("journal"));
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
  await feed.stop();
  handle.close();
  await s3.close();
  await server.shutdown();
  await fs.close();
  await Deno.remove(dir, { recursive: true });
}
