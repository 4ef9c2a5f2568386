// A client that disconnects mid-upload must leave no object behind: the request body errors, the error runs
// through the payload pipeline into the fs store, which discards its temp file.
import assert from "node:assert/strict";
import { S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { createFsStore } from "../storage/fs.ts";
import { ADMIN, createHarness } from "./_testing/harness.ts";
import { openSignedRequest, serveHarness } from "./_testing/server.ts";

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error("Timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function dirEntries(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) out.push(e.name);
  return out;
}

async function disconnectMidUpload(size: number): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "gateway-disconnect-" });
  const store = await createFsStore({ root });
  const h = createHarness({ store });
  const server = serveHarness(h);
  try {
    assert.equal((await h.request({ method: "PUT", path: "/drop" })).status, 200);
    const conn = await openSignedRequest(server.port, {
      method: "PUT",
      path: "/drop/partial.bin",
      headers: { "content-length": String(size) },
    });
    let sent = 0;
    const piece = new Uint8Array(Math.min(64 * 1024, size / 2)).fill(7);
    while (sent < size / 2) sent += await conn.write(piece);
    conn.close();
    await waitFor(() => h.events.some((e) => e.op === "PutObject"));
    const ev = h.events.find((e) => e.op === "PutObject")!;
    assert.notEqual(ev.status, 200);
    assert.ok(ev.bytesIn > 0 && ev.bytesIn < size, `bytesIn ${ev.bytesIn}`);
    assert.equal((await h.request({ method: "HEAD", path: "/drop/partial.bin" })).status, 404);
    await waitFor(async () => (await dirEntries(`${root}/tmp`)).length === 0);
  } finally {
    await server.close();
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("client disconnecting mid-upload leaves no object and no temp file (fs store)", async () => {
  await disconnectMidUpload(4 * 1024 * 1024);
});

Deno.test("client disconnecting mid-upload of a small body (read whole, not streamed) leaves nothing", async () => {
  await disconnectMidUpload(32 * 1024);
});

Deno.test("a browser disconnecting mid-way through a POST form's file leaves no object and no temp file", async () => {
  const root = await Deno.makeTempDir({ prefix: "gateway-disconnect-" });
  const store = await createFsStore({ root });
  const h = createHarness({ store });
  const server = serveHarness(h);
  const s3 = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: ADMIN });
  try {
    assert.equal((await h.request({ method: "PUT", path: "/drop" })).status, 200);
    const { fields } = await createPresignedPost(s3, { Bucket: "drop", Key: "posted.bin", Expires: 600 });
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append("file", new Blob([new Uint8Array(4 * 1024 * 1024).fill(5)]), "posted.bin");
    const encoded = new Response(form);
    const body = new Uint8Array(await encoded.arrayBuffer());
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const head = [
      "POST /drop HTTP/1.1",
      `host: 127.0.0.1:${server.port}`,
      `content-type: ${encoded.headers.get("content-type")}`,
      `content-length: ${body.byteLength}`,
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(head));
    const half = Math.floor(body.byteLength / 2);
    for (let sent = 0; sent < half;) sent += await conn.write(body.subarray(sent, half));
    conn.close();
    await waitFor(() => h.events.some((e) => e.op === "PostObject"));
    const ev = h.events.find((e) => e.op === "PostObject")!;
    assert.notEqual(ev.status, 204);
    assert.deepEqual([ev.key, ev.actor], ["posted.bin", ADMIN.accessKeyId]);
    assert.equal((await h.request({ method: "HEAD", path: "/drop/posted.bin" })).status, 404);
    await waitFor(async () => (await dirEntries(`${root}/tmp`)).length === 0);
  } finally {
    s3.destroy();
    await server.close();
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("client disconnecting mid-download cancels the store's stream and records a partial transfer", async () => {
  const root = await Deno.makeTempDir({ prefix: "gateway-disconnect-" });
  const store = await createFsStore({ root });
  const h = createHarness({ store });
  const server = serveHarness(h);
  try {
    await h.request({ method: "PUT", path: "/drop" });
    const size = 8 * 1024 * 1024;
    const put = await h.request({ method: "PUT", path: "/drop/big.bin", body: new Uint8Array(size).fill(3) });
    assert.equal(put.status, 200);
    const conn = await openSignedRequest(server.port, { method: "GET", path: "/drop/big.bin" });
    const buf = new Uint8Array(64 * 1024);
    let received = 0;
    while (received < 256 * 1024) received += (await conn.read(buf)) ?? 0;
    conn.close();
    await waitFor(() => h.events.some((e) => e.op === "GetObject"));
    const ev = h.events.find((e) => e.op === "GetObject")!;
    assert.equal(ev.status, 200);
    assert.equal(ev.errorCode, "IncompleteBody");
    assert.ok(ev.bytesOut < size, `bytesOut ${ev.bytesOut}`);
    assert.match(h.gateway.metrics(), /s3_requests_in_flight 0/);
  } finally {
    await server.close();
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});
