// The S3 port's HTTP/1.1 server at the wire: what reaches the gateway and what a client gets back, for requests a
// real client sends and for ones it should not (oversized or malformed heads), on raw connections.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createLogger } from "../log.ts";
import { createFsStore } from "../storage/fs.ts";
import { createMemoryStore } from "../storage/memory.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { withTempDir } from "../_testing/temp_dir.ts";
import { createHarness, type Harness } from "./_testing/harness.ts";
import { signedRequestHead, signedRequestHeaders } from "./_testing/server.ts";
import { serveGateway } from "./node_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function withServer(
  fn: (port: number, h: Harness) => Promise<void>,
  options: { idleMs?: number; store?: ObjectStore } = {},
) {
  const h = createHarness({ store: options.store ?? createMemoryStore() });
  const logger = createLogger({ level: "error" });
  const server = await serveGateway("s3", { hostname: "127.0.0.1", port: 0 }, h.gateway, logger, options);
  try {
    assert.equal((await h.request({ method: "PUT", path: "/wire" })).status, 200);
    await fn(server.address.port, h);
  } finally {
    await server.stop(5_000);
  }
}

/** `withServer` over an fs store in a temporary directory. */
function withFsServer(fn: (port: number, h: Harness, store: ObjectStore) => Promise<void>): Promise<void> {
  return withTempDir("node-server-test-", async (root) => {
    const store = await createFsStore({ root });
    try {
      await withServer((port, h) => fn(port, h, store), { store });
    } finally {
      await store.close();
    }
  });
}

/** The head of a request signed by the admin key (unsigned payload), ending with the blank line. */
const signedHead = (port: number, method: string, path: string, headers: Record<string, string> = {}) =>
  signedRequestHead(port, { method, path, headers });

/** Sends `bytes` on a new connection and reads until the server closes it or `until` matches what came. */
async function exchange(port: number, bytes: Uint8Array | string, until?: RegExp): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
    let text = "";
    const buf = new Uint8Array(64 * 1024);
    while (!until?.test(text)) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

Deno.test("node server: a header section over the gateway's limit, or even over the parser's, gets S3's RequestHeaderSectionTooLarge", async () => {
  await withServer(async (port, h) => {
    for (const pad of [70 * 1024, 300 * 1024]) {
      const over = await signedHead(port, "GET", "/wire/k", { "x-amz-meta-pad": "p".repeat(pad) });
      const answer = await exchange(port, over, /<\/Error>/);
      assert.match(answer, /^HTTP\/1\.1 400 [^]*<Code>RequestHeaderSectionTooLarge<\/Code>/, `${pad} bytes`);
      assert.match(answer, /\r\nx-amz-request-id: \w+\r\n/i);
    }
    assert.deepEqual(h.events.slice(-2).map((e) => [e.status, e.errorCode]), [
      [400, "RequestHeaderSectionTooLarge"],
      [400, "RequestHeaderSectionTooLarge"],
    ]);
    // The server goes on serving.
    assert.match(await exchange(port, await signedHead(port, "GET", "/wire/none"), /<\/Error>/), /^HTTP\/1\.1 404 /);
  });
});

