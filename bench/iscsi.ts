/**
 * iSCSI throughput and IOPS of this target vs tgtd, both serving a plain file on the same disk, measured with
 * `qemu-img bench` through QEMU's libiscsi driver: sequential 1 MiB writes/reads and 4 KiB strided-random
 * writes/reads, all at queue depth 16. ISCSI_BENCH_MB sets the image size (default 256).
 *
 * Usage: deno task bench iscsi
 */
import {
  requireTool,
  run,
  type RunningTarget,
  startOurTarget,
  startTgtd,
} from "../tests/conformance/_iscsi_harness.ts";

const SIZE_MB = Number(Deno.env.get("ISCSI_BENCH_MB") ?? "256");
const RANDOM_OPS = Number(Deno.env.get("ISCSI_BENCH_RANDOM_OPS") ?? "40000");
/** Step between 4 KiB requests: a prime number of blocks, so offsets wrap around the image in scattered order. */
const RANDOM_STEP = 4096 * 7919;

interface Case {
  name: string;
  args: string[];
  bytes: number;
  ops: number;
}

const CASES: Case[] = [
  {
    name: "seq write 1 MiB, QD16",
    args: ["-w", "-s", "1M", "-c", String(SIZE_MB)],
    bytes: SIZE_MB * 2 ** 20,
    ops: SIZE_MB,
  },
  { name: "seq read 1 MiB, QD16", args: ["-s", "1M", "-c", String(SIZE_MB)], bytes: SIZE_MB * 2 ** 20, ops: SIZE_MB },
  {
    name: "random write 4 KiB, QD16",
    args: ["-w", "-s", "4k", "-S", String(RANDOM_STEP), "-c", String(RANDOM_OPS)],
    bytes: RANDOM_OPS * 4096,
    ops: RANDOM_OPS,
  },
  {
    name: "random read 4 KiB, QD16",
    args: ["-s", "4k", "-S", String(RANDOM_STEP), "-c", String(RANDOM_OPS)],
    bytes: RANDOM_OPS * 4096,
    ops: RANDOM_OPS,
  },
];

async function measure(qemuImg: string, t: RunningTarget, c: Case): Promise<number> {
  const r = await run(qemuImg, ["bench", "-f", "raw", "-t", "none", "-d", "16", ...c.args, `${t.url}/${t.lun}`], {
    timeoutMs: 600_000,
  });
  const m = /Run completed in ([\d.]+) seconds/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`qemu-img bench failed: ${r.stderr || r.stdout}`);
  return Number(m[1]);
}

function format(c: Case, seconds: number): string {
  return c.name.startsWith("seq")
    ? `${(c.bytes / 2 ** 20 / seconds).toFixed(1)} MiB/s`
    : `${Math.round(c.ops / seconds)} IOPS`;
}

const qemuImg = await requireTool("qemu-img");
const dir = await Deno.makeTempDir({ prefix: "iscsi-bench-" });
const size = SIZE_MB * 2 ** 20;
const ours = await startOurTarget(dir, { sizeBytes: size });
let tgt: RunningTarget | undefined;
try {
  tgt = await startTgtd(dir, { sizeBytes: size });
  console.log(`| workload (${SIZE_MB} MiB image, qemu-img bench -t none) | this target | tgtd |`);
  console.log("| --- | --- | --- |");
  for (const c of CASES) {
    const a = await measure(qemuImg, ours, c);
    const b = await measure(qemuImg, tgt, c);
    console.log(`| ${c.name} | ${format(c, a)} | ${format(c, b)} |`);
  }
} finally {
  await tgt?.close();
  await ours.close();
  await Deno.remove(dir, { recursive: true });
}
