// Real-client tests: the AWS SDK for JavaScript v3 at its pinned latest version, default checksum behaviour
// (CRC32 sent as an aws-chunked trailer for streams), lib-storage multipart uploads and presigned URLs.
import assert from "node:assert/strict";
import { textOfUtf8ByteString } from "../bytes.ts";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import {
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketCorsCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetBucketCorsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketTaggingCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  paginateListBuckets,
  PutBucketAclCommand,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { ADMIN, createHarness, sdkSigner } from "./_testing/harness.ts";
import { digestBase64 } from "./wire/checksums.ts";
import { serveHarness } from "./_testing/server.ts";

function client(endpoint: string, key = ADMIN, region = "us-east-1") {
  return new S3Client({ endpoint, region, forcePathStyle: true, credentials: key });
}

async function withServer(
  fn: (s3: S3Client, ctx: { endpoint: string; h: ReturnType<typeof createHarness>; seen: Headers[] }) => Promise<void>,
) {
  const h = createHarness();
  const server = await serveHarness(h);
  const s3 = client(server.endpoint);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "sdk" }));
    await fn(s3, { endpoint: server.endpoint, h, seen: server.seen });
  } finally {
    s3.destroy();
    await server.close();
  }
}

async function rejectsWith(p: Promise<unknown>, name: string, status: number) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, String(err));
    assert.equal(err.name, name);
    assert.equal(err.$metadata.httpStatusCode, status);
    return true;
  });
}

function streamOf(bytes: Uint8Array, piece = 10_000): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.length) return c.close();
      c.enqueue(bytes.slice(off, off + piece));
      off += piece;
    },
  });
}

Deno.test("SDK: PutObject/GetObject/HeadObject round-trip metadata, standard headers and CRC32 checksums", async () => {
  await withServer(async (s3, { h }) => {
    await s3.send(
      new PutObjectCommand({
        Bucket: "sdk",
        Key: "dir/hello world+ü.txt",
        Body: "hello, world",
        ContentType: "text/plain",
        ContentDisposition: "attachment",
        CacheControl: "no-cache",
        ContentLanguage: "de",
        Metadata: { owner: "alice", purpose: "test", city: "Zürich" },
      }),
    );
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: "sdk", Key: "dir/hello world+ü.txt", ChecksumMode: "ENABLED" }),
    );
    assert.equal(head.ContentLength, 12);
    assert.equal(head.ContentType, "text/plain");
    assert.equal(head.ContentDisposition, "attachment");
    assert.equal(head.CacheControl, "no-cache");
    assert.equal(head.ContentLanguage, "de");
    // The SDK sends a value beyond ASCII as UTF-8, and signs those bytes; they come back as sent (the SDK reads
    // a header's bytes as Latin-1).
    assert.deepEqual({ ...head.Metadata, city: textOfUtf8ByteString(head.Metadata!.city!) }, {
      owner: "alice",
      purpose: "test",
      city: "Zürich",
    });
    assert.equal(head.ChecksumCRC32, "/6tyOg==");
    const got = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "dir/hello world+ü.txt" }));
    assert.equal(await got.Body!.transformToString(), "hello, world");
    assert.equal(got.ETag, '"e4d7f1b4ed2e42d15898f4b27b019da4"');
    const put = h.events.find((e) => e.op === "PutObject")!;
    assert.equal(put.key, "dir/hello world+ü.txt");
    assert.equal(put.actor, ADMIN.accessKeyId);
    assert.equal(put.checksums?.crc32, "/6tyOg==");
  });
});

Deno.test("SDK: a Node stream body is sent aws-chunked (STREAMING-UNSIGNED-PAYLOAD-TRAILER) with a CRC32 trailer", async () => {
  await withServer(async (s3, { h, seen }) => {
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 0xff);
    const body = Readable.from((function* () {
      for (let i = 0; i < data.length; i += 10_000) yield Buffer.from(data.subarray(i, i + 10_000));
    })());
    await s3.send(new PutObjectCommand({ Bucket: "sdk", Key: "stream.bin", Body: body, ContentLength: data.length }));
    const sent = seen[seen.length - 1]!;
    assert.equal(sent.get("x-amz-content-sha256"), "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    assert.equal(sent.get("x-amz-trailer"), "x-amz-checksum-crc32");
    const got = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "stream.bin" }));
    assert.deepEqual(await got.Body!.transformToByteArray(), data);
    const put = h.events.find((e) => e.op === "PutObject")!;
    assert.equal(put.size, data.length);
    assert.ok(put.bytesIn > data.length, "aws-chunked framing is counted on the wire");
    assert.ok(put.checksums?.crc32);
  });
});

Deno.test("HTTP: Transfer-Encoding chunked without Content-Length is accepted (SDK-signed, unsigned payload)", async () => {
  await withServer(async (s3, { endpoint, seen }) => {
    const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 31) & 0xff);
    const url = new URL(`${endpoint}/sdk/chunked.bin`);
    const signed = await sdkSigner(ADMIN).sign({
      method: "PUT",
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    });
    const res = await fetch(url, { method: "PUT", headers: signed.headers, body: streamOf(data, 30_000) });
    assert.equal(res.status, 200, await res.text());
    const sent = seen[seen.length - 1]!;
    assert.equal(sent.get("content-length"), null);
    assert.equal(sent.get("transfer-encoding"), "chunked");
    const got = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "chunked.bin" }));
    assert.deepEqual(await got.Body!.transformToByteArray(), data);
  });
});

