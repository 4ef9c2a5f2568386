import assert from "node:assert/strict";
import { createHarness, errorCode, type Harness, READER, WRITER } from "../_testing/harness.ts";
import { racingHarness } from "../_testing/racing_harness.ts";
import { createFsStore } from "../../storage/fs.ts";
import { digestBase64 } from "../wire/checksums.ts";
import { utf8ByteString } from "../../bytes.ts";

async function withObject(body = "0123456789abcdef"): Promise<Harness> {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/bkt" });
  const res = await h.request({ method: "PUT", path: "/bkt/obj", body, headers: { "content-type": "text/plain" } });
  assert.equal(res.status, 200);
  return h;
}

Deno.test("Range GET: a-b, a-, suffix -n give 206 with Content-Range; past the end gives 416 with bytes */size", async () => {
  const h = await withObject();
  for (
    const [range, body, cr] of [
      ["bytes=0-3", "0123", "bytes 0-3/16"],
      ["bytes=10-", "abcdef", "bytes 10-15/16"],
      ["bytes=-4", "cdef", "bytes 12-15/16"],
      ["bytes=14-100", "ef", "bytes 14-15/16"],
    ]
  ) {
    const r = await h.text({ path: "/bkt/obj", headers: { range: range! } });
    assert.equal(r.res.status, 206, range!);
    assert.equal(r.body, body);
    assert.equal(r.res.headers.get("content-range"), cr);
    assert.equal(r.res.headers.get("content-length"), String(body!.length));
  }
  const r = await h.text({ path: "/bkt/obj", headers: { range: "bytes=16-20" } });
  assert.equal(r.res.status, 416);
  assert.equal(errorCode(r.body), "InvalidRange");
  assert.equal(r.res.headers.get("content-range"), "bytes */16");
  const multi = await h.text({ path: "/bkt/obj", headers: { range: "bytes=0-1,4-5" } });
  assert.equal(multi.res.status, 200, "multiple ranges are ignored as S3 does");
});

Deno.test("conditional GET follows S3 precedence (If-Match over If-Unmodified-Since, If-None-Match over If-Modified-Since)", async () => {
  const h = await withObject();
  const head = await h.request({ method: "HEAD", path: "/bkt/obj" });
  const etag = head.headers.get("etag")!;
  const lastModified = head.headers.get("last-modified")!;
  const past = "Mon, 01 Jan 2001 00:00:00 GMT";
  const future = "Fri, 01 Jan 2100 00:00:00 GMT";
  const cases: [Record<string, string>, number][] = [
    [{ "if-match": etag }, 200],
    [{ "if-match": '"other"' }, 412],
    [{ "if-match": etag, "if-unmodified-since": past }, 200],
    [{ "if-unmodified-since": past }, 412],
    [{ "if-unmodified-since": lastModified }, 200],
    [{ "if-none-match": etag }, 304],
    [{ "if-none-match": '"other"' }, 200],
    [{ "if-none-match": '"other"', "if-modified-since": future }, 200],
    [{ "if-modified-since": lastModified }, 304],
    [{ "if-modified-since": past }, 200],
    [{ "if-match": etag, "if-none-match": etag }, 304],
  ];
  for (const [headers, status] of cases) {
    const r = await h.text({ path: "/bkt/obj", headers });
    assert.equal(r.res.status, status, JSON.stringify(headers));
    if (status === 412) assert.equal(errorCode(r.body), "PreconditionFailed");
    if (status === 304) {
      assert.equal(r.body, "");
      assert.equal(r.res.headers.get("etag"), etag);
    }
  }
});

