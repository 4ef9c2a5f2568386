/**
 * Gateway throughput, side by side in one run: the appliance (fs backend, every service running) vs s3rver vs the
 * ceilings. Large (`_large_ops.ts`): one object uploaded as a multipart upload (16 MiB parts, 4 in parallel) twice,
 * once with parts sent as presigned PUTs by node:http and once with lib-storage, then downloaded (a plain GET of a
 * presigned URL, `_raw_http.ts`) hot (as after the upload) and cold (the files' cached pages dropped first), with
 * the servers' CPU per MiB, the appliance's split by thread; the disk's ceiling is a `dd` copy and its reads, hot and
 * cold. The cold reads are then repeated in rounds that take the disk and the servers in turn, since the disk's cold
 * read rate moves within minutes: the table gives each one's median over the rounds, the cold ratios are medians of
 * each round's ratio. Small (`_small_ops.ts`): 4 KiB PUTs then GETs at concurrency 16 from a light client, in rounds
 * that take the servers in turn, with a null HTTP server (`_null_http.ts` on `node:http`, the appliance's S3 port's
 * server, doing no S3 work) as the ceiling; medians of the rounds go in the table. Then the appliance's peak RSS while
 * a generated object of BENCH_GW_MEMORY_GIB GiB goes up and down.
 *
 * Env: BENCH_GW_LARGE_MIB (1024), BENCH_GW_COLD_ROUNDS (3), BENCH_GW_SMALL_OPS (4000 per server and round),
 * BENCH_GW_SMALL_ROUNDS (3), BENCH_GW_SMALL_WARMUP (8000 untimed PUTs and GETs per server first),
 * BENCH_GW_SMALL_CONCURRENCY (16 requests in flight), BENCH_GW_MEMORY_GIB (5; 0 skips). Every server's files, and the
 * `dd` copy, go under one temporary directory (TMPDIR, else /tmp): the run names its file system, since what a file
 * create costs differs between them (see bench/README.md).
 *
 * @module
 */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { join } from "node:path";
import { peakRssKiB, run, startAppliance } from "../tests/e2e/_appliance.ts";
import {
  client,
  coldReadRounds,
  disk,
  generated,
  large,
  mbps,
  MiB,
  type Target,
  timed,
  timedDownload,
  upload,
} from "./_large_ops.ts";
import { spawnServer } from "./_server_process.ts";
import { describeRounds, median, medianResult, smallOpsRounds, type SmallOpsTarget, thousands } from "./_small_ops.ts";

const LARGE_MIB = Number(Deno.env.get("BENCH_GW_LARGE_MIB") ?? 1024);
const SMALL_OPS = Number(Deno.env.get("BENCH_GW_SMALL_OPS") ?? 4000);
const SMALL_WARMUP = Number(Deno.env.get("BENCH_GW_SMALL_WARMUP") ?? 8000);
const SMALL_ROUNDS = Number(Deno.env.get("BENCH_GW_SMALL_ROUNDS") ?? 3);
const MEMORY_GIB = Number(Deno.env.get("BENCH_GW_MEMORY_GIB") ?? 5);
const CONCURRENCY = Number(Deno.env.get("BENCH_GW_SMALL_CONCURRENCY") ?? 16);
const COLD_ROUNDS = Number(Deno.env.get("BENCH_GW_COLD_ROUNDS") ?? 3);
const NULL_SERVER = "null HTTP server";
const DISK = "disk (dd)";

/** The file system holding `dir`: its type, device and, for ext4, whether it keeps a journal (jbd2 lists those). */
async function fileSystemOf(dir: string): Promise<string> {
  const out = await new Deno.Command("findmnt", {
    args: ["--noheadings", "--output", "FSTYPE,SOURCE,OPTIONS", "--target", dir],
    stdout: "piped",
  }).output();
  const [type = "?", source = "?", options = ""] = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
  if (type !== "ext4") return `${type} on ${source} (${options})`;
  const device = source.replace(/^\/dev\//, "");
  const journal = [...Deno.readDirSync("/proc/fs/jbd2")].some((e) => e.name.startsWith(`${device}-`));
  return `ext4 ${journal ? "with" : "without"} a journal on ${source} (${options})`;
}

/** Samples a process's VmRSS every 100 ms and keeps the peak per named phase, in MiB. */
function rssSampler(pid: number) {
  const peaks = new Map<string, number>();
  let phase = "idle";
  const sample = () => {
    const kib = Number(Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+)/)![1]);
    peaks.set(phase, Math.max(peaks.get(phase) ?? 0, kib / 1024));
  };
  sample();
  const timer = setInterval(sample, 100);
  Deno.unrefTimer(timer); // a failed run still exits
  return {
    phase(name: string) {
      sample();
      phase = name;
    },
    report(): string {
      clearInterval(timer);
      return [...peaks].map(([name, mib]) => `${name} ${mib.toFixed(0)}`).join(", ");
    },
  };
}

