import assert from "node:assert/strict";
import { createHarness, errorCode, READER, WRITER } from "../_testing/harness.ts";

const tagging = (tags: [string, string][]) =>
  `<Tagging><TagSet>${
    tags.map(([k, v]) => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`).join("")
  }</TagSet></Tagging>`;

/** The tags of a GetObjectTagging answer, in order. */
function tagsOf(xml: string): [string, string][] {
  return [...xml.matchAll(/<Tag><Key>([^<]*)<\/Key><Value>([^<]*)<\/Value><\/Tag>/g)].map((m) => [m[1]!, m[2]!]);
}

Deno.test("x-amz-tagging on a PUT, GetObjectTagging, x-amz-tagging-count on GET and HEAD; PutObjectTagging and DeleteObjectTagging keep the object", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/tags" });
  let r = await h.text({
    method: "PUT",
    path: "/tags/k",
    body: "payload",
    headers: { "x-amz-tagging": "project=pve&owner%20name=ops%2Fbackup%20%2B%201" },
  });
  assert.equal(r.res.status, 200);
  r = await h.text({ path: "/tags/k", query: { tagging: "" } });
  assert.deepEqual(tagsOf(r.body), [["project", "pve"], ["owner name", "ops/backup + 1"]]);
  const got = await h.text({ path: "/tags/k" });
  assert.equal(got.res.headers.get("x-amz-tagging-count"), "2");
  assert.equal((await h.request({ method: "HEAD", path: "/tags/k" })).headers.get("x-amz-tagging-count"), "2");

  r = await h.text({ method: "PUT", path: "/tags/k", query: { tagging: "" }, body: tagging([["stage", "done"]]) });
  assert.equal(r.res.status, 200);
  assert.deepEqual(tagsOf((await h.text({ path: "/tags/k", query: { tagging: "" } })).body), [["stage", "done"]]);
  const after = await h.text({ path: "/tags/k" });
  assert.equal(after.body, "payload");
  for (const name of ["etag", "last-modified"]) assert.equal(after.res.headers.get(name), got.res.headers.get(name));
  assert.equal(after.res.headers.get("x-amz-tagging-count"), "1");

  r = await h.text({ method: "DELETE", path: "/tags/k", query: { tagging: "" } });
  assert.equal(r.res.status, 204);
  r = await h.text({ path: "/tags/k", query: { tagging: "" } });
  assert.match(r.body, /<TagSet><\/TagSet>/);
  assert.equal((await h.text({ path: "/tags/k" })).res.headers.get("x-amz-tagging-count"), null);
  assert.deepEqual(
    h.events.filter((e) => e.op.endsWith("ObjectTagging")).map((e) => [e.op, e.key, e.status]),
    [
      ["GetObjectTagging", "k", 200],
      ["PutObjectTagging", "k", 200],
      ["GetObjectTagging", "k", 200],
      ["DeleteObjectTagging", "k", 204],
      ["GetObjectTagging", "k", 200],
    ],
  );
});

Deno.test("object tags: S3's limits refused with its codes, leaving the tags and the object as they were", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/tags" });
  await h.request({ method: "PUT", path: "/tags/k", body: "x", headers: { "x-amz-tagging": "keep=me" } });
  const eleven = Array.from({ length: 11 }, (_, i): [string, string] => [`k${i}`, "v"]);
  const refusals: [string, string][] = [
    [tagging(eleven), "BadRequest"],
    [tagging([["a", "1"], ["a", "2"]]), "InvalidTag"],
    [tagging([["aws:owner", "me"]]), "InvalidTag"],
    [tagging([["x".repeat(129), "v"]]), "InvalidTag"],
    [tagging([["k", "v".repeat(257)]]), "InvalidTag"],
    ["<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>", "MalformedXML"],
    ["<Tagging><TagSet>", "MalformedXML"],
  ];
  for (const [body, code] of refusals) {
    const r = await h.text({ method: "PUT", path: "/tags/k", query: { tagging: "" }, body });
    assert.equal(errorCode(r.body), code, body.slice(0, 80));
  }
  const headers: [string, string][] = [
    [eleven.map(([k, v]) => `${k}=${v}`).join("&"), "BadRequest"],
    ["a=1&a=2", "InvalidTag"],
    ["bad=%E0%A4%A", "InvalidArgument"],
  ];
  for (const [value, code] of headers) {
    const r = await h.text({ method: "PUT", path: "/tags/k", body: "new", headers: { "x-amz-tagging": value } });
    assert.equal(errorCode(r.body), code, value);
  }
  assert.equal((await h.text({ path: "/tags/k" })).body, "x");
  assert.deepEqual(tagsOf((await h.text({ path: "/tags/k", query: { tagging: "" } })).body), [["keep", "me"]]);
  const missing = await h.text({ method: "PUT", path: "/tags/none", query: { tagging: "" }, body: tagging([]) });
  assert.equal(errorCode(missing.body), "NoSuchKey");
  assert.equal(errorCode((await h.text({ path: "/tags/none", query: { tagging: "" } })).body), "NoSuchKey");
});

Deno.test("object tags take the key's grants: read to see them, write to change them", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/shared" });
  for (const key of ["public/p", "team/t"]) {
    await h.request({ method: "PUT", path: `/shared/${key}`, body: "x", headers: { "x-amz-tagging": "a=1" } });
  }
  let r = await h.text({ path: "/shared/public/p", query: { tagging: "" }, as: READER });
  assert.deepEqual(tagsOf(r.body), [["a", "1"]]);
  r = await h.text({ method: "PUT", path: "/shared/public/p", query: { tagging: "" }, body: tagging([]), as: READER });
  assert.equal(errorCode(r.body), "AccessDenied");
  r = await h.text({ method: "DELETE", path: "/shared/public/p", query: { tagging: "" }, as: READER });
  assert.equal(errorCode(r.body), "AccessDenied");
  r = await h.text({ path: "/shared/team/t", query: { tagging: "" }, as: READER });
  assert.equal(errorCode(r.body), "AccessDenied");
  r = await h.text({ method: "PUT", path: "/shared/team/t", query: { tagging: "" }, body: tagging([]), as: WRITER });
  assert.equal(r.res.status, 200);
  assert.deepEqual(tagsOf((await h.text({ path: "/shared/team/t", query: { tagging: "" } })).body), []);
  assert.deepEqual(tagsOf((await h.text({ path: "/shared/public/p", query: { tagging: "" } })).body), [["a", "1"]]);
});

Deno.test("CopyObject keeps the source's tags, or sets x-amz-tagging with x-amz-tagging-directive REPLACE; a multipart upload takes them at its start", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/tags" });
  await h.request({ method: "PUT", path: "/tags/src", body: "x", headers: { "x-amz-tagging": "from=source" } });
  const copy = (key: string, headers: Record<string, string>) =>
    h.text({ method: "PUT", path: `/tags/${key}`, headers: { "x-amz-copy-source": "tags/src", ...headers } });
  const tagsAt = async (key: string) => tagsOf((await h.text({ path: `/tags/${key}`, query: { tagging: "" } })).body);
  await copy("kept", { "x-amz-tagging": "ignored=without-replace" });
  assert.deepEqual(await tagsAt("kept"), [["from", "source"]]);
  await copy("replaced", { "x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "new=tags" });
  assert.deepEqual(await tagsAt("replaced"), [["new", "tags"]]);
  await copy("cleared", { "x-amz-tagging-directive": "REPLACE" });
  assert.deepEqual(await tagsAt("cleared"), []);
  assert.equal(errorCode((await copy("bad", { "x-amz-tagging-directive": "MERGE" })).body), "InvalidArgument");
  // A copy onto itself that only changes the tags is allowed, as in S3.
  const self = await h.text({
    method: "PUT",
    path: "/tags/src",
    headers: { "x-amz-copy-source": "tags/src", "x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "b=2" },
  });
  assert.equal(self.res.status, 200);
  assert.deepEqual(await tagsAt("src"), [["b", "2"]]);

  const created = await h.text({
    method: "POST",
    path: "/tags/mp",
    query: { uploads: "" },
    headers: { "x-amz-tagging": "via=multipart" },
  });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)![1]!;
  const part = await h.request({ method: "PUT", path: "/tags/mp", query: { partNumber: "1", uploadId }, body: "p" });
  const done = await h.text({
    method: "POST",
    path: "/tags/mp",
    query: { uploadId },
    body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${
      part.headers.get("etag")
    }</ETag></Part></CompleteMultipartUpload>`,
  });
  assert.equal(done.res.status, 200);
  assert.deepEqual(await tagsAt("mp"), [["via", "multipart"]]);
});
