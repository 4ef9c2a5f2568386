/**
 * S3 Integrity, side by side in one run:
 * 1. gateway small-object PUT throughput (4 KiB, concurrency 16, @aws-sdk/client-s3, fs store) with the
 *    integrity service journaling every operation vs the same gateway without it, in alternating rounds;
 * 2. journal appends (records/s through the service's queue, one transaction per batch);
 * 3. full verification of the journal (chain, tree, anchored checkpoints and leaf hashes);
 * 4. inclusion and consistency proof generation from the stored subtree hashes.
 *
 * Env: BENCH_INTEGRITY_RECORDS (1000000), BENCH_INTEGRITY_PUTS (2000 per round), BENCH_INTEGRITY_ROUNDS (3).
 *
 * @module
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import process from "node:process";
import { createBackendRegistry } from "../src/backend_registry.ts";
import { systemClock } from "../src/clock.ts";
import { createDb } from "../src/db/client.ts";
import { migrateDb } from "../src/db/migrate.ts";
import { createEventBus, type EventBus, type OperationEvent } from "../src/events/mod.ts";
import { createGateway, createStaticCredentialStore } from "../src/gateway/mod.ts";
import { createIntegrity } from "../src/integrity/integrity.ts";
import { silentLogger } from "../src/log.ts";
import type { ServiceContext } from "../src/service.ts";
import { createFsStore } from "../src/storage/fs.ts";

const RECORDS = Number(Deno.env.get("BENCH_INTEGRITY_RECORDS") ?? 1_000_000);
const PUTS = Number(Deno.env.get("BENCH_INTEGRITY_PUTS") ?? 2000);
const ROUNDS = Number(Deno.env.get("BENCH_INTEGRITY_ROUNDS") ?? 3);
const CONCURRENCY = 16;
const KEY = { accessKeyId: "BENCHKEY", secretAccessKey: "bench-secret-key-bench-secret-key" };

const dir = await Deno.makeTempDir({ prefix: "bench-integrity-" });
const clock = systemClock();
const logger = silentLogger();
const fs = await createFsStore({ root: `${dir}/fs`, clock });
const backends = createBackendRegistry();
await backends.set("local", fs);

function serveGateway(events: EventBus<OperationEvent>) {
  const gateway = createGateway({
    buckets: fs,
    credentials: createStaticCredentialStore({
      [KEY.accessKeyId]: { secretAccessKey: KEY.secretAccessKey, admin: true, grants: [] },
    }),
    events,
    clock,
    logger,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
  );
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: KEY,
    maxAttempts: 1,
  });
  return { server, client };
}

async function openService(name: string, events: EventBus<OperationEvent>) {
  const handle = createDb(`file:${dir}/${name}.db`);
  await migrateDb(handle);
  const ctx: ServiceContext = {
    db: handle.db,
    dataDir: `${dir}/${name}`,
    clock,
    logger,
    events,
    backends,
    buckets: fs,
    listen: { api: "127.0.0.1:0", s3: "127.0.0.1:0", iscsi: "127.0.0.1:0" },
  };
  const integrity = await createIntegrity(ctx, {
    anchor: { backend: "local", bucket: `anchors-${name}` },
    verifyIntervalMs: 0,
    reconcileIntervalMs: 0,
  });
  return { integrity, handle };
}

/** One round of PUTs; `settle` (the journal's flush) is inside the measurement, so no work spills over. */
async function putRound(
  client: S3Client,
  bucket: string,
  round: number,
  settle: () => Promise<void> = () => Promise.resolve(),
): Promise<{ rate: number; cpuUs: number }> {
  const body = new Uint8Array(4096);
  let next = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < PUTS) {
      const i = next++;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `r${round}/o${i}`, Body: body }));
    }
  }));
  await settle();
  return { rate: PUTS / ((performance.now() - t0) / 1000), cpuUs: (cpuSeconds(cpu) * 1e6) / PUTS };
}

