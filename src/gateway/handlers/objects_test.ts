import assert from "node:assert/strict";
import { AppError } from "../../errors.ts";
import { createMemoryStore } from "../../storage/memory.ts";
import { createHarness, errorCode, type Harness, WRITER } from "../_testing/harness.ts";
import { racingHarness } from "../_testing/racing_harness.ts";
import { digestBase64 } from "../wire/checksums.ts";

async function filled(keys: string[], bucket = "lst"): Promise<Harness> {
  const h = createHarness();
  await h.request({ method: "PUT", path: `/${bucket}` });
  for (const k of keys) {
    const res = await h.request({
      method: "PUT",
      path: `/${bucket}/${k.split("/").map(encodeURIComponent).join("/")}`,
      body: k,
    });
    assert.equal(res.status, 200);
  }
  return h;
}

function keysOf(xml: string): string[] {
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
}

Deno.test("ListObjects v1: marker paging with NextMarker, delimiter and encoding-type=url", async () => {
  const h = await filled(["a b/1", "a b/2", "c+d", "e"]);
  let r = await h.text({ path: "/lst", query: { "max-keys": "2" } });
  assert.deepEqual(keysOf(r.body), ["a b/1", "a b/2"]);
  assert.match(r.body, /<IsTruncated>true<\/IsTruncated>/);
  assert.match(r.body, /<NextMarker>a b\/2<\/NextMarker>/);
  assert.match(r.body, /<Owner><ID>/);
  r = await h.text({ path: "/lst", query: { marker: "a b/2" } });
  assert.deepEqual(keysOf(r.body), ["c+d", "e"]);
  r = await h.text({ path: "/lst", query: { delimiter: "/", "encoding-type": "url" } });
  assert.match(r.body, /<CommonPrefixes><Prefix>a%20b\/<\/Prefix><\/CommonPrefixes>/);
  assert.deepEqual(keysOf(r.body), ["c%2Bd", "e"]);
  assert.match(r.body, /<EncodingType>url<\/EncodingType>/);
  r = await h.text({ path: "/lst", query: { "encoding-type": "base64" } });
  assert.equal(errorCode(r.body), "InvalidArgument");
  r = await h.text({ path: "/lst", query: { "max-keys": "many" } });
  assert.equal(errorCode(r.body), "InvalidArgument");
});

Deno.test("ListObjectsV2: start-after, opaque continuation token, fetch-owner, KeyCount, bad token", async () => {
  const h = await filled(["k1", "k2", "k3", "k4"]);
  let r = await h.text({ path: "/lst", query: { "list-type": "2", "start-after": "k1", "max-keys": "2" } });
  assert.deepEqual(keysOf(r.body), ["k2", "k3"]);
  assert.match(r.body, /<KeyCount>2<\/KeyCount>/);
  assert.doesNotMatch(r.body, /<Owner>/);
  const token = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(r.body)![1]!;
  assert.notEqual(token, "k3", "tokens are opaque");
  r = await h.text({ path: "/lst", query: { "list-type": "2", "continuation-token": token, "fetch-owner": "true" } });
  assert.deepEqual(keysOf(r.body), ["k4"]);
  assert.match(r.body, /<Owner>/);
  assert.match(r.body, /<IsTruncated>false<\/IsTruncated>/);
  r = await h.text({ path: "/lst", query: { "list-type": "2", "continuation-token": "%%%" } });
  assert.equal(errorCode(r.body), "InvalidArgument");
});

Deno.test("DeleteObjects: per-key results, Quiet mode, per-key AccessDenied, Content-MD5 required, MalformedXML", async () => {
  const h = await filled(["team/a", "team/b", "other/c"], "shared");
  const xml = (quiet: boolean, keys: string[]) =>
    `<Delete>${quiet ? "<Quiet>true</Quiet>" : ""}${
      keys.map((k) => `<Object><Key>${k}</Key></Object>`).join("")
    }</Delete>`;
  const send = (body: string, as = WRITER) =>
    h.text({
      method: "POST",
      path: "/shared",
      query: { delete: "" },
      body,
      as,
      headers: { "content-md5": digestBase64("md5", new TextEncoder().encode(body)) },
    });
  let r = await send(xml(false, ["team/a", "other/c"]));
  assert.equal(r.res.status, 200, r.body);
  assert.match(r.body, /<Deleted><Key>team\/a<\/Key><\/Deleted>/);
  assert.match(r.body, /<Error><Key>other\/c<\/Key><Code>AccessDenied<\/Code>/);
  const ev = h.events[h.events.length - 1]!;
  assert.deepEqual([ev.op, ev.deletedKeys], ["DeleteObjects", ["team/a"]]);
  r = await send(xml(true, ["team/b", "team/missing"]));
  assert.doesNotMatch(r.body, /<Deleted>/, "Quiet lists only errors");
  assert.equal((await h.request({ path: "/shared/team/b" })).status, 404);
  r = await h.text({ method: "POST", path: "/shared", query: { delete: "" }, body: xml(false, ["x"]) });
  assert.equal(errorCode(r.body), "InvalidRequest");
  r = await send("<Delete><Object></Delete>");
  assert.equal(errorCode(r.body), "MalformedXML");
  r = await send(xml(false, Array.from({ length: 1001 }, (_, i) => `k${i}`)));
  assert.equal(errorCode(r.body), "MalformedXML");
});

