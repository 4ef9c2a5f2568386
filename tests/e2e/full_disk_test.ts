import assert from "node:assert/strict";
import { join } from "node:path";
import { createApiClient } from "../../src/api/client.ts";
import { df, withTmpfs } from "../../src/storage/_testing/tmpfs.ts";
import { aws, startAppliance, writeTestFile } from "./_appliance.ts";

const MiB = 1024 * 1024;

function gauge(metrics: string, name: string): number {
  const match = new RegExp(`^${name}\\{backend="local"\\} (\\d+)$`, "m").exec(metrics);
  assert.ok(match, `${name} in /metrics:\n${metrics}`);
  return Number(match[1]);
}

Deno.test("a nearly full data disk: health and /metrics show it, aws s3 cp is refused with InsufficientStorage, the appliance keeps working", async () => {
  await withTmpfs("96m", async (dataDir) => {
    const scratch = await Deno.makeTempDir({ prefix: "s3plugin-e2e-scratch-" });
    try {
      const app = await startAppliance({ dataDir });
      try {
        const api = createApiClient({ url: app.api, token: app.creds.apiToken });
        const seen = await df(dataDir);
        const [local] = (await api.health()).storage;
        assert.equal(local?.backend, "local");
        assert.equal(local.totalBytes, 96 * MiB);
        assert.equal(local.totalBytes, seen.size);
        assert.equal(local.minFreeBytes, Math.floor(96 * MiB / 10), "default reserve: a tenth of a small disk");
        assert.ok(Math.abs(local.availableBytes - seen.avail) < 4 * MiB, `${local.availableBytes} vs df ${seen.avail}`);
        const metrics = await (await fetch(`${app.api}/metrics`)).text();
        assert.equal(gauge(metrics, "s3plugin_backend_size_bytes"), seen.size);
        assert.equal(gauge(metrics, "s3plugin_backend_min_free_bytes"), local.minFreeBytes);
        assert.ok(Math.abs(gauge(metrics, "s3plugin_backend_available_bytes") - seen.avail) < 4 * MiB);

        // More than the disk holds above its reserve: the CLI's multipart upload fails on the part that would cut into
        // it, and aborts the upload.
        const bucket = app.creds.bucket;
        const big = join(scratch, "big.bin");
        await writeTestFile(big, 88 * MiB);
        const refused = await aws(app, scratch, ["s3", "cp", "--only-show-errors", big, `s3://${bucket}/big.bin`], {
          allowFailure: true,
        });
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /InsufficientStorage/);
        const left = await aws(app, scratch, ["s3api", "list-objects-v2", "--bucket", bucket]);
        assert.doesNotMatch(left.stdout, /big\.bin/);
        const uploads = await aws(app, scratch, ["s3api", "list-multipart-uploads", "--bucket", bucket]);
        assert.doesNotMatch(uploads.stdout, /big\.bin/);
        assert.ok((await df(dataDir)).avail > 80 * MiB, "the aborted upload's parts are gone");

        // Objects fill the disk up to the reserve: the write that would cut into it is refused, whole.
        const piece = join(scratch, "piece.bin");
        await writeTestFile(piece, 6 * MiB);
        let stored = 0;
        let refusal: { code: number; stderr: string } | undefined;
        while (!refusal && stored < 20) {
          const put = await aws(
            app,
            scratch,
            ["s3", "cp", "--only-show-errors", piece, `s3://${bucket}/fill/${stored}`],
            {
              allowFailure: true,
            },
          );
          if (put.code === 0) stored++;
          else refusal = put;
        }
        assert.match(refusal?.stderr ?? "never refused", /InsufficientStorage/);
        assert.ok(stored >= 10, `${stored} objects of 6 MiB stored on a 96 MiB disk`);
        const free = (await api.health()).storage[0]!;
        assert.ok(free.availableBytes >= free.minFreeBytes, JSON.stringify(free));
        assert.ok(free.availableBytes < free.minFreeBytes + 6 * MiB, JSON.stringify(free));

        // The reserve kept room for the appliance's own state: its database and its operation journal take writes.
        const key = await api.accessKeys.create({ description: "after a full disk" });
        assert.ok(key.secretAccessKey);
        const verify = await api.request<{ ok: boolean; size: number }>("POST", "/integrity/verify");
        assert.ok(verify.ok, JSON.stringify(verify));
        // Deleting needs no room; it makes room for the next write.
        await aws(app, scratch, ["s3", "rm", "--only-show-errors", `s3://${bucket}/fill/0`]);
        const small = join(scratch, "small.txt");
        await Deno.writeTextFile(small, "still writable");
        await aws(app, scratch, ["s3", "cp", "--only-show-errors", small, `s3://${bucket}/small.txt`]);
        const back = await aws(app, scratch, ["s3", "cp", "--only-show-errors", `s3://${bucket}/small.txt`, "-"]);
        assert.equal(back.stdout, "still writable");
        assert.equal((await api.health()).status, "ok");
      } finally {
        await app.stop();
      }
    } finally {
      await Deno.remove(scratch, { recursive: true });
    }
  });
});
