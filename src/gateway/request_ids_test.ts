import assert from "node:assert/strict";
import { createFsStore } from "../storage/fs.ts";
import { createHarness, type TestRequest } from "./_testing/harness.ts";
import { MAX_HEADER_BYTES } from "./gateway.ts";
import { createRequestIds } from "./request_ids.ts";
import { digestBase64 } from "./wire/checksums.ts";

Deno.test("createRequestIds() draws distinct ids of S3's shapes, across refills of its random pool", () => {
  const next = createRequestIds();
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const { requestId, hostId } = next();
    assert.match(requestId, /^[0-9A-F]{16}$/);
    assert.match(hostId, /^[A-Za-z0-9+/]{32}$/);
    assert.equal(atob(hostId).length, 24);
    seen.add(requestId);
    seen.add(hostId);
  }
  assert.equal(seen.size, 2000);
});

Deno.test("every response is built with its request's ids: successes, errors, 304, HEAD, byte and streamed GETs", async () => {
  const root = await Deno.makeTempDir({ prefix: "gateway-request-ids-" });
  const store = await createFsStore({ root });
  const h = createHarness({ store });
  const seen = new Set<string>();
  /** The response of `r`, read whole, after checking its ids against the one event it produced. */
  const sent = async (r: TestRequest, op: string, status: number) => {
    const { res, body } = await h.text(r);
    assert.equal(res.status, status, `${op}: ${body}`);
    const requestId = res.headers.get("x-amz-request-id") ?? "";
    assert.match(requestId, /^[0-9A-F]{16}$/, op);
    assert.match(res.headers.get("x-amz-id-2") ?? "", /^[A-Za-z0-9+/]{32}$/, op);
    assert.equal(seen.has(requestId), false, `${op}: a fresh id per request`);
    seen.add(requestId);
    const events = h.events.filter((e) => e.requestId === requestId);
    assert.deepEqual(events.map((e) => [e.op, e.status]), [[op, status]], op);
    return { res, body };
  };
  try {
    // Over the small-file size, so read as a stream (a body of 1 MiB or more is handed off, for a real server only).
    const big = new Uint8Array(128 * 1024).fill(7);
    const md5 = (s: string) => digestBase64("md5", new TextEncoder().encode(s));
    await sent({ method: "PUT", path: "/ids" }, "CreateBucket", 200);
    await sent({ method: "HEAD", path: "/ids" }, "HeadBucket", 200);
    await sent({ path: "/ids", query: { location: "" } }, "GetBucketLocation", 200);
    await sent({ path: "/" }, "ListBuckets", 200);
    const put = await sent({ method: "PUT", path: "/ids/small", body: "small body" }, "PutObject", 200);
    await sent({ method: "PUT", path: "/ids/big", body: big }, "PutObject", 200);
    const small = await sent({ path: "/ids/small" }, "GetObject", 200);
    assert.equal(small.body, "small body");
    const streamed = await sent({ path: "/ids/big" }, "GetObject", 200);
    assert.equal(streamed.body.length, big.length);
    await sent({ path: "/ids/big", headers: { range: "bytes=0-9" } }, "GetObject", 206);
    const etag = put.res.headers.get("etag")!;
    const notModified = await sent({ path: "/ids/small", headers: { "if-none-match": etag } }, "GetObject", 304);
    assert.equal(notModified.res.headers.get("etag"), etag);
    await sent({ path: "/ids/small", headers: { "if-match": '"other"' } }, "GetObject", 412);
    await sent({ path: "/ids/small", headers: { range: "bytes=99-" } }, "GetObject", 416);
    await sent({ method: "HEAD", path: "/ids/big" }, "HeadObject", 200);
    assert.equal((await sent({ method: "HEAD", path: "/ids/missing" }, "HeadObject", 404)).body, "");
    await sent({ path: "/ids/missing" }, "GetObject", 404);
    await sent({ path: "/ids", query: { "list-type": "2" } }, "ListObjectsV2", 200);
    await sent({ path: "/ids" }, "ListObjects", 200);
    const copy = { "x-amz-copy-source": "/ids/small" };
    await sent({ method: "PUT", path: "/ids/copy", headers: copy }, "CopyObject", 200);

    const create = await sent(
      { method: "POST", path: "/ids/mp", query: { uploads: "" } },
      "CreateMultipartUpload",
      200,
    );
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(create.body)![1]!;
    const part = await sent(
      { method: "PUT", path: "/ids/mp", query: { uploadId, partNumber: "1" }, body: "part" },
      "UploadPart",
      200,
    );
    await sent(
      { method: "PUT", path: "/ids/mp", query: { uploadId, partNumber: "2" }, headers: copy },
      "UploadPartCopy",
      200,
    );
    await sent({ path: "/ids/mp", query: { uploadId } }, "ListParts", 200);
    await sent({ path: "/ids", query: { uploads: "" } }, "ListMultipartUploads", 200);
    const complete = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${
      part.res.headers.get("etag")
    }</ETag></Part></CompleteMultipartUpload>`;
    await sent(
      { method: "POST", path: "/ids/mp", query: { uploadId }, body: complete },
      "CompleteMultipartUpload",
      200,
    );
    await sent({ method: "DELETE", path: "/ids/mp", query: { uploadId } }, "AbortMultipartUpload", 404);
    const other = await sent(
      { method: "POST", path: "/ids/gone", query: { uploads: "" } },
      "CreateMultipartUpload",
      200,
    );
    const otherId = /<UploadId>([^<]+)<\/UploadId>/.exec(other.body)![1]!;
    await sent({ method: "DELETE", path: "/ids/gone", query: { uploadId: otherId } }, "AbortMultipartUpload", 204);

    const del = "<Delete><Object><Key>copy</Key></Object><Object><Key>mp</Key></Object></Delete>";
    const deleted = await sent(
      { method: "POST", path: "/ids", query: { delete: "" }, body: del, headers: { "content-md5": md5(del) } },
      "DeleteObjects",
      200,
    );
    assert.match(deleted.body, /<Deleted><Key>copy<\/Key><\/Deleted><Deleted><Key>mp<\/Key><\/Deleted>/);
    await sent({ method: "POST", path: "/ids", query: { delete: "" }, body: del }, "DeleteObjects", 400);
    await sent({ method: "DELETE", path: "/ids" }, "DeleteBucket", 409);
    await sent({ method: "DELETE", path: "/ids/small" }, "DeleteObject", 204);
    await sent({ method: "DELETE", path: "/ids/big" }, "DeleteObject", 204);
    await sent({ method: "DELETE", path: "/ids" }, "DeleteBucket", 204);
    await sent({ path: "/ids/x", as: "anonymous" }, "GetObject", 403);
    await sent({ method: "PATCH", path: "/ids/x" }, "Unknown", 405);
    await sent({ path: "/", headers: { "x-big": "v".repeat(MAX_HEADER_BYTES) } }, "ListBuckets", 400);
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});
