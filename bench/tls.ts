/**
 * What HTTPS costs the S3 gateway, side by side in one run: one object of BENCH_TLS_MIB MiB (1024) uploaded by
 * `curl -T` to a presigned URL and downloaded again, over plain HTTP, over HTTPS with HTTP/1.1 (`--http1.1`) and over
 * HTTPS with HTTP/2 (what curl and rclone choose over TLS), each on a fresh appliance (fs backend, every service
 * running), in BENCH_TLS_ROUNDS rounds (3) that take the three in turn (reversed every other round). Prints MiB/s
 * and the appliance's CPU per MiB (all threads) of each transfer, then the medians.
 *
 * @module
 */
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { join } from "node:path";
import { run, sdkClient, startAppliance } from "../tests/e2e/_appliance.ts";
import { selfSignedCertificate } from "../src/_testing/certificate.ts";
import { processCpuMs } from "./_small_ops.ts";

const SIZE_MIB = Number(Deno.env.get("BENCH_TLS_MIB") ?? 1024);
const ROUNDS = Number(Deno.env.get("BENCH_TLS_ROUNDS") ?? 3);
const MODES = ["http", "https HTTP/1.1", "https HTTP/2"] as const;
type Mode = typeof MODES[number];

interface Transfer {
  mibPerS: number;
  cpuMsPerMiB: number;
}

const work = await Deno.makeTempDir({ prefix: "bench-tls-" });
const file = join(work, "object.bin");
const { certFile: cert, keyFile: key } = await selfSignedCertificate(work, "bench", { subjectAltName: "IP:127.0.0.1" })
  .catch(async (err) => {
    await Deno.remove(work, { recursive: true });
    throw err;
  });

/** Runs curl with `args`; returns the value of its `-w` format (a speed in bytes/s) and the appliance's CPU. */
async function curl(pid: number, args: string[]): Promise<Transfer> {
  const before = processCpuMs(pid);
  const { stdout } = await run("/usr/bin/curl", ["-sS", "--fail", ...args]);
  const cpuMs = processCpuMs(pid) - before;
  return { mibPerS: Number(stdout) / 2 ** 20, cpuMsPerMiB: cpuMs / SIZE_MIB };
}

async function measure(mode: Mode): Promise<{ up: Transfer; down: Transfer }> {
  const tls = mode !== "http";
  const app = await startAppliance(tls ? { env: { S3PLUGIN_S3_TLS_CERT: cert, S3PLUGIN_S3_TLS_KEY: key } } : {});
  const s3 = sdkClient(app);
  try {
    const object = { Bucket: app.creds.bucket, Key: "bench.bin" };
    const put = await getSignedUrl(s3, new PutObjectCommand(object), { expiresIn: 3600 });
    const get = await getSignedUrl(s3, new GetObjectCommand(object), { expiresIn: 3600 });
    const client = tls ? ["--cacert", cert, mode === "https HTTP/1.1" ? "--http1.1" : "--http2"] : [];
    const up = await curl(app.pid, [...client, "-T", file, "-o", "/dev/null", "-w", "%{speed_upload}", put]);
    const down = await curl(app.pid, [...client, "-o", "/dev/null", "-w", "%{speed_download}", get]);
    return { up, down };
  } finally {
    s3.destroy();
    await app.stop();
    await Deno.remove(app.dataDir, { recursive: true });
  }
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (t: Transfer) => `${t.mibPerS.toFixed(0)} MiB/s (${t.cpuMsPerMiB.toFixed(2)} ms CPU/MiB)`;

try {
  await run("/bin/sh", ["-c", `head -c ${SIZE_MIB * 2 ** 20} /dev/urandom > '${file}'`]);
  const results = new Map<Mode, { up: Transfer; down: Transfer }[]>(MODES.map((m) => [m, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of round % 2 ? MODES : MODES.toReversed()) {
      const r = await measure(mode);
      results.get(mode)!.push(r);
      console.log(`round ${round}, ${mode}: up ${fmt(r.up)}, down ${fmt(r.down)}`);
    }
  }
  console.log(`\n${SIZE_MIB} MiB by curl, medians of ${ROUNDS} rounds:`);
  for (const [mode, rs] of results) {
    const m = (pick: (r: { up: Transfer; down: Transfer }) => Transfer) => ({
      mibPerS: median(rs.map((r) => pick(r).mibPerS)),
      cpuMsPerMiB: median(rs.map((r) => pick(r).cpuMsPerMiB)),
    });
    console.log(`  ${mode.padEnd(15)} up ${fmt(m((r) => r.up))}, down ${fmt(m((r) => r.down))}`);
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