Deno.test("SDK: lib-storage Upload runs a multipart upload; ranged GET returns 206", async () => {
  await withServer(async (s3, { h }) => {
    const size = 11 * 1024 * 1024 + 123;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) data[i] = (i / 4096) & 0xff;
    const upload = new Upload({
      client: s3,
      params: { Bucket: "sdk", Key: "big.bin", Body: streamOf(data, 256 * 1024) },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    const result = await upload.done();
    assert.match(result.ETag ?? "", /-3"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "big.bin" }));
    assert.equal(head.ContentLength, size);
    const whole = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "big.bin" }));
    assert.deepEqual(await whole.Body!.transformToByteArray(), data);
    const part = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "big.bin", Range: "bytes=5242880-5251071" }));
    assert.equal(part.$metadata.httpStatusCode, 206);
    assert.equal(part.ContentRange, `bytes 5242880-5251071/${size}`);
    assert.deepEqual(await part.Body!.transformToByteArray(), data.slice(5242880, 5251072));
    assert.deepEqual(
      h.events.filter((e) => e.op !== "GetObject" && e.op !== "HeadObject").map((e) => e.op).sort(),
      ["CompleteMultipartUpload", "CreateBucket", "CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart"],
    );
    await s3.send(
      new CreateBucketCommand({ Bucket: "elsewhere", CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } }),
    );
    assert.equal(
      (await s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "big.bin" }))).$metadata.httpStatusCode,
      200,
    );
  });
});

Deno.test("SDK: ListObjectsV2 pages with continuation tokens and delimiters; CopyObject and DeleteObjects", async () => {
  await withServer(async (s3) => {
    for (const k of ["a/1", "a/2", "b/1", "c", "d"]) {
      await s3.send(new PutObjectCommand({ Bucket: "sdk", Key: k, Body: k }));
    }
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: "sdk", MaxKeys: 2, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    assert.deepEqual(keys, ["a/1", "a/2", "b/1", "c", "d"]);
    const grouped = await s3.send(new ListObjectsV2Command({ Bucket: "sdk", Delimiter: "/" }));
    assert.deepEqual(grouped.CommonPrefixes?.map((p) => p.Prefix), ["a/", "b/"]);
    assert.deepEqual(grouped.Contents?.map((o) => o.Key), ["c", "d"]);
    await s3.send(new CopyObjectCommand({ Bucket: "sdk", Key: "copy of c", CopySource: "sdk/c" }));
    const copied = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "copy of c" }));
    assert.equal(await copied.Body!.transformToString(), "c");
    const del = await s3.send(
      new DeleteObjectsCommand({ Bucket: "sdk", Delete: { Objects: [{ Key: "a/1" }, { Key: "a/2" }] } }),
    );
    assert.deepEqual(del.Deleted?.map((d) => d.Key), ["a/1", "a/2"]);
  });
});

Deno.test("SDK: conditional writes: IfNoneMatch creates once, also among racing writers; IfMatch; multipart", async () => {
  await withServer(async (s3) => {
    const putIf = (Key: string, Body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) =>
      s3.send(new PutObjectCommand({ Bucket: "sdk", Key, Body, ...condition }));
    const first = await putIf("lock", "held by 1", { IfNoneMatch: "*" });
    await rejectsWith(putIf("lock", "held by 2", { IfNoneMatch: "*" }), "PreconditionFailed", 412);
    const racers = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => putIf("race", `writer ${i}`, { IfNoneMatch: "*" })),
    );
    assert.equal(racers.filter((r) => r.status === "fulfilled").length, 1);
    const winner = racers.findIndex((r) => r.status === "fulfilled");
    const got = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "race" }));
    assert.equal(await got.Body!.transformToString(), `writer ${winner}`);
    await rejectsWith(
      putIf("lock", "stale", { IfMatch: '"00000000000000000000000000000000"' }),
      "PreconditionFailed",
      412,
    );
    await putIf("lock", "released", { IfMatch: first.ETag! });
    await rejectsWith(putIf("nothing", "x", { IfMatch: first.ETag! }), "NoSuchKey", 404);

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "sdk", Key: "lock" }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: "sdk", Key: "lock", UploadId, PartNumber: 1, Body: "multipart" }),
    );
    const complete = (condition: { IfNoneMatch?: string }) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: "sdk",
          Key: "lock",
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          ...condition,
        }),
      );
    await rejectsWith(complete({ IfNoneMatch: "*" }), "PreconditionFailed", 412);
    await complete({});
    const after = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "lock" }));
    assert.equal(await after.Body!.transformToString(), "multipart");
  });
});

