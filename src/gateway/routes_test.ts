import assert from "node:assert/strict";
import { resolveRoute } from "./routes.ts";

function route(method: string, url: string, headers: Record<string, string> = {}, domain?: string) {
  const target = new URL(url);
  const r = resolveRoute({ method, headers: new Headers(headers), url: target, path: target.pathname }, domain);
  return r.error ? `${r.error.s3Code}` : `${r.op} ${r.bucket ?? "-"} ${r.key ?? "-"}`;
}

Deno.test("resolveRoute() names every supported operation", () => {
  const copy = { "x-amz-copy-source": "b/k" };
  const table: [string, string, Record<string, string>, string][] = [
    ["GET", "http://h/", {}, "ListBuckets - -"],
    ["PUT", "http://h/bkt", {}, "CreateBucket bkt -"],
    ["PUT", "http://h/bkt/", {}, "CreateBucket bkt -"],
    ["DELETE", "http://h/bkt", {}, "DeleteBucket bkt -"],
    ["HEAD", "http://h/bkt", {}, "HeadBucket bkt -"],
    ["GET", "http://h/bkt?location", {}, "GetBucketLocation bkt -"],
    ["GET", "http://h/bkt?uploads", {}, "ListMultipartUploads bkt -"],
    ["GET", "http://h/bkt", {}, "ListObjects bkt -"],
    ["GET", "http://h/bkt?list-type=2&prefix=a", {}, "ListObjectsV2 bkt -"],
    ["POST", "http://h/bkt?delete", {}, "DeleteObjects bkt -"],
    ["PUT", "http://h/bkt/a/b%20c", {}, "PutObject bkt a/b c"],
    ["PUT", "http://h/bkt/k", copy, "CopyObject bkt k"],
    ["GET", "http://h/bkt/k", {}, "GetObject bkt k"],
    ["HEAD", "http://h/bkt/k", {}, "HeadObject bkt k"],
    ["DELETE", "http://h/bkt/k", {}, "DeleteObject bkt k"],
    ["POST", "http://h/bkt/k?uploads", {}, "CreateMultipartUpload bkt k"],
    ["PUT", "http://h/bkt/k?partNumber=1&uploadId=u", {}, "UploadPart bkt k"],
    ["PUT", "http://h/bkt/k?partNumber=1&uploadId=u", copy, "UploadPartCopy bkt k"],
    ["POST", "http://h/bkt/k?uploadId=u", {}, "CompleteMultipartUpload bkt k"],
    ["DELETE", "http://h/bkt/k?uploadId=u", {}, "AbortMultipartUpload bkt k"],
    ["GET", "http://h/bkt/k?uploadId=u", {}, "ListParts bkt k"],
    ["GET", "http://h/bkt//lead", {}, "GetObject bkt /lead"],
    ["GET", "http://h/bkt?versions&prefix=a", {}, "ListObjectVersions bkt -"],
    ["GET", "http://h/bkt?versioning", {}, "GetBucketVersioning bkt -"],
    ["GET", "http://h/bkt?acl", {}, "GetBucketAcl bkt -"],
    ["GET", "http://h/bkt/k?acl", {}, "GetObjectAcl bkt k"],
    ["GET", "http://h/bkt?tagging", {}, "GetBucketTagging bkt -"],
    ["GET", "http://h/bkt/k?tagging&versionId=null", {}, "GetObjectTagging bkt k"],
    ["GET", "http://h/bkt?object-lock", {}, "GetObjectLockConfiguration bkt -"],
    ["GET", "http://h/bkt?publicAccessBlock", {}, "GetPublicAccessBlock bkt -"],
    ["GET", "http://h/bkt/k?versionId=null", {}, "GetObject bkt k"],
    ["GET", "http://h/bkt/k?attributes", {}, "GetObjectAttributes bkt k"],
    ["GET", "http://h/bkt?cors", {}, "GetBucketCors bkt -"],
    ["PUT", "http://h/bkt?cors", {}, "PutBucketCors bkt -"],
    ["DELETE", "http://h/bkt?cors", {}, "DeleteBucketCors bkt -"],
    ["GET", "http://h/bkt?lifecycle", {}, "GetBucketLifecycleConfiguration bkt -"],
    ["PUT", "http://h/bkt?lifecycle", {}, "PutBucketLifecycleConfiguration bkt -"],
    ["DELETE", "http://h/bkt?lifecycle", {}, "DeleteBucketLifecycle bkt -"],
    ["PUT", "http://h/bkt?tagging", {}, "PutBucketTagging bkt -"],
    ["DELETE", "http://h/bkt?tagging", {}, "DeleteBucketTagging bkt -"],
    ["PUT", "http://h/bkt/k?tagging", {}, "PutObjectTagging bkt k"],
    ["DELETE", "http://h/bkt/k?tagging", {}, "DeleteObjectTagging bkt k"],
    ["PUT", "http://h/bkt?acl", {}, "PutBucketAcl bkt -"],
    ["PUT", "http://h/bkt/k?acl", {}, "PutObjectAcl bkt k"],
    ["OPTIONS", "http://h/bkt/k?uploads", {}, "PreflightRequest bkt k"],
    ["OPTIONS", "http://h/bkt", {}, "PreflightRequest bkt -"],
  ];
  for (const [method, url, headers, expected] of table) {
    assert.equal(route(method, url, headers), expected, `${method} ${url}`);
  }
});

Deno.test("resolveRoute() reports unsupported requests", () => {
  assert.equal(route("PUT", "http://h/"), "MethodNotAllowed");
  assert.equal(route("PATCH", "http://h/bkt/k"), "MethodNotAllowed");
  assert.equal(route("POST", "http://h/bkt"), "MethodNotAllowed");
  assert.equal(route("PUT", "http://h/bkt?versioning"), "NotImplemented");
  assert.equal(route("PUT", "http://h/bkt/k?retention"), "NotImplemented");
  assert.equal(route("DELETE", "http://h/bkt?policy"), "NotImplemented");
  assert.equal(route("PUT", "http://h/bkt/k?cors"), "NotImplemented");
  assert.equal(route("POST", "http://h/bkt?cors"), "NotImplemented");
  assert.equal(route("GET", "http://h/bkt/k?versions"), "NotImplemented");
  assert.equal(route("GET", "http://h/bkt?attributes"), "NotImplemented");
  assert.equal(route("GET", "http://h/bkt/k?retention"), "NotImplemented");
  assert.equal(route("GET", "http://h/?acl"), "NotImplemented");
  assert.equal(route("PUT", "http://h/?acl"), "NotImplemented");
  assert.equal(route("DELETE", "http://h/bkt/k?acl"), "NotImplemented");
  assert.equal(route("GET", "http://h/bkt/%E0%A4%A"), "InvalidURI");
});

Deno.test("resolveRoute() takes the bucket from the Host under the virtual-host domain", () => {
  assert.equal(
    route("GET", "http://b1.s3.local:9000/x/y", { host: "b1.s3.local:9000" }, "s3.local"),
    "GetObject b1 x/y",
  );
  assert.equal(route("GET", "http://b1.s3.local/", { host: "b1.s3.local" }, "s3.local"), "ListObjects b1 -");
  assert.equal(route("GET", "http://s3.local/b2/k", { host: "s3.local" }, "s3.local"), "GetObject b2 k");
  assert.equal(route("GET", "http://other/b3/k", { host: "other" }, "s3.local"), "GetObject b3 k");
});
