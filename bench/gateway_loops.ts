/**
 * What more event loops would give the gateway's 4 KiB PUTs and GETs: BENCH_LOOPS appliances (separate processes,
 * each with its own data directory and store) take the load of `_small_ops.ts` together — the 16 connections and the
 * keys split evenly among them — against one appliance taking it all. Nothing is shared between the processes, so
 * this is an upper bound for one appliance running that many event loops over one store, which would add the cost
 * of reaching the store from the other loops. Rounds alternate one appliance and several (warm-up first, a `sync`
 * before every turn); each phase is timed from its first request to its last answer.
 *
 * Env: BENCH_LOOPS (2), BENCH_LOOPS_ROUNDS (3), BENCH_GW_SMALL_OPS (4000 per turn), BENCH_GW_SMALL_WARMUP (8000). The
 * appliances' files go under TMPDIR (else /tmp).
 *
 * @module
 */
import { run, startAppliance } from "../tests/e2e/_appliance.ts";
import { median, processCpuMs, signAll, type SmallOpsTarget, timedParallel } from "./_small_ops.ts";

const LOOPS = Number(Deno.env.get("BENCH_LOOPS") ?? 2);
const ROUNDS = Number(Deno.env.get("BENCH_LOOPS_ROUNDS") ?? 3);
const OPS = Number(Deno.env.get("BENCH_GW_SMALL_OPS") ?? 4000);
const WARMUP = Number(Deno.env.get("BENCH_GW_SMALL_WARMUP") ?? 8000);
const CONCURRENCY = 16;
if (CONCURRENCY % LOOPS !== 0 || OPS % LOOPS !== 0 || WARMUP % LOOPS !== 0) {
  throw new Error(`BENCH_LOOPS (${LOOPS}) must divide ${CONCURRENCY} connections and the operation counts`);
}

const body = new Uint8Array(4096).map((_, i) => i & 0xff);

/** One phase of `count` requests split among `group`; requests per second over all, and server CPU per request. */
async function phase(group: SmallOpsTarget[], method: "PUT" | "GET", prefix: string, count: number) {
  const share = count / group.length;
  const keys = Array.from({ length: share }, (_, i) => `${prefix}${i}`);
  const signed = await Promise.all(group.map((t) => signAll(t, method, keys, body)));
  const cpu0 = group.map((t) => processCpuMs(t.pid));
  const t0 = performance.now();
  await Promise.all(group.map((t, j) =>
    timedParallel(t, share, CONCURRENCY / group.length, async (conn, i) => {
      const { path, headers } = signed[j]![i]!;
      const res = method === "PUT"
        ? await conn.request("PUT", path, headers, body)
        : await conn.request("GET", path, headers);
      if (res.status !== 200) throw new Error(`${t.name}: ${method} answered ${res.status}`);
    })
  ));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = group.reduce((sum, t, j) => sum + processCpuMs(t.pid) - cpu0[j]!, 0);
  return { ops: count / seconds, cpuMs: cpu / count };
}

async function turn(group: SmallOpsTarget[], prefix: string, count: number) {
  await run("/bin/sync", []);
  const put = await phase(group, "PUT", prefix, count);
  const get = await phase(group, "GET", prefix, count);
  return { put, get };
}

const apps = await Promise.all(Array.from({ length: LOOPS }, () => startAppliance()));
try {
  const targets: SmallOpsTarget[] = apps.map((app, i) => ({
    name: `appliance ${i + 1}`,
    pid: app.pid,
    endpoint: app.s3,
    accessKeyId: app.creds.accessKeyId,
    secretAccessKey: app.creds.secretAccessKey,
    bucket: app.creds.bucket,
  }));
  const one = [targets[0]!];
  if (WARMUP > 0) {
    await turn(one, "warmup/one/", WARMUP);
    await turn(targets, "warmup/all/", WARMUP);
  }
  const results = { one: [] as Awaited<ReturnType<typeof turn>>[], all: [] as Awaited<ReturnType<typeof turn>>[] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ["one", "all"] as const : ["all", "one"] as const;
    for (const which of order) {
      results[which].push(await turn(which === "one" ? one : targets, `small/${round}/${which}/`, OPS));
    }
  }
  const line = (label: string, rs: Awaited<ReturnType<typeof turn>>[]) => {
    const list = (f: (r: (typeof rs)[number]) => number, digits = 0) =>
      rs.map((r) => f(r).toLocaleString("en-US", { maximumFractionDigits: digits })).join(", ");
    return `| ${label} | ${list((r) => r.put.ops)} | ${median(rs.map((r) => r.put.ops)).toFixed(0)} | ${
      list((r) => r.get.ops)
    } | ${median(rs.map((r) => r.get.ops)).toFixed(0)} | ${median(rs.map((r) => r.put.cpuMs)).toFixed(2)} / ${
      median(rs.map((r) => r.get.cpuMs)).toFixed(2)
    } |`;
  };
  console.log(
    `\n${OPS} × 4 KiB PUTs then GETs per turn at concurrency ${CONCURRENCY}, ${ROUNDS} rounds, after ${WARMUP} untimed\n`,
  );
  console.log("| appliances | PUT/s by round | median | GET/s by round | median | ms of server CPU per PUT / GET |");
  console.log("| --- | --- | ---: | --- | ---: | --- |");
  console.log(line("1", results.one));
  console.log(line(`${LOOPS} (keys and connections split)`, results.all));
  const ratio = (f: (r: Awaited<ReturnType<typeof turn>>) => number) =>
    (median(results.all.map(f)) / median(results.one.map(f))).toFixed(2);
  console.log(`\n${LOOPS} against 1: PUT ${ratio((r) => r.put.ops)}×, GET ${ratio((r) => r.get.ops)}×`);
} finally {
  for (const app of apps) {
    await app.stop();
    await Deno.remove(app.dataDir, { recursive: true });
  }
}
