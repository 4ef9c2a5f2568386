/**
 * Gateway throughput, side by side in one run: the appliance (fs backend, every service running) vs s3rver vs
 * the disk itself (`dd`). Large: one object uploaded as a multipart upload (16 MiB parts, 4 in parallel) twice,
 * once with parts sent as presigned PUTs by node:http and once with lib-storage, then downloaded (a plain GET of
 * a presigned URL, `_raw_http.ts`) twice: hot (the object's pages still in the page cache, as after the upload) and
 * cold (its files' cached pages dropped first, as they are for the `dd` read that is the disk's ceiling); the servers' CPU
 * time per MiB is reported beside the rates, the appliance's split by thread. Small: 4 KiB PUTs then GETs at
 * concurrency 16 from a light client (requests signed ahead with the SDK's headers, sent on kept-alive raw HTTP/1.1
 * connections: `_small_ops.ts`), with the servers' CPU time per request. Both servers get the same clients
 * (@aws-sdk/client-s3, node:http and `_raw_http.ts` in this process). Then peak RSS of the appliance while a generated object of BENCH_GW_MEMORY_GIB GiB goes up and down.
 *
 * Env: BENCH_GW_LARGE_MIB (1024), BENCH_GW_SMALL_OPS (4000), BENCH_GW_SMALL_WARMUP (1000 untimed PUTs and GETs
 * first), BENCH_GW_MEMORY_GIB (5; 0 skips).
 *
 * @module
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import http from "node:http";
import { join } from "node:path";
import { peakRssKiB, run, startAppliance } from "../tests/e2e/_appliance.ts";
import { rawGet } from "./_raw_http.ts";
import { processCpuMs, smallOps, type SmallOpsTarget, statCpuMs } from "./_small_ops.ts";

const MiB = 1024 * 1024;
const LARGE_MIB = Number(Deno.env.get("BENCH_GW_LARGE_MIB") ?? 1024);
const SMALL_OPS = Number(Deno.env.get("BENCH_GW_SMALL_OPS") ?? 4000);
const SMALL_WARMUP = Number(Deno.env.get("BENCH_GW_SMALL_WARMUP") ?? 1000);
const MEMORY_GIB = Number(Deno.env.get("BENCH_GW_MEMORY_GIB") ?? 5);
const CONCURRENCY = 16;

interface Target extends SmallOpsTarget {
  client: S3Client;
  /** Where the server keeps its objects (its files' cached pages are dropped before a cold read). */
  dir: string;
}

function client(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
}

const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

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

/**
 * Drops the page-cache pages of every file under `dir` (written back first: dirty pages cannot be dropped) and
 * returns the bytes still cached afterwards, as `fincore` counts them, so a run shows that the drop worked.
 */
async function dropCache(dir: string): Promise<number> {
  const each = (cmd: string) => run("/bin/sh", ["-c", `find '${dir}' -type f -exec ${cmd} {} +`]);
  await each("sync -d");
  await each(`sh -c 'for f; do dd if="$f" iflag=nocache count=0 status=none; done' drop`);
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `find '${dir}' -type f -exec fincore --bytes --noheadings --output RES {} +`],
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error(`fincore failed under ${dir}`);
  return new TextDecoder().decode(out.stdout).split("\n").reduce((n, line) => n + (Number(line.trim()) || 0), 0);
}

