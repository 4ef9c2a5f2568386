/**
 * Shared pieces of the iSCSI conformance tests: our target on a file-backed LUN, tgtd on the same kind of file,
 * and helpers to run the outside initiators (libiscsi tools, qemu) as child processes.
 */
import { systemClock } from "../../src/clock.ts";
import { openFileBlockDevice } from "../../src/iscsi/_testing/file_block_device.ts";
import { type ChapConfig, createIscsiTarget, type IscsiTarget } from "../../src/iscsi/mod.ts";
import { silentLogger } from "../../src/log.ts";
import { freePort } from "../_ports.ts";

export const OUR_IQN = "iqn.2026-01.org.s3plugin:conformance";
export const TGT_IQN = "iqn.2026-01.org.tgt:conformance";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fail loudly when a required outside tool is missing (CI installs it). */
export async function requireTool(name: string): Promise<string> {
  for (const dir of ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"]) {
    try {
      await Deno.stat(`${dir}/${name}`);
      return `${dir}/${name}`;
    } catch { /* next */ }
  }
  throw new Error(`Required tool "${name}" is not installed (apt-get install libiscsi-bin qemu-utils tgt)`);
}

export async function run(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", env: options.env ?? {} }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, options.timeoutMs ?? 120_000);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

export interface RunningTarget {
  /** Base URL without LUN, e.g. iscsi://127.0.0.1:3260/iqn… */
  url: string;
  lun: number;
  address: string;
  close(): Promise<void>;
}

export async function startOurTarget(
  dir: string,
  options: { sizeBytes: number; chap?: ChapConfig; nopIntervalMs?: number },
): Promise<RunningTarget & { target: IscsiTarget }> {
  const device = await openFileBlockDevice(`${dir}/ours.img`, {
    id: "5c1e2d3f-4a5b-4c6d-8e7f-90a1b2c3d4e5",
    sizeBytes: options.sizeBytes,
  });
  const config = { luns: new Map([[0, device]]), ...(options.chap ? { chap: options.chap } : {}) };
  const target = createIscsiTarget({
    logger: silentLogger(),
    clock: systemClock(),
    resolveTarget: (iqn) => (iqn === OUR_IQN ? config : undefined),
    listTargets: () => [OUR_IQN],
    nopIntervalMs: options.nopIntervalMs ?? 0,
  });
  const { address } = await target.serve("127.0.0.1:0");
  return {
    target,
    url: `iscsi://${address}/${OUR_IQN}`,
    lun: 0,
    address,
    async close() {
      await target.close();
      await device.close();
    },
  };
}

/** tgtd in the foreground on a private portal and control port, serving `dir/tgt.img` as LUN 1. */
export async function startTgtd(dir: string, options: { sizeBytes: number }): Promise<RunningTarget> {
  const tgtd = await requireTool("tgtd");
  const tgtadm = await requireTool("tgtadm");
  const image = `${dir}/tgt.img`;
  const f = await Deno.open(image, { write: true, create: true });
  await f.truncate(options.sizeBytes);
  f.close();
  const port = freePort();
  // tgtd accepts control ports below 32768.
  const control = String(2000 + Math.floor(Math.random() * 30000));
  const child = new Deno.Command(tgtd, {
    args: ["-f", "-C", control, "--iscsi", `portal=127.0.0.1:${port}`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const stop = async () => {
    try {
      // tgtd in the foreground does not exit on SIGTERM while targets are configured.
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await output;
    // A killed tgtd leaves its control socket behind.
    for (const suffix of ["", ".lock"]) await Deno.remove(`/run/tgtd/socket.${control}${suffix}`).catch(() => {});
  };
  try {
    const adm = (args: string[]) => run(tgtadm, ["-C", control, "--lld", "iscsi", ...args]);
    let ready = false;
    for (let i = 0; i < 50 && !ready; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = (await adm(["--op", "new", "--mode", "target", "--tid", "1", "-T", TGT_IQN])).code === 0;
    }
    if (!ready) {
      await stop();
      const log = new TextDecoder().decode((await output).stderr);
      throw new Error(`tgtd did not start: ${log}`);
    }
    for (
      const args of [
        ["--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", image],
        ["--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL"],
      ]
    ) {
      const r = await adm(args);
      if (r.code !== 0) throw new Error(`tgtadm ${args.join(" ")} failed: ${r.stderr}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `iscsi://127.0.0.1:${port}/${TGT_IQN}`, lun: 1, address: `127.0.0.1:${port}`, close: stop };
}
