import assert from "node:assert/strict";
import { contentMd5, createHarness, errorCode, READER } from "../_testing/harness.ts";

const CONFIG = "<LifecycleConfiguration><Rule><ID>dumps</ID><Filter><Prefix>dump/</Prefix></Filter>" +
  "<Status>Enabled</Status><Expiration><Days>30</Days></Expiration><AbortIncompleteMultipartUpload>" +
  "<DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";

/** A harness with bucket `web` holding lifecycle rules `config`. */
async function withRules(config: string) {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/web" });
  const headers = { "content-md5": contentMd5(config) };
  const r = await h.text({ method: "PUT", path: "/web", query: { lifecycle: "" }, body: config, headers });
  assert.equal(r.res.status, 200, r.body);
  return h;
}

Deno.test("PutBucketLifecycleConfiguration, Get and DeleteBucketLifecycle round-trip; refusals keep the rules", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/web" });
  const put = (body: string, headers: Record<string, string> = { "content-md5": contentMd5(body) }) =>
    h.text({ method: "PUT", path: "/web", query: { lifecycle: "" }, body, headers });
  let r = await h.text({ path: "/web", query: { lifecycle: "" } });
  assert.equal(errorCode(r.body), "NoSuchLifecycleConfiguration");
  r = await put(CONFIG);
  assert.equal(r.res.status, 200, r.body);
  r = await h.text({ path: "/web", query: { lifecycle: "" } });
  assert.equal(r.res.status, 200);
  assert.match(
    r.body,
    /<LifecycleConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><Rule><ID>dumps<\/ID><Filter><Prefix>dump\/<\/Prefix><\/Filter><Status>Enabled<\/Status><Expiration><Days>30<\/Days><\/Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1<\/DaysAfterInitiation><\/AbortIncompleteMultipartUpload><\/Rule><\/LifecycleConfiguration>/,
  );
  const refusals: [Promise<{ res: Response; body: string }>, number, string][] = [
    [h.text({ method: "PUT", path: "/web", query: { lifecycle: "" }, body: CONFIG, as: READER }), 403, "AccessDenied"],
    [put(CONFIG, {}), 400, "InvalidRequest"],
    [put(CONFIG.replace("<Days>30", "<Days>-1")), 400, "InvalidArgument"],
    [put(CONFIG.replaceAll("Expiration>", "Transition>")), 501, "NotImplemented"],
  ];
  for (const [pending, status, code] of refusals) {
    const refused = await pending;
    assert.equal(refused.res.status, status, refused.body);
    assert.equal(errorCode(refused.body), code, refused.body);
  }
  r = await h.text({ path: "/web", query: { lifecycle: "" } });
  assert.match(r.body, /<Days>30<\/Days>/, "a refused configuration left the rules as they were");
  r = await h.text({ method: "DELETE", path: "/web", query: { lifecycle: "" } });
  assert.equal(r.res.status, 204);
  r = await h.text({ path: "/web", query: { lifecycle: "" } });
  assert.equal(errorCode(r.body), "NoSuchLifecycleConfiguration");
  assert.deepEqual(
    h.events.filter((e) => e.op.includes("Lifecycle")).map((e) => `${e.op} ${e.status}`).slice(0, 3),
    [
      "GetBucketLifecycleConfiguration 404",
      "PutBucketLifecycleConfiguration 200",
      "GetBucketLifecycleConfiguration 200",
    ],
  );
});

Deno.test("x-amz-expiration on PUT, GET and HEAD names when a rule will delete the object, and which", async () => {
  const h = await withRules(CONFIG);
  const put = await h.request({ method: "PUT", path: "/web/dump/a.vma", body: "backup" });
  await put.body?.cancel();
  const expected = /^expiry-date="\w{3}, \d{2} \w{3} \d{4} 00:00:00 GMT", rule-id="dumps"$/;
  assert.match(put.headers.get("x-amz-expiration") ?? "", expected);
  const stored = await h.store.headObject("web", "dump/a.vma");
  const due = new Date(Math.ceil((stored.lastModified.getTime() + 30 * 86_400_000) / 86_400_000) * 86_400_000);
  for (const method of ["GET", "HEAD"]) {
    const res = await h.request({ method, path: "/web/dump/a.vma" });
    await res.body?.cancel();
    assert.equal(res.headers.get("x-amz-expiration"), `expiry-date="${due.toUTCString()}", rule-id="dumps"`, method);
  }
  const other = await h.request({ method: "PUT", path: "/web/iso/x.iso", body: "iso" });
  await other.body?.cancel();
  assert.equal(other.headers.get("x-amz-expiration"), null, "no rule for this prefix");
});

Deno.test("x-amz-expiration names the rule URL-encoded, as S3 does: any ID leaves PUT, GET and HEAD answering", async () => {
  // An ID is any text; sent as it is, "€" or a line feed cannot be a header value and every answer failed.
  const h = await withRules(CONFIG.replace("<ID>dumps</ID>", "<ID>dumps €/daily&#10;run</ID>"));
  for (const method of ["PUT", "GET", "HEAD"]) {
    const res = await h.request({ method, path: "/web/dump/a.vma", ...(method === "PUT" ? { body: "backup" } : {}) });
    await res.body?.cancel();
    assert.equal(res.status, 200, method);
    assert.match(res.headers.get("x-amz-expiration") ?? "", /, rule-id="dumps%20%E2%82%AC%2Fdaily%0Arun"$/, method);
  }
});

Deno.test("x-amz-expiration names a rule with tags only for objects that have them", async () => {
  const h = await withRules(
    "<LifecycleConfiguration><Rule><ID>tmp</ID><Filter><Tag><Key>kind</Key><Value>tmp</Value></Tag></Filter>" +
      "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>",
  );
  const tagged = await h.request({
    method: "PUT",
    path: "/web/a",
    body: "x",
    headers: { "x-amz-tagging": "kind=tmp" },
  });
  await tagged.body?.cancel();
  assert.match(tagged.headers.get("x-amz-expiration") ?? "", /rule-id="tmp"$/);
  const plain = await h.request({
    method: "PUT",
    path: "/web/b",
    body: "x",
    headers: { "x-amz-tagging": "kind=keep" },
  });
  await plain.body?.cancel();
  assert.equal(plain.headers.get("x-amz-expiration"), null);
  const body = "<Tagging><TagSet><Tag><Key>kind</Key><Value>tmp</Value></Tag></TagSet></Tagging>";
  await h.request({ method: "PUT", path: "/web/b", query: { tagging: "" }, body });
  const head = await h.request({ method: "HEAD", path: "/web/b" });
  assert.match(head.headers.get("x-amz-expiration") ?? "", /rule-id="tmp"$/, "tagged later");
});

Deno.test("a lifecycle rule set without an ID is given one, as S3 does, which it keeps", async () => {
  const h = await withRules(CONFIG.replace("<ID>dumps</ID>", ""));
  const read = async () => (await h.text({ path: "/web", query: { lifecycle: "" } })).body;
  const id = /<Rule><ID>([^<]+)<\/ID><Filter><Prefix>dump\//.exec(await read())?.[1];
  assert.ok(id, "an ID is answered");
  assert.equal(/<ID>([^<]+)<\/ID>/.exec(await read())?.[1], id, "the same one each time");
});
