// A real browser against the gateway: Chromium (Debian package; CI installs it, a missing one fails) runs pages from
// two origins. The one the bucket's CORS rules name uploads and downloads through presigned URLs and a presigned POST
// form, as a web application would; the browser refuses the other from the gateway's own preflight answers.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { chromium, type Page } from "playwright-core";
import { ADMIN, contentMd5, createHarness, type Harness } from "./_testing/harness.ts";
import { serveHarness } from "./_testing/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const md5Hex = (data: string) => createHash("md5").update(data).digest("hex");

async function putCors(h: Harness, origin: string | undefined): Promise<void> {
  if (origin === undefined) {
    const r = await h.request({ method: "DELETE", path: "/web", query: { cors: "" } });
    assert.equal(r.status, 204);
    return;
  }
  const xml =
    `<CORSConfiguration><CORSRule><AllowedOrigin>${origin}</AllowedOrigin><AllowedMethod>GET</AllowedMethod>` +
    "<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedHeader>*</AllowedHeader>" +
    "<ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>";
  const r = await h.request({
    method: "PUT",
    path: "/web",
    query: { cors: "" },
    body: xml,
    headers: { "content-md5": contentMd5(xml) },
  });
  assert.equal(r.status, 200, await r.text());
}

interface Urls {
  put: string;
  get: string;
  missing: string;
  post: { url: string; fields: Record<string, string> };
}

/** What a page's script gets back from the gateway: each call's status, readable headers and body, or its error. */
function fromPage(page: Page, urls: Urls) {
  return page.evaluate(async ({ put, get, missing, post }) => {
    const attempt = async (call: () => Promise<Response>) => {
      try {
        const res = await call();
        return { status: res.status, etag: res.headers.get("etag"), body: await res.text() };
      } catch (err) {
        return { error: String(err) };
      }
    };
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
    form.append("file", new Blob(["posted by a form"], { type: "text/plain" }), "form.txt");
    return {
      put: await attempt(() =>
        fetch(put, { method: "PUT", body: "hello from a browser", headers: { "content-type": "text/plain" } })
      ),
      // Not from the browser's cache: a URL presigned again within the same second is the same URL, and a cached
      // answer (revalidated with a 304) would carry the CORS headers of when it was first fetched.
      get: await attempt(() => fetch(get, { cache: "no-store" })),
      missing: await attempt(() => fetch(missing, { cache: "no-store" })),
      post: await attempt(() => fetch(post.url, { method: "POST", body: form })),
    };
  }, urls);
}

Deno.test("Chromium: a page on an allowed origin puts, gets and posts objects; other origins are refused", async () => {
  const h = createHarness();
  const gateway = await serveHarness(h);
  const pages = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<!doctype html><title>console</title>", { headers: { "content-type": "text/html" } }),
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Two origins on the one loopback page server; as root Chromium needs --no-sandbox.
    args: ["--no-sandbox", "--host-resolver-rules=MAP app.test 127.0.0.1, MAP other.test 127.0.0.1"],
  });
  try {
    const app = `http://app.test:${pages.addr.port}`;
    const other = `http://other.test:${pages.addr.port}`;
    await h.request({ method: "PUT", path: "/web" });
    await putCors(h, app);
    const s3 = new S3Client({
      endpoint: gateway.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: ADMIN,
    });
    const presign = async (key: string): Promise<Urls> => ({
      put: await getSignedUrl(s3, new PutObjectCommand({ Bucket: "web", Key: key }), { expiresIn: 300 }),
      get: await getSignedUrl(s3, new GetObjectCommand({ Bucket: "web", Key: key }), { expiresIn: 300 }),
      missing: await getSignedUrl(s3, new GetObjectCommand({ Bucket: "web", Key: "missing" }), { expiresIn: 300 }),
      post: await createPresignedPost(s3, {
        Bucket: "web",
        Key: `${key}.posted`,
        Fields: { success_action_status: "201" },
        Expires: 300,
      }),
    });

    const appPage = await browser.newPage();
    await appPage.goto(`${app}/`);
    const allowed = await fromPage(appPage, await presign("from-app.txt"));
    assert.deepEqual(allowed.put, { status: 200, etag: `"${md5Hex("hello from a browser")}"`, body: "" });
    assert.deepEqual(allowed.get, {
      status: 200,
      etag: `"${md5Hex("hello from a browser")}"`,
      body: "hello from a browser",
    });
    assert.ok("status" in allowed.missing && allowed.missing.status === 404, JSON.stringify(allowed.missing));
    assert.match(allowed.missing.body, /<Code>NoSuchKey<\/Code>/, "the page can read the error");
    assert.ok("status" in allowed.post && allowed.post.status === 201, JSON.stringify(allowed.post));
    assert.match(allowed.post.body, /<Key>from-app.txt.posted<\/Key>/);
    const stored = await h.store.getObject("web", "from-app.txt.posted");
    assert.equal(await new Response(stored.body).text(), "posted by a form");
    const preflights = h.events.filter((e) => e.op === "PreflightRequest").map((e) => e.status);
    assert.deepEqual(preflights, [200], "the browser asked before its PUT, and was allowed");

    const otherPage = await browser.newPage();
    await otherPage.goto(`${other}/`);
    const refused = await fromPage(otherPage, await presign("from-other.txt"));
    for (const call of Object.values(refused)) assert.match(JSON.stringify(call), /Failed to fetch/);
    await assert.rejects(h.store.headObject("web", "from-other.txt"), "the refused preflight kept the PUT unsent");
    assert.equal(h.events.filter((e) => e.op === "PreflightRequest").at(-1)?.status, 403);

    await putCors(h, undefined);
    const afterDelete = await fromPage(appPage, await presign("from-app.txt"));
    assert.match(JSON.stringify(afterDelete.get), /Failed to fetch/, "without rules no origin may read");
  } finally {
    await browser.close();
    await pages.shutdown();
    await gateway.close();
  }
});