Deno.test("node server: a request that is not valid HTTP gets an S3 error with request ids and an event, then the connection closes", async () => {
  await withServer(async (port, h) => {
    const malformed = [
      "NOT AN HTTP REQUEST\r\n\r\n",
      "GET /wire/k HTTP/1.1\r\nhost: a\r\nbad header line\r\n\r\n",
      "GET /wire/k HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n",
    ];
    for (const request of malformed) {
      // Read until the server closes: the answer is whole and the connection does not stay open.
      const answer = await exchange(port, request);
      assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/, request);
      assert.match(answer, /\r\ncontent-type: application\/xml\r\n/);
      assert.match(answer, /\r\nconnection: close\r\n/);
      const id = /\r\nx-amz-request-id: (\w+)\r\n/.exec(answer)?.[1];
      assert.ok(id, answer);
      assert.match(
        answer,
        new RegExp(
          `<Code>BadRequest</Code><Message>The request is not valid HTTP/1\\.1[^<]*</Message><RequestId>${id}</RequestId>`,
        ),
      );
      const event = h.events.at(-1)!;
      assert.deepEqual(
        [event.op, event.status, event.errorCode, event.requestId, event.clientAddress, event.actor],
        ["Unknown", 400, "BadRequest", id, "127.0.0.1", "anonymous"],
      );
    }
    assert.match(
      await exchange(port, malformed[2]!),
      /<Message>The request is not valid HTTP\/1\.1: Transfer-Encoding/,
    );
    assert.match(await exchange(port, malformed[0]!), /<Message>The request is not valid HTTP\/1\.1<\/Message>/);
    // After an answered request on the same connection, in one write: that answer, then the error's.
    const pipelined = await exchange(port, (await signedHead(port, "GET", "/wire/none")) + malformed[1]);
    assert.match(
      pipelined,
      /^HTTP\/1\.1 404 [^]*<Code>NoSuchKey<\/Code>[^]*HTTP\/1\.1 400 Bad Request\r\n[^]*<Code>BadRequest<\/Code>/,
    );
    // A request target HTTP allows but that is no URL: InvalidURI, named as sent.
    const answer = await exchange(port, "GET * HTTP/1.1\r\nhost: a\r\n\r\n", /<\/Error>/);
    assert.match(answer, /^HTTP\/1\.1 400 [^]*<Code>InvalidURI<\/Code>[^]*<Resource>\*<\/Resource>/);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.deepEqual([h.events.at(-1)!.op, h.events.at(-1)!.errorCode], ["Unknown", "InvalidURI"]);
    // The server goes on serving.
    assert.match(await exchange(port, await signedHead(port, "GET", "/wire/none"), /<\/Error>/), /^HTTP\/1\.1 404 /);
  });
});

Deno.test("node server: pipelined requests are answered in order; HEAD has the length and no body", async () => {
  await withServer(async (port, h) => {
    const body = "twelve bytes";
    assert.equal((await h.request({ method: "PUT", path: "/wire/a", body })).status, 200);
    const heads = (await signedHead(port, "HEAD", "/wire/a")) + (await signedHead(port, "GET", "/wire/a")) +
      (await signedHead(port, "GET", "/wire/missing"));
    const text = await exchange(port, heads, /<\/Error>/);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ["200", "200", "404"], text);
    const [head, get] = text.split(/(?=HTTP\/1\.1 )/);
    assert.match(head!, /content-length: 12\r\n/i);
    assert.ok(head!.endsWith("\r\n\r\n"), "HEAD answered without a body");
    assert.ok(get!.endsWith(`\r\n\r\n${body}`), get!);
  });
});

Deno.test("node server: a chunked body and a body after 100 Continue are stored whole", async () => {
  await withServer(async (port, h) => {
    const data = encoder.encode("x".repeat(100_000));
    const chunked = await signedHead(port, "PUT", "/wire/chunked", { "transfer-encoding": "chunked" });
    const framed = `${chunked}${(60_000).toString(16)}\r\n${"x".repeat(60_000)}\r\n${(40_000).toString(16)}\r\n${
      "x".repeat(40_000)
    }\r\n0\r\n\r\n`;
    assert.match(await exchange(port, framed, /\r\n\r\n/), /^HTTP\/1\.1 200 /);

    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const head = await signedHead(port, "PUT", "/wire/continued", {
        "content-length": String(data.byteLength),
        expect: "100-continue",
      });
      await conn.write(encoder.encode(head));
      const buf = new Uint8Array(4096);
      const first = decoder.decode(buf.subarray(0, (await conn.read(buf))!));
      assert.match(first, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      for (let at = 0; at < data.byteLength;) at += await conn.write(data.subarray(at));
      assert.match(decoder.decode(buf.subarray(0, (await conn.read(buf))!)), /^HTTP\/1\.1 200 /);
    } finally {
      conn.close();
    }
    const md5 = createHash("md5").update(data).digest("hex");
    for (const key of ["chunked", "continued"]) {
      const res = await h.request({ path: `/wire/${key}` });
      assert.equal(res.headers.get("etag"), `"${md5}"`, key);
      assert.equal((await res.bytes()).byteLength, data.byteLength, key);
    }
  });
});

