// A small object of the fs store (read whole when opened) is answered with a byte body instead of a stream. Over a
// real Deno.serve socket: the S3 semantics of GET/HEAD stay those of the streamed path, and each request still
// yields exactly one event with the bytes sent.
import assert from "node:assert/strict";
import { createFsStore } from "../storage/fs.ts";
import { ADMIN, createHarness, errorCode, type Harness, sdkSigner } from "./_testing/harness.ts";
import { serveHarness, type TestServer } from "./_testing/server.ts";
import { digestBase64 } from "./wire/checksums.ts";

const body = Uint8Array.from({ length: 4096 }, (_, i) => (i * 13 + (i >>> 8)) & 0xff);
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

async function signed(server: TestServer, method: string, path: string, headers: Record<string, string> = {}) {
  const [pathname, search = ""] = path.split("?");
  const query = Object.fromEntries(new URLSearchParams(search));
  const s = await sdkSigner(ADMIN).sign({
    method,
    protocol: "http:",
    hostname: "127.0.0.1",
    port: server.port,
    path: pathname!,
    query,
    headers: { host: `127.0.0.1:${server.port}`, "x-amz-content-sha256": EMPTY_SHA256, ...headers },
  });
  const out = { ...s.headers as Record<string, string> };
  delete out.host;
  return out;
}

async function get(server: TestServer, path: string, headers: Record<string, string> = {}, method = "GET") {
  const res = await fetch(`${server.endpoint}${path}`, {
    method,
    headers: await signed(server, method, path, headers),
  });
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

function eventOf(h: Harness, res: Response) {
  const id = res.headers.get("x-amz-request-id");
  assert.match(id ?? "", /^[0-9A-F]{16}$/);
  assert.ok(res.headers.get("x-amz-id-2"));
  const events = h.events.filter((e) => e.requestId === id);
  assert.equal(events.length, 1, "one event per request");
  return events[0]!;
}

async function withServer(fn: (h: Harness, server: TestServer) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "gateway-small-get-" });
  const store = await createFsStore({ root });
  const h = createHarness({ store });
  const server = await serveHarness(h);
  try {
    assert.equal((await h.request({ method: "PUT", path: "/small" })).status, 200);
    const put = await h.request({
      method: "PUT",
      path: "/small/obj",
      body,
      headers: { "x-amz-checksum-crc32": digestBase64("crc32", body), "content-type": "text/x-test" },
    });
    assert.equal(put.status, 200);
    assert.equal((await h.request({ method: "PUT", path: "/small/empty", body: new Uint8Array(0) })).status, 200);
    await fn(h, server);
  } finally {
    await server.close();
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("small GET over HTTP: whole body, headers, checksums, overrides, and one event with the bytes sent", async () => {
  await withServer(async (h, server) => {
    const { res, bytes } = await get(server, "/small/obj", { "x-amz-checksum-mode": "ENABLED" });
    assert.equal(res.status, 200);
    assert.deepEqual(bytes, body);
    assert.equal(res.headers.get("content-length"), "4096");
    assert.equal(res.headers.get("content-type"), "text/x-test");
    assert.equal(res.headers.get("x-amz-checksum-crc32"), digestBase64("crc32", body));
    const ev = eventOf(h, res);
    assert.deepEqual([ev.op, ev.status, ev.bytesOut, ev.size, ev.errorCode], ["GetObject", 200, 4096, 4096, undefined]);

    const plain = await get(server, "/small/obj?response-content-type=application%2Fx-over");
    assert.equal(plain.res.headers.get("content-type"), "application/x-over");
    assert.equal(plain.res.headers.get("x-amz-checksum-crc32"), null);
    assert.equal(plain.bytes.byteLength, 4096);

    const empty = await get(server, "/small/empty");
    assert.deepEqual([empty.res.status, empty.bytes.byteLength], [200, 0]);
    assert.deepEqual([eventOf(h, empty.res).bytesOut, eventOf(h, empty.res).size], [0, 0]);
    assert.match(h.gateway.metrics(), /s3_requests_in_flight 0/);

    // The store hands out the bytes it read, and a stream of the same bytes for callers that want one.
    const got = await h.store.getObject("small", "obj");
    assert.deepEqual(got.bytes, body);
    assert.deepEqual(new Uint8Array(await new Response(got.body).arrayBuffer()), body);
    const ranged = await h.store.getObject("small", "obj", { range: { start: 5, end: 9 } });
    assert.deepEqual(ranged.bytes, body.subarray(5, 10));
  });
});

Deno.test("small GET over HTTP: Range, HEAD, 304 and 412 behave as for streamed objects", async () => {
  await withServer(async (h, server) => {
    const etag = (await get(server, "/small/obj", {}, "HEAD")).res.headers.get("etag")!;
    const range = await get(server, "/small/obj", { range: "bytes=10-19" });
    assert.equal(range.res.status, 206);
    assert.equal(range.res.headers.get("content-range"), "bytes 10-19/4096");
    assert.deepEqual(range.bytes, body.subarray(10, 20));
    assert.equal(eventOf(h, range.res).bytesOut, 10);

    const head = await get(server, "/small/obj", {}, "HEAD");
    assert.deepEqual([head.res.status, head.res.headers.get("content-length"), head.bytes.byteLength], [
      200,
      "4096",
      0,
    ]);
    assert.deepEqual([eventOf(h, head.res).op, eventOf(h, head.res).bytesOut], ["HeadObject", 0]);

    const notModified = await get(server, "/small/obj", { "if-none-match": etag });
    assert.deepEqual([notModified.res.status, notModified.bytes.byteLength], [304, 0]);
    assert.equal(notModified.res.headers.get("etag"), etag);
    assert.deepEqual([eventOf(h, notModified.res).status, eventOf(h, notModified.res).bytesOut], [304, 0]);

    const failed = await get(server, "/small/obj", { "if-match": '"0123"' });
    assert.equal(failed.res.status, 412);
    assert.equal(errorCode(new TextDecoder().decode(failed.bytes)), "PreconditionFailed");
    assert.equal(eventOf(h, failed.res).errorCode, "PreconditionFailed");
    assert.equal(eventOf(h, failed.res).bytesOut, failed.bytes.byteLength);

    const missing = await get(server, "/small/none");
    assert.equal(missing.res.status, 404);
    assert.equal(eventOf(h, missing.res).errorCode, "NoSuchKey");
  });
});

Deno.test("small GET: a client gone before reading the answer leaves one event and no request in flight", async () => {
  await withServer(async (h, server) => {
    const headers = await signed(server, "GET", "/small/obj");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const head = [`GET /small/obj HTTP/1.1`, `host: 127.0.0.1:${server.port}`]
      .concat(Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "", "").join("\r\n");
    await conn.write(new TextEncoder().encode(head));
    conn.close();
    const until = Date.now() + 5000;
    while (!h.events.some((e) => e.op === "GetObject") && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const events = h.events.filter((e) => e.op === "GetObject");
    assert.equal(events.length, 1);
    assert.equal(events[0]!.status, 200);
    assert.match(h.gateway.metrics(), /s3_requests_in_flight 0/);
    // The server keeps serving.
    assert.equal((await get(server, "/small/obj")).res.status, 200);
  });
});