Deno.test("a ranged GET answers for the version it reads: an object replaced after its checks is checked again, so If-Match never gets another version's bytes", async () => {
  const { h, putOlder } = await racingHarness("bkt", "obj", { older: "older-0123456789", newer: "NEWER-0123456789" });
  const older = await putOlder();
  let r = await h.text({ path: "/bkt/obj", headers: { range: "bytes=0-4", "if-match": older } });
  assert.equal(r.res.status, 412, "the version If-Match names is gone");

  await putOlder();
  r = await h.text({ path: "/bkt/obj", headers: { range: "bytes=0-4" } });
  assert.equal(r.res.status, 206);
  const now = (await h.request({ method: "HEAD", path: "/bkt/obj" })).headers.get("etag");
  assert.deepEqual([r.body, r.res.headers.get("etag")], ["NEWER", now], "bytes and ETag of one version");
});

Deno.test("response-* query parameters override GET response headers", async () => {
  const h = await withObject();
  const r = await h.text({
    path: "/bkt/obj",
    query: { "response-content-type": "application/x-test", "response-content-disposition": "attachment; filename=x" },
  });
  assert.equal(r.res.headers.get("content-type"), "application/x-test");
  assert.equal(r.res.headers.get("content-disposition"), "attachment; filename=x");
});

Deno.test("response-* values beyond ASCII are sent as their UTF-8; control characters are refused", async () => {
  const h = await withObject();
  const disposition = 'attachment; filename="naïve €.txt"';
  const r = await h.text({ path: "/bkt/obj", query: { "response-content-disposition": disposition } });
  assert.equal(r.res.status, 200, r.body);
  // A header's value is bytes, read here a character per byte.
  assert.equal(r.res.headers.get("content-disposition"), utf8ByteString(disposition));
  for (const method of ["GET", "HEAD"]) {
    const refused = await h.text({
      method,
      path: "/bkt/obj",
      query: { "response-content-type": "text/plain\r\nx: y" },
    });
    assert.equal(refused.res.status, 400, method);
    if (method === "GET") assert.equal(errorCode(refused.body), "InvalidArgument");
  }
});

Deno.test("standard headers and x-amz-meta-* round-trip; aws-chunked is not stored as Content-Encoding", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/bkt" });
  const headers = {
    "content-type": "application/json",
    "content-disposition": "inline",
    "content-encoding": "gzip",
    "content-language": "fr",
    "cache-control": "max-age=60",
    expires: "Thu, 01 Dec 2033 16:00:00 GMT",
    "x-amz-meta-project": "pve",
    "x-amz-meta-Mixed-Case": "v",
  };
  await h.request({ method: "PUT", path: "/bkt/k", body: "{}", headers });
  const r = await h.request({ method: "HEAD", path: "/bkt/k" });
  for (const [k, v] of Object.entries(headers)) assert.equal(r.headers.get(k), v, k);
  assert.equal(r.headers.get("x-amz-meta-mixed-case"), "v");
  assert.equal(r.headers.get("content-length"), "2");
  const codings: [string, string][] = [["deflate, gzip", "deflate, gzip"], ["gzip,aws-chunked", "gzip"], [
    "aws-chunked, br",
    "br",
  ]];
  for (const [sent, stored] of codings) {
    await h.request({ method: "PUT", path: "/bkt/e", body: "{}", headers: { "content-encoding": sent } });
    assert.equal((await h.request({ method: "HEAD", path: "/bkt/e" })).headers.get("content-encoding"), stored, sent);
  }
  await h.request({ method: "PUT", path: "/bkt/e", body: "{}", headers: { "content-encoding": "aws-chunked" } });
  assert.equal((await h.request({ method: "HEAD", path: "/bkt/e" })).headers.get("content-encoding"), null);
  const big = await h.text({
    method: "PUT",
    path: "/bkt/m",
    body: "x",
    headers: { "x-amz-meta-big": "v".repeat(2100) },
  });
  assert.equal(errorCode(big.body), "MetadataTooLarge");
});

