/**
 * Real-OS proof of the S3 block device: a Linux guest under QEMU (TCG) uses an iSCSI LUN of a running appliance
 * as its virtio disk. It partitions it, makes ext4, XFS and NTFS, writes files with known checksums and checks
 * them and the filesystems; then the appliance is killed with SIGKILL while the guest writes, restarted, and a
 * third boot checks that every write the guest had synced is there and every filesystem is clean.
 *
 * Needs qemu-system-x86_64, linux-image-amd64, busybox-static, e2fsprogs, xfsprogs, ntfs-3g, fdisk (.ci/run).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createApiClient } from "../../src/api/client.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const IQN = "iqn.2026-01.lan.s3plugin:os-test";
const GUEST_TIMEOUT_MS = 300_000;

async function buildGuest(): Promise<string> {
  const dir = Deno.env.get("S3PLUGIN_GUEST_CACHE") ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/s3plugin-guest-cache`;
  const out = await new Deno.Command("bash", { args: [`${REPO}tests/e2e/guest/build.sh`, dir], stderr: "piped" })
    .output();
  assert.ok(out.success, `guest build failed: ${new TextDecoder().decode(out.stderr)}`);
  return dir;
}

interface RunningAppliance {
  iscsi: string;
  api: ReturnType<typeof createApiClient>;
  kill(signal: Deno.Signal): Promise<void>;
}

async function startAppliance(dataDir: string): Promise<RunningAppliance> {
  await Deno.remove(`${dataDir}/listen.json`).catch(() => {});
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}src/main.ts`, "serve", "--data-dir", dataDir, "--api-listen", "127.0.0.1:0"]
      .concat(["--s3-listen", "127.0.0.1:0", "--iscsi-listen", "127.0.0.1:0"]),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const drained = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void (log = (log + t).slice(-20_000)) }),
  );
  const kill = async (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
    await drained;
  };
  for (let i = 0; i < 600; i++) {
    const listen = await Deno.readTextFile(`${dataDir}/listen.json`).then(JSON.parse).catch(() => undefined);
    if (listen?.iscsi) {
      const { apiToken } = JSON.parse(await Deno.readTextFile(`${dataDir}/admin-credentials.json`));
      return { iscsi: listen.iscsi, api: createApiClient({ url: `http://${listen.api}`, token: apiToken }), kill };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await kill("SIGKILL");
  throw new Error(`appliance did not start:\n${log}`);
}

/** Boots the guest in `phase`; resolves with its "S3PLUGIN …" lines once it powers off (or `stopWhen` says so). */
async function bootGuest(
  guest: string,
  iscsi: string,
  phase: string,
  stopWhen?: (lines: string[]) => Promise<boolean>,
): Promise<string[]> {
  const child = new Deno.Command("qemu-system-x86_64", {
    args: [
      ...["-accel", "tcg", "-m", "512", "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot"],
      ...["-kernel", `${guest}/vmlinuz`, "-initrd", `${guest}/initramfs.cpio.gz`],
      ...["-append", `console=ttyS0 quiet panic=-1 s3phase=${phase}`],
      ...["-drive", `file=iscsi://${iscsi}/${IQN}/0,if=virtio,format=raw`],
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), GUEST_TIMEOUT_MS);
  const lines: string[] = [];
  const console: string[] = [];
  const stderr = new Response(child.stderr).text();
  let buffer = "";
  try {
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const raw of parts) {
        const line = raw.replace(/\r$/, "");
        console.push(line);
        if (line.startsWith("S3PLUGIN ")) lines.push(line.slice("S3PLUGIN ".length));
      }
      if (stopWhen && await stopWhen(lines)) {
        child.kill("SIGKILL");
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
  const errors = await stderr;
  if (!stopWhen) {
    assert.ok(lines.at(-1) === "END", `guest ${phase} did not finish:\n${console.slice(-40).join("\n")}\n${errors}`);
  }
  assert.ok(
    !lines.some((l) => l.startsWith("FAIL")),
    `guest ${phase}: ${lines.find((l) => l.startsWith("FAIL"))}\n${console.slice(-30).join("\n")}`,
  );
  return lines;
}

Deno.test("Linux guest formats, fills and checks ext4, XFS and NTFS on an iSCSI LUN, and survives kill -9 of the target", async () => {
  const guest = await buildGuest();
  const dataDir = await Deno.makeTempDir({ prefix: "blockdev-os-" });
  let appliance = await startAppliance(dataDir);
  try {
    await appliance.api.request("POST", "/blockdev/volumes", { name: "os-test", sizeBytes: 640 * 2 ** 20 });
    await appliance.api.request("PUT", "/blockdev/volumes/os-test/mapping", { iqn: IQN, lun: 0 });

    const formatted = await bootGuest(guest, appliance.iscsi, "format");
    for (const fs of ["ext4", "xfs", "ntfs"]) {
      assert.ok(formatted.includes(`FSCK-CLEAN ${fs}`), `${fs} not clean: ${formatted.join("\n")}`);
      assert.ok(formatted.includes(`OK ${fs}`));
    }
    const files = formatted.filter((l) => l.startsWith("FILE "));
    assert.equal(files.length, 18);

    // Kill the target with SIGKILL while the guest keeps writing (the guest dies with its disk).
    const synced = new Map<string, string>();
    await bootGuest(guest, appliance.iscsi, "crash", async (lines) => {
      for (const l of lines) if (l.startsWith("SYNCED ")) synced.set(l.split(" ")[1]!, l.split(" ")[2]!);
      if (synced.size < 4) return false;
      await new Promise((r) => setTimeout(r, 300)); // mid-write of the next file
      await appliance.kill("SIGKILL");
      return true;
    });
    assert.ok(synced.size >= 4);

    appliance = await startAppliance(dataDir);
    const verified = await bootGuest(guest, appliance.iscsi, "verify");
    const sums = new Map(verified.filter((l) => l.startsWith("SUM ")).map((l) => [l.split(" ")[1]!, l.split(" ")[2]!]));
    for (const [name, sum] of synced) assert.equal(sums.get(name), sum, `synced file ${name} lost or changed`);
    assert.deepEqual(verified.filter((l) => l.startsWith("FILE ")), files, "files written before the crash");
    for (const fs of ["ext4", "xfs", "ntfs"]) assert.ok(verified.includes(`FSCK-CLEAN ${fs}`), `${fs} not clean`);
    assert.ok(verified.includes("OK verify"));
  } finally {
    await appliance.kill("SIGTERM");
    await Deno.remove(dataDir, { recursive: true });
  }
});
