import assert from "node:assert/strict";
import S3rver from "s3rver";
import { systemClock } from "../clock.ts";
import { isAppError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import { createS3Store } from "../storage/s3.ts";
import { CHUNK, pattern } from "./_testing/fixtures.ts";
import { initVolume } from "./snapshots.ts";
import { openVolume } from "./volume.ts";

// A volume on the s3 backend, talking HTTP to a real S3 server that is stopped and started again.
Deno.test("volume on the s3 backend: data round-trips, and a stopped S3 server gives Unavailable until it is back", async () => {
  const directory = await Deno.makeTempDir({ prefix: "blockdev-s3rver-" });
  const cacheDir = await Deno.makeTempDir({ prefix: "blockdev-s3-cache-" });
  let server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory });
  const { port } = await server.run();
  const store = createS3Store({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
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
      await server.close();
      await assert.rejects(vol.read(5 * CHUNK, 4096), (e) => isAppError(e, "Unavailable"));
      await vol.write(10 * CHUNK, pattern(CHUNK, 3));
      await vol.write(11 * CHUNK, pattern(CHUNK, 4));
      await vol.write(12 * CHUNK, pattern(CHUNK, 5));
      await assert.rejects(vol.write(13 * CHUNK, pattern(CHUNK, 6)), (e) => isAppError(e, "Unavailable"));
      await assert.rejects(vol.flush(), (e) => isAppError(e, "Unavailable"));

      server = new S3rver({ port, address: "127.0.0.1", silent: true, directory });
      await server.run();
      await vol.flush();
      assert.deepEqual(await vol.read(5 * CHUNK, CHUNK), pattern(CHUNK, 2));
      for (let i = 0; i < 3; i++) assert.deepEqual(await vol.read((10 + i) * CHUNK, CHUNK), pattern(CHUNK, 3 + i));
    } finally {
      await vol.close();
    }
  } finally {
    await server.close().catch(() => {});
    await store.close();
    await Deno.remove(directory, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  }
});
