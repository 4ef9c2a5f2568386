import assert from "node:assert/strict";
import { createHarness, errorCode } from "../_testing/harness.ts";

const REFUSED: [Record<string, string>, number, string][] = [
  [{ "x-amz-server-side-encryption": "AES256" }, 501, "NotImplemented"],
  [{ "x-amz-server-side-encryption": "aws:kms" }, 501, "NotImplemented"],
  [{ "x-amz-server-side-encryption-customer-algorithm": "AES256" }, 501, "NotImplemented"],
  [{ "x-amz-tagging": "aws:retention=30d" }, 400, "InvalidTag"],
  [{ "x-amz-website-redirect-location": "/other" }, 501, "NotImplemented"],
  [{ "x-amz-acl": "public-read" }, 400, "AccessControlListNotSupported"],
  [
    { "x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' },
    400,
    "AccessControlListNotSupported",
  ],
  [
    { "x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": "2099-01-01T00:00:00Z" },
    400,
    "InvalidRequest",
  ],
  [{ "x-amz-object-lock-legal-hold": "ON" }, 400, "InvalidRequest"],
  [{ "x-amz-storage-class": "COLD" }, 400, "InvalidStorageClass"],
];

Deno.test("writes asking for encryption, reserved tags, ACL grants, Object Lock, a redirect or a storage class S3 lacks are refused and store nothing", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/feat" });
  await h.request({ method: "PUT", path: "/feat/src", body: "source" });
  for (const [headers, status, code] of REFUSED) {
    const what = JSON.stringify(headers);
    let r = await h.text({ method: "PUT", path: "/feat/put", body: "data", headers });
    assert.deepEqual([r.res.status, errorCode(r.body)], [status, code], `PUT ${what}`);
    r = await h.text({ method: "POST", path: "/feat/mpu", query: { uploads: "" }, headers });
    assert.deepEqual([r.res.status, errorCode(r.body)], [status, code], `CreateMultipartUpload ${what}`);
    r = await h.text({ method: "PUT", path: "/feat/copy", headers: { ...headers, "x-amz-copy-source": "feat/src" } });
    assert.deepEqual([r.res.status, errorCode(r.body)], [status, code], `CopyObject ${what}`);
  }
  assert.equal((await h.text({ path: "/feat/put" })).res.status, 404);
  assert.equal((await h.text({ path: "/feat/copy" })).res.status, 404);
  assert.doesNotMatch((await h.text({ path: "/feat", query: { uploads: "" } })).body, /<Upload>/);
  const refusedPuts = h.events.filter((e) => e.op === "PutObject" && e.key === "put").map((e) => e.errorCode);
  assert.deepEqual(refusedPuts, REFUSED.map(([, , code]) => code));
});

Deno.test("owner-only canned ACLs are accepted, on objects and buckets; others are refused on CreateBucket too", async () => {
  const h = createHarness();
  for (const acl of ["private", "bucket-owner-full-control"]) {
    assert.equal((await h.request({ method: "PUT", path: `/b-${acl}`, headers: { "x-amz-acl": acl } })).status, 200);
    const res = await h.request({ method: "PUT", path: `/b-${acl}/k`, body: "x", headers: { "x-amz-acl": acl } });
    assert.equal(res.status, 200, acl);
  }
  const r = await h.text({ method: "PUT", path: "/b-public", headers: { "x-amz-acl": "public-read-write" } });
  assert.equal(errorCode(r.body), "AccessControlListNotSupported");
  assert.equal((await h.request({ method: "HEAD", path: "/b-public" })).status, 404);
});

Deno.test("a storage class S3 has is kept as the object's label", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/feat" });
  await h.request({ method: "PUT", path: "/feat/k", body: "x", headers: { "x-amz-storage-class": "GLACIER_IR" } });
  assert.equal((await h.request({ method: "HEAD", path: "/feat/k" })).headers.get("x-amz-storage-class"), "GLACIER_IR");
  const listed = await h.text({ path: "/feat", query: { "list-type": "2" } });
  assert.match(listed.body, /<StorageClass>GLACIER_IR<\/StorageClass>/);
});