Deno.test("Content-MD5 and x-amz-checksum-* are verified; mismatches store nothing", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/bkt" });
  const body = new TextEncoder().encode("checksummed body");
  const good: Record<string, string> = {
    "content-md5": digestBase64("md5", body),
    "x-amz-checksum-sha256": digestBase64("sha256", body),
  };
  let r = await h.text({ method: "PUT", path: "/bkt/ok", body, headers: good });
  assert.equal(r.res.status, 200, r.body);
  assert.equal(r.res.headers.get("x-amz-checksum-sha256"), good["x-amz-checksum-sha256"]);
  for (const alg of ["crc32", "crc32c", "crc64nvme", "sha1"] as const) {
    const res = await h.request({
      method: "PUT",
      path: `/bkt/${alg}`,
      body,
      headers: { [`x-amz-checksum-${alg}`]: digestBase64(alg, body) },
    });
    assert.equal(res.status, 200, alg);
    const head = await h.request({
      method: "HEAD",
      path: `/bkt/${alg}`,
      headers: { "x-amz-checksum-mode": "ENABLED" },
    });
    assert.equal(head.headers.get(`x-amz-checksum-${alg}`), digestBase64(alg, body));
    const plain = await h.request({ method: "HEAD", path: `/bkt/${alg}` });
    assert.equal(plain.headers.get(`x-amz-checksum-${alg}`), null, "only returned with x-amz-checksum-mode");
  }
  const other = new TextEncoder().encode("other");
  const bad: [Record<string, string>, string][] = [
    [{ "content-md5": digestBase64("md5", other) }, "BadDigest"],
    [{ "x-amz-checksum-crc32c": digestBase64("crc32c", other) }, "BadDigest"],
    [{ "x-amz-checksum-crc64nvme": digestBase64("crc64nvme", other) }, "BadDigest"],
    [{ "content-md5": "not-base64!" }, "InvalidDigest"],
    [{ "x-amz-checksum-crc32": "AAAA" }, "InvalidRequest"],
    [
      { "x-amz-checksum-crc32": digestBase64("crc32", body), "x-amz-checksum-sha1": digestBase64("sha1", body) },
      "InvalidRequest",
    ],
  ];
  for (const [headers, code] of bad) {
    r = await h.text({ method: "PUT", path: "/bkt/bad", body, headers });
    assert.equal(errorCode(r.body), code, JSON.stringify(headers));
    assert.equal(r.res.status, 400);
  }
  assert.equal((await h.request({ method: "HEAD", path: "/bkt/bad" })).status, 404, "nothing stored");
});

Deno.test("x-amz-content-sha256 mismatch answers XAmzContentSHA256Mismatch and stores nothing", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/bkt" });
  const r = await h.text({ method: "PUT", path: "/bkt/k", body: "actual", contentSha256: "a".repeat(64) });
  assert.equal(r.res.status, 400);
  assert.equal(errorCode(r.body), "XAmzContentSHA256Mismatch");
  assert.equal((await h.request({ method: "HEAD", path: "/bkt/k" })).status, 404);
});

Deno.test("GET/HEAD/DELETE errors: NoSuchKey, NoSuchBucket, KeyTooLongError; DELETE of a missing key succeeds", async () => {
  const h = await withObject();
  let r = await h.text({ path: "/bkt/missing" });
  assert.equal(r.res.status, 404);
  assert.equal(errorCode(r.body), "NoSuchKey");
  r = await h.text({ path: "/nobucket/k" });
  assert.equal(errorCode(r.body), "NoSuchBucket");
  r = await h.text({ method: "PUT", path: "/bkt/" + "k".repeat(1025), body: "x" });
  assert.equal(r.res.status, 400);
  assert.equal(errorCode(r.body), "KeyTooLongError");
  r = await h.text({ path: "/bkt/obj", headers: { "x-amz-meta-pad": "p".repeat(70 * 1024) } });
  assert.equal(r.res.status, 400);
  assert.equal(errorCode(r.body), "RequestHeaderSectionTooLarge");
  r = await h.text({ method: "PUT", path: "/bkt/c", headers: { "x-amz-copy-source": "bkt/obj?versionId=v1" } });
  assert.equal(errorCode(r.body), "NoSuchVersion");
  assert.equal((await h.request({ method: "DELETE", path: "/bkt/missing" })).status, 204);
  assert.equal((await h.request({ method: "DELETE", path: "/bkt/obj" })).status, 204);
  assert.equal((await h.request({ method: "GET", path: "/bkt/obj" })).status, 404);
});

