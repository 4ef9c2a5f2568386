/**
 * COW Sync vs `rclone sync`, side by side against the same S3 gateway (fs store, in its own process) in one run:
 * N objects, an initial full sync, then 1% of the objects rewritten and an incremental sync. Manifest mode runs
 * here as a client, like rclone; journal mode runs inside the appliance process (it needs the gateway's events).
 * Requests are counted at the gateway's HTTP handler (every S3 request of any tool), and by the sync engine
 * itself for journal mode (whose source reads are in-process).
 *
 *   deno task bench sync [--objects 2000] [--size 4096] [--changed 0.01] [--full]   (--full = 100,000 objects)
 *                        [--tools manifest,journal,rclone,rclone-sum]   (the rows to run; default all)
 *
 * CPU time per object is measured per process (this client, rclone as a waited-for child, the appliance) from
 * /proc, the load-independent figure on a shared machine.
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
    tools: { type: "string", default: "manifest,journal,rclone,rclone-sum" },
  },
});
const TOOLS = ["manifest", "journal", "rclone", "rclone-sum"] as const;
type Tool = typeof TOOLS[number];
const tools = new Set(values.tools.split(",").map((t) => t.trim()));
for (const t of tools) {
  if (!TOOLS.includes(t as Tool)) throw new Error(`--tools: unknown "${t}" (known: ${TOOLS.join(", ")})`);
}
const N = values.full ? 100_000 : Number(values.objects);
const SIZE = Number(values.size);
const CHANGED = Math.max(1, Math.round(N * Number(values.changed)));

const started = performance.now();
const elapsed = () => `[${((performance.now() - started) / 1000).toFixed(0)} s]`;
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

/** CPU seconds of a process from /proc/<pid>/stat: own (utime + stime) and its waited-for children's. */
function cpuOf(pid: number | "self"): { own: number; children: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  const tick = 100; // USER_HZ on Linux
  return { own: (f[11]! + f[12]!) / tick, children: (f[13]! + f[14]!) / tick };
}

interface Measured<T> {
  ms: number;
  requests: number;
  result: T;
  /** CPU seconds of the client (this process, or rclone) and of the appliance process. */
  clientCpu: number;
  applianceCpu: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  const before = await gatewayRequests();
  const [self0, app0] = [cpuOf("self"), cpuOf(appliance.pid)];
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  const [self1, app1] = [cpuOf("self"), cpuOf(appliance.pid)];
  return {
    ms,
    requests: (await gatewayRequests()) - before - 1,
    result,
    clientCpu: self1.own - self0.own + self1.children - self0.children,
    applianceCpu: app1.own - app0.own,
  };
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
  console.error(`${elapsed()} writing ${N} objects of ${SIZE} bytes…`);
  for (let i = 0; i < N; i += 32) {
    await Promise.all(
      Array.from({ length: Math.min(32, N - i) }, (_, j) => {
        const key = `data/${String(i + j).padStart(7, "0")}`;
        return s3.putObject("primary", key, body(i + j, 1), { contentLength: SIZE });
      }),
    );
  }
  await addManifestJob();

  const rows = ([
    {
      tool: "manifest",
      name: "COW Sync, manifest mode",
      mirror: "mirror-manifest",
      sync: () => engine.run("manifest"),
    },
    { tool: "journal", name: "COW Sync, journal mode", mirror: "mirror-journal", sync: runJournal },
    {
      tool: "rclone",
      name: "rclone sync (defaults)",
      mirror: "mirror-rclone",
      sync: () => rcloneSync(["gw:primary", "gw:mirror-rclone"]),
    },
    {
      tool: "rclone-sum",
      name: "rclone sync --checksum --fast-list",
      mirror: "mirror-rclone-sum",
      sync: () => rcloneSync(["--checksum", "--fast-list", "gw:primary", "gw:mirror-rclone-sum"]),
    },
  ] as { tool: Tool; name: string; mirror: string; sync: () => Promise<RunSummary | void> }[])
    .filter((r) => tools.has(r.tool));

  console.error(`${elapsed()} initial full syncs…`);
  const full = new Map<Tool, Measured<RunSummary | void>>();
  for (const r of rows) {
    full.set(r.tool, await timed(r.sync));
    console.error(`${elapsed()}   ${r.tool} done`);
  }

  console.error(`${elapsed()} rewriting ${CHANGED} objects through the gateway…`);
  for (let k = 0; k < CHANGED; k++) {
    const i = Math.floor((k * N) / CHANGED);
    await s3.putObject("primary", `data/${String(i).padStart(7, "0")}`, body(i, 2), { contentLength: SIZE });
  }

  console.error(`${elapsed()} incremental syncs…`);
  const inc = new Map<Tool, Measured<RunSummary | void>>();
  for (const r of rows) {
    inc.set(r.tool, await timed(r.sync));
    console.error(`${elapsed()}   ${r.tool} done`);
  }
  for (const r of rows) await rcloneCheck("primary", r.mirror);

  const mib = (N * SIZE) / 1048576;
  const perObject = (cpu: number, n: number) => `${(1000 * cpu / n).toFixed(2)}`;
  console.log(`\n${N} objects × ${SIZE} B, ${CHANGED} rewritten (${(100 * CHANGED / N).toFixed(1)}%)\n`);
  console.log(
    "| tool | initial full sync | requests (initial) | CPU ms/object, client / appliance (initial) " +
      "| incremental sync | requests (incremental) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    const f = full.get(r.tool)!;
    const i = inc.get(r.tool)!;
    // Journal mode runs inside the appliance: its client CPU is part of the appliance's.
    const client = r.tool === "journal" ? "—" : perObject(f.clientCpu, N);
    const incRequests = r.tool === "journal" ? (i.result as RunSummary).requests : i.requests;
    console.log(
      `| ${r.name} | ${(f.ms / 1000).toFixed(1)} s (${(mib / (f.ms / 1000)).toFixed(1)} MiB/s, ${
        Math.round(N / (f.ms / 1000))
      } obj/s) | ${f.requests} | ${client} / ${perObject(f.applianceCpu, N)} | ${
        (i.ms / 1000).toFixed(2)
      } s | ${incRequests} |`,
    );
  }
  const ours = inc.get("manifest");
  for (const tool of ["rclone", "rclone-sum"] as const) {
    const theirs = inc.get(tool);
    const [oursFull, theirsFull] = [full.get("manifest"), full.get(tool)];
    if (!ours || !theirs || !oursFull || !theirsFull) continue;
    console.log(
      `manifest mode vs ${tool}: incremental ${(theirs.requests / ours.requests).toFixed(1)}× fewer requests, ` +
        `${(theirs.ms / ours.ms).toFixed(1)}× faster; initial full sync throughput ${
          (theirsFull.ms / oursFull.ms).toFixed(2)
        }× rclone's`,
    );
  }
  const journal = inc.get("journal");
  if (journal) {
    const j = journal.result as RunSummary;
    console.log(
      `journal incremental: ${j.copied} copied, ${j.requests} requests counted by the engine ` +
        `(${journal.requests} of them over HTTP)`,
    );
  }
} finally {
  handle.close();
  await s3.close();
  lines.releaseLock();
  appliance.kill("SIGTERM");
  await appliance.status;
  await appliance.stdout.cancel().catch(() => {});
  await Deno.remove(dir, { recursive: true });
}
