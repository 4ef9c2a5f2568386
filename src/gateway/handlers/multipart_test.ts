import assert from "node:assert/strict";
import { MIN_PART_SIZE } from "../../storage/mod.ts";
import { createHarness, errorCode, type Harness } from "../_testing/harness.ts";
import { digestBase64 } from "../wire/checksums.ts";

async function start(h: Harness, key: string): Promise<string> {
  const r = await h.text({
    method: "POST",
    path: `/mpu/${key}`,
    query: { uploads: "" },
    headers: { "x-amz-meta-kind": "mp" },
  });
  assert.equal(r.res.status, 200, r.body);
  return /<UploadId>([^<]+)<\/UploadId>/.exec(r.body)![1]!;
}

async function part(h: Harness, key: string, uploadId: string, n: number, body: Uint8Array): Promise<string> {
  const r = await h.request({ method: "PUT", path: `/mpu/${key}`, query: { uploadId, partNumber: String(n) }, body });
  assert.equal(r.status, 200, await r.text());
  return r.headers.get("etag")!;
}

function completeXml(parts: [number, string][]): string {
  return `<CompleteMultipartUpload>${
    parts.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${e}</ETag></Part>`).join("")
  }</CompleteMultipartUpload>`;
}

async function harness(): Promise<Harness> {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/mpu" });
  return h;
}

Deno.test("multipart: create, upload, list parts and uploads, UploadPartCopy with a range, complete", async () => {
  const h = await harness();
  const a = new Uint8Array(MIN_PART_SIZE).fill(1);
  await h.request({ method: "PUT", path: "/mpu/source", body: "0123456789" });
  const id = await start(h, "obj");
  const e1 = await part(h, "obj", id, 1, a);
  const copy = await h.text({
    method: "PUT",
    path: "/mpu/obj",
    query: { uploadId: id, partNumber: "2" },
    headers: { "x-amz-copy-source": "/mpu/source", "x-amz-copy-source-range": "bytes=2-5" },
  });
  assert.equal(copy.res.status, 200, copy.body);
  const e2 = /<ETag>([^<]+)<\/ETag>/.exec(copy.body)![1]!.replace(/&quot;/g, '"');
  let r = await h.text({ path: "/mpu/obj", query: { uploadId: id } });
  assert.match(r.body, /<PartNumber>1<\/PartNumber>.*<Size>5242880<\/Size>/s);
  assert.match(r.body, /<PartNumber>2<\/PartNumber>.*<Size>4<\/Size>/s);
  await start(h, "dir/nested");
  r = await h.text({ path: "/mpu", query: { uploads: "" } });
  assert.match(r.body, new RegExp(`<Key>obj</Key><UploadId>${id}</UploadId>`));
  assert.match(r.body, /<Key>dir\/nested<\/Key>/);
  r = await h.text({ path: "/mpu", query: { uploads: "", delimiter: "/" } });
  assert.doesNotMatch(r.body, /<Key>dir\/nested<\/Key>/);
  assert.match(r.body, /<CommonPrefixes><Prefix>dir\/<\/Prefix><\/CommonPrefixes>/);
  r = await h.text({
    method: "POST",
    path: "/mpu/obj",
    query: { uploadId: id },
    body: completeXml([[1, e1], [2, e2]]),
  });
  assert.equal(r.res.status, 200, r.body);
  assert.match(r.body, /<ETag>&quot;[0-9a-f]{32}-2&quot;<\/ETag>/);
  const got = await h.request({ path: "/mpu/obj", headers: { range: "bytes=5242878-5242881" } });
  assert.deepEqual(new Uint8Array(await got.arrayBuffer()), new Uint8Array([1, 1, 50, 51]));
  assert.equal(got.headers.get("x-amz-meta-kind"), "mp");
});

Deno.test("multipart errors: EntityTooSmall, InvalidPart, BadDigest (a part checksum the part was not sent with), InvalidPartOrder, NoSuchUpload, MalformedXML, InvalidArgument, InvalidRequest", async () => {
  const h = await harness();
  const id = await start(h, "k");
  const e1 = await part(h, "k", id, 1, new Uint8Array(10));
  const e2 = await part(h, "k", id, 2, new Uint8Array(10));
  const cases: [string, string][] = [
    [completeXml([[1, e1], [2, e2]]), "EntityTooSmall"],
    [completeXml([[1, e1], [3, e2]]), "InvalidPart"],
    [completeXml([[1, '"00000000000000000000000000000000"']]), "InvalidPart"],
    [completeXml([[2, e2], [1, e1]]), "InvalidPartOrder"],
    // The parts carry no checksum, so naming one cannot match (S3: BadDigest); a value that is no CRC32 is refused
    // before that.
    [completeXml([[1, e1]]).replace("</Part>", "<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>"), "BadDigest"],
    [completeXml([[1, e1]]).replace("</Part>", "<ChecksumCRC32>not-a-crc</ChecksumCRC32></Part>"), "InvalidRequest"],
    ["<CompleteMultipartUpload><Part>", "MalformedXML"],
    ["<CompleteMultipartUpload></CompleteMultipartUpload>", "MalformedXML"],
    ["<Other/>", "MalformedXML"],
  ];
  for (const [body, code] of cases) {
    const r = await h.text({ method: "POST", path: "/mpu/k", query: { uploadId: id }, body });
    assert.equal(errorCode(r.body), code, body);
    assert.equal(r.res.status, 400);
  }
  await h.request({ method: "PUT", path: "/mpu/src", body: "0123456789" });
  const copyRangeErrors = [
    ["bytes=5-10", "Range specified is not valid for source object of size: 10"],
    ["bytes=6-5", "Range specified is not valid for source object of size: 10"],
    ["bytes=3-", "The x-amz-copy-source-range value must be of the form bytes=first-last"],
  ];
  for (const [range, message] of copyRangeErrors) {
    const c = await h.text({
      method: "PUT",
      path: "/mpu/k",
      query: { uploadId: id, partNumber: "3" },
      headers: { "x-amz-copy-source": "mpu/src", "x-amz-copy-source-range": range! },
    });
    assert.equal(c.res.status, 400, range!);
    assert.equal(errorCode(c.body), "InvalidArgument", range!);
    assert.match(c.body, new RegExp(`<Message>${message}</Message>`), range!);
  }
  let r = await h.text({ method: "PUT", path: "/mpu/k", query: { uploadId: id, partNumber: "10001" }, body: "x" });
  assert.equal(errorCode(r.body), "InvalidArgument");
  r = await h.text({ method: "PUT", path: "/mpu/k", query: { uploadId: "nope", partNumber: "1" }, body: "x" });
  assert.equal(r.res.status, 404);
  assert.equal(errorCode(r.body), "NoSuchUpload");
  assert.equal((await h.request({ method: "DELETE", path: "/mpu/k", query: { uploadId: id } })).status, 204);
  r = await h.text({ path: "/mpu/k", query: { uploadId: id } });
  assert.equal(errorCode(r.body), "NoSuchUpload");
});

Deno.test("GET and HEAD by partNumber: the N-th part of a multipart object, with the object's ETag and parts count", async () => {
  const h = await harness();
  // Uploaded as parts 1, 3 and 4: partNumber counts the object's parts in order, as clients walk 1..PartsCount.
  const sizes = [MIN_PART_SIZE, MIN_PART_SIZE + 3, 7];
  const datas = sizes.map((size, i) => new Uint8Array(size).fill(i + 1));
  const id = await start(h, "parts");
  const etags = [await part(h, "parts", id, 1, datas[0]!), await part(h, "parts", id, 3, datas[1]!)];
  etags.push(await part(h, "parts", id, 4, datas[2]!));
  const done = await h.text({
    method: "POST",
    path: "/mpu/parts",
    query: { uploadId: id },
    body: completeXml([[1, etags[0]!], [3, etags[1]!], [4, etags[2]!]]),
  });
  assert.equal(done.res.status, 200, done.body);
  const objectEtag = /<ETag>([^<]+)<\/ETag>/.exec(done.body)![1]!.replaceAll("&quot;", '"');
  let offset = 0;
  for (const [i, size] of sizes.entries()) {
    const partNumber = String(i + 1);
    const head = await h.request({ method: "HEAD", path: "/mpu/parts", query: { partNumber } });
    assert.equal(head.status, 206);
    assert.equal(head.headers.get("content-length"), String(size));
    assert.equal(head.headers.get("content-range"), `bytes ${offset}-${offset + size - 1}/${2 * MIN_PART_SIZE + 10}`);
    assert.equal(head.headers.get("x-amz-mp-parts-count"), "3");
    assert.equal(head.headers.get("etag"), objectEtag);
    const get = await h.request({ path: "/mpu/parts", query: { partNumber } });
    assert.equal(get.status, 206);
    assert.equal(get.headers.get("content-range"), head.headers.get("content-range"));
    assert.deepEqual(new Uint8Array(await get.arrayBuffer()), datas[i]);
    assert.equal(h.events.at(-1)!.size, size);
    offset += size;
  }
  const beyond = await h.text({ path: "/mpu/parts", query: { partNumber: "4" } });
  assert.equal(beyond.res.status, 416);
  assert.equal(errorCode(beyond.body), "InvalidPartNumber");
  const unchanged = await h.request({
    path: "/mpu/parts",
    query: { partNumber: "2" },
    headers: { "if-none-match": objectEtag },
  });
  assert.equal(unchanged.status, 304, "conditions compare the whole object's ETag");
});

Deno.test("partNumber on a simple object: part 1 is the whole object, any other is not satisfiable", async () => {
  const h = await harness();
  await h.request({ method: "PUT", path: "/mpu/simple", body: "0123456789" });
  await h.request({ method: "PUT", path: "/mpu/empty", body: "" });
  const one = await h.request({ path: "/mpu/simple", query: { partNumber: "1" } });
  assert.equal(one.status, 206);
  assert.equal(one.headers.get("content-range"), "bytes 0-9/10");
  assert.equal(one.headers.get("x-amz-mp-parts-count"), null);
  assert.equal(await one.text(), "0123456789");
  const empty = await h.request({ path: "/mpu/empty", query: { partNumber: "1" } });
  assert.equal(empty.status, 200, "an empty object has no range to name");
  assert.equal(await empty.text(), "");
  const two = await h.text({ method: "GET", path: "/mpu/simple", query: { partNumber: "2" } });
  assert.equal(two.res.status, 416);
  assert.equal(errorCode(two.body), "InvalidPartNumber");
});

Deno.test("partNumber must be an integer 1-10000 and cannot be combined with a Range header", async () => {
  const h = await harness();
  await h.request({ method: "PUT", path: "/mpu/simple", body: "0123456789" });
  for (const partNumber of ["0", "10001", "-1", "1.5", "x", ""]) {
    const r = await h.text({ path: "/mpu/simple", query: { partNumber } });
    assert.equal(r.res.status, 400, partNumber);
    assert.equal(errorCode(r.body), "InvalidArgument", partNumber);
  }
  const both = await h.text({ path: "/mpu/simple", query: { partNumber: "1" }, headers: { range: "bytes=0-1" } });
  assert.equal(both.res.status, 400);
  assert.equal(errorCode(both.body), "InvalidRequest");
  const missing = await h.text({ path: "/mpu/nope", query: { partNumber: "1" } });
  assert.equal(errorCode(missing.body), "NoSuchKey");
});

Deno.test("multipart checksum types: S3's combinations, the headers echoed, a full-object CRC checked at completion and served", async () => {
  const h = await harness();
  const create = (headers: Record<string, string>) =>
    h.text({ method: "POST", path: "/mpu/c", query: { uploads: "" }, headers });
  const refusals: [Record<string, string>, RegExp][] = [
    [{ "x-amz-checksum-type": "FULL_OBJECT" }, /only be used with the x-amz-checksum-algorithm/],
    [{ "x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "WHOLE" }, /x-amz-checksum-type header is invalid/],
    [{ "x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT" }, /FULL_OBJECT .* sha256/],
    [{ "x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE" }, /COMPOSITE .* crc64nvme/],
  ];
  for (const [headers, message] of refusals) {
    const r = await create(headers);
    assert.equal(errorCode(r.body), "InvalidRequest", JSON.stringify(headers));
    assert.match(r.body, message);
  }
  let r = await create({ "x-amz-checksum-algorithm": "CRC64NVME" });
  assert.equal(r.res.headers.get("x-amz-checksum-algorithm"), "CRC64NVME");
  assert.equal(r.res.headers.get("x-amz-checksum-type"), "FULL_OBJECT", "CRC64NVME is always full-object");
  r = await create({ "x-amz-checksum-algorithm": "crc32", "x-amz-checksum-type": "FULL_OBJECT" });
  assert.equal(r.res.headers.get("x-amz-checksum-type"), "FULL_OBJECT");
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(r.body)![1]!;
  const bodies = [new Uint8Array(MIN_PART_SIZE).fill(1), new Uint8Array(10).fill(2)];
  const etags: [number, string][] = [];
  for (const [i, body] of bodies.entries()) {
    const res = await h.request({
      method: "PUT",
      path: "/mpu/c",
      query: { uploadId, partNumber: String(i + 1) },
      body,
      headers: { "x-amz-checksum-crc32": digestBase64("crc32", body) },
    });
    assert.equal(res.status, 200, await res.text());
    etags.push([i + 1, res.headers.get("etag")!]);
  }
  const whole = new Uint8Array([...bodies[0]!, ...bodies[1]!]);
  const complete = (crc32: string) =>
    h.text({
      method: "POST",
      path: "/mpu/c",
      query: { uploadId },
      body: completeXml(etags),
      headers: { "x-amz-checksum-crc32": crc32, "x-amz-checksum-type": "FULL_OBJECT" },
    });
  r = await complete(digestBase64("crc32", bodies[1]!));
  assert.equal(errorCode(r.body), "BadDigest");
  r = await complete(digestBase64("crc32", whole));
  assert.equal(r.res.status, 200, r.body);
  assert.match(
    r.body,
    new RegExp(
      `<ChecksumCRC32>${digestBase64("crc32", whole)}</ChecksumCRC32><ChecksumType>FULL_OBJECT</ChecksumType>`,
    ),
  );
  const head = await h.request({ method: "HEAD", path: "/mpu/c", headers: { "x-amz-checksum-mode": "ENABLED" } });
  assert.equal(head.headers.get("x-amz-checksum-crc32"), digestBase64("crc32", whole));
  assert.equal(head.headers.get("x-amz-checksum-type"), "FULL_OBJECT");
});