Deno.test("PUT size limits: EntityTooLarge for a declared length over 5 GiB; IncompleteBody for a short body", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/bkt" });
  let r = await h.text({
    method: "PUT",
    path: "/bkt/huge",
    body: ReadableStream.from([new Uint8Array(4)]),
    headers: { "x-amz-decoded-content-length": String(6 * 1024 ** 3) },
    contentSha256: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
  });
  assert.equal(errorCode(r.body), "EntityTooLarge");
  const chunked = "5\r\nhello\r\n0\r\n\r\n";
  r = await h.text({
    method: "PUT",
    path: "/bkt/short",
    body: chunked,
    headers: { "x-amz-decoded-content-length": "10", "content-encoding": "aws-chunked" },
    contentSha256: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
  });
  assert.equal(r.res.status, 400);
  assert.equal(errorCode(r.body), "IncompleteBody");
  assert.equal((await h.request({ method: "HEAD", path: "/bkt/short" })).status, 404);
});

Deno.test("conditional PUT: If-None-Match: * refuses to overwrite, If-Match requires the current ETag", async () => {
  const h = await withObject();
  let r = await h.text({ method: "PUT", path: "/bkt/obj", body: "new", headers: { "if-none-match": "*" } });
  assert.equal(r.res.status, 412);
  r = await h.text({ method: "PUT", path: "/bkt/fresh", body: "new", headers: { "if-none-match": "*" } });
  assert.equal(r.res.status, 200);
  r = await h.text({ method: "PUT", path: "/bkt/obj", body: "new", headers: { "if-match": '"nope"' } });
  assert.equal(r.res.status, 412);
});

Deno.test("grants: a read grant allows GET under its prefix only; write implies read; listing needs a granted prefix", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/shared" });
  for (const k of ["public/a", "team/b", "private/c"]) {
    await h.request({ method: "PUT", path: `/shared/${k}`, body: k });
  }
  assert.equal((await h.request({ path: "/shared/public/a", as: READER })).status, 200);
  assert.equal((await h.request({ path: "/shared/private/c", as: READER })).status, 403);
  assert.equal((await h.request({ method: "PUT", path: "/shared/public/x", body: "x", as: READER })).status, 403);
  assert.equal((await h.request({ method: "PUT", path: "/shared/team/x", body: "x", as: WRITER })).status, 200);
  assert.equal((await h.request({ path: "/shared/team/x", as: WRITER })).status, 200);
  assert.equal((await h.request({ method: "DELETE", path: "/shared/public/a", as: WRITER })).status, 403);
  let r = await h.text({ path: "/shared", query: { "list-type": "2", prefix: "public/" }, as: READER });
  assert.equal(r.res.status, 200);
  assert.match(r.body, /<Key>public\/a<\/Key>/);
  r = await h.text({ path: "/shared", query: { "list-type": "2" }, as: READER });
  assert.equal(r.res.status, 403);
  assert.equal(errorCode(r.body), "AccessDenied");
});

Deno.test("grants: multipart uploads are listed only under a granted prefix, as objects are", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/shared" });
  for (const key of ["team/mine.vma", "teamsecret/plan.vma", "private/other.vma"]) {
    await h.request({ method: "POST", path: `/shared/${key}`, query: { uploads: "" } });
  }
  const list = (prefix?: string) =>
    h.text({ path: "/shared", query: { uploads: "", ...(prefix === undefined ? {} : { prefix }) }, as: WRITER });
  const own = await list("team/");
  assert.equal(own.res.status, 200);
  assert.deepEqual([...own.body.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]), ["team/mine.vma"]);
  // Before, any key with a grant on the bucket saw every upload's key, and "team" reached beyond "team/".
  for (const prefix of [undefined, "", "team", "private/"]) {
    const refused = await list(prefix);
    assert.equal(refused.res.status, 403, String(prefix));
    assert.equal(errorCode(refused.body), "AccessDenied");
  }
});