Deno.test("CopyObject: COPY and REPLACE directives, percent-encoded source, copy-source conditions, self-copy rule", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/cpy" });
  await h.request({
    method: "PUT",
    path: "/cpy/src%20key",
    body: "payload",
    headers: { "content-type": "text/a", "x-amz-meta-m": "1" },
  });
  const etag = (await h.request({ method: "HEAD", path: "/cpy/src%20key" })).headers.get("etag")!;
  let r = await h.text({ method: "PUT", path: "/cpy/dst", headers: { "x-amz-copy-source": "cpy/src%20key" } });
  assert.equal(r.res.status, 200, r.body);
  assert.match(r.body, /<CopyObjectResult .*<ETag>&quot;[0-9a-f]{32}&quot;<\/ETag>/);
  let head = await h.request({ method: "HEAD", path: "/cpy/dst" });
  assert.equal(head.headers.get("content-type"), "text/a");
  assert.equal(head.headers.get("x-amz-meta-m"), "1");
  r = await h.text({
    method: "PUT",
    path: "/cpy/dst2",
    headers: {
      "x-amz-copy-source": "/cpy/src%20key",
      "x-amz-metadata-directive": "REPLACE",
      "content-type": "text/b",
      "x-amz-meta-n": "2",
    },
  });
  head = await h.request({ method: "HEAD", path: "/cpy/dst2" });
  assert.equal(head.headers.get("content-type"), "text/b");
  assert.equal(head.headers.get("x-amz-meta-m"), null);
  assert.equal(head.headers.get("x-amz-meta-n"), "2");
  const cond: [Record<string, string>, number][] = [
    [{ "x-amz-copy-source-if-match": etag }, 200],
    [{ "x-amz-copy-source-if-match": '"x"' }, 412],
    [{ "x-amz-copy-source-if-none-match": etag }, 412],
    [{ "x-amz-copy-source-if-unmodified-since": "Mon, 01 Jan 2001 00:00:00 GMT" }, 412],
    [{ "x-amz-copy-source-if-modified-since": "Fri, 01 Jan 2100 00:00:00 GMT" }, 412],
    [
      { "x-amz-copy-source-if-match": etag, "x-amz-copy-source-if-unmodified-since": "Mon, 01 Jan 2001 00:00:00 GMT" },
      200,
    ],
  ];
  for (const [headers, status] of cond) {
    r = await h.text({ method: "PUT", path: "/cpy/c", headers: { "x-amz-copy-source": "cpy/src%20key", ...headers } });
    assert.equal(r.res.status, status, JSON.stringify(headers));
    if (status === 412) assert.equal(errorCode(r.body), "PreconditionFailed");
  }
  r = await h.text({ method: "PUT", path: "/cpy/src%20key", headers: { "x-amz-copy-source": "cpy/src%20key" } });
  assert.equal(errorCode(r.body), "InvalidRequest");
  r = await h.text({ method: "PUT", path: "/cpy/x", headers: { "x-amz-copy-source": "cpy/missing" } });
  assert.equal(errorCode(r.body), "NoSuchKey");
  r = await h.text({ method: "PUT", path: "/cpy/x", headers: { "x-amz-copy-source": "nobucketslash" } });
  assert.equal(errorCode(r.body), "InvalidArgument");
  const copy = h.events.find((e) => e.op === "CopyObject" && e.status === 200)!;
  assert.deepEqual(copy.source, { bucket: "cpy", key: "src key" });
});

Deno.test("CopyObject and UploadPartCopy copy the version their copy-source conditions held for: a source replaced after the check is checked again", async () => {
  const { h, putOlder: reset } = await racingHarness("race", "src", { older: "older", newer: "newer" });
  const copy = (headers: Record<string, string>, path = "/race/dst", query?: Record<string, string>) =>
    h.text({
      method: "PUT",
      path,
      headers: { "x-amz-copy-source": "race/src", ...headers },
      ...(query ? { query } : {}),
    });

  const older = await reset();
  let r = await copy({ "x-amz-copy-source-if-match": older });
  assert.equal(r.res.status, 412, "the version the condition holds for is gone: nothing is copied");
  assert.equal((await h.request({ method: "HEAD", path: "/race/dst" })).status, 404);

  await reset();
  r = await copy({});
  assert.equal(r.res.status, 200, r.body);
  assert.equal(await (await h.request({ path: "/race/dst" })).text(), "newer", "without conditions, the new version");

  const created = await h.text({ method: "POST", path: "/race/mp", query: { uploads: "" } });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)![1]!;
  const part = { partNumber: "1", uploadId };
  const olderPart = await reset();
  r = await copy({ "x-amz-copy-source-if-match": olderPart }, "/race/mp", part);
  assert.equal(r.res.status, 412, "a part of the gone version is not copied");
  const listed = await h.text({ path: "/race/mp", query: { uploadId } });
  assert.doesNotMatch(listed.body, /<Part>/, "and no part is stored");
});

Deno.test("an unexpected store failure is InternalError (500) and the message stays inside", async () => {
  const store = createMemoryStore();
  const broken = { ...store, listBuckets: () => Promise.reject(new Error("disk on fire")) };
  const h = createHarness({ store: broken });
  const r = await h.text({ path: "/" });
  assert.equal(r.res.status, 500);
  assert.equal(errorCode(r.body), "InternalError");
  assert.doesNotMatch(r.body, /disk on fire/);
  const unavailable = { ...store, listBuckets: () => Promise.reject(new AppError("Unavailable", "backend down")) };
  const r2 = await createHarness({ store: unavailable }).text({ path: "/" });
  assert.equal(r2.res.status, 503);
  assert.equal(errorCode(r2.body), "ServiceUnavailable");
});
