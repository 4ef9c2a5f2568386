import assert from "node:assert/strict";
import { createHarness, errorCode, type Harness, READER, WRITER } from "../_testing/harness.ts";
import { digestBase64 } from "../wire/checksums.ts";

async function filled(bucket: string, keys: string[]): Promise<Harness> {
  const h = createHarness();
  await h.request({ method: "PUT", path: `/${bucket}` });
  for (const k of keys) {
    const res = await h.request({ method: "PUT", path: `/${bucket}/${encodeURIComponent(k)}`, body: k });
    assert.equal(res.status, 200);
  }
  return h;
}

const versionsOf = (xml: string) =>
  [...xml.matchAll(/<Version><Key>([^<]*)<\/Key><VersionId>([^<]*)<\/VersionId><IsLatest>([^<]*)</g)].map((m) =>
    `${m[1]}@${m[2]}${m[3] === "true" ? "" : " (old)"}`
  );
const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

Deno.test("ListObjectVersions: each object is its only version, null and latest; key-marker paging to the end", async () => {
  const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, "0")}`);
  const h = await filled("ver", keys.toReversed());
  const seen: string[] = [];
  let query: Record<string, string> = { versions: "", "max-keys": "10" };
  for (let page = 0;; page++) {
    const r = await h.text({ path: "/ver", query });
    assert.equal(r.res.status, 200, r.body);
    assert.match(r.body, /^<\?xml[^>]*>\n<ListVersionsResult xmlns=/);
    seen.push(...versionsOf(r.body));
    assert.match(r.body, /<Size>3<\/Size><Owner><ID>/);
    if (tag(r.body, "IsTruncated") === "false") {
      assert.equal(page, 2);
      assert.equal(tag(r.body, "NextKeyMarker"), undefined);
      break;
    }
    assert.equal(tag(r.body, "NextVersionIdMarker"), "null");
    query = {
      versions: "",
      "max-keys": "10",
      "key-marker": tag(r.body, "NextKeyMarker")!,
      "version-id-marker": tag(r.body, "NextVersionIdMarker")!,
    };
  }
  assert.deepEqual(seen, keys.map((k) => `${k}@null`));
  // A key marker alone starts after that key too.
  const r = await h.text({ path: "/ver", query: { versions: "", "key-marker": "k22" } });
  assert.deepEqual(versionsOf(r.body), ["k23@null", "k24@null"]);
  assert.equal(tag(r.body, "KeyMarker"), "k22");
  assert.equal(h.events.at(-1)!.op, "ListObjectVersions");
});

Deno.test("ListObjectVersions: prefix, delimiter, encoding-type=url, bad markers, grants, missing bucket", async () => {
  const h = await filled("shared", ["public/a b", "public/sub/x", "team/t", "top"]);
  let r = await h.text({
    path: "/shared",
    query: { versions: "", prefix: "public/", delimiter: "/", "encoding-type": "url" },
  });
  assert.deepEqual(versionsOf(r.body), ["public/a%20b@null"]);
  assert.match(r.body, /<CommonPrefixes><Prefix>public\/sub\/<\/Prefix><\/CommonPrefixes>/);
  assert.equal(tag(r.body, "Delimiter"), "/");
  assert.equal(tag(r.body, "EncodingType"), "url");
  r = await h.text({ path: "/shared", query: { versions: "", "version-id-marker": "null" } });
  assert.equal(errorCode(r.body), "InvalidArgument");
  r = await h.text({ path: "/shared", query: { versions: "", "key-marker": "top", "version-id-marker": "v2" } });
  assert.equal(errorCode(r.body), "InvalidArgument");
  // A key granted read under public/ lists there, and nowhere else.
  r = await h.text({ path: "/shared", query: { versions: "", prefix: "public/" }, as: READER });
  assert.deepEqual(versionsOf(r.body), ["public/a b@null", "public/sub/x@null"]);
  r = await h.text({ path: "/shared", query: { versions: "" }, as: READER });
  assert.equal(errorCode(r.body), "AccessDenied");
  r = await h.text({ path: "/nosuch", query: { versions: "" } });
  assert.equal(errorCode(r.body), "NoSuchBucket");
});

Deno.test("versionId: null names the object; any other id a version that does not exist, and nothing is touched", async () => {
  const h = await filled("ver", ["doc", "keep"]);
  let res = await h.request({ path: "/ver/doc", query: { versionId: "null" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-amz-version-id"), "null");
  assert.equal(await res.text(), "doc");
  res = await h.request({ method: "HEAD", path: "/ver/doc", query: { versionId: "null" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-amz-version-id"), "null");
  res = await h.request({ path: "/ver/doc" });
  assert.equal(res.headers.get("x-amz-version-id"), null, "no version header unless one was asked for");
  await res.body?.cancel();

  let r = await h.text({ path: "/ver/doc", query: { versionId: "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY" } });
  assert.equal(r.res.status, 404);
  assert.equal(errorCode(r.body), "NoSuchVersion");
  res = await h.request({ method: "HEAD", path: "/ver/doc", query: { versionId: "v1" } });
  assert.equal(res.status, 404);
  r = await h.text({ path: "/ver/doc", query: { versionId: "" } });
  assert.equal(errorCode(r.body), "InvalidArgument");

  // Deleting an old version must never delete the object itself.
  r = await h.text({ method: "DELETE", path: "/ver/doc", query: { versionId: "v1" } });
  assert.equal(errorCode(r.body), "NoSuchVersion");
  assert.equal(h.events.at(-1)!.errorCode, "NoSuchVersion");
  assert.equal(await (await h.request({ path: "/ver/doc" })).text(), "doc");
  res = await h.request({ method: "DELETE", path: "/ver/doc", query: { versionId: "null" } });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("x-amz-version-id"), "null");
  assert.equal((await h.text({ path: "/ver/doc" })).res.status, 404);

  const body = "<Delete><Object><Key>keep</Key><VersionId>v9</VersionId></Object>" +
    "<Object><Key>doc</Key><VersionId>null</VersionId></Object></Delete>";
  r = await h.text({
    method: "POST",
    path: "/ver",
    query: { delete: "" },
    body,
    headers: { "content-md5": digestBase64("md5", new TextEncoder().encode(body)) },
  });
  assert.match(r.body, /<Deleted><Key>doc<\/Key><VersionId>null<\/VersionId><\/Deleted>/);
  assert.match(r.body, /<Error><Key>keep<\/Key><VersionId>v9<\/VersionId><Code>NoSuchVersion<\/Code>/);
  assert.deepEqual(h.events.at(-1)!.deletedKeys, ["doc"]);
  assert.equal(await (await h.request({ path: "/ver/keep" })).text(), "keep");
});

Deno.test("bucket settings read as never configured; writing them stays NotImplemented", async () => {
  const h = await filled("shared", ["team/a"]);
  let r = await h.text({ path: "/shared", query: { versioning: "" } });
  assert.equal(r.res.status, 200);
  assert.match(
    r.body,
    /<VersioningConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><\/VersioningConfiguration>$/,
  );
  r = await h.text({ path: "/shared", query: { acl: "" } });
  assert.match(r.body, /<Owner><ID>s3plugin<\/ID>/);
  assert.match(
    r.body,
    /xsi:type="CanonicalUser"><ID>s3plugin<\/ID><DisplayName>s3plugin<\/DisplayName><\/Grantee><Permission>FULL_CONTROL</,
  );
  r = await h.text({ path: "/shared", query: { requestPayment: "" } });
  assert.equal(tag(r.body, "Payer"), "BucketOwner");
  r = await h.text({ path: "/shared", query: { ownershipControls: "" } });
  assert.equal(tag(r.body, "ObjectOwnership"), "BucketOwnerEnforced");
  r = await h.text({ path: "/shared", query: { publicAccessBlock: "" } });
  assert.equal(tag(r.body, "RestrictPublicBuckets"), "true");
  r = await h.text({ path: "/shared", query: { policyStatus: "" } });
  assert.equal(tag(r.body, "IsPublic"), "false");
  r = await h.text({ path: "/shared", query: { accelerate: "" } });
  assert.match(r.body, /<AccelerateConfiguration xmlns="[^"]+"><\/AccelerateConfiguration>$/);
  for (const name of ["logging", "notification"]) {
    r = await h.text({ path: "/shared", query: { [name]: "" } });
    assert.equal(r.res.status, 200, name);
  }
  const missing: [string, string][] = [
    ["tagging", "NoSuchTagSet"],
    ["cors", "NoSuchCORSConfiguration"],
    ["policy", "NoSuchBucketPolicy"],
    ["lifecycle", "NoSuchLifecycleConfiguration"],
    ["encryption", "ServerSideEncryptionConfigurationNotFoundError"],
    ["object-lock", "ObjectLockConfigurationNotFoundError"],
    ["website", "NoSuchWebsiteConfiguration"],
    ["replication", "ReplicationConfigurationNotFoundError"],
  ];
  for (const [name, code] of missing) {
    r = await h.text({ path: "/shared", query: { [name]: "" } });
    assert.deepEqual([r.res.status, errorCode(r.body)], [404, code], name);
  }
  assert.deepEqual(h.events.slice(-2).map((e) => e.op), ["GetBucketWebsite", "GetBucketReplication"]);
  // A key with a grant in the bucket may read its settings; a bucket it has no grant in is denied; a missing
  // bucket is NoSuchBucket before any setting is looked at.
  r = await h.text({ path: "/shared", query: { versioning: "" }, as: WRITER });
  assert.equal(r.res.status, 200);
  await h.request({ method: "PUT", path: "/private" });
  r = await h.text({ path: "/private", query: { acl: "" }, as: WRITER });
  assert.equal(errorCode(r.body), "AccessDenied");
  r = await h.text({ path: "/nosuch", query: { tagging: "" } });
  assert.equal(errorCode(r.body), "NoSuchBucket");
  for (const method of ["PUT", "DELETE"]) {
    r = await h.text({
      method,
      path: "/shared",
      query: { versioning: "" },
      body: method === "PUT" ? "<x/>" : undefined,
    });
    assert.equal(errorCode(r.body), "NotImplemented", method);
  }
});

Deno.test("object ACL and tagging: the owner's full control, no tags; grants, versions and missing keys", async () => {
  const h = await filled("shared", ["team/a", "public/p"]);
  let r = await h.text({ path: "/shared/team/a", query: { acl: "" } });
  assert.equal(tag(r.body, "Permission"), "FULL_CONTROL");
  assert.equal(h.events.at(-1)!.op, "GetObjectAcl");
  r = await h.text({ path: "/shared/team/a", query: { tagging: "", versionId: "null" } });
  assert.match(r.body, /<Tagging xmlns="[^"]+"><TagSet><\/TagSet><\/Tagging>$/);
  assert.equal(r.res.headers.get("x-amz-version-id"), "null");
  r = await h.text({ path: "/shared/team/a", query: { tagging: "", versionId: "v2" } });
  assert.equal(errorCode(r.body), "NoSuchVersion");
  r = await h.text({ path: "/shared/team/none", query: { tagging: "" } });
  assert.equal(errorCode(r.body), "NoSuchKey");
  r = await h.text({ path: "/shared/public/p", query: { acl: "" }, as: READER });
  assert.equal(r.res.status, 200);
  r = await h.text({ path: "/shared/team/a", query: { acl: "" }, as: READER });
  assert.equal(errorCode(r.body), "AccessDenied");
});