Deno.test("SDK presigned POST: a browser form upload within its policy is stored; outside it, nothing is", async () => {
  await withServer(async (s3, { h }) => {
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: "sdk",
      Key: "uploads/${filename}",
      Conditions: [["starts-with", "$key", "uploads/"], ["content-length-range", 1, 100_000], [
        "starts-with",
        "$Content-Type",
        "text/",
      ]],
      Fields: { "Content-Type": "text/plain", success_action_status: "201" },
      Expires: 600,
    });
    const post = (file: Blob, name: string, change: Record<string, string> = {}) => {
      const form = new FormData();
      for (const [k, v] of Object.entries({ ...fields, ...change })) form.append(k, v);
      form.append("file", file, name);
      return fetch(url, { method: "POST", body: form });
    };
    const refused = async (res: Response, status: number, code: string) => {
      assert.equal(res.status, status);
      assert.match(await res.text(), new RegExp(`<Code>${code}</Code>`));
    };
    const res = await post(new Blob(["hello from a browser"]), "hello.txt");
    assert.equal(res.status, 201);
    assert.match(
      await res.text(),
      /<PostResponse xmlns="[^"]+"><Location>[^<]+\/sdk\/uploads\/hello.txt<\/Location><Bucket>sdk<\/Bucket><Key>uploads\/hello.txt<\/Key><ETag>/,
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "uploads/hello.txt" }));
    assert.equal(got.ContentType, "text/plain");
    assert.equal(await got.Body!.transformToString(), "hello from a browser");
    const event = h.events.at(-2)!; // the GET's event is the last
    assert.deepEqual([event.op, event.key, event.size, event.actor], [
      "PostObject",
      "uploads/hello.txt",
      20,
      ADMIN.accessKeyId,
    ]);

    await refused(await post(new Blob([new Uint8Array(100_001)]), "big.bin"), 400, "EntityTooLarge");
    await refused(await post(new Blob([""]), "empty.txt"), 400, "EntityTooSmall");
    await refused(await post(new Blob(["x"]), "x.txt", { "Content-Type": "image/png" }), 403, "AccessDenied");
    await refused(await post(new Blob(["x"]), "x.txt", { "x-amz-meta-extra": "1" }), 403, "AccessDenied");
    await refused(await post(new Blob(["x"]), "x.txt", { key: "elsewhere/x.txt" }), 403, "AccessDenied");
    const otherPolicy = btoa(JSON.stringify({ expiration: "2099-01-01T00:00:00Z", conditions: [] }));
    await refused(await post(new Blob(["x"]), "x.txt", { Policy: otherPolicy }), 403, "SignatureDoesNotMatch");
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "sdk" }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), ["uploads/hello.txt"]);
  });
});

Deno.test("SDK presigned POST: fields beyond ASCII are kept as a header would be; a control character is refused", async () => {
  await withServer(async (s3) => {
    const post = async (key: string, extra: Record<string, string>) => {
      const { url, fields } = await createPresignedPost(s3, { Bucket: "sdk", Key: key, Fields: extra, Expires: 600 });
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append("file", new Blob(["x"]), "x.txt");
      return await fetch(url, { method: "POST", body: form });
    };
    // Stored as their UTF-8 bytes (a header value beyond Latin-1 cannot be sent otherwise: every GET of the object
    // failed), so they read back as the same bytes as metadata a PUT sent in headers.
    const disposition = 'attachment; filename="€.txt"';
    let res = await post("form/euro", { "x-amz-meta-price": "5 €", "Content-Disposition": disposition });
    assert.equal(res.status, 204, await res.text());
    const head = await s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "form/euro" }));
    assert.equal(textOfUtf8ByteString(head.Metadata!.price!), "5 €");
    assert.equal(textOfUtf8ByteString(head.ContentDisposition!), disposition);
    const got = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "form/euro" }));
    assert.equal(await got.Body!.transformToString(), "x");
    res = await post("form/split", { "x-amz-meta-note": "a\r\nx-injected: 1" });
    assert.equal(res.status, 400);
    assert.match(
      await res.text(),
      /<Code>InvalidArgument<\/Code><Message>x-amz-meta-note cannot hold control characters/,
    );
    await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "form/split" })), "NotFound", 404);
    // A storage class is checked as on a PUT (an unknown one was stored, and broke the object's answers).
    res = await post("form/class", { "x-amz-storage-class": "GLACIER\r\nx" });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /<Code>InvalidStorageClass<\/Code>/);
  });
});

Deno.test("SDK: keys holding line ends or control characters are listed and batch-deleted as they are", async () => {
  await withServer(async (s3) => {
    const keys = ["notes/a\r\nb", "notes/c\rd", "notes/e\nf", "notes/g\u0001h\u001fi", "notes/j\ufffek"];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: "sdk", Key, Body: "x" }));
    // XML parsers read a raw carriage return as a line feed; S3 writes both as character references, and the
    // characters XML 1.0 cannot hold too.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "sdk", Prefix: "notes/" }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), keys);
    for (const Key of keys) await s3.send(new HeadObjectCommand({ Bucket: "sdk", Key }));
    const deleted = await s3.send(
      new DeleteObjectsCommand({ Bucket: "sdk", Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    assert.deepEqual(deleted.Deleted?.map((d) => d.Key).sort(), [...keys].sort());
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: "sdk", Prefix: "notes/" }))).KeyCount, 0);
  });
});

