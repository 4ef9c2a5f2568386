import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { sdkClient, startAppliance, trickleUpload } from "./_appliance.ts";

const MiB = 1024 * 1024;

function pattern(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 17) & 0xff;
  return out;
}

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

Deno.test("kill -9 during uploads: after restart no object is corrupt and the multipart upload completes", async () => {
  let app = await startAppliance();
  const dataDir = app.dataDir;
  try {
    let s3 = sdkClient(app);
    const bucket = app.creds.bucket;
    const stable = pattern(1, 2 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "stable", Body: stable }));
    const part1 = pattern(2, 5 * MiB);
    const part2 = pattern(3, 3 * MiB);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mp" }));
    const p1 = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: "mp", UploadId, PartNumber: 1, Body: part1 }),
    );

    // In flight at the kill: three overwrites of "stable", two new objects and part 2.
    const inflight = [
      ...[4, 5, 6].map((seed) => ({ key: "stable", data: pattern(seed, 8 * MiB) })),
      ...[7, 8].map((seed) => ({ key: `new-${seed}`, data: pattern(seed, 8 * MiB) })),
    ];
    let progressed = 0;
    const onProgress = () => progressed++;
    const pending = inflight.map(async ({ key, data }) => {
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key }));
      return await trickleUpload(url, data, { onProgress }).catch(() => "broken");
    });
    const partUrl = await getSignedUrl(
      s3,
      new UploadPartCommand({ Bucket: bucket, Key: "mp", UploadId, PartNumber: 2 }),
    );
    const pendingPart = trickleUpload(partUrl, part2, { onProgress }).catch(() => "broken");
    while (progressed < 12) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await app.stop("SIGKILL"), 137);
    const outcomes = await Promise.all([...pending, pendingPart]);
    assert.ok(outcomes.every((o) => o === "broken"), `every upload was cut by the kill: ${outcomes}`);
    s3.destroy();

    app = await startAppliance({ dataDir });
    s3 = sdkClient(app);
    const valid = new Map<string, Set<string>>([["stable", new Set([md5(stable)])]]);
    for (const { key, data } of inflight) (valid.get(key) ?? valid.set(key, new Set()).get(key)!).add(md5(data));
    for (const [key, sums] of valid) {
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const bytes = await got.Body!.transformToByteArray();
        assert.ok(sums.has(md5(bytes)), `${key} is one complete write, not torn`);
        assert.equal(got.ETag, `"${md5(bytes)}"`);
      } catch (err) {
        if ((err as { name?: string }).name !== "NoSuchKey" || key === "stable") throw err;
      }
    }

    const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: "mp", UploadId }));
    assert.equal(parts.Parts?.[0]?.ETag, p1.ETag, "the acknowledged part survived the crash");
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: "mp", UploadId, PartNumber: 2, Body: part2 }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "mp",
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] },
      }),
    );
    const whole = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "mp" }))).Body!
      .transformToByteArray();
    assert.equal(md5(whole), md5(new Uint8Array([...part1, ...part2])));
    s3.destroy();
  } finally {
    await app.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