/** CPU time (user, system) per thread group of a process, in ms: "main" is the JavaScript thread, others by name. */
function threadCpuMs(pid: number): Map<string, { user: number; sys: number }> {
  const groups = new Map<string, { user: number; sys: number }>();
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/stat`);
    } catch {
      continue; // the thread ended
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const name = task.name === String(pid) ? "main" : comm.replace(/-?\d+$/, "");
    const g = groups.get(name) ?? { user: 0, sys: 0 };
    const cpu = statCpuMs(stat);
    g.user += cpu.user;
    g.sys += cpu.sys;
    groups.set(name, g);
  }
  return groups;
}

/** The CPU per MiB each thread group spent between two `threadCpuMs` samples, largest first. */
function threadSplit(
  before: Map<string, { user: number; sys: number }>,
  after: Map<string, { user: number; sys: number }>,
  mib: number,
): string {
  const rows = [...after].map(([name, a]) => {
    const b = before.get(name) ?? { user: 0, sys: 0 };
    return { name, user: (a.user - b.user) / mib, sys: (a.sys - b.sys) / mib };
  }).filter((r) => r.user + r.sys > 0).sort((x, y) => y.user + y.sys - (x.user + x.sys));
  const total = rows.reduce((n, r) => n + r.user + r.sys, 0);
  const user = rows.reduce((n, r) => n + r.user, 0);
  return `${total.toFixed(2)} ms/MiB (user ${user.toFixed(2)}, sys ${(total - user).toFixed(2)}): ${
    rows.map((r) => `${r.name} ${r.user.toFixed(2)}+${r.sys.toFixed(2)}`).join(", ")
  }`;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** A stream of `bytes` generated bytes (no file behind it). */
function generated(bytes: number): ReadableStream<Uint8Array> {
  const block = new Uint8Array(MiB).map((_, i) => (i * 131) & 0xff);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= bytes) return c.close();
      const n = Math.min(MiB, bytes - sent);
      c.enqueue(block.slice(0, n));
      sent += n;
    },
  }, { highWaterMark: 0 });
}

async function upload(t: Target, key: string, body: ReadableStream<Uint8Array>) {
  await new Upload({
    client: t.client,
    params: { Bucket: t.bucket, Key: key, Body: body },
    partSize: 16 * MiB,
    queueSize: 4,
  }).done();
}

/** PUTs `body` to a presigned URL with node:http on a kept-alive connection; returns the answer's ETag. */
function putPart(agent: http.Agent, url: string, body: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "PUT", agent, headers: { "content-length": String(body.byteLength) } });
    req.on("error", reject);
    req.on("response", (res) => {
      res.resume();
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode === 200 && typeof res.headers.etag === "string") resolve(res.headers.etag);
        else reject(new Error(`answered ${res.statusCode}`));
      });
    });
    req.end(body);
  });
}

/**
 * Multipart upload whose parts go as presigned PUTs (UNSIGNED-PAYLOAD, 16 MiB parts, 4 in flight) by node:http,
 * each of the 4 senders reading its parts into one buffer of its own: the client costs little CPU, so on a shared
 * 2-core machine the server is what is measured. Deno's `fetch` spends 3.5-5 ms of CPU per MiB sending a body
 * (~220 MiB/s against a server that discards it, on one core), lib-storage about 6 ms (CRC32 in JavaScript, Node
 * streams); node:http with reused buffers under 1 ms.
 */
async function presignedUpload(t: Target, key: string, file: string) {
  const bytes = (await Deno.stat(file)).size;
  const partSize = 16 * MiB;
  const { UploadId } = await t.client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: key }));
  const count = Math.ceil(bytes / partSize);
  const etags: string[] = [];
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    await Promise.all(Array.from({ length: 4 }, async () => {
      const f = await Deno.open(file);
      const buffer = new Uint8Array(partSize);
      try {
        for (let i = next++; i < count; i = next++) {
          const body = buffer.subarray(0, Math.min(partSize, bytes - i * partSize));
          await f.seek(i * partSize, Deno.SeekMode.Start);
          for (let got = 0; got < body.byteLength;) got += (await f.read(body.subarray(got)))!;
          const url = await getSignedUrl(
            t.client,
            new UploadPartCommand({ Bucket: t.bucket, Key: key, UploadId, PartNumber: i + 1 }),
          );
          etags[i] = await putPart(agent, url, body).catch((err) => {
            throw new Error(`${t.name}: part ${i + 1}: ${err.message}`);
          });
        }
      } finally {
        f.close();
      }
    }));
  } finally {
    agent.destroy();
  }
  await t.client.send(
    new CompleteMultipartUploadCommand({
      Bucket: t.bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  );
}

async function large(t: Target, file: string) {
  const bytes = (await Deno.stat(file)).size;
  const perMiB = (ms: number) => ms / (bytes / MiB);
  const sdkUp = await timed(async () => {
    const f = await Deno.open(file);
    await upload(t, "large", f.readable);
  });
  const threads0 = threadCpuMs(t.pid);
  const cpu0 = processCpuMs(t.pid);
  const client0 = processCpuMs(Deno.pid);
  const up = await timed(() => presignedUpload(t, "large", file));
  const upCpu = perMiB(processCpuMs(t.pid) - cpu0);
  const upClientCpu = perMiB(processCpuMs(Deno.pid) - client0);
  const upThreads = threadSplit(threads0, threadCpuMs(t.pid), bytes / MiB);
  // Downloads are plain GETs of a presigned URL by `rawGet`: the SDK's Node-stream body, `fetch` and node:http
  // cost the client more CPU than the servers being measured.
  const url = await getSignedUrl(t.client, new GetObjectCommand({ Bucket: t.bucket, Key: "large" }));
  const download = async () => {
    let got = 0;
    const cpu = processCpuMs(t.pid);
    const threads = threadCpuMs(t.pid);
    const ms = await timed(async () => {
      got = await rawGet(url);
    });
    if (got !== bytes) throw new Error(`${t.name}: downloaded ${got} of ${bytes} bytes`);
    const split = threadSplit(threads, threadCpuMs(t.pid), bytes / MiB);
    return { rate: mbps(bytes, ms), cpu: perMiB(processCpuMs(t.pid) - cpu), threads: split };
  };
  const hot = await download();
  const cachedAfterDrop = await dropCache(t.dir);
  const cold = await download();
  return { up: mbps(bytes, up), sdkUp: mbps(bytes, sdkUp), upCpu, upClientCpu, upThreads, hot, cold, cachedAfterDrop };
}

async function disk(file: string, dir: string) {
  const bytes = (await Deno.stat(file)).size;
  const copyDir = join(dir, "dd");
  await Deno.mkdir(copyDir);
  const copy = join(copyDir, "copy");
  const write = await timed(() => run("/bin/dd", [`if=${file}`, `of=${copy}`, "bs=4M", "conv=fsync"]));
  const read = () => timed(() => run("/bin/dd", [`if=${copy}`, "of=/dev/null", "bs=4M"]));
  const hot = await read();
  const cachedAfterDrop = await dropCache(copyDir);
  const cold = await read();
  await Deno.remove(copyDir, { recursive: true });
  return { up: mbps(bytes, write), hot: mbps(bytes, hot), cold: mbps(bytes, cold), cachedAfterDrop };
}

const work = await Deno.makeTempDir({ prefix: "bench-gateway-" });
const app = await startAppliance({ dataDir: join(work, "appliance") });
const s3rverDir = join(work, "s3rver");
await Deno.mkdir(s3rverDir);
const s3rver = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./_s3rver.ts", import.meta.url).pathname, s3rverDir],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
try {
  const reader = s3rver.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { port } = JSON.parse((await reader.read()).value!);
  reader.releaseLock();
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
      endpoint: `http://127.0.0.1:${port}`,
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
      client: client(`http://127.0.0.1:${port}`, "S3RVER", "S3RVER"),
      bucket: "bench",
      dir: s3rverDir,
    },
  ];
  const file = join(work, "large.bin");
  await run("/bin/sh", ["-c", `head -c ${LARGE_MIB * MiB} /dev/urandom > '${file}'`]);

  const rows: string[] = [];
  const loadBefore = (await Deno.readTextFile("/proc/loadavg")).trim();
  const ceiling = await disk(file, work);
  rows.push(
    `| disk (dd, conv=fsync / read) | ${ceiling.up.toFixed(0)} | – | ${ceiling.hot.toFixed(0)} | ${
      ceiling.cold.toFixed(0)
    } | – | – |`,
  );
  const results: Record<string, { up: number; sdkUp: number; hot: number; cold: number; put: number; get: number }> =
    {};
  const cpuNotes: string[] = [];
  const cacheNotes = [`dd copy ${ceiling.cachedAfterDrop}`];
  let threadNote = "";
  const rss = rssSampler(app.pid);
  for (const t of targets) {
    if (t.pid === app.pid) rss.phase("1 GiB up and down");
    const l = await large(t, file);
    if (t.pid === app.pid) {
      threadNote = `upload ${l.upThreads}; download hot ${l.hot.threads}; cold ${l.cold.threads}`;
      rss.phase("4 KiB PUT/GET");
    }
    const s = await smallOps(t, SMALL_OPS, CONCURRENCY, SMALL_WARMUP);
    rss.phase("(s3rver runs)");
    results[t.name] = { ...l, hot: l.hot.rate, cold: l.cold.rate, put: s.putOps, get: s.getOps };
    cacheNotes.push(`${t.name} ${l.cachedAfterDrop}`);
    cpuNotes.push(
      `${t.name}: ${l.upCpu.toFixed(2)} ms CPU per MiB up (the client ${l.upClientCpu.toFixed(2)}), ${
        l.hot.cpu.toFixed(2)
      } down hot, ${l.cold.cpu.toFixed(2)} down cold, ${s.putCpuMs.toFixed(2)} ms per 4 KiB PUT, ${
        s.getCpuMs.toFixed(2)
      } per GET`,
    );
    rows.push(
      `| ${t.name} | ${l.up.toFixed(0)} | ${l.sdkUp.toFixed(0)} | ${l.hot.rate.toFixed(0)} | ${
        l.cold.rate.toFixed(0)
      } | ${s.putOps.toFixed(0)} | ${s.getOps.toFixed(0)} |`,
    );
  }
  console.log(
    `\n${LARGE_MIB} MiB object; ${SMALL_OPS} × 4 KiB objects at concurrency ${CONCURRENCY}, after ${SMALL_WARMUP} untimed\n`,
  );
  console.log(
    "| target | large upload MiB/s (presigned parts) | large upload MiB/s (lib-storage) | large download MiB/s (hot) | large download MiB/s (cold) | 4 KiB PUT ops/s | 4 KiB GET ops/s |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) console.log(r);
  const gw = results["gateway (fs)"]!;
  const ref = results["s3rver 3.7.1"]!;
  const pct = (a: number, b: number) => `${(100 * a / b).toFixed(0)}%`;
  console.log(
    `\ngateway vs disk: upload ${pct(gw.up, ceiling.up)} (lib-storage ${pct(gw.sdkUp, ceiling.up)}), download cold ${
      pct(gw.cold, ceiling.cold)
    } (s3rver ${pct(ref.cold, ceiling.cold)}), hot ${pct(gw.hot, ceiling.hot)}; gateway vs s3rver: download cold ${
      (gw.cold / ref.cold).toFixed(2)
    }×, hot ${(gw.hot / ref.hot).toFixed(2)}×, PUT ${(gw.put / ref.put).toFixed(1)}×, GET ${
      (gw.get / ref.get).toFixed(1)
    }×`,
  );
  console.log(`server CPU (presigned upload, download, small ops): ${cpuNotes.join("; ")}`);
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
    let got = 0;
    const down = await timed(async () => {
      got = await rawGet(url);
    });
    if (got !== bytes) throw new Error(`memory run: downloaded ${got} of ${bytes}`);
    console.log(
      `\n${MEMORY_GIB} GiB up (${mbps(bytes, up).toFixed(0)} MiB/s) and down (${
        mbps(bytes, down).toFixed(0)
      } MiB/s): appliance peak RSS (VmHWM) ${((await peakRssKiB(app.pid)) / 1024).toFixed(0)} MiB`,
    );
    memClient.destroy();
  }
  console.log(`appliance peak RSS (MiB) by phase: ${rss.report()}`);
} finally {
  s3rver.kill("SIGTERM");
  await s3rver.status;
  await app.stop();
  await Deno.remove(work, { recursive: true });
}
