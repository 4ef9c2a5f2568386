import assert from "node:assert/strict";
import { ADMIN, contentMd5, createHarness, errorCode, type Harness, READER } from "../_testing/harness.ts";

const CONFIG = '<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  "<CORSRule><ID>app</ID><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>" +
  "<AllowedMethod>PUT</AllowedMethod><AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>" +
  "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>" +
  "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule></CORSConfiguration>";

async function withCors(h: Harness, bucket = "web"): Promise<void> {
  await h.request({ method: "PUT", path: `/${bucket}` });
  const r = await h.text({
    method: "PUT",
    path: `/${bucket}`,
    query: { cors: "" },
    body: CONFIG,
    headers: { "content-md5": contentMd5(CONFIG) },
  });
  assert.equal(r.res.status, 200, r.body);
}

function preflight(h: Harness, path: string, headers: Record<string, string>) {
  return h.text({ method: "OPTIONS", path, headers, as: "anonymous" });
}

Deno.test("PutBucketCors, GetBucketCors and DeleteBucketCors round-trip; events name each", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/web" });
  let r = await h.text({ path: "/web", query: { cors: "" } });
  assert.equal(r.res.status, 404);
  assert.equal(errorCode(r.body), "NoSuchCORSConfiguration");
  await withCors(h);
  r = await h.text({ path: "/web", query: { cors: "" }, as: READER });
  assert.equal(r.res.status, 403, "a key without grants on the bucket cannot read its rules");
  r = await h.text({ path: "/web", query: { cors: "" } });
  assert.equal(r.res.status, 200);
  assert.match(
    r.body,
    /<CORSConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><CORSRule><ID>app<\/ID><AllowedHeader>content-type<\/AllowedHeader><AllowedHeader>x-amz-\*<\/AllowedHeader><AllowedMethod>GET<\/AllowedMethod><AllowedMethod>PUT<\/AllowedMethod><AllowedOrigin>https:\/\/app.example<\/AllowedOrigin><ExposeHeader>ETag<\/ExposeHeader><MaxAgeSeconds>600<\/MaxAgeSeconds><\/CORSRule><CORSRule><AllowedMethod>HEAD<\/AllowedMethod><AllowedOrigin>\*<\/AllowedOrigin><\/CORSRule><\/CORSConfiguration>/,
  );
  r = await h.text({ method: "DELETE", path: "/web", query: { cors: "" } });
  assert.equal(r.res.status, 204);
  r = await h.text({ path: "/web", query: { cors: "" } });
  assert.equal(errorCode(r.body), "NoSuchCORSConfiguration");
  const ops = h.events.filter((e) => e.op.endsWith("BucketCors")).map((e) => `${e.op} ${e.status}`);
  assert.deepEqual(ops, [
    "GetBucketCors 404",
    "PutBucketCors 200",
    "GetBucketCors 403",
    "GetBucketCors 200",
    "DeleteBucketCors 204",
    "GetBucketCors 404",
  ]);
});

Deno.test("PutBucketCors refuses non-admin keys, a body without digest, a wrong digest, bad rules, a missing bucket", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/web" });
  const put = (body: string, headers: Record<string, string>, bucket = "web", as = ADMIN) =>
    h.text({ method: "PUT", path: `/${bucket}`, query: { cors: "" }, body, headers, as });
  const cases: [Promise<{ res: Response; body: string }>, number, string][] = [
    [put(CONFIG, { "content-md5": contentMd5(CONFIG) }, "web", READER), 403, "AccessDenied"],
    [put(CONFIG, {}), 400, "InvalidRequest"],
    [put(CONFIG, { "content-md5": contentMd5(CONFIG + " ") }), 400, "BadDigest"],
    [put("<CORSConfiguration/>", { "content-md5": contentMd5("<CORSConfiguration/>") }), 400, "MalformedXML"],
    [put("<CORSConfiguration", { "content-md5": contentMd5("<CORSConfiguration") }), 400, "MalformedXML"],
    [put(CONFIG, { "content-md5": contentMd5(CONFIG) }, "missing"), 404, "NoSuchBucket"],
  ];
  const big = `<CORSConfiguration><CORSRule><AllowedOrigin>${
    "o".repeat(70_000)
  }</AllowedOrigin></CORSRule></CORSConfiguration>`;
  cases.push([put(big, { "content-md5": contentMd5(big) }), 400, "MalformedXML"]);
  for (const [pending, status, code] of cases) {
    const r = await pending;
    assert.equal(r.res.status, status, r.body);
    assert.equal(errorCode(r.body), code, r.body);
  }
  const r = await h.text({ path: "/web", query: { cors: "" } });
  assert.equal(errorCode(r.body), "NoSuchCORSConfiguration", "no refused request set any rule");
});

