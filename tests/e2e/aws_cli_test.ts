import assert from "node:assert/strict";
import { join } from "node:path";
import { digestBase64 } from "../../src/gateway/wire/checksums.ts";
import { aws, peakRssKiB, run, sha256File, withAppliance, writeTestFile } from "./_appliance.ts";

/** 1 GiB by default, as operators upload vzdump archives; smaller for quick local runs. */
const BIG = Number(Deno.env.get("S3PLUGIN_E2E_BIG_BYTES") ?? 1024 ** 3);

Deno.test("aws s3 cp: a 1 GiB file up and down arrives bit-identical, in bounded server memory", async () => {
  await withAppliance(async (app, scratch) => {
    const src = join(scratch, "big.bin");
    const back = join(scratch, "back.bin");
    await writeTestFile(src, BIG);
    const bucket = app.creds.bucket;
    await aws(app, scratch, ["s3", "cp", "--only-show-errors", src, `s3://${bucket}/dump/big.bin`]);
    const head = JSON.parse(
      (await aws(app, scratch, ["s3api", "head-object", "--bucket", bucket, "--key", "dump/big.bin"]))
        .stdout,
    );
    assert.equal(head.ContentLength, BIG);
    assert.match(head.ETag, /-\d+"$/, "aws s3 cp of a large file uses multipart");
    await aws(app, scratch, ["s3", "cp", "--only-show-errors", `s3://${bucket}/dump/big.bin`, back]);
    assert.equal(await sha256File(back), await sha256File(src));
    // Bodies stream: moving the object both ways must not grow the server beyond its bound.
    const peakMiB = await peakRssKiB(app.pid) / 1024;
    assert.ok(peakMiB < 200, `appliance peak RSS ${peakMiB.toFixed(0)} MiB, bound is 200 MiB`);
    const ls = (await aws(app, scratch, ["s3", "ls", `s3://${bucket}/dump/`])).stdout;
    assert.match(ls, new RegExp(`\\s${BIG} big\\.bin`));
  });
});

Deno.test("aws s3api multipart with CRC32 checksums: create, upload-part, list-parts, complete, get-object-attributes; abort removes an upload", async () => {
  await withAppliance(async (app, scratch) => {
    const bucket = app.creds.bucket;
    const api = (...args: string[]) =>
      aws(app, scratch, ["s3api", ...args]).then((r) => r.stdout ? JSON.parse(r.stdout) : {});
    const part1 = join(scratch, "p1");
    const part2 = join(scratch, "p2");
    await writeTestFile(part1, 5 * 1024 * 1024);
    await writeTestFile(part2, 1234);
    const { UploadId } = await api(
      "create-multipart-upload",
      "--bucket",
      bucket,
      "--key",
      "mp/obj",
      "--checksum-algorithm",
      "CRC32",
    );
    const e1 = await api(
      "upload-part",
      "--bucket",
      bucket,
      "--key",
      "mp/obj",
      "--upload-id",
      UploadId,
      "--part-number",
      "1",
      "--body",
      part1,
      "--checksum-algorithm",
      "CRC32",
    );
    const e2 = await api(
      "upload-part",
      "--bucket",
      bucket,
      "--key",
      "mp/obj",
      "--upload-id",
      UploadId,
      "--part-number",
      "2",
      "--body",
      part2,
      "--checksum-algorithm",
      "CRC32",
    );
    type Part = { PartNumber: number; Size: number; ETag: string; ChecksumCRC32: string };
    const parts = await api("list-parts", "--bucket", bucket, "--key", "mp/obj", "--upload-id", UploadId);
    assert.deepEqual(
      parts.Parts.map((p: Part) => [p.PartNumber, p.Size, p.ETag, p.ChecksumCRC32]),
      [
        [1, 5 * 1024 * 1024, e1.ETag, e1.ChecksumCRC32],
        [2, 1234, e2.ETag, e2.ChecksumCRC32],
      ],
    );
    // Debian's aws CLI 2.9 predates ChecksumType in its model (the SDK test reads it).
    assert.equal(parts.ChecksumAlgorithm, "CRC32");
    const layout = join(scratch, "parts.json");
    await Deno.writeTextFile(
      layout,
      JSON.stringify({
        Parts: [e1, e2].map((e, i) => ({ PartNumber: i + 1, ETag: e.ETag, ChecksumCRC32: e.ChecksumCRC32 })),
      }),
    );
    const done = await api(
      "complete-multipart-upload",
      "--bucket",
      bucket,
      "--key",
      "mp/obj",
      "--upload-id",
      UploadId,
      "--multipart-upload",
      `file://${layout}`,
    );
    assert.match(done.ETag, /-2"$/);
    assert.match(done.ChecksumCRC32, /^[A-Za-z0-9+/]{6}==-2$/, "the composite checksum of the parts'");
    const attributes = await api(
      "get-object-attributes",
      "--bucket",
      bucket,
      "--key",
      "mp/obj",
      "--object-attributes",
      "ObjectParts",
      "Checksum",
    );
    assert.equal(attributes.Checksum.ChecksumCRC32, done.ChecksumCRC32);
    assert.deepEqual(
      attributes.ObjectParts.Parts.map((p: Part) => [p.PartNumber, p.Size, p.ChecksumCRC32]),
      [[1, 5 * 1024 * 1024, e1.ChecksumCRC32], [2, 1234, e2.ChecksumCRC32]],
    );
    const out = join(scratch, "out");
    await api("get-object", "--bucket", bucket, "--key", "mp/obj", out);
    const joined = join(scratch, "joined");
    await Deno.writeFile(joined, new Uint8Array([...await Deno.readFile(part1), ...await Deno.readFile(part2)]));
    assert.equal(await sha256File(out), await sha256File(joined));
    // A part read with checksums on names the part's own (which the CLI checks), a copy the CRC32 of its bytes.
    const second = join(scratch, "second");
    const read = await api(
      "get-object",
      "--bucket",
      bucket,
      "--key",
      "mp/obj",
      "--part-number",
      "2",
      "--checksum-mode",
      "ENABLED",
      second,
    );
    assert.deepEqual([read.ChecksumCRC32, read.PartsCount], [e2.ChecksumCRC32, 2]);
    assert.equal(await sha256File(second), await sha256File(part2));
    const copy = await api("copy-object", "--bucket", bucket, "--key", "mp/copy", "--copy-source", `${bucket}/mp/obj`);
    assert.equal(copy.CopyObjectResult.ChecksumCRC32, digestBase64("crc32", await Deno.readFile(joined)));

    const aborted = await api("create-multipart-upload", "--bucket", bucket, "--key", "mp/aborted");
    await api(
      "upload-part",
      "--bucket",
      bucket,
      "--key",
      "mp/aborted",
      "--upload-id",
      aborted.UploadId,
      "--part-number",
      "1",
      "--body",
      part2,
    );
    const listed = await api("list-multipart-uploads", "--bucket", bucket);
    assert.deepEqual(listed.Uploads.map((u: { Key: string }) => u.Key), ["mp/aborted"]);
    await api("abort-multipart-upload", "--bucket", bucket, "--key", "mp/aborted", "--upload-id", aborted.UploadId);
    const after = await api("list-multipart-uploads", "--bucket", bucket);
    assert.equal(after.Uploads, undefined);
    const missing = await aws(app, scratch, [
      "s3api",
      "list-parts",
      "--bucket",
      bucket,
      "--key",
      "mp/aborted",
      "--upload-id",
      aborted.UploadId,
    ], { allowFailure: true });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NoSuchUpload/);
  });
});

Deno.test("aws s3 presign: the URL downloads, then expires; keys with `..` and `.` segments round-trip through s3api and s3 cp", async () => {
  await withAppliance(async (app, scratch) => {
    const bucket = app.creds.bucket;
    const src = join(scratch, "src.txt");
    await Deno.writeTextFile(src, "dot segments\n");
    for (const key of ["up/../down", "./here"]) {
      await aws(app, scratch, ["s3api", "put-object", "--bucket", bucket, "--key", key, "--body", src]);
      const back = join(scratch, "back.txt");
      await aws(app, scratch, ["s3api", "get-object", "--bucket", bucket, "--key", key, back]);
      assert.equal(await Deno.readTextFile(back), "dot segments\n", key);
      assert.equal((await aws(app, scratch, ["s3", "cp", `s3://${bucket}/${key}`, "-"])).stdout, "dot segments\n", key);
    }
    const listed = JSON.parse((await aws(app, scratch, ["s3api", "list-objects-v2", "--bucket", bucket])).stdout);
    assert.deepEqual(listed.Contents.map((o: { Key: string }) => o.Key).sort(), ["./here", "up/../down"]);

    const presign = (seconds: number) =>
      aws(app, scratch, ["s3", "presign", `s3://${bucket}/up/../down`, "--expires-in", String(seconds)])
        .then((r) => r.stdout.trim());
    // curl keeps the path as written (`--path-as-is`); URL parsers (fetch's among them) resolve the `..`.
    const curl = (url: string) =>
      run("/usr/bin/curl", ["--silent", "--path-as-is", "--write-out", "\n%{http_code}", url]);
    const url = await presign(60);
    assert.match(url, /X-Amz-Algorithm=AWS4-HMAC-SHA256/);
    assert.equal((await curl(url)).stdout, "dot segments\n\n200");
    const shortLived = await presign(1);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = (await curl(shortLived)).stdout;
    assert.match(expired, /<Message>Request has expired<\/Message>/);
    assert.ok(expired.endsWith("\n403"), expired);
  });
});