Deno.test("node server: keys with `.` and `..` path segments are the keys sent, in origin and absolute form", async () => {
  await withServer(async (port, h) => {
    const keys = ["a/../b", "./c", "..", "d/./e/"];
    for (const key of keys) {
      const put = await signedHead(port, "PUT", `/wire/${key}`, { "content-length": String(key.length) });
      assert.match(await exchange(port, put + key, /\r\n\r\n/), /^HTTP\/1\.1 200 /, key);
    }
    for (const key of keys) {
      const got = await exchange(port, await signedHead(port, "GET", `/wire/${key}`), /\r\n\r\n.+$/s);
      assert.match(got, /^HTTP\/1\.1 200 /, key);
      assert.ok(got.endsWith(`\r\n\r\n${key}`), got);
    }
    const listed = await (await h.request({ path: "/wire", query: { "list-type": "2" } })).text();
    assert.deepEqual([...listed.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]), ["..", "./c", "a/../b", "d/./e/"]);
    assert.match(await exchange(port, await signedHead(port, "GET", "/wire/b"), /<\/Error>/), /^HTTP\/1\.1 404 /);
    const absolute = (await signedHead(port, "GET", "/wire/a/../b"))
      .replace("GET /wire/", `GET http://127.0.0.1:${port}/wire/`);
    assert.match(await exchange(port, absolute, /\r\n\r\na\/\.\.\/b$/), /^HTTP\/1\.1 200 /);
  });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

Deno.test("node server: answers in memory go with their length, not chunked; HEAD gets the length alone", async () => {
  await withServer(async (port, h) => {
    assert.equal((await h.request({ method: "PUT", path: "/wire/small", body: "0123456789" })).status, 200);
    const missing = await exchange(port, await signedHead(port, "GET", "/wire/absent"), /<\/Error>/);
    const [head, body] = missing.split("\r\n\r\n");
    assert.match(head!, /^HTTP\/1\.1 404 /);
    assert.doesNotMatch(head!, /transfer-encoding/i);
    assert.equal(Number(head!.match(/\r\ncontent-length: (\d+)/i)?.[1]), encoder.encode(body!).byteLength);
    assert.match(body!, /<Code>NoSuchKey<\/Code>/);

    const got = await exchange(port, await signedHead(port, "GET", "/wire/small"), /\r\n\r\n0123456789$/);
    assert.match(got, /\r\ncontent-length: 10\r\n/i);
    assert.doesNotMatch(got, /transfer-encoding/i);
    const head2 = await exchange(port, await signedHead(port, "HEAD", "/wire/small"), /\r\n\r\n/);
    assert.match(head2, /\r\ncontent-length: 10\r\n/i);
    assert.ok(head2.endsWith("\r\n\r\n"), "no body after a HEAD answer's head");
  });
});

/** GETs `path` with fetch, signed by the admin key: the status and the body. */
async function download(port: number, path: string): Promise<{ status: number; body: Uint8Array }> {
  const headers = await signedRequestHeaders(port, { method: "GET", path });
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: res.status, body: await res.bytes() };
}

Deno.test("node server: concurrent downloads from the fs store each get their own bytes while read blocks are reused", async () => {
  await withFsServer(async (port, h) => {
    const objects = [0, 1, 2, 3].map((i) => {
      const data = new Uint8Array(6 * 1024 * 1024 + 1000 * i);
      for (let at = 0; at < data.byteLength; at += 65536) {
        crypto.getRandomValues(data.subarray(at, Math.min(data.byteLength, at + 65536)));
      }
      return { key: `big-${i}`, data };
    });
    for (const { key, data } of objects) {
      assert.equal((await h.request({ method: "PUT", path: `/wire/${key}`, body: data })).status, 200);
    }
    for (let round = 0; round < 2; round++) {
      const got = await Promise.all(objects.map(({ key }) => download(port, `/wire/${key}`)));
      got.forEach(({ status, body }, i) => {
        assert.equal(status, 200);
        assert.equal(sha256(body), sha256(objects[i]!.data), `${objects[i]!.key}, round ${round}`);
      });
    }
  });
});

Deno.test("node server: a small object's answer goes back to the fs store's pool once written, for the next read", async () => {
  await withFsServer(async (port, h, store) => {
    const first = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
    const second = new Uint8Array(1000).map((_, i) => (i * 13 + 5) & 0xff);
    assert.equal((await h.request({ method: "PUT", path: "/wire/first", body: first })).status, 200);
    assert.equal((await h.request({ method: "PUT", path: "/wire/second", body: second })).status, 200);
    const got = await download(port, "/wire/first");
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, first);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the server's write callback, after the client read
    const later = (await store.getObject("wire", "second")).bytes!;
    assert.deepEqual(later, second);
    // The block the answer was sent from: past the later object's bytes, the first one's are still there.
    const block = new Uint8Array(later.buffer, later.byteOffset, first.byteLength);
    assert.deepEqual(block.subarray(second.byteLength), first.subarray(second.byteLength));
  });
});