const work = await Deno.makeTempDir({ prefix: "bench-gateway-" });
const app = await startAppliance({ dataDir: join(work, "appliance") });
const s3rverDir = join(work, "s3rver");
await Deno.mkdir(s3rverDir);
const s3rver = await spawnServer("./_s3rver.ts", [s3rverDir]);
const nullServer = await spawnServer("./_null_http.ts", ["node-http"]);
try {
  const targets: Target[] = [
    {
      name: "gateway (fs)",
      pid: app.pid,
      endpoint: app.s3,
      accessKeyId: app.creds.accessKeyId,
      secretAccessKey: app.creds.secretAccessKey,
      client: client(app.s3, app.creds.accessKeyId, app.creds.secretAccessKey),
      bucket: app.creds.bucket,
      dir: join(app.dataDir, "objects"),
    },
    {
      name: "s3rver 3.7.1",
      pid: s3rver.pid,
      endpoint: `http://127.0.0.1:${s3rver.port}`,
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
      client: client(`http://127.0.0.1:${s3rver.port}`, "S3RVER", "S3RVER"),
      bucket: "bench",
      dir: s3rverDir,
    },
  ];
  const file = join(work, "large.bin");
  await run("/bin/sh", ["-c", `head -c ${LARGE_MIB * MiB} /dev/urandom > '${file}'`]);

  const rows: string[] = [];
  const loadBefore = (await Deno.readTextFile("/proc/loadavg")).trim();
  console.log(`files under ${work}: ${await fileSystemOf(work)}`);
  const ceiling = await disk(file, work);
  const nullUrl = `http://127.0.0.1:${nullServer.port}/null/large?bytes=${LARGE_MIB * MiB}`;
  const fromNull = () => timedDownload(nullUrl, LARGE_MIB * MiB, nullServer.pid, NULL_SERVER);
  const nullDown = [await fromNull(), await fromNull()];
  const cpuNotes: string[] = [];
  const cacheNotes = [`dd copy ${ceiling.cachedAfterDrop}`];
  let threadNote = "";
  const rss = rssSampler(app.pid);
  const larges: Awaited<ReturnType<typeof large>>[] = [];
  for (const t of targets) {
    rss.phase(t.pid === app.pid ? "1 GiB up and down" : "(s3rver runs)");
    const l = await large(t, file);
    if (t.pid === app.pid) threadNote = `upload ${l.upThreads}; download hot ${l.hot.threads}; cold ${l.cold.threads}`;
    larges.push(l);
  }
  rss.phase(`${LARGE_MIB} MiB cold reads (all in turn)`);
  const coldRounds = await coldReadRounds([
    { name: DISK, read: ceiling.readCold },
    ...targets.map((t, i) => ({ name: t.name, read: larges[i]!.readCold })),
  ], COLD_ROUNDS);
  await ceiling.remove();
  const coldOf = (name: string) => median(coldRounds.get(name)!);
  /** The median over the rounds of `a`'s cold read rate over `b`'s in the same round. */
  const coldRatio = (a: string, b: string) => median(coldRounds.get(a)!.map((x, i) => x / coldRounds.get(b)![i]!));
  rows.push(
    `| disk (dd, conv=fsync / read) | ${ceiling.up.toFixed(0)} | – | ${ceiling.hot.toFixed(0)} | ${
      coldOf(DISK).toFixed(0)
    } | – | – |`,
  );
  rss.phase("4 KiB PUT/GET (all servers in turn)");
  const nullTarget: SmallOpsTarget = {
    name: NULL_SERVER,
    pid: nullServer.pid,
    endpoint: `http://127.0.0.1:${nullServer.port}`,
    accessKeyId: "unchecked",
    secretAccessKey: "unchecked",
    bucket: "null",
  };
  const small = await smallOpsRounds([...targets, nullTarget], {
    count: SMALL_OPS,
    concurrency: CONCURRENCY,
    warmup: SMALL_WARMUP,
    rounds: SMALL_ROUNDS,
    beforeTurn: async () => {
      await run("/bin/sync", []);
    },
  });
  targets.forEach((t, i) => {
    const l = larges[i]!;
    const s = medianResult(small.get(t.name)!);
    cacheNotes.push(`${t.name} ${l.cachedAfterDrop}`);
    cpuNotes.push(
      `${t.name}: ${l.upCpu.toFixed(2)} ms CPU per MiB up (the client ${l.upClientCpu.toFixed(2)}), ${
        l.hot.cpu.toFixed(2)
      } down hot, ${l.cold.cpu.toFixed(2)} down cold`,
    );
    rows.push(
      `| ${t.name} | ${l.up.toFixed(0)} | ${l.sdkUp.toFixed(0)} | ${l.hot.rate.toFixed(0)} | ${
        coldOf(t.name).toFixed(0)
      } | ${s.putOps.toFixed(0)} | ${s.getOps.toFixed(0)} |`,
    );
  });
  const ceilingSmall = medianResult(small.get(NULL_SERVER)!);
  rows.push(
    `| ${NULL_SERVER} | – | – | ${nullDown[0]!.rate.toFixed(0)} | ${nullDown[1]!.rate.toFixed(0)} | ${
      ceilingSmall.putOps.toFixed(0)
    } | ${ceilingSmall.getOps.toFixed(0)} |`,
  );
  cpuNotes.push(`${NULL_SERVER}: ${nullDown.map((d) => d.cpu.toFixed(2)).join(" and ")} ms CPU per MiB down`);
  console.log(
    `\n${LARGE_MIB} MiB object; ${SMALL_OPS} × 4 KiB objects at concurrency ${CONCURRENCY} per server and round, ${SMALL_ROUNDS} rounds (medians), after ${SMALL_WARMUP} untimed\n`,
  );
  console.log(
    "| target | large upload MiB/s (presigned parts) | large upload MiB/s (lib-storage) | large download MiB/s (hot) | large download MiB/s (cold) | 4 KiB PUT ops/s | 4 KiB GET ops/s |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) console.log(r);
  const gw = larges[0]!, ref = larges[1]!;
  const gwName = targets[0]!.name, refName = targets[1]!.name;
  const pct = (a: number, b: number) => `${(100 * a / b).toFixed(0)}%`;
  console.log(
    `\ngateway vs disk: upload ${pct(gw.up, ceiling.up)} (lib-storage ${pct(gw.sdkUp, ceiling.up)}), download cold ${
      pct(coldRatio(gwName, DISK), 1)
    } (s3rver ${pct(coldRatio(refName, DISK), 1)}), hot ${
      pct(gw.hot.rate, ceiling.hot)
    }; gateway vs s3rver: download cold ${coldRatio(gwName, refName).toFixed(2)}×, hot ${
      (gw.hot.rate / ref.hot.rate).toFixed(2)
    }×; gateway vs ${NULL_SERVER}: download cold ${
      pct(coldOf(gwName), nullDown[1]!.rate)
    } (cold ratios: medians of the rounds' ratios; 4 KiB ratios: round by round, below)`,
  );
  console.log(
    `${LARGE_MIB} MiB cold reads, round by round (MiB/s): ${
      [...coldRounds].map(([name, rates]) => `${name} ${rates.map(thousands).join(", ")}`).join("; ")
    }; gateway vs disk ${
      coldRounds.get(gwName)!.map((x, i) => pct(x, coldRounds.get(DISK)![i]!)).join(", ")
    }; first cold read before the rounds: disk ${thousands(ceiling.cold)}, ${
      targets.map((t, i) => `${t.name} ${thousands(larges[i]!.cold.rate)}`).join(", ")
    }`,
  );
  console.log(`server CPU (presigned upload, download): ${cpuNotes.join("; ")}`);
  for (const line of describeRounds(small, targets[0]!.name, targets[1]!.name, NULL_SERVER)) console.log(line);
  console.log(`appliance CPU per MiB by thread (user+sys): ${threadNote}`);
  console.log(`bytes still cached after dropping before the cold reads: ${cacheNotes.join(", ")}`);
  console.log(
    `load average: before ${loadBefore}; after the large and small phases ${
      (await Deno.readTextFile("/proc/loadavg")).trim()
    }`,
  );
  await Deno.remove(file);
  for (const t of targets) t.client.destroy();

  if (MEMORY_GIB > 0) {
    const gwTarget = targets[0]!;
    const memClient = client(app.s3, app.creds.accessKeyId, app.creds.secretAccessKey);
    const bytes = MEMORY_GIB * 1024 * MiB;
    const t = { ...gwTarget, client: memClient };
    rss.phase(`${MEMORY_GIB} GiB up`);
    const up = await timed(() => upload(t, "memory", generated(bytes)));
    rss.phase(`${MEMORY_GIB} GiB down`);
    const url = await getSignedUrl(memClient, new GetObjectCommand({ Bucket: t.bucket, Key: "memory" }));
    const down = await timedDownload(url, bytes, app.pid, "memory run");
    console.log(
      `\n${MEMORY_GIB} GiB up (${mbps(bytes, up).toFixed(0)} MiB/s) and down (${
        down.rate.toFixed(0)
      } MiB/s): appliance peak RSS (VmHWM) ${((await peakRssKiB(app.pid)) / 1024).toFixed(0)} MiB`,
    );
    memClient.destroy();
  }
  console.log(`appliance peak RSS (MiB) by phase: ${rss.report()}`);
} finally {
  await nullServer.stop();
  await s3rver.stop();
  await app.stop();
  await Deno.remove(work, { recursive: true });
}
