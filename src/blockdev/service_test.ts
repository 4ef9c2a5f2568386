import assert from "node:assert/strict";
import { createFsStore } from "../storage/fs.ts";
import { callRoute as call, run, serviceContext } from "./_testing/service_context.ts";
import { createBlockdevService } from "./mod.ts";

const IQN = "iqn.2026-01.lan.appliance:test";

async function context(dataDir: string) {
  return await serviceContext(
    dataDir,
    { local: await createFsStore({ root: `${dataDir}/objects` }) },
    `file:${dataDir}/s3plugin.db`,
  );
}

Deno.test("blockdev service exports a volume over iSCSI that qemu writes, and keeps it across a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "blockdev-service-" });
  let ctx = await context(dataDir);
  let service = await createBlockdevService(ctx, { gcIntervalMs: 100 });
  try {
    await call(service, "POST", "/volumes", { name: "disk0", sizeBytes: 32 * 2 ** 20, bucket: "vols" });
    await call(service, "PUT", "/volumes/disk0/mapping", { iqn: IQN, lun: 0 });
    const url = `iscsi://${service.addresses!.iscsi}/${IQN}/0`;
    const inq = await run("iscsi-inq", ["-e", "1", "-c", "0x80", url]);
    assert.match(inq, /LOGICAL_BLOCK_PROVISIONING/);
    await run("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 1M 3M", "-c", "write -P 0x11 31M 512", url]);
    const stats = (await call(service, "GET", "/volumes/disk0")).stats;
    assert.equal(stats.dirtyChunks, 0, "SYNCHRONIZE CACHE at close flushed every dirty chunk");
    assert.match(service.metrics!(), /blockdev_chunk_uploads_total\{volume="disk0"\} [1-9]/);
    assert.equal((await call(service, "GET", "/sessions")).length, 0);

    // Overwriting replaces chunk objects; the periodic collection deletes the old ones.
    await run("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 1M 3M", url]);
    const volume = await call(service, "GET", "/volumes/disk0");
    const chunkObjects = async () =>
      (await ctx.backends.get("local").listObjects("vols", { prefix: `${volume.prefix}/chunks/` })).objects.length;
    for (let i = 0; i < 50 && await chunkObjects() !== volume.stats.allocatedChunks; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await chunkObjects(), volume.stats.allocatedChunks);

    await service.stop();
    await ctx.close();
    ctx = await context(dataDir);
    service = await createBlockdevService(ctx);
    const again = `iscsi://${service.addresses!.iscsi}/${IQN}/0`;
    const read = await run("qemu-io", [
      "-f",
      "raw",
      "-c",
      "read -P 0x5a 1M 3M",
      "-c",
      "read -P 0x11 31M 512",
      "-c",
      "read -P 0 0 1M",
      again,
    ]);
    assert.doesNotMatch(read, /Pattern verification failed/);
    const info = await run("qemu-img", ["info", again]);
    assert.match(info, /virtual size: 32 MiB/);
  } finally {
    await service.stop();
    await ctx.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
