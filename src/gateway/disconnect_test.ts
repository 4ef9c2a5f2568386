// A client that disconnects mid-upload must leave no object behind: the request body errors, the error runs
// through the payload pipeline into the fs store, which discards its temp file.
import assert from "node:assert/strict";
import { S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { concatBytes } from "../bytes.ts";
import { serveHttp } from "../http_server.ts";
import { createLogger } from "../log.ts";
import { createFsStore } from "../storage/fs.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { tempLeftovers } from "../storage/_testing/contract_helpers.ts";
import type { GetOptions, GetResult, ObjectStore } from "../storage/mod.ts";
import { ADMIN, createHarness } from "./_testing/harness.ts";
import { openSignedRequest, serveHarness } from "./_testing/server.ts";

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error("Timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function disconnectMidUpload(size: number): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "gateway-disconnect-" });
  const store = await createFsStore({ root });
  const h = createHarness({ store });
  const server = await serveHarness(h);
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
    await waitFor(() => tempLeftovers(`${root}/tmp`).length === 0);
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
  const server = await serveHarness(h);
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
    await waitFor(() => tempLeftovers(`${root}/tmp`).length === 0);
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
  const server = await serveHarness(h);
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

Deno.test("a store failing mid-download cuts the client's connection, with one warning naming the request", async () => {
  const size = 8 * 1024 * 1024;
  const sentBeforeFailure = 256 * 1024;
  const memory = createMemoryStore();
  // A backend whose upstream goes away after the first 256 KiB of the object.
  const store: ObjectStore = Object.assign(Object.create(memory), {
    async getObject(bucket: string, key: string, options?: GetOptions): Promise<GetResult> {
      const { info, body } = await memory.getObject(bucket, key, options);
      await body.cancel();
      let sent = 0;
      return {
        info,
        body: new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= sentBeforeFailure) return controller.error(new Error("upstream connection reset"));
            controller.enqueue(new Uint8Array(64 * 1024).fill(5));
            sent += 64 * 1024;
          },
        }),
      };
    },
  });
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  const h = createHarness({ store, logger });
  const server = serveHttp(
    "s3",
    { hostname: "127.0.0.1", port: 0 },
    (req, info) => h.gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
    logger,
  );
  try {
    await h.request({ method: "PUT", path: "/drop" });
    assert.equal((await h.request({ method: "PUT", path: "/drop/big.bin", body: new Uint8Array(size) })).status, 200);
    const conn = await openSignedRequest(server.address.port, { method: "GET", path: "/drop/big.bin" });
    const received = await readUntilClosed(conn, 10_000);
    assert.match(new TextDecoder().decode(received.subarray(0, 200)), /^HTTP\/1\.1 200 /);
    assert.match(new TextDecoder().decode(received.subarray(0, 1000)), new RegExp(`content-length: ${size}\r\n`, "i"));
    assert.ok(received.byteLength < size, `the connection was cut after ${received.byteLength} bytes`);

    await waitFor(() => h.events.some((e) => e.op === "GetObject"));
    const ev = h.events.find((e) => e.op === "GetObject")!;
    assert.deepEqual([ev.status, ev.errorCode, ev.bytesOut], [200, "IncompleteBody", sentBeforeFailure]);
    const problems = lines.filter((l) => l.level === "warn" || l.level === "error");
    assert.deepEqual(problems.map((l) => [l.level, l.msg, l.requestId, l.bucket, l.key, l.bytesOut]), [
      [
        "warn",
        "S3 response broke off: the client got a short body",
        ev.requestId,
        "drop",
        "big.bin",
        sentBeforeFailure,
      ],
    ]);
    assert.match(String(problems[0]!.error), /upstream connection reset/);
  } finally {
    await server.stop(1000);
  }
});

/** Everything the server sends on `conn` until it closes the connection (fails after `ms`). */
async function readUntilClosed(conn: Deno.Conn, ms: number): Promise<Uint8Array> {
  const timer = setTimeout(() => conn.close(), ms);
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  try {
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) chunks.push(buf.slice(0, n));
  } finally {
    clearTimeout(timer);
  }
  return concatBytes(chunks);
}