Deno.test("SDK: bucket settings (CORS, lifecycle, tags, ACL, public access block) with its default request checksums", async () => {
  await withServer(async (s3, { seen }) => {
    const CORSRules = [{ AllowedOrigins: ["https://pve.example"], AllowedMethods: ["GET", "PUT"], MaxAgeSeconds: 60 }];
    await s3.send(new PutBucketCorsCommand({ Bucket: "sdk", CORSConfiguration: { CORSRules } }));
    // The SDK proves the body with a checksum header of its own choice rather than Content-MD5.
    const sent = seen.at(-1)!;
    assert.ok([...sent.keys()].some((name) => name.startsWith("x-amz-checksum-")), [...sent.keys()].join(" "));
    assert.deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket: "sdk" }))).CORSRules, CORSRules);
    await s3.send(new DeleteBucketCorsCommand({ Bucket: "sdk" }));
    await rejectsWith(s3.send(new GetBucketCorsCommand({ Bucket: "sdk" })), "NoSuchCORSConfiguration", 404);

    // A common baseline policy: actions on versions (nothing to act on in an unversioned bucket) are kept as set,
    // and a rule given with the older rule-level Prefix is answered with it.
    const Rules = [{
      ID: "uploads",
      Status: "Enabled" as const,
      Filter: { Prefix: "dump/" },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    }, {
      ID: "versions",
      Status: "Enabled" as const,
      Prefix: "logs/",
      Expiration: { ExpiredObjectDeleteMarker: true },
      NoncurrentVersionExpiration: { NoncurrentDays: 30, NewerNoncurrentVersions: 2 },
    }];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: "sdk", LifecycleConfiguration: { Rules } }));
    assert.deepEqual((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "sdk" }))).Rules, Rules);

    const TagSet = [{ Key: "owner", Value: "pve-admins" }];
    await s3.send(new PutBucketTaggingCommand({ Bucket: "sdk", Tagging: { TagSet } }));
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket: "sdk" }))).TagSet, TagSet);

    await s3.send(new PutBucketAclCommand({ Bucket: "sdk", ACL: "private" }));
    await rejectsWith(
      s3.send(new PutBucketAclCommand({ Bucket: "sdk", ACL: "public-read" })),
      "AccessControlListNotSupported",
      400,
    );
    const block = {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    };
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: "sdk", PublicAccessBlockConfiguration: block }));
  });
});

Deno.test("SDK: presigned GET and PUT URLs work; an expired or tampered one is refused", async () => {
  await withServer(async (s3) => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: "sdk", Key: "presigned.txt" }), {
      expiresIn: 60,
    });
    let res = await fetch(putUrl, { method: "PUT", body: "via presigned PUT" });
    assert.equal(res.status, 200, await res.text());
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "sdk", Key: "presigned.txt" }), {
      expiresIn: 60,
    });
    res = await fetch(getUrl);
    assert.equal(await res.text(), "via presigned PUT");
    res = await fetch(getUrl.replace("presigned.txt", "presigned.txx"));
    assert.equal(res.status, 403);
    assert.match(await res.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    const old = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "sdk", Key: "presigned.txt" }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 120_000),
    });
    res = await fetch(old);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /<Code>AccessDenied<\/Code><Message>Request has expired/);
  });
});

Deno.test("SDK: errors surface with S3 codes (NoSuchKey, NoSuchBucket, SignatureDoesNotMatch, InvalidAccessKeyId)", async () => {
  await withServer(async (s3, { endpoint }) => {
    await rejectsWith(s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "missing" })), "NoSuchKey", 404);
    await rejectsWith(s3.send(new PutObjectCommand({ Bucket: "nobucket", Key: "k", Body: "x" })), "NoSuchBucket", 404);
    const wrongSecret = client(endpoint, { accessKeyId: ADMIN.accessKeyId, secretAccessKey: "wrong" });
    const unknownKey = client(endpoint, { accessKeyId: "AKUNKNOWN", secretAccessKey: "whatever" });
    try {
      await rejectsWith(
        wrongSecret.send(new PutObjectCommand({ Bucket: "sdk", Key: "k", Body: "x" })),
        "SignatureDoesNotMatch",
        403,
      );
      await rejectsWith(unknownKey.send(new GetObjectCommand({ Bucket: "sdk", Key: "k" })), "InvalidAccessKeyId", 403);
    } finally {
      wrongSecret.destroy();
      unknownKey.destroy();
    }
  });
});

