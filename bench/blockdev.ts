/**
 * S3 block device through the s3 backend: `qemu-img bench` over iSCSI against a volume whose chunks go through an
 * `s3` ObjectStore to the appliance's own S3 gateway (a second appliance process on a temp data dir), showing the
 * cache: write-back vs write-through, cold vs warm reads. Anchor in the same run: the same `qemu-img bench` on a
 * local raw file (page cache bypassed with `-t none`), the ceiling of this machine's disk.
 *
 * Env: BENCH_BLOCKDEV_MB (data per sequential run, default 256), BENCH_BLOCKDEV_SMALL (4 KiB writes, default 4096).
 *
 * @module
 */
import { createBackendRegistry } from "../src/backend_registry.ts";
import { createBlockdevService } from "../src/blockdev/mod.ts";
import { createBucketRouter } from "../src/bucket_router.ts";
import { systemClock } from "../src/clock.ts";
import { createDb } from "../src/db/client.ts";
import { migrateDb } from "../src/db/migrate.ts";
import { insertBackend } from "../src/db/repos/backends.ts";
import { createEventBus, type OperationEvent } from "../src/events/mod.ts";
import { silentLogger } from "../src/log.ts";
import type { RunningService } from "../src/service.ts";
import { createS3Store } from "../src/storage/s3.ts";
import type { VolumeOptions } from "../src/blockdev/volume.ts";

const mb = Number(Deno.env.get("BENCH_BLOCKDEV_MB") ?? 256);
const small = Number(Deno.env.get("BENCH_BLOCKDEV_SMALL") ?? 4096);
const repo = new URL("../", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "bench-blockdev-" });
const plain = { seal: (s: string) => Promise.resolve(s), open: (s: string) => Promise.resolve(s) };

