import assert from "node:assert/strict";
import { ADMIN, createHarness, errorCode, READER } from "../_testing/harness.ts";

Deno.test("CreateBucket, HeadBucket, ListBuckets, GetBucketLocation and DeleteBucket round-trip", async () => {
  const h = createHarness();
  let r = await h.text({ method: "PUT", path: "/alpha" });
  assert.equal(r.res.status, 200, r.body);
  assert.equal(r.res.headers.get("location"), "/alpha");
  assert.ok(r.res.headers.get("x-amz-request-id"));
  assert.ok(r.res.headers.get("x-amz-id-2"));
  r = await h.text({ method: "HEAD", path: "/alpha" });
  assert.equal(r.res.status, 200);
  r = await h.text({ path: "/" });
  assert.match(r.body, /<ListAllMyBucketsResult xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/">/);
  assert.match(r.body, /<Bucket><Name>alpha<\/Name><CreationDate>/);
  r = await h.text({ path: "/alpha", query: { location: "" } });
  assert.match(r.body, /<LocationConstraint [^>]*><\/LocationConstraint>/);
  r = await h.text({ method: "DELETE", path: "/alpha" });
  assert.equal(r.res.status, 204);
  r = await h.text({ method: "HEAD", path: "/alpha" });
  assert.equal(r.res.status, 404);
  assert.equal(r.body, "", "HEAD errors carry no body");
});

Deno.test("CreateBucket errors: BucketAlreadyOwnedByYou, InvalidBucketName, AccessDenied for non-admin keys", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/alpha" });
  let r = await h.text({ method: "PUT", path: "/alpha" });
  assert.equal(r.res.status, 409);
  assert.equal(errorCode(r.body), "BucketAlreadyOwnedByYou");
  r = await h.text({ method: "PUT", path: "/Bad_Name" });
  assert.equal(r.res.status, 400);
  assert.equal(errorCode(r.body), "InvalidBucketName");
  r = await h.text({ method: "PUT", path: "/other", as: READER });
  assert.equal(r.res.status, 403);
  assert.equal(errorCode(r.body), "AccessDenied");
  assert.match(r.body, /<Resource>\/other<\/Resource>/);
  assert.match(r.body, /<RequestId>[0-9A-F]{16}<\/RequestId>/);
});

Deno.test("DeleteBucket errors: NoSuchBucket and BucketNotEmpty", async () => {
  const h = createHarness();
  let r = await h.text({ method: "DELETE", path: "/missing" });
  assert.equal(r.res.status, 404);
  assert.equal(errorCode(r.body), "NoSuchBucket");
  await h.request({ method: "PUT", path: "/full" });
  await h.request({ method: "PUT", path: "/full/k", body: "x" });
  r = await h.text({ method: "DELETE", path: "/full" });
  assert.equal(r.res.status, 409);
  assert.equal(errorCode(r.body), "BucketNotEmpty");
});

Deno.test("ListBuckets shows a non-admin key only the buckets it has grants on", async () => {
  const h = createHarness();
  for (const b of ["shared", "secret"]) await h.request({ method: "PUT", path: `/${b}`, as: ADMIN });
  const r = await h.text({ path: "/", as: READER });
  assert.match(r.body, /<Name>shared<\/Name>/);
  assert.doesNotMatch(r.body, /secret/);
});

Deno.test("virtual-host style: Host bucket.<domain> addresses the bucket", async () => {
  const h = createHarness({ virtualHostDomain: "s3.example.test" });
  await h.request({ method: "PUT", path: "/vhost" });
  let r = await h.text({ method: "PUT", path: "/dir/key.txt", body: "hello", host: "vhost.s3.example.test:9000" });
  assert.equal(r.res.status, 200, r.body);
  r = await h.text({ path: "/vhost/dir/key.txt" });
  assert.equal(r.body, "hello");
  r = await h.text({ path: "/", query: { "list-type": "2" }, host: "vhost.s3.example.test" });
  assert.match(r.body, /<Name>vhost<\/Name>/);
  assert.match(r.body, /<Key>dir\/key.txt<\/Key>/);
});

Deno.test("unsupported subresources answer NotImplemented and unknown methods MethodNotAllowed", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/b" });
  let r = await h.text({ method: "PUT", path: "/b", query: { policy: "" }, body: '{"Statement": []}' });
  assert.equal(r.res.status, 501);
  assert.equal(errorCode(r.body), "NotImplemented");
  r = await h.text({ method: "PUT", path: "/b", query: { acl: "" }, body: "<AccessControlPolicy/>" });
  assert.equal(errorCode(r.body), "AccessControlListNotSupported", "an ACL without the owner's grant");
  r = await h.text({ path: "/b/k", query: { retention: "" } });
  assert.equal(r.res.status, 501);
  assert.equal(errorCode(r.body), "NotImplemented");
  r = await h.text({ method: "PATCH", path: "/b/k" });
  assert.equal(r.res.status, 405);
  assert.equal(errorCode(r.body), "MethodNotAllowed");
});