Deno.test("SDK: ListBuckets pages by MaxBuckets with ContinuationToken (paginateListBuckets), filtered by Prefix and BucketRegion", async () => {
  await withServer(async (s3) => {
    const names = ["pg-e", "pg-a", "pg-d", "other", "pg-c", "pg-b"];
    for (const Bucket of names) await s3.send(new CreateBucketCommand({ Bucket }));
    const pages: string[][] = [];
    for await (const page of paginateListBuckets({ client: s3, pageSize: 2 }, { Prefix: "pg-" })) {
      assert.equal(page.Prefix, "pg-");
      pages.push((page.Buckets ?? []).map((b) => b.Name!));
    }
    assert.deepEqual(pages, [["pg-a", "pg-b"], ["pg-c", "pg-d"], ["pg-e"]]);
    const all = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(all.Buckets!.map((b) => b.Name), ["other", "pg-a", "pg-b", "pg-c", "pg-d", "pg-e", "sdk"]);
    assert.equal(all.ContinuationToken, undefined);
    const here = await s3.send(new ListBucketsCommand({ BucketRegion: "us-east-1", Prefix: "pg-a" }));
    assert.deepEqual(here.Buckets!.map((b) => [b.Name, b.BucketRegion]), [["pg-a", "us-east-1"]]);
    assert.deepEqual((await s3.send(new ListBucketsCommand({ BucketRegion: "eu-west-1" }))).Buckets ?? [], []);
    await rejectsWith(s3.send(new ListBucketsCommand({ MaxBuckets: 0 })), "InvalidArgument", 400);
    await rejectsWith(s3.send(new ListBucketsCommand({ ContinuationToken: "%%%" })), "InvalidArgument", 400);
  });
});

Deno.test("SDK: a completion retried after it succeeded gets the object; DeleteBucket takes uploads in progress with an empty bucket, not with a full one", async () => {
  await withServer(async (s3) => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "sdk", Key: "mp" }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: "sdk", Key: "mp", UploadId, PartNumber: 1, Body: "one" }),
    );
    const complete = () =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: "sdk",
          Key: "mp",
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
    const first = await complete();
    const again = await complete();
    assert.equal(again.ETag, first.ETag);
    await s3.send(new PutObjectCommand({ Bucket: "sdk", Key: "mp", Body: "replaced" }));
    await rejectsWith(complete(), "NoSuchUpload", 404);

    const pending = await s3.send(new CreateMultipartUploadCommand({ Bucket: "sdk", Key: "pending" }));
    await rejectsWith(s3.send(new DeleteBucketCommand({ Bucket: "sdk" })), "BucketNotEmpty", 409);
    const kept = await s3.send(new ListMultipartUploadsCommand({ Bucket: "sdk" }));
    assert.deepEqual(kept.Uploads!.map((u) => u.UploadId), [pending.UploadId]);
    await s3.send(new DeleteObjectCommand({ Bucket: "sdk", Key: "mp" }));
    await s3.send(new DeleteBucketCommand({ Bucket: "sdk" }));
    await s3.send(new CreateBucketCommand({ Bucket: "sdk" }));
    assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: "sdk" }))).Uploads, undefined);
  });
});

Deno.test("SDK: 40 concurrent uploads and downloads stay intact, one event each", async () => {
  await withServer(async (s3, { h }) => {
    const bodies = Array.from(
      { length: 40 },
      (_, i) => Uint8Array.from({ length: 1000 + i * 3001 }, (_, j) => (i * 7 + j) & 0xff),
    );
    await Promise.all(bodies.map((b, i) => s3.send(new PutObjectCommand({ Bucket: "sdk", Key: `c/${i}`, Body: b }))));
    const got = await Promise.all(
      bodies.map(async (_, i) =>
        await (await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: `c/${i}` }))).Body!.transformToByteArray()
      ),
    );
    got.forEach((g, i) => assert.deepEqual(g, bodies[i]));
    assert.equal(h.events.filter((e) => e.op === "PutObject" && e.status === 200).length, 40);
    assert.equal(h.events.filter((e) => e.op === "GetObject" && e.status === 200).length, 40);
    assert.equal(new Set(h.events.map((e) => e.requestId)).size, h.events.length, "request ids are unique");
    assert.match(h.gateway.metrics(), /s3_requests_in_flight 0/);
  });
});