const cpuSeconds = (since: ReturnType<typeof process.cpuUsage>) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};
function peakRssMiB(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

try {
  // 1. Gateway PUT throughput, integrity on vs off.
  const offBus = createEventBus<OperationEvent>();
  const onBus = createEventBus<OperationEvent>();
  const off = serveGateway(offBus);
  const on = serveGateway(onBus);
  const gw = await openService("gateway", onBus);
  await fs.createBucket("bench");
  const offRounds: { rate: number; cpuUs: number }[] = [];
  const onRounds: { rate: number; cpuUs: number }[] = [];
  await putRound(off.client, "bench", -1); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    offRounds.push(await putRound(off.client, "bench", r * 2));
    onRounds.push(await putRound(on.client, "bench", r * 2 + 1, () => gw.integrity.appender.flush()));
  }
  const offRates = offRounds.map((x) => x.rate), onRates = onRounds.map((x) => x.rate);
  const offCpu = median(offRounds.map((x) => x.cpuUs)), onCpu = median(onRounds.map((x) => x.cpuUs));
  await gw.integrity.appender.flush();
  const journaled = gw.integrity.journal.size();
  await gw.integrity.stop();
  gw.handle.close();
  for (const s of [off, on]) {
    s.client.destroy();
    await s.server.shutdown();
  }

  // 2. Appends through the service's queue.
  const bus = createEventBus<OperationEvent>();
  const big = await openService("journal", bus);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const chunk = 50_000;
  for (let done = 0; done < RECORDS; done += chunk) {
    for (let i = done; i < Math.min(RECORDS, done + chunk); i++) {
      bus.publish({
        actor: KEY.accessKeyId,
        op: "PutObject",
        bucket: "bench",
        key: `vm-backups/dump/vzdump-qemu-${100 + (i % 50)}-${i}.vma.zst`,
        size: 4096 + i,
        etag: `"${i.toString(16).padStart(32, "0")}"`,
        status: 200,
        requestId: crypto.randomUUID(),
        clientAddress: "10.0.0.17",
        time: clock.now(),
        durationMs: 3,
        bytesIn: 4096,
        bytesOut: 0,
      });
    }
    await big.integrity.appender.flush();
  }
  const appendMs = performance.now() - t0;
  const appendCpu = cpuSeconds(cpu0);
  await big.integrity.checkpoints.checkpoint();

  // 3. Full verification.
  const v0 = performance.now();
  const cpu1 = process.cpuUsage();
  const report = await big.integrity.verify();
  const verifyMs = performance.now() - v0;
  const verifyCpu = cpuSeconds(cpu1);
  if (!report.ok) throw new Error(`verification failed: ${JSON.stringify(report.problems.slice(0, 3))}`);

  // 4. Proofs at the full size.
  const inclusion: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const seq = Math.floor(Math.random() * RECORDS);
    const p0 = performance.now();
    await big.integrity.journal.inclusionProof(seq, RECORDS);
    inclusion.push(performance.now() - p0);
  }
  const consistency: number[] = [];
  for (let i = 0; i < 200; i++) {
    const from = 1 + Math.floor(Math.random() * (RECORDS - 1));
    const p0 = performance.now();
    await big.integrity.journal.consistencyProof(from, RECORDS);
    consistency.push(performance.now() - p0);
  }
  await big.integrity.stop();
  big.handle.close();
  const dbMiB = (await Deno.stat(`${dir}/journal.db`)).size / 1048576;

  const offMed = median(offRates), onMed = median(onRates);
  const f = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`| measurement | integrity off | integrity on | goal |
| --- | --- | --- | --- |
| gateway 4 KiB PUT/s, concurrency 16 (median of ${ROUNDS} rounds × ${PUTS}) | ${f(offMed)} (${
    offRates.map((x) => f(x)).join(", ")
  }) | ${f(onMed)} (${onRates.map((x) => f(x)).join(", ")}) | cost ${f((1 - onMed / offMed) * 100, 1)} % (goal < 5 %) |
| process CPU per PUT (SDK client + gateway + journal), median | ${f(offCpu)} µs | ${f(onCpu)} µs | cost ${
    f((onCpu / offCpu - 1) * 100, 1)
  } % |
| records journaled during the PUT rounds | – | ${f(journaled)} | one per PUT |
| append ${f(RECORDS)} records (queue → batched transactions) | – | ${
    f(RECORDS / (appendMs / 1000))
  } records/s (CPU time: ${f(RECORDS / appendCpu)} records per CPU-second) | ≥ 20,000/s |
| verify ${f(RECORDS)} records (chain + tree + anchored checkpoints + anchored leaves) | – | ${
    f(verifyMs / 1000, 1)
  } s (CPU time ${f(verifyCpu, 1)} s) | < 30 s |
| inclusion proof at size ${f(RECORDS)} (1000 random) | – | median ${f(median(inclusion), 2)} ms, p99 ${
    f(pct(inclusion, 0.99), 2)
  } ms | < 5 ms |
| consistency proof to size ${f(RECORDS)} (200 random) | – | median ${f(median(consistency), 2)} ms, p99 ${
    f(pct(consistency, 0.99), 2)
  } ms | < 5 ms |
| database size for ${f(RECORDS)} records (records + subtree hashes) | – | ${f(dbMiB, 0)} MiB | – |
| peak RSS of the benchmark process | – | ${f(peakRssMiB())} MiB | – |
| load average during the run (2 cores) | – | ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")} | – |`);
} finally {
  await backends.close();
  await Deno.remove(dir, { recursive: true });
}
