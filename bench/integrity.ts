/**
 * S3 Integrity, side by side in one run:
 * 1. gateway small-object PUTs (4 KiB, concurrency 16, fs store) with the integrity service journaling every
 *    operation vs the same gateway without it: both gateways in this process, the load from @aws-sdk/client-s3
 *    in a child process (bench/_put_client.ts), so this process's CPU time per PUT is the server's alone
 *    (gateway + fs store + journal) and the load-independent figure; rounds alternate off/on, on/off, … so
 *    drift in the machine's load hits both sides alike, and each on round ends with the journal's commit;
 * 2. journal appends (records/s through the service's queue, one transaction per batch);
 * 3. full verification of the journal (chain, tree, anchored checkpoints and leaf hashes);
 * 4. inclusion and consistency proof generation from the stored subtree hashes.
 *
 * Env: BENCH_INTEGRITY_RECORDS (1000000), BENCH_INTEGRITY_PUTS (2000 per round), BENCH_INTEGRITY_ROUNDS (16 per
 * side).
 *
 * @module
 */
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
import { createMemoryBucketConfigStore } from "../src/gateway/bucket_config.ts";

const RECORDS = Number(Deno.env.get("BENCH_INTEGRITY_RECORDS") ?? 1_000_000);
const PUTS = Number(Deno.env.get("BENCH_INTEGRITY_PUTS") ?? 2000);
const ROUNDS = Number(Deno.env.get("BENCH_INTEGRITY_ROUNDS") ?? 16);
const CONCURRENCY = 16;
const KEY = { accessKeyId: "BENCHKEY", secretAccessKey: "bench-secret-key-bench-secret-key" };

const startLoad = Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
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
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
  );
}

/** The PUT load process: one job per line in, one `{"seconds"}` line out. */
function startPutClient() {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_put_client.ts", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  async function line(): Promise<string> {
    while (!buffered.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("The PUT client exited");
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const out = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return out;
  }
  return {
    async run(endpoint: string, prefix: string): Promise<void> {
      const job = { endpoint, ...KEY, bucket: "bench", prefix, puts: PUTS, concurrency: CONCURRENCY, size: 4096 };
      await writer.write(new TextEncoder().encode(JSON.stringify(job) + "\n"));
      await line();
    },
    async close(): Promise<void> {
      await writer.close();
      await reader.cancel();
      await child.status;
    },
  };
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
    bucketConfig: createMemoryBucketConfigStore(fs),
    listen: { api: "127.0.0.1:0", s3: "127.0.0.1:0", iscsi: "127.0.0.1:0" },
  };
  const integrity = await createIntegrity(ctx, {
    anchor: { backend: "local", bucket: `anchors-${name}` },
    verifyIntervalMs: 0,
    reconcileIntervalMs: 0,
  });
  return { integrity, handle };
}

/**
 * One round of PUTs against `endpoint`: PUT/s and this process's (the server's) CPU time per PUT. `settle` (the
 * journal's commit) is inside the measurement, so no work spills into the next round.
 */
async function putRound(
  client: ReturnType<typeof startPutClient>,
  endpoint: string,
  prefix: string,
  settle: () => Promise<void> = () => Promise.resolve(),
): Promise<{ rate: number; cpuUs: number }> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await client.run(endpoint, prefix);
  await settle();
  return { rate: PUTS / ((performance.now() - t0) / 1000), cpuUs: (cpuSeconds(cpu) * 1e6) / PUTS };
}

/** A PutObject event as the gateway publishes it (SDK uploads carry a CRC32 checksum). */
function gatewayEvent(i: number): OperationEvent {
  return {
    actor: KEY.accessKeyId,
    op: "PutObject",
    status: 200,
    requestId: crypto.randomUUID(),
    clientAddress: "127.0.0.1",
    time: clock.now(),
    durationMs: 2,
    bytesIn: 4096,
    bytesOut: 0,
    bucket: "bench",
    key: `handler/${i}`,
    size: 4096,
    etag: `"${i.toString(16).padStart(32, "0")}"`,
    checksums: { crc32: "AAAAAA==" },
  };
}