Deno.test("SDK: a client configured for another region is told the gateway's region, as AWS does", async () => {
  await withServer(async (_s3, { endpoint }) => {
    const eu = client(endpoint, ADMIN, "eu-central-1");
    try {
      const err = await eu.send(new PutObjectCommand({ Bucket: "sdk", Key: "eu", Body: "region" })).then(
        () => assert.fail("a request signed for eu-central-1 was accepted"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof S3ServiceException);
      assert.equal(err.name, "AuthorizationHeaderMalformed");
      assert.match(err.message, /region 'eu-central-1' is wrong; expecting 'us-east-1'/);
      const url = await getSignedUrl(eu, new GetObjectCommand({ Bucket: "sdk", Key: "eu" }), { expiresIn: 30 });
      const res = await fetch(url);
      assert.equal(res.status, 400);
      assert.match(await res.text(), /AuthorizationQueryParametersError.*<Region>us-east-1<\/Region>/s);
    } finally {
      eu.destroy();
    }
  });
});

Deno.test("SDK object tags: Tagging on PutObject and a presigned POST, TagCount on GET and HEAD, Put/Get/DeleteObjectTagging with default checksums, CopyObject's TaggingDirective", async () => {
  await withServer(async (s3, { endpoint, seen }) => {
    await s3.send(
      new PutObjectCommand({ Bucket: "sdk", Key: "t", Body: "tagged", Tagging: "app=pve&tier=cold%20data" }),
    );
    const tagsOf = async (Key: string) =>
      (await s3.send(new GetObjectTaggingCommand({ Bucket: "sdk", Key }))).TagSet?.map((t) => [t.Key, t.Value]);
    assert.deepEqual(await tagsOf("t"), [["app", "pve"], ["tier", "cold data"]]);
    const got = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "t" }));
    assert.equal(got.TagCount, 2);
    assert.equal(await got.Body!.transformToString(), "tagged");
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "t" }))).TagCount, 2);

    await s3.send(
      new PutObjectTaggingCommand({ Bucket: "sdk", Key: "t", Tagging: { TagSet: [{ Key: "k", Value: "v" }] } }),
    );
    // The SDK proves the document with a checksum header of its own choice, not Content-MD5.
    assert.ok([...seen.at(-1)!.keys()].some((name) => name.startsWith("x-amz-checksum-")));
    assert.deepEqual(await tagsOf("t"), [["k", "v"]]);
    await s3.send(new CopyObjectCommand({ Bucket: "sdk", Key: "c", CopySource: "sdk/t" }));
    assert.deepEqual(await tagsOf("c"), [["k", "v"]]);
    await s3.send(
      new CopyObjectCommand({
        Bucket: "sdk",
        Key: "c",
        CopySource: "sdk/t",
        TaggingDirective: "REPLACE",
        Tagging: "n=1",
      }),
    );
    assert.deepEqual(await tagsOf("c"), [["n", "1"]]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: "sdk", Key: "t" }));
    assert.deepEqual(await tagsOf("t"), []);
    assert.equal((await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "t" }))).TagCount, undefined);
    await rejectsWith(
      s3.send(
        new PutObjectTaggingCommand({ Bucket: "sdk", Key: "t", Tagging: { TagSet: [{ Key: "aws:x", Value: "1" }] } }),
      ),
      "InvalidTag",
      400,
    );

    const tagging = "<Tagging><TagSet><Tag><Key>from</Key><Value>form</Value></Tag></TagSet></Tagging>";
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: "sdk",
      Key: "posted",
      Fields: { tagging },
      Expires: 600,
    });
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append("file", new Blob(["from a form"]), "f.txt");
    const res = await fetch(url, { method: "POST", body: form });
    assert.equal(res.status, 204, await res.text());
    assert.deepEqual(await tagsOf("posted"), [["from", "form"]]);
    assert.ok(url.startsWith(endpoint));
    // A form whose tagging field is not a Tagging document stores nothing.
    const bad = await createPresignedPost(s3, { Bucket: "sdk", Key: "bad-tags", Fields: { tagging: "<Tagging>" } });
    const badForm = new FormData();
    for (const [k, v] of Object.entries(bad.fields)) badForm.append(k, v);
    badForm.append("file", new Blob(["never stored"]), "f.txt");
    const refused = await fetch(bad.url, { method: "POST", body: badForm });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /<Code>MalformedXML<\/Code>/);
    await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "bad-tags" })), "NotFound", 404);
  });
});

