import assert from "node:assert/strict";
import { createBackendRegistry } from "../backend_registry.ts";
import { ensureDefaultBackend } from "../bootstrap.ts";
import { createBucketRouter } from "../bucket_router.ts";
import { systemClock } from "../clock.ts";
import { createDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { createEventBus, type OperationEvent } from "../events/mod.ts";
import { silentLogger } from "../log.ts";
import type { RunningService, ServiceContext } from "../service.ts";
import { createFsStore } from "../storage/fs.ts";
import { createBlockdevService } from "./mod.ts";

const plainSealer = { seal: (s: string) => Promise.resolve(s), open: (s: string) => Promise.resolve(s) };
const IQN = "iqn.2026-01.lan.appliance:test";

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${text}`);
  return text;
}

async function context(dataDir: string): Promise<ServiceContext & { close(): Promise<void> }> {
  const handle = createDb(`file:${dataDir}/s3plugin.db`);
  await migrateDb(handle);
  const clock = systemClock();
  await ensureDefaultBackend({ db: handle.db, sealer: plainSealer, clock, dataDir });
  const backends = createBackendRegistry();
  const store = await createFsStore({ root: `${dataDir}/objects` });
  await backends.set("local", store);
  return {
    db: handle.db,
    dataDir,
    clock,
    logger: silentLogger(),
    events: createEventBus<OperationEvent>({ onSubscriberError: () => {} }),
    backends,
    buckets: createBucketRouter({ db: handle.db, backends, clock }),
    listen: { api: "127.0.0.1:0", s3: "127.0.0.1:0", iscsi: "127.0.0.1:0" },
    async close() {
      await backends.close();
      handle.close();
    },
  };
}

async function call(service: RunningService, method: string, path: string, body?: unknown) {
  const res = await service.routes!.request(path, {
    method,
    ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
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