/**
 * CPU time of the process in µs, precise to the µs (per-thread counters here only advance in 4–10 ms ticks).
 * Around synchronous work it is an upper bound for that work: threads finishing other requests' I/O add to it.
 */
const cpuNowUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
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
  // 1. Gateway PUTs, integrity on vs off.
  const offBus = createEventBus<OperationEvent>();
  const onBus = createEventBus<OperationEvent>();
  const off = serveGateway(offBus);
  const on = serveGateway(onBus);
  const gw = await openService("gateway", onBus);
  await fs.createBucket("bench");
  const client = startPutClient();
  const offUrl = `http://127.0.0.1:${off.addr.port}`, onUrl = `http://127.0.0.1:${on.addr.port}`;
  const settle = () => gw.integrity.appender.flush();
  // The journal's share of the server's work, measured where it runs: its writes (CPU and the time they hold the
  // event loop, fsyncs included) here, the bus handler below.
  const journal = gw.integrity.journal;
  const append = journal.append;
  const writes = { cpuUs: 0, stallMs: [] as number[] };
  journal.append = async (bodies) => {
    const c0 = cpuNowUs(), w0 = performance.now();
    try {
      return await append(bodies);
    } finally {
      writes.cpuUs += cpuNowUs() - c0;
      writes.stallMs.push(performance.now() - w0);
    }
  };
  await putRound(client, offUrl, "warm-off/");
  await putRound(client, onUrl, "warm-on/", settle);
  writes.cpuUs = 0;
  writes.stallMs = [];
  const offRounds: { rate: number; cpuUs: number }[] = [];
  const onRounds: { rate: number; cpuUs: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const runOff = async () => offRounds.push(await putRound(client, offUrl, `off${r}/`));
    const runOn = async () => onRounds.push(await putRound(client, onUrl, `on${r}/`, settle));
    if (r % 2 === 0) {
      await runOff();
      await runOn();
    } else {
      await runOn();
      await runOff();
    }
  }
  await client.close();
  const journaled = gw.integrity.journal.size();
  const writeCpuPerPut = writes.cpuUs / (ROUNDS * PUTS);
  const stalls = [...writes.stallMs];
  // The handler alone: fewer events at a time than a batch, so publishing never starts a write.
  const handlerEvents = 20_000;
  let handlerCpuUs = 0;
  for (let done = 0; done < handlerEvents; done += 2000) {
    const events = Array.from({ length: 2000 }, (_, i) => gatewayEvent(done + i));
    const h0 = cpuNowUs();
    for (const e of events) onBus.publish(e);
    handlerCpuUs += cpuNowUs() - h0;
    await settle();
  }
  const handlerUs = handlerCpuUs / handlerEvents;
  const offRates = offRounds.map((x) => x.rate), onRates = onRounds.map((x) => x.rate);
  const offCpus = offRounds.map((x) => x.cpuUs), onCpus = onRounds.map((x) => x.cpuUs);
  const pairCosts = onCpus.map((c, i) => (c / offCpus[i]! - 1) * 100);
  await gw.integrity.stop();
  gw.handle.close();
  for (const s of [off, on]) await s.shutdown();

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

  // 4. Proofs at the full size; CPU time per proof beside the wall time tells work (GC included) from waiting
  // for a core.
  const timed = async (fn: () => Promise<unknown>, wall: number[], cpu: number[]) => {
    const c0 = cpuNowUs();
    const p0 = performance.now();
    await fn();
    wall.push(performance.now() - p0);
    cpu.push((cpuNowUs() - c0) / 1000);
  };
  const inclusion: number[] = [], inclusionCpu: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const seq = Math.floor(Math.random() * RECORDS);
    await timed(() => big.integrity.journal.inclusionProof(seq, RECORDS), inclusion, inclusionCpu);
  }
  const consistency: number[] = [], consistencyCpu: number[] = [];
  for (let i = 0; i < 200; i++) {
    const from = 1 + Math.floor(Math.random() * (RECORDS - 1));
    await timed(() => big.integrity.journal.consistencyProof(from, RECORDS), consistency, consistencyCpu);
  }
  await big.integrity.stop();
  big.handle.close();
  const dbMiB = (await Deno.stat(`${dir}/journal.db`)).size / 1048576;

  const offMed = median(offRates), onMed = median(onRates);
  const offCpu = median(offCpus), onCpu = median(onCpus);
  const f = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  console.log(`| measurement | integrity off | integrity on | goal |
| --- | --- | --- | --- |
| gateway 4 KiB PUT/s, concurrency 16, client in its own process (median of ${ROUNDS} rounds × ${PUTS} per side) | ${
    f(offMed)
  } (${offRates.map((x) => f(x)).join(", ")}) | ${f(onMed)} (${onRates.map((x) => f(x)).join(", ")}) | cost ${
    f((1 - onMed / offMed) * 100, 1)
  } % (goal < 5 %) |
| server CPU per PUT (gateway + fs store + journal; this process only), median | ${f(offCpu)} µs (${
    offCpus.map((x) => f(x)).join(", ")
  }) | ${f(onCpu)} µs (${onCpus.map((x) => f(x)).join(", ")}) | cost ${f((onCpu / offCpu - 1) * 100, 1)} % |
| server CPU cost of each off/on pair, sorted | – | ${sorted(pairCosts).map((x) => f(x, 1)).join(", ")} % | median ${
    f(median(pairCosts), 1)
  } % |
| the journal's own work per PUT: bus handler (${f(handlerEvents)} events) + batched writes (CPU while writing) | – | ${
    f(handlerUs, 1)
  } µs + ${f(writeCpuPerPut, 1)} µs = ${
    f((handlerUs + writeCpuPerPut) / offCpu * 100, 1)
  } % of the server CPU per PUT (off) | < 5 % |
| journal commits during the ${ROUNDS} on rounds; event loop held per commit (fsyncs included) | – | ${
    f(stalls.length)
  } commits; median ${f(median(stalls), 1)} ms, max ${f(Math.max(...stalls), 1)} ms | – |
| records journaled during the PUT rounds (warm-up included) | – | ${f(journaled)} | one per PUT |
| append ${f(RECORDS)} records (queue → batched transactions) | – | ${
    f(RECORDS / (appendMs / 1000))
  } records/s (CPU time: ${f(RECORDS / appendCpu)} records per CPU-second) | ≥ 20,000/s |
| verify ${f(RECORDS)} records (chain + tree + anchored checkpoints + anchored leaves) | – | ${
    f(verifyMs / 1000, 1)
  } s (CPU time ${f(verifyCpu, 1)} s) | < 30 s |
| inclusion proof at size ${f(RECORDS)} (1000 random) | – | median ${f(median(inclusion), 2)} ms, p99 ${
    f(pct(inclusion, 0.99), 2)
  } ms (CPU median ${f(median(inclusionCpu), 2)} ms, p99 ${f(pct(inclusionCpu, 0.99), 2)} ms) | < 5 ms |
| consistency proof to size ${f(RECORDS)} (200 random) | – | median ${f(median(consistency), 2)} ms, p99 ${
    f(pct(consistency, 0.99), 2)
  } ms (CPU median ${f(median(consistencyCpu), 2)} ms, p99 ${f(pct(consistencyCpu, 0.99), 2)} ms) | < 5 ms |
| database size for ${f(RECORDS)} records (records + subtree hashes) | – | ${f(dbMiB, 0)} MiB | – |
| peak RSS of the benchmark process | – | ${f(peakRssMiB())} MiB | – |
| load average at the start and at the end (1, 5, 15 min; 2 cores) | – | ${startLoad} → ${
    Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
  } | – |`);
} finally {
  await backends.close();
  await Deno.remove(dir, { recursive: true });
}