Deno.test("SDK multipart with CRC64NVME and with CRC32 FULL_OBJECT: ListParts names the choice and each part's checksum, a completion must name the right ones, GetObjectAttributes pages through the object's parts, the whole object's checksum is checked by the SDK on GET and named in listings", async () => {
  await withServer(async (s3) => {
    const parts = [new Uint8Array(5 * 1024 * 1024).fill(7), new Uint8Array(1234).fill(9)];
    const whole = new Uint8Array([...parts[0]!, ...parts[1]!]);
    const cases: { Key: string; ChecksumAlgorithm: "CRC64NVME" | "CRC32"; ChecksumType?: "FULL_OBJECT" }[] = [
      { Key: "nvme", ChecksumAlgorithm: "CRC64NVME" },
      { Key: "crc32-full", ChecksumAlgorithm: "CRC32", ChecksumType: "FULL_OBJECT" },
    ];
    for (const { Key, ...checksum } of cases) {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "sdk", Key, ...checksum }));
      const done: CompletedPart[] = [];
      for (const [i, Body] of parts.entries()) {
        const out = await s3.send(
          new UploadPartCommand({ Bucket: "sdk", Key, UploadId, PartNumber: i + 1, Body, ...checksum }),
        );
        done.push({
          PartNumber: i + 1,
          ETag: out.ETag,
          ChecksumCRC64NVME: out.ChecksumCRC64NVME,
          ChecksumCRC32: out.ChecksumCRC32,
        });
      }
      const listed = await s3.send(new ListPartsCommand({ Bucket: "sdk", Key, UploadId }));
      assert.deepEqual([listed.ChecksumAlgorithm, listed.ChecksumType], [checksum.ChecksumAlgorithm, "FULL_OBJECT"]);
      assert.deepEqual(
        listed.Parts!.map((p) => p.ChecksumCRC64NVME ?? p.ChecksumCRC32),
        done.map((p) => p.ChecksumCRC64NVME ?? p.ChecksumCRC32),
        Key,
      );
      const { ChecksumCRC64NVME, ChecksumCRC32 } = done[1]!;
      const swapped = [{ ...done[0]!, ChecksumCRC64NVME, ChecksumCRC32 }, done[1]!];
      await rejectsWith(
        s3.send(
          new CompleteMultipartUploadCommand({ Bucket: "sdk", Key, UploadId, MultipartUpload: { Parts: swapped } }),
        ),
        "InvalidPart",
        400,
      );
      const completed = await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: "sdk", Key, UploadId, MultipartUpload: { Parts: done } }),
      );
      const attributes = (PartNumberMarker?: string) =>
        s3.send(
          new GetObjectAttributesCommand({
            Bucket: "sdk",
            Key,
            ObjectAttributes: ["ObjectParts"],
            MaxParts: 1,
            ...(PartNumberMarker ? { PartNumberMarker } : {}),
          }),
        );
      for (const [i, page] of [await attributes(), await attributes("1")].entries()) {
        const { Parts, ...rest } = page.ObjectParts!;
        assert.deepEqual(rest, {
          TotalPartsCount: 2,
          PartNumberMarker: i === 0 ? "0" : "1",
          MaxParts: 1,
          IsTruncated: i === 0,
          ...(i === 0 ? { NextPartNumberMarker: "1" } : {}),
        }, Key);
        const { PartNumber, Size, ChecksumCRC64NVME, ChecksumCRC32 } = Parts![0]!;
        assert.deepEqual([Parts!.length, PartNumber, Size], [1, i + 1, parts[i]!.byteLength]);
        assert.equal(ChecksumCRC64NVME ?? ChecksumCRC32, done[i]!.ChecksumCRC64NVME ?? done[i]!.ChecksumCRC32);
      }
      const algorithm = checksum.ChecksumAlgorithm.toLowerCase() as "crc64nvme" | "crc32";
      const expected = digestBase64(algorithm, whole);
      assert.equal(completed.ChecksumType, "FULL_OBJECT", Key);
      assert.equal(completed.ChecksumCRC64NVME ?? completed.ChecksumCRC32, expected, Key);
      // With ChecksumMode the SDK computes the body's checksum itself and fails the read on a mismatch.
      const got = await s3.send(new GetObjectCommand({ Bucket: "sdk", Key, ChecksumMode: "ENABLED" }));
      assert.equal(got.ChecksumType, "FULL_OBJECT");
      assert.equal((await got.Body!.transformToByteArray()).byteLength, whole.byteLength);
    }
    const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: "sdk" }));
    assert.deepEqual(
      Contents!.map(({ Key, ChecksumAlgorithm, ChecksumType }) => ({ Key, ChecksumAlgorithm, ChecksumType })),
      [
        { Key: "crc32-full", ChecksumAlgorithm: ["CRC32"], ChecksumType: "FULL_OBJECT" },
        { Key: "nvme", ChecksumAlgorithm: ["CRC64NVME"], ChecksumType: "FULL_OBJECT" },
      ],
      "listings name each object's checksum and its type",
    );
  });
});

