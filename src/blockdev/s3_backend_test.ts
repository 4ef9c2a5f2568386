import assert from "node:assert/strict";
import { systemClock } from "../clock.ts";
import { isAppError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import { createS3Store } from "../storage/s3.ts";
import { S3RVER_KEYS, startS3rver } from "../storage/_testing/s3rver.ts";
import { CHUNK, pattern } from "./_testing/fixtures.ts";
import { initVolume } from "./snapshots.ts";
import { openVolume } from "./volume.ts";
import { callRoute, run, serviceContext } from "./_testing/service_context.ts";
import { createBlockdevService } from "./mod.ts";

// A volume on the s3 backend, talking HTTP to a real S3 server that is stopped and started again.
Deno.test("volume on the s3 backend: data round-trips, and a stopped S3 server gives Unavailable until it is back", async () => {
  const peer = await startS3rver("blockdev-s3rver-");
  const cacheDir = await Deno.makeTempDir({ prefix: "blockdev-s3-cache-" });
  const store = createS3Store({
    endpoint: peer.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    ...S3RVER_KEYS,
    maxAttempts: 1,
    connectTimeoutMs: 1000,
  });
  const loc = { store, bucket: "volumes", prefix: "blockdev/s3vol" };
  const open = () =>
    openVolume({
      loc,
      cacheDir,
      clock: systemClock(),
      logger: silentLogger(),
      maxDirtyBytes: 3 * CHUNK,
      stallTimeoutMs: 500,
      flushDelayMs: 10,
    });
  try {
    await store.createBucket("volumes");
    await initVolume(loc, { id: crypto.randomUUID(), sizeBytes: 32 * CHUNK, chunkSize: CHUNK, blockSize: 4096 });
    let vol = await open();
    await vol.write(CHUNK - 4096, pattern(2 * 4096, 1), { fua: true });
    await vol.write(5 * CHUNK, pattern(CHUNK, 2));
    await vol.close();
    await Deno.remove(cacheDir, { recursive: true });

    vol = await open();
    try {
      assert.deepEqual(await vol.read(CHUNK - 4096, 2 * 4096), pattern(2 * 4096, 1));
      await peer.stop();
      await assert.rejects(vol.read(5 * CHUNK, 4096), (e) => isAppError(e, "Unavailable"));
      await vol.write(10 * CHUNK, pattern(CHUNK, 3));
      await vol.write(11 * CHUNK, pattern(CHUNK, 4));
      await vol.write(12 * CHUNK, pattern(CHUNK, 5));
      await assert.rejects(vol.write(13 * CHUNK, pattern(CHUNK, 6)), (e) => isAppError(e, "Unavailable"));
      await assert.rejects(vol.flush(), (e) => isAppError(e, "Unavailable"));

      await peer.restart();
      await vol.flush();
      assert.deepEqual(await vol.read(5 * CHUNK, CHUNK), pattern(CHUNK, 2));
      for (let i = 0; i < 3; i++) assert.deepEqual(await vol.read((10 + i) * CHUNK, CHUNK), pattern(CHUNK, 3 + i));
    } finally {
      await vol.close();
    }
  } finally {
    await store.close();
    await peer.close();
    await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("blockdev service started while the S3 server is down exports the LUN once the server is back", async () => {
  const peer = await startS3rver("blockdev-s3rver-");
  const dataDir = await Deno.makeTempDir({ prefix: "blockdev-s3-service-" });
  const s3 = () =>
    createS3Store({
      endpoint: peer.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      ...S3RVER_KEYS,
      maxAttempts: 1,
      connectTimeoutMs: 1000,
    });
  const iqn = "iqn.2026-01.lan.appliance:s3";
  const start = async () => {
    const ctx = await serviceContext(dataDir, { s3: s3() }, `file:${dataDir}/s3plugin.db`);
    const service = await createBlockdevService(ctx, { retryIntervalMs: 100 });
    return { ctx, service, url: `iscsi://${service.addresses!.iscsi}/${iqn}/0` };
  };
  let app = await start();
  try {
    await callRoute(app.service, "POST", "/volumes", {
      name: "d",
      sizeBytes: 8 * 2 ** 20,
      backend: "s3",
      bucket: "vols",
    });
    await callRoute(app.service, "PUT", "/volumes/d/mapping", { iqn, lun: 0 });
    await run("qemu-io", ["-f", "raw", "-c", "write -P 0x77 0 1M", app.url]);
    await app.service.stop();
    await app.ctx.close();

    await peer.stop();
    app = await start();
    await assert.rejects(run("qemu-io", ["-f", "raw", "-c", "read 0 4k", app.url]));
    await peer.restart();
    let read = "";
    for (let i = 0; i < 50 && !read; i++) {
      await new Promise((r) => setTimeout(r, 100));
      read = await run("qemu-io", ["-f", "raw", "-c", "read -P 0x77 0 1M", app.url]).catch(() => "");
    }
    assert.match(read, /read 1048576\/1048576 bytes/);
    assert.doesNotMatch(read, /Pattern verification failed/);
  } finally {
    await app.service.stop();
    await app.ctx.close();
    await peer.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
