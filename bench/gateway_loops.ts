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
import { medianResult, putsThenGets, result, type SmallOpsResult, type SmallOpsTarget } from "./_small_ops.ts";

const LOOPS = Number(Deno.env.get("BENCH_LOOPS") ?? 2);
const ROUNDS = Number(Deno.env.get("BENCH_LOOPS_ROUNDS") ?? 3);
const OPS = Number(Deno.env.get("BENCH_GW_SMALL_OPS") ?? 4000);
const WARMUP = Number(Deno.env.get("BENCH_GW_SMALL_WARMUP") ?? 8000);
const CONCURRENCY = 16;

async function turn(group: SmallOpsTarget[], prefix: string, count: number): Promise<SmallOpsResult> {
  await run("/bin/sync", []);
  return result(await putsThenGets(group, prefix, count, CONCURRENCY));
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
  const results: Record<"one" | "all", SmallOpsResult[]> = { one: [], all: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ["one", "all"] as const : ["all", "one"] as const;
    for (const which of order) {
      results[which].push(await turn(which === "one" ? one : targets, `small/${round}/${which}/`, OPS));
    }
  }
  const rate = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 });
  const line = (label: string, rounds: SmallOpsResult[]) => {
    const m = medianResult(rounds);
    return `| ${label} | ${rounds.map((r) => rate(r.putOps)).join(", ")} | ${rate(m.putOps)} | ${
      rounds.map((r) => rate(r.getOps)).join(", ")
    } | ${rate(m.getOps)} | ${m.putCpuMs.toFixed(2)} / ${m.getCpuMs.toFixed(2)} |`;
  };
  console.log(
    `\n${OPS} × 4 KiB PUTs then GETs per turn at concurrency ${CONCURRENCY}, ${ROUNDS} rounds, after ${WARMUP} untimed\n`,
  );
  console.log("| appliances | PUT/s by round | median | GET/s by round | median | ms of server CPU per PUT / GET |");
  console.log("| --- | --- | ---: | --- | ---: | --- |");
  console.log(line("1", results.one));
  console.log(line(`${LOOPS} (keys and connections split)`, results.all));
  const [single, all] = [medianResult(results.one), medianResult(results.all)];
  console.log(
    `\n${LOOPS} against 1: PUT ${(all.putOps / single.putOps).toFixed(2)}×, GET ${
      (all.getOps / single.getOps).toFixed(2)
    }×`,
  );
} finally {
  for (const app of apps) {
    await app.stop();
    await Deno.remove(app.dataDir, { recursive: true });
  }
}