async function timed(url: string, args: string[]): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command("qemu-img", { args: ["bench", "-f", "raw", "-q", ...args, url], stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`qemu-img bench ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return (performance.now() - t) / 1000;
}

const seq = (write: boolean) => [...(write ? ["-w"] : []), "-t", "none", "-c", String(mb), "-s", "1M", "-d", "8"];
const small4k = (count = small) => ["-w", "-t", "none", "-c", String(count), "-s", "4k", "-d", "32"];
const strided = () => [...small4k(), "-S", "1M"];

function row(name: string, seconds: number, bytes: number, ops?: number): string {
  const rate = `${(bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s`;
  return `| ${name} | ${rate} | ${ops ? `${(ops / seconds).toFixed(0)} IOPS` : ""} |`;
}

// The S3 endpoint: an appliance gateway on its own data dir.
const gateway = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", `${repo}src/main.ts`, "serve", "--data-dir", `${work}/gateway`, "--api-listen", "127.0.0.1:0"]
    .concat(["--s3-listen", "127.0.0.1:0", "--iscsi-listen", "127.0.0.1:0"]),
  stdout: "null",
  stderr: "null",
}).spawn();
const services: RunningService[] = [];
try {
  let listen: { s3?: string } = {};
  for (let i = 0; i < 600 && !listen.s3; i++) {
    await new Promise((r) => setTimeout(r, 100));
    listen = await Deno.readTextFile(`${work}/gateway/listen.json`).then(JSON.parse).catch(() => ({}));
  }
  const creds = JSON.parse(await Deno.readTextFile(`${work}/gateway/admin-credentials.json`));
  const s3Config = {
    endpoint: `http://${listen.s3}`,
    region: "us-east-1",
    forcePathStyle: true,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
  };

  const start = async (name: string, volumeOptions: Partial<VolumeOptions>) => {
    await Deno.mkdir(`${work}/${name}`, { recursive: true });
    const handle = createDb(`file:${work}/${name}/s3plugin.db`);
    await migrateDb(handle);
    await insertBackend(handle.db, plain, { id: "gateway", kind: "s3", config: s3Config, createdAt: new Date() });
    const backends = createBackendRegistry();
    await backends.set("gateway", createS3Store(s3Config));
    const clock = systemClock();
    const router = createBucketRouter({ db: handle.db, backends, clock });
    const service = await createBlockdevService({
      db: handle.db,
      dataDir: `${work}/${name}`,
      clock,
      logger: silentLogger(),
      events: createEventBus<OperationEvent>({ onSubscriberError: () => {} }),
      backends,
      buckets: router,
      bucketConfig: router,
      listen: { api: "127.0.0.1:0", s3: "127.0.0.1:0", iscsi: "127.0.0.1:0" },
    }, { sealer: plain, volumeOptions });
    services.push(service);
    const stop = async () => {
      await service.stop();
      handle.close();
    };
    const call = (method: string, path: string, body: unknown) =>
      Promise.resolve(service.routes!.request(path, { method, body: JSON.stringify(body) })).then(
        async (r: Response) => {
          if (!r.ok) throw new Error(`${path}: ${await r.text()}`);
        },
      );
    const iqn = `iqn.2026-01.lan.s3plugin:bench-${name}`;
    return {
      async volume(volume: string) {
        await call("POST", "/volumes", {
          name: volume,
          sizeBytes: 2 * mb * 2 ** 20,
          backend: "gateway",
          bucket: creds.bucket,
        });
        await call("PUT", `/volumes/${volume}/mapping`, { iqn, lun: 0 });
        return `iscsi://${service.addresses!.iscsi}/${iqn}/0`;
      },
      url: () => `iscsi://${service.addresses!.iscsi}/${iqn}/0`,
      stop,
    };
  };

  const lines = ["| run | throughput | IOPS |", "| --- | --- | --- |"];
  const local = `${work}/local.raw`;
  await new Deno.Command("qemu-img", { args: ["create", "-f", "raw", local, `${2 * mb}M`], stdout: "null" }).output();
  lines.push(row(`local raw file: sequential write 1 MiB × ${mb}`, await timed(local, seq(true)), mb * 2 ** 20));
  lines.push(row(`local raw file: sequential read 1 MiB × ${mb}`, await timed(local, seq(false)), mb * 2 ** 20));
  lines.push(
    row(`local raw file: 4 KiB sequential writes × ${small}`, await timed(local, small4k()), small * 4096, small),
  );

  const wb = await start("writeback", {});
  const wbUrl = await wb.volume("wb");
  lines.push(row(`write-back: sequential write 1 MiB × ${mb}`, await timed(wbUrl, seq(true)), mb * 2 ** 20));
  lines.push(row(`write-back: 4 KiB sequential writes × ${small}`, await timed(wbUrl, small4k()), small * 4096, small));
  lines.push(
    row(`write-back: 4 KiB writes 1 MiB apart × ${small}`, await timed(wbUrl, strided()), small * 4096, small),
  );
  await wb.stop(); // flushes everything to the bucket
  const cold = await start("writeback", {});
  lines.push(row(`cold read (from the bucket) 1 MiB × ${mb}`, await timed(cold.url(), seq(false)), mb * 2 ** 20));
  lines.push(row(`warm read (read cache) 1 MiB × ${mb}`, await timed(cold.url(), seq(false)), mb * 2 ** 20));
  await cold.stop();
  const noAhead = await start("writeback", { readAheadChunks: 0 });
  lines.push(row(`cold read, no read-ahead 1 MiB × ${mb}`, await timed(noAhead.url(), seq(false)), mb * 2 ** 20));
  await noAhead.stop();

  const wt = await start("writethrough", { writeThrough: true });
  const wtUrl = await wt.volume("wt");
  lines.push(row(`write-through: sequential write 1 MiB × ${mb}`, await timed(wtUrl, seq(true)), mb * 2 ** 20));
  const fewer = Math.min(small, 512);
  lines.push(
    row(`write-through: 4 KiB sequential writes × ${fewer}`, await timed(wtUrl, small4k(fewer)), fewer * 4096, fewer),
  );
  console.log(lines.join("\n"));
} finally {
  for (const s of services) await s.stop().catch(() => {});
  gateway.kill("SIGTERM");
  await gateway.status;
  await Deno.remove(work, { recursive: true });
}
