/**
 * The two HTTP servers Deno has, doing no S3 work (`_null_http.ts`): `Deno.serve`, which the appliance uses, and
 * `node:http`. Each runs in its own process; the gateway bench's clients measure them in alternating rounds:
 *
 * - a 1 GiB body sent from memory in 1 MiB chunks, read by the raw GET (`_raw_http.ts`): MiB/s and the server's CPU
 *   per MiB;
 * - 4 KiB PUTs then GETs, 16 in flight on kept-alive connections (`_small_ops.ts`): requests per second and the
 *   server's CPU per request.
 *
 * This is the ceiling each server sets for the gateway's downloads and small requests on the machine.
 * Env: BENCH_HTTP_ROUNDS (3), BENCH_HTTP_LARGE_MIB (1024), BENCH_GW_SMALL_OPS (8000 per round), BENCH_GW_SMALL_WARMUP
 * (8000).
 *
 * @module
 */
import { MiB, timedDownload } from "./_large_ops.ts";
import { median, medianResult, smallOpsRounds, type SmallOpsTarget, thousands } from "./_small_ops.ts";
import { spawnServer } from "./_server_process.ts";

const ROUNDS = Number(Deno.env.get("BENCH_HTTP_ROUNDS") ?? 3);
const LARGE_BYTES = Number(Deno.env.get("BENCH_HTTP_LARGE_MIB") ?? 1024) * MiB;
const SMALL_OPS = Number(Deno.env.get("BENCH_GW_SMALL_OPS") ?? 8000);
const WARMUP = Number(Deno.env.get("BENCH_GW_SMALL_WARMUP") ?? 8000);
const KINDS = ["deno-serve", "node-http"];

const servers = await Promise.all(KINDS.map((kind) => spawnServer("./_null_http.ts", [kind])));
try {
  const targets: SmallOpsTarget[] = servers.map((s, i) => ({
    name: KINDS[i]!,
    pid: s.pid,
    endpoint: `http://127.0.0.1:${s.port}`,
    accessKeyId: "unchecked",
    secretAccessKey: "unchecked",
    bucket: "null",
  }));
  const downloads = new Map(KINDS.map((k) => [k, [] as { rate: number; cpu: number }[]]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets : targets.toReversed();
    for (const t of order) {
      downloads.get(t.name)!.push(
        await timedDownload(`${t.endpoint}/null/large?bytes=${LARGE_BYTES}`, LARGE_BYTES, t.pid, t.name),
      );
    }
  }
  const small = await smallOpsRounds(targets, {
    count: SMALL_OPS,
    concurrency: 16,
    warmup: WARMUP,
    rounds: ROUNDS,
  });
  console.log(`${LARGE_BYTES / MiB} MiB downloads and 4 KiB requests, ${ROUNDS} alternating rounds`);
  for (const kind of KINDS) {
    const dl = downloads.get(kind)!;
    const rounds = small.get(kind)!;
    const m = medianResult(rounds);
    console.log(
      `${kind}: download MiB/s ${dl.map((d) => thousands(d.rate)).join(", ")} at ${
        median(dl.map((d) => d.cpu)).toFixed(2)
      } ms of server CPU per MiB; PUT/s ${rounds.map((r) => thousands(r.putOps)).join(", ")}; GET/s ${
        rounds.map((r) => thousands(r.getOps)).join(", ")
      }; server CPU ${(m.putCpuMs * 1000).toFixed(0)} µs per PUT, ${(m.getCpuMs * 1000).toFixed(0)} per GET`,
    );
  }
} finally {
  for (const s of servers) await s.stop();
}