Deno.test("preflight: allowed when a rule covers origin, method and headers, with S3's answers otherwise", async () => {
  const h = createHarness();
  await withCors(h);
  let r = await preflight(h, "/web/photos/a.jpg", {
    origin: "https://app.example",
    "access-control-request-method": "PUT",
    "access-control-request-headers": "Content-Type, X-Amz-Meta-Album",
  });
  assert.equal(r.res.status, 200, r.body);
  assert.equal(r.res.headers.get("access-control-allow-origin"), "https://app.example");
  assert.equal(r.res.headers.get("access-control-allow-credentials"), "true");
  assert.equal(r.res.headers.get("access-control-allow-methods"), "GET, PUT");
  assert.equal(r.res.headers.get("access-control-allow-headers"), "content-type, x-amz-meta-album");
  assert.equal(r.res.headers.get("access-control-expose-headers"), "ETag");
  assert.equal(r.res.headers.get("access-control-max-age"), "600");
  assert.match(r.res.headers.get("vary") ?? "", /Origin/);
  assert.ok(r.res.headers.get("x-amz-request-id"));

  r = await preflight(h, "/web/a", { origin: "https://evil.example", "access-control-request-method": "HEAD" });
  assert.equal(r.res.status, 200, "the second rule allows HEAD from anywhere");
  assert.equal(r.res.headers.get("access-control-allow-origin"), "*");
  assert.equal(r.res.headers.get("access-control-allow-credentials"), null);

  const refusals: [Record<string, string>, number, string, RegExp][] = [
    [{ origin: "https://evil.example", "access-control-request-method": "PUT" }, 403, "AccessForbidden", /not allowed/],
    [
      {
        origin: "https://app.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "authorization",
      },
      403,
      "AccessForbidden",
      /not allowed/,
    ],
    [{ "access-control-request-method": "GET" }, 400, "BadRequest", /Origin request header needed/],
    [{ origin: "https://app.example" }, 400, "BadRequest", /Access-Control-Request-Method: null/],
    [{ origin: "https://app.example", "access-control-request-method": "PATCH" }, 400, "BadRequest", /PATCH/],
  ];
  for (const [headers, status, code, message] of refusals) {
    r = await preflight(h, "/web/a", headers);
    assert.equal(r.res.status, status, JSON.stringify(headers));
    assert.equal(errorCode(r.body), code);
    assert.match(r.body, message);
    assert.equal(r.res.headers.get("access-control-allow-origin"), null);
  }
  await h.request({ method: "PUT", path: "/plain" });
  r = await preflight(h, "/plain/a", { origin: "https://app.example", "access-control-request-method": "GET" });
  assert.equal(r.res.status, 403);
  assert.match(r.body, /CORS is not enabled for this bucket/);
  r = await preflight(h, "/nobucket/a", { origin: "https://app.example", "access-control-request-method": "GET" });
  assert.equal(errorCode(r.body), "NoSuchBucket");
  assert.deepEqual(
    h.events.filter((e) => e.op === "PreflightRequest").map((e) => `${e.actor} ${e.status}`).slice(0, 3),
    ["anonymous 200", "anonymous 200", "anonymous 403"],
  );
});

Deno.test("actual requests from an allowed origin get the CORS headers, errors included; others get only Vary", async () => {
  const h = createHarness();
  await withCors(h);
  await h.request({ method: "PUT", path: "/web/a.txt", body: "hello" });
  const origin = { origin: "https://app.example" };
  let r = await h.text({ path: "/web/a.txt", headers: origin });
  assert.equal(r.body, "hello");
  assert.equal(r.res.headers.get("access-control-allow-origin"), "https://app.example");
  assert.equal(r.res.headers.get("access-control-expose-headers"), "ETag");
  r = await h.text({ path: "/web/missing.txt", headers: origin });
  assert.equal(r.res.status, 404);
  assert.equal(r.res.headers.get("access-control-allow-origin"), "https://app.example", "a page can read the error");
  r = await h.text({ method: "DELETE", path: "/web/a.txt", headers: origin });
  assert.equal(r.res.status, 204);
  assert.equal(r.res.headers.get("access-control-allow-origin"), null, "no rule allows DELETE");
  assert.match(r.res.headers.get("vary") ?? "", /Access-Control-Request-Method/);
  r = await h.text({ path: "/web/missing.txt" });
  assert.equal(r.res.headers.get("access-control-allow-origin"), null, "no Origin, no CORS headers");
  assert.equal(r.res.headers.get("vary"), null);
  await h.request({ method: "PUT", path: "/plain" });
  r = await h.text({ path: "/plain", headers: origin });
  assert.equal(r.res.headers.get("vary"), null, "a bucket without rules answers as before");
});

Deno.test("rules stay with their bucket: deleting the bucket drops them", async () => {
  const h = createHarness();
  await withCors(h);
  let r = await h.text({ method: "DELETE", path: "/web" });
  assert.equal(r.res.status, 204);
  await new Promise((resolve) => setTimeout(resolve, 2));
  await h.request({ method: "PUT", path: "/web" });
  r = await h.text({ path: "/web", query: { cors: "" } });
  assert.equal(errorCode(r.body), "NoSuchCORSConfiguration");
});