Deno.test("node server: stopping lets a running upload finish, refuses new requests with S3's 503, and then closes", async () => {
  const h = createHarness({ store: createMemoryStore() });
  const server = await serveGateway(
    "s3",
    { hostname: "127.0.0.1", port: 0 },
    h.gateway,
    createLogger({ level: "error" }),
  );
  const port = server.address.port;
  assert.equal((await h.request({ method: "PUT", path: "/wire" })).status, 200);
  const uploading = await Deno.connect({ hostname: "127.0.0.1", port });
  const idle = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await uploading.write(encoder.encode(await signedHead(port, "PUT", "/wire/slow", { "content-length": "10" })));
    await uploading.write(encoder.encode("12345"));
    await new Promise((r) => setTimeout(r, 100));
    const stopping = server.stop(5_000);
    await idle.write(encoder.encode(await signedHead(port, "GET", "/wire/slow")));
    const buf = new Uint8Array(4096);
    // The idle connection is closed by the stop, or its request is refused as S3 refuses one, with ids and an event.
    const refused = await idle.read(buf).catch(() => null);
    if (refused !== null) {
      const answer = decoder.decode(buf.subarray(0, refused));
      assert.match(answer, /^HTTP\/1\.1 503 [^]*\r\nretry-after: 5\r\n[^]*<Code>ServiceUnavailable<\/Code>/i);
      const id = /\r\nx-amz-request-id: (\w+)\r\n/i.exec(answer)?.[1];
      assert.deepEqual([h.events.at(-1)!.status, h.events.at(-1)!.requestId], [503, id]);
    }
    await uploading.write(encoder.encode("67890"));
    const n = await uploading.read(buf);
    assert.match(decoder.decode(buf.subarray(0, n!)), /^HTTP\/1\.1 200 /);
    assert.equal(await stopping, true);
    assert.equal(await (await h.request({ path: "/wire/slow" })).text(), "1234567890");
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  } finally {
    uploading.close();
    idle.close();
  }
});

Deno.test("node server: a connection idle without a request is closed; a request runs to its end, however slow its body", async () => {
  await withServer(async (port, h) => {
    // No head, half a head, and a kept-alive connection after its answer: each closed by the server.
    assert.equal(await exchange(port, ""), "");
    assert.equal(await exchange(port, "GET /wire/k HTTP/1.1\r\nhost: 127.0.0.1\r\n"), "");
    assert.match(await exchange(port, await signedHead(port, "GET", "/wire/none")), /^HTTP\/1\.1 404 [^]*<\/Error>/);
    // A body that trickles in slower than that is still received whole.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(encoder.encode(await signedHead(port, "PUT", "/wire/slow", { "content-length": "4" })));
      for (const byte of "abcd") {
        await new Promise((r) => setTimeout(r, 200));
        await conn.write(encoder.encode(byte));
      }
      const buf = new Uint8Array(4096);
      assert.match(decoder.decode(buf.subarray(0, (await conn.read(buf))!)), /^HTTP\/1\.1 200 /);
    } finally {
      conn.close();
    }
    assert.equal(await (await h.request({ path: "/wire/slow" })).text(), "abcd");
    // So is one that stops for longer than that mid-way: a running request has no time limit.
    const paused = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await paused.write(encoder.encode(await signedHead(port, "PUT", "/wire/paused", { "content-length": "4" })));
      await paused.write(encoder.encode("ab"));
      await new Promise((r) => setTimeout(r, 800));
      await paused.write(encoder.encode("cd"));
      const buf = new Uint8Array(4096);
      assert.match(decoder.decode(buf.subarray(0, (await paused.read(buf))!)), /^HTTP\/1\.1 200 /);
    } finally {
      paused.close();
    }
    assert.equal(await (await h.request({ path: "/wire/paused" })).text(), "abcd");
  }, { idleMs: 300 });
});
