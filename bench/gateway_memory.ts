/**
 * The appliance's resident memory over several large transfers in a row: each round uploads a generated object of
 * BENCH_MEM_GIB GiB with @aws-sdk/lib-storage (16 MiB parts, 4 in flight), downloads it (a plain GET of a presigned
 * URL) and deletes it, and reports the process's peak RSS in the round (sampled every 100 ms), its RSS after the
 * round and its VmHWM. A process whose memory only fluctuates levels off; one that keeps something per transfer, or
 * whose allocator keeps freed memory it cannot hand back, climbs from round to round.
 *
 * Env: BENCH_MEM_GIB (5), BENCH_MEM_ROUNDS (5).
 *
 * @module
 */
import { DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { join } from "node:path";
import { peakRssKiB, startAppliance } from "../tests/e2e/_appliance.ts";
import { client, generated, mbps, MiB, timed, timedDownload, upload } from "./_large_ops.ts";

const GIB = Number(Deno.env.get("BENCH_MEM_GIB") ?? 5);
const ROUNDS = Number(Deno.env.get("BENCH_MEM_ROUNDS") ?? 5);

const rssMiB = (pid: number) => Number(Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+)/)![1]) / 1024;

const app = await startAppliance();
const s3 = client(app.s3, app.creds.accessKeyId, app.creds.secretAccessKey);
try {
  const target = {
    name: "gateway (fs)",
    pid: app.pid,
    endpoint: app.s3,
    accessKeyId: app.creds.accessKeyId,
    secretAccessKey: app.creds.secretAccessKey,
    client: s3,
    bucket: app.creds.bucket,
    dir: join(app.dataDir, "objects"),
  };
  const bytes = GIB * 1024 * MiB;
  console.log(
    `${ROUNDS} rounds of a ${GIB} GiB upload, download and delete; RSS at start ${rssMiB(app.pid).toFixed(0)} MiB`,
  );
  console.log("| round | up MiB/s | down MiB/s | peak RSS MiB | RSS after MiB | VmHWM MiB |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
  for (let round = 1; round <= ROUNDS; round++) {
    let peak = rssMiB(app.pid);
    const timer = setInterval(() => peak = Math.max(peak, rssMiB(app.pid)), 100);
    try {
      const key = `memory-${round}`;
      const up = await timed(() => upload(target, key, generated(bytes)));
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: target.bucket, Key: key }));
      const down = await timedDownload(url, bytes, app.pid, "gateway (fs)");
      await s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key }));
      peak = Math.max(peak, rssMiB(app.pid));
      console.log(
        `| ${round} | ${mbps(bytes, up).toFixed(0)} | ${down.rate.toFixed(0)} | ${peak.toFixed(0)} | ${
          rssMiB(app.pid).toFixed(0)
        } | ${((await peakRssKiB(app.pid)) / 1024).toFixed(0)} |`,
      );
    } finally {
      clearInterval(timer);
    }
  }
} finally {
  s3.destroy();
  await app.stop();
  await Deno.remove(app.dataDir, { recursive: true });
}
