import assert from "node:assert/strict";
import { MIN_PART_SIZE } from "../../storage/mod.ts";
import { createHarness, errorCode, type Harness } from "../_testing/harness.ts";

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

Deno.test("multipart errors: EntityTooSmall, InvalidPart, InvalidPartOrder, NoSuchUpload, MalformedXML, InvalidArgument", async () => {
  const h = await harness();
  const id = await start(h, "k");
  const e1 = await part(h, "k", id, 1, new Uint8Array(10));
  const e2 = await part(h, "k", id, 2, new Uint8Array(10));
  const cases: [string, string][] = [
    [completeXml([[1, e1], [2, e2]]), "EntityTooSmall"],
    [completeXml([[1, e1], [3, e2]]), "InvalidPart"],
    [completeXml([[1, '"00000000000000000000000000000000"']]), "InvalidPart"],
    [completeXml([[2, e2], [1, e1]]), "InvalidPartOrder"],
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
  for (const [range, code] of [["bytes=5-10", "InvalidRange"], ["bytes=3-", "InvalidArgument"]]) {
    const c = await h.text({
      method: "PUT",
      path: "/mpu/k",
      query: { uploadId: id, partNumber: "3" },
      headers: { "x-amz-copy-source": "mpu/src", "x-amz-copy-source-range": range! },
    });
    assert.equal(errorCode(c.body), code, range!);
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
