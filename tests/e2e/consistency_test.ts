import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { join } from "node:path";
import { sdkClient, withAppliance } from "./_appliance.ts";
import { tempLeftovers } from "../../src/storage/_testing/contract_helpers.ts";

/** A body whose every byte says which writer produced it, so a torn object is detectable. */
function body(writer: number, size: number): Uint8Array {
  return new Uint8Array(size).fill(writer);
}

Deno.test("concurrent overwrites of one key: readers only ever see one complete write; the last one wins", async () => {
  await withAppliance(async (app) => {
    const s3 = sdkClient(app);
    const bucket = app.creds.bucket;
    const size = 3 * 1024 * 1024 + 17;
    const writers = 12;
    const etags = new Map<string, number>();
    for (let w = 1; w <= writers; w++) etags.set(`"${createHash("md5").update(body(w, size)).digest("hex")}"`, w);

    let reading = true;
    const reads: Promise<void>[] = [];
    for (let r = 0; r < 3; r++) {
      reads.push((async () => {
        while (reading) {
          try {
            const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "hot" }));
            const bytes = await got.Body!.transformToByteArray();
            assert.equal(bytes.length, size, "never a short object");
            assert.ok(bytes.every((b) => b === bytes[0]), "never a mix of two writes");
            assert.equal(etags.get(got.ETag!), bytes[0], "ETag matches the body");
          } catch (err) {
            if ((err as { name?: string }).name !== "NoSuchKey") throw err;
          }
        }
      })());
    }
    let lastFinished = 0;
    await Promise.all(Array.from({ length: writers }, async (_, i) => {
      const w = i + 1;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "hot", Body: body(w, size) }));
      lastFinished = w;
    }));
    reading = false;
    await Promise.all(reads);
    const final = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "hot" }));
    const bytes = await final.Body!.transformToByteArray();
    assert.ok(bytes.every((b) => b === bytes[0]));
    // The last PUT to complete is the one that stays (all PUTs of one key are serialized by completion).
    assert.equal(bytes[0], lastFinished);
    s3.destroy();
  });
});

Deno.test("a client that disconnects mid-upload leaves no object and no temp data behind", async () => {
  await withAppliance(async (app) => {
    const s3 = sdkClient(app);
    const bucket = app.creds.bucket;
    const url = new URL(app.s3);
    // An authenticated upload (presigned PUT) over a raw socket: announce 10 MB, send 1 MB, then vanish.
    const signed = new URL(
      await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: "partial" }), { expiresIn: 60 }),
    );
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    const head = `PUT ${signed.pathname}${signed.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
      `Content-Length: 10000000\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    await conn.write(new Uint8Array(1_000_000));
    conn.close();
    // The same through the SDK, whose request is aborted mid-body.
    const abort = new AbortController();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(1_000_000));
        setTimeout(() => abort.abort(), 200);
      },
    });
    await assert.rejects(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "partial", Body: stream, ContentLength: 10_000_000 }), {
        abortSignal: abort.signal,
      }),
    );
    await new Promise((r) => setTimeout(r, 500));
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "partial" })), { name: "NotFound" });
    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.equal(list.KeyCount, 0);
    assert.deepEqual(
      tempLeftovers(join(app.dataDir, "objects", "tmp")),
      [],
      "temp files of the aborted uploads are removed",
    );
    s3.destroy();
  });
});