Deno.test("SDK reads parts with ChecksumMode as S3 answers them: a composite object's part carries its own checksum (the SDK checks it), a FULL_OBJECT object's part none unless it is all of the object; a copy gets the full-object checksum of its bytes, of the source's algorithm or the one it names; parts of another algorithm and composite completions that leave out a part's checksum are refused", async () => {
  await withServer(async (s3) => {
    const parts = [new Uint8Array(5 * 1024 * 1024).fill(3), new Uint8Array(777).fill(4)];
    const upload = async (Key: string, ChecksumType: "COMPOSITE" | "FULL_OBJECT", bodies = parts) => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: "sdk", Key, ChecksumAlgorithm: "CRC32", ChecksumType }),
      );
      const done: CompletedPart[] = [];
      for (const [i, Body] of bodies.entries()) {
        const out = await s3.send(
          new UploadPartCommand({ Bucket: "sdk", Key, UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: "CRC32" }),
        );
        done.push({ PartNumber: i + 1, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32 });
      }
      return { UploadId, done };
    };
    const complete = (Key: string, UploadId: string | undefined, Parts: CompletedPart[]) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: "sdk", Key, UploadId, MultipartUpload: { Parts } }));
    const part = (Key: string, PartNumber: number) =>
      s3.send(new GetObjectCommand({ Bucket: "sdk", Key, PartNumber, ChecksumMode: "ENABLED" }));

    const composite = await upload("composite", "COMPOSITE");
    const other = new Uint8Array(100).fill(5);
    await assert.rejects(
      s3.send(
        new UploadPartCommand({
          Bucket: "sdk",
          Key: "composite",
          UploadId: composite.UploadId,
          PartNumber: 3,
          Body: other,
          ChecksumAlgorithm: "SHA256",
        }),
      ),
      (err: unknown) =>
        err instanceof S3ServiceException && err.name === "InvalidRequest" &&
        err.message === "Checksum Type mismatch occurred, expected checksum Type: crc32, actual checksum Type: sha256",
    );
    const bare = composite.done.map(({ PartNumber, ETag }) => ({ PartNumber, ETag }));
    await assert.rejects(
      complete("composite", composite.UploadId, bare),
      (err: unknown) =>
        err instanceof S3ServiceException && err.name === "InvalidRequest" &&
        /must include the checksum for each part\. It was missing for part 1/.test(err.message),
    );
    await assert.rejects(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: "sdk",
          Key: "composite",
          UploadId: composite.UploadId,
          MultipartUpload: { Parts: composite.done },
          ChecksumType: "FULL_OBJECT",
        }),
      ),
      (err: unknown) =>
        err instanceof S3ServiceException && err.name === "InvalidRequest" &&
        /created using the COMPOSITE checksum mode/.test(err.message),
    );
    await complete("composite", composite.UploadId, composite.done);
    const copy = await s3.send(new CopyObjectCommand({ Bucket: "sdk", Key: "copy", CopySource: "sdk/composite" }));
    const { ChecksumCRC32, ChecksumType } = copy.CopyObjectResult!;
    assert.deepEqual(
      [ChecksumCRC32, ChecksumType],
      [digestBase64("crc32", new Uint8Array([...parts[0]!, ...parts[1]!])), "FULL_OBJECT"],
      "a copy, one part, has the CRC32 of its bytes",
    );
    const sha = await s3.send(
      new CopyObjectCommand({
        Bucket: "sdk",
        Key: "copy-sha",
        CopySource: "sdk/composite",
        ChecksumAlgorithm: "SHA256",
      }),
    );
    const shaOfAll = digestBase64("sha256", new Uint8Array([...parts[0]!, ...parts[1]!]));
    assert.equal(sha.CopyObjectResult!.ChecksumSHA256, shaOfAll);
    const head = await s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "copy-sha", ChecksumMode: "ENABLED" }));
    assert.deepEqual([head.ChecksumSHA256, head.ChecksumCRC32, head.ChecksumType], [
      shaOfAll,
      undefined,
      "FULL_OBJECT",
    ]);
    await assert.rejects(
      s3.send(
        new CopyObjectCommand({
          Bucket: "sdk",
          Key: "copy-bad",
          CopySource: "sdk/composite",
          ChecksumAlgorithm: "MD4" as never,
        }),
      ),
      (err: unknown) => err instanceof S3ServiceException && err.name === "InvalidRequest",
    );
    for (const [i, bytes] of parts.entries()) {
      const got = await part("composite", i + 1);
      assert.deepEqual([got.ChecksumCRC32, got.ChecksumType], [digestBase64("crc32", bytes), "COMPOSITE"]);
      assert.deepEqual(await got.Body!.transformToByteArray(), bytes, "the SDK checked the part against it");
    }
    await assert.rejects(part("composite", 3), (err: unknown) => {
      assert.ok(err instanceof S3ServiceException);
      assert.deepEqual([err.name, (err as unknown as { ActualPartCount?: string }).ActualPartCount], [
        "InvalidPartNumber",
        "2",
      ]);
      return true;
    });

    const full = await upload("full", "FULL_OBJECT");
    await complete("full", full.UploadId, full.done.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })));
    const fullPart = await part("full", 2);
    assert.deepEqual([fullPart.ChecksumCRC32, fullPart.ChecksumType, fullPart.PartsCount], [undefined, undefined, 2]);
    await fullPart.Body!.transformToByteArray();
    const single = await upload("single", "FULL_OBJECT", [parts[1]!]);
    await complete("single", single.UploadId, single.done);
    const whole = await part("single", 1);
    assert.deepEqual([whole.ChecksumCRC32, whole.ChecksumType], [digestBase64("crc32", parts[1]!), "FULL_OBJECT"]);
    await whole.Body!.transformToByteArray();
  });
});

Deno.test("SDK conditional deletes: DeleteObject with IfMatch and DeleteObjects with an ETag per key delete only that version", async () => {
  await withServer(async (s3, { h }) => {
    const put = async (Key: string, Body: string) =>
      (await s3.send(new PutObjectCommand({ Bucket: "sdk", Key, Body }))).ETag!;
    const first = await put("lock", "one");
    await put("lock", "two");
    await rejectsWith(
      s3.send(new DeleteObjectCommand({ Bucket: "sdk", Key: "lock", IfMatch: first })),
      "PreconditionFailed",
      412,
    );
    const second = (await s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "lock" }))).ETag!;
    await s3.send(new DeleteObjectCommand({ Bucket: "sdk", Key: "lock", IfMatch: second }));
    await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: "sdk", Key: "lock" })), "NotFound", 404);

    const a = await put("a", "a");
    await put("b", "b");
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: "sdk",
        Delete: { Objects: [{ Key: "a", ETag: a }, { Key: "b", ETag: a }] },
      }),
    );
    assert.deepEqual(out.Deleted?.map((d) => d.Key), ["a"]);
    assert.deepEqual(out.Errors?.map((e) => [e.Key, e.Code]), [["b", "PreconditionFailed"]]);
    assert.equal(
      await (await s3.send(new GetObjectCommand({ Bucket: "sdk", Key: "b" }))).Body!.transformToString(),
      "b",
    );
    assert.deepEqual(h.events.filter((e) => e.op === "DeleteObjects").at(-1)?.deletedKeys, ["a"]);
  });
});