Deno.test("a streamed body's Content-MD5 is checked by the fs store: PutObject and UploadPart, BadDigest stores nothing", async () => {
  const root = await Deno.makeTempDir();
  const store = await createFsStore({ root });
  try {
    const h = createHarness({ store });
    await h.request({ method: "PUT", path: "/bkt" });
    const body = Uint8Array.from({ length: 5 * 1024 * 1024 + 3 }, (_, i) => (i * 7 + (i >>> 11)) & 0xff);
    const good = { "content-md5": digestBase64("md5", body) };
    const wrong = { "content-md5": digestBase64("md5", body.subarray(1)) };
    const put = await h.request({ method: "PUT", path: "/bkt/big", body, headers: good });
    assert.equal(put.status, 200);
    assert.equal(put.headers.get("etag"), `"${Uint8Array.fromBase64(good["content-md5"]).toHex()}"`);
    const bad = await h.text({ method: "PUT", path: "/bkt/bad", body, headers: wrong });
    assert.equal(bad.res.status, 400);
    assert.equal(errorCode(bad.body), "BadDigest");
    assert.equal((await h.request({ method: "HEAD", path: "/bkt/bad" })).status, 404, "nothing stored");
    const overwrite = await h.text({ method: "PUT", path: "/bkt/big", body: body.subarray(1), headers: good });
    assert.equal(errorCode(overwrite.body), "BadDigest");
    assert.equal((await h.request({ method: "HEAD", path: "/bkt/big" })).headers.get("etag"), put.headers.get("etag"));

    const created = await h.text({ method: "POST", path: "/bkt/mp", query: { uploads: "" } });
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)![1]!;
    const part = (headers: Record<string, string>) =>
      h.text({ method: "PUT", path: "/bkt/mp", query: { uploadId, partNumber: "1" }, body, headers });
    const badPart = await part(wrong);
    assert.equal(errorCode(badPart.body), "BadDigest");
    const none = await h.text({ method: "GET", path: "/bkt/mp", query: { uploadId } });
    assert.doesNotMatch(none.body, /<Part>/, "no part stored");
    const goodPart = await part(good);
    assert.equal(goodPart.res.status, 200);
    assert.equal(goodPart.res.headers.get("etag"), put.headers.get("etag"));
    await h.request({ method: "DELETE", path: "/bkt/mp", query: { uploadId } });
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("GetObjectAttributes: the attributes asked for, ETag bare, checksums with their type, parts of an object without checksums counted", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/attr" });
  const body = new TextEncoder().encode("attributes");
  const crc32 = digestBase64("crc32", body);
  await h.request({ method: "PUT", path: "/attr/k", body, headers: { "x-amz-checksum-crc32": crc32 } });
  const ask = (attributes: string | undefined, headers: Record<string, string> = {}, path = "/attr/k") =>
    h.text({
      path,
      query: { attributes: "" },
      headers: { ...(attributes === undefined ? {} : { "x-amz-object-attributes": attributes }), ...headers },
    });
  const etag = (await h.request({ method: "HEAD", path: "/attr/k" })).headers.get("etag")!;
  let r = await ask("ETag,ObjectSize,StorageClass,Checksum");
  assert.equal(r.res.status, 200, r.body);
  assert.match(r.body, /<GetObjectAttributesResponse xmlns="[^"]+">/);
  assert.equal(/<ETag>([^<]*)<\/ETag>/.exec(r.body)![1], etag.replaceAll('"', ""));
  assert.match(
    r.body,
    /<StorageClass>STANDARD<\/StorageClass><ObjectSize>10<\/ObjectSize>/,
  );
  assert.match(r.body, new RegExp(`<Checksum><ChecksumCRC32>${crc32}</ChecksumCRC32><ChecksumType>FULL_OBJECT</`));
  assert.ok(r.res.headers.get("last-modified"));
  assert.equal(h.events.at(-1)!.op, "GetObjectAttributes");
  r = await ask("ObjectSize");
  assert.doesNotMatch(r.body, /<ETag>|<Checksum>|<ObjectParts>/);
  r = await ask("ObjectParts");
  assert.doesNotMatch(r.body, /<ObjectParts>/, "a simple object has no parts to count");
  assert.equal((await ask("ETag", { "if-none-match": etag })).res.status, 304);
  assert.equal(errorCode((await ask("ETag", { "if-match": '"other"' })).body), "PreconditionFailed");
  assert.equal(errorCode((await ask(undefined)).body), "InvalidArgument");
  assert.equal(errorCode((await ask("ETag,Owner")).body), "InvalidArgument");
  assert.equal(errorCode((await ask("ETag", {}, "/attr/none")).body), "NoSuchKey");

  const { uploadId } = await startUpload(h, "/attr/mp");
  const part = await h.request({
    method: "PUT",
    path: "/attr/mp",
    query: { partNumber: "1", uploadId },
    body: "one part",
  });
  const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${
    part.headers.get("etag")
  }</ETag></Part></CompleteMultipartUpload>`;
  await h.request({ method: "POST", path: "/attr/mp", query: { uploadId }, body: xml });
  r = await ask("ObjectParts,ETag", {}, "/attr/mp");
  assert.match(
    r.body,
    /<ETag>[0-9a-f]{32}-1<\/ETag><ObjectParts><PartsCount>1<\/PartsCount><PartNumberMarker>0<\/PartNumberMarker><MaxParts>1000<\/MaxParts><IsTruncated>false<\/IsTruncated><\/ObjectParts>/,
    "parts without checksums are counted, not listed",
  );
  assert.equal(
    errorCode((await ask("ObjectParts", { "x-amz-max-parts": "many" }, "/attr/mp")).body),
    "InvalidArgument",
  );
});

async function startUpload(h: Harness, path: string): Promise<{ uploadId: string }> {
  const r = await h.text({ method: "POST", path, query: { uploads: "" } });
  return { uploadId: /<UploadId>([^<]+)<\/UploadId>/.exec(r.body)![1]! };
}

Deno.test("DeleteObject with If-Match: 412 for another ETag, 404 for a missing key; conditions on time or size refused, deleting nothing", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/del" });
  const put = await h.request({ method: "PUT", path: "/del/k", body: "v1" });
  const etag = put.headers.get("etag")!;
  const del = (headers: Record<string, string>, key = "k") =>
    h.text({ method: "DELETE", path: `/del/${key}`, headers });
  let r = await del({ "if-match": '"0123456789abcdef0123456789abcdef"' });
  assert.deepEqual([r.res.status, errorCode(r.body)], [412, "PreconditionFailed"]);
  for (const name of ["x-amz-if-match-size", "x-amz-if-match-last-modified-time"]) {
    r = await del({ [name]: "2" });
    assert.deepEqual([r.res.status, errorCode(r.body)], [501, "NotImplemented"], name);
  }
  assert.equal((await h.text({ path: "/del/k" })).body, "v1", "nothing was deleted");
  r = await del({ "if-match": etag });
  assert.equal(r.res.status, 204);
  r = await del({ "if-match": etag });
  assert.deepEqual([r.res.status, errorCode(r.body)], [404, "NoSuchKey"]);
  r = await del({});
  assert.equal(r.res.status, 204, "an unconditional delete of a missing key succeeds");
});
