import assert from "node:assert/strict";
import { RawConnection, rawGet } from "./_raw_http.ts";

/** A server on 127.0.0.1 answering with `handler`; `clientPorts` holds the client port of every request. */
async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (origin: string, clientPorts: Set<number>) => Promise<void>,
) {
  const clientPorts = new Set<number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req, info) => {
    clientPorts.add(info.remoteAddr.port);
    return handler(req);
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, clientPorts);
  } finally {
    await server.shutdown();
  }
}

Deno.test("RawConnection: several requests on one kept-alive connection, bodies counted, HEAD and 304 bodiless", async () => {
  await withServer(async (req) => {
    const url = new URL(req.url);
    if (req.method === "PUT") return new Response(`got ${(await req.bytes()).byteLength}`);
    if (url.pathname === "/not-modified") return new Response(null, { status: 304 });
    return new Response(new Uint8Array(Number(url.searchParams.get("n"))), { headers: { "x-n": "1" } });
  }, async (origin, clientPorts) => {
    const conn = await RawConnection.open(origin, 4096);
    try {
      const host = new URL(origin).host;
      const put = await conn.request("PUT", "/o", { host, "content-length": "5000" }, new Uint8Array(5000));
      assert.equal(put.status, 200);
      assert.equal(put.length, "got 5000".length);
      // A body larger than the connection's buffer is read through in several reads.
      const big = await conn.request("GET", "/o?n=100000", { host });
      assert.equal(big.status, 200);
      assert.equal(big.length, 100_000);
      assert.match(big.head, /\r\nx-n: 1/);
      const head = await conn.request("HEAD", "/o?n=7", { host });
      assert.equal(head.status, 200);
      assert.equal(head.length, 0);
      const notModified = await conn.request("GET", "/not-modified", { host });
      assert.equal(notModified.status, 304);
      // Still in step after the bodiless answers.
      const small = await conn.request("GET", "/o?n=3", { host });
      assert.equal(small.length, 3);
      assert.equal(clientPorts.size, 1, "every request came on the one connection");
    } finally {
      conn.close();
    }
  });
});

Deno.test("RawConnection: an answer cut short or without a content-length is an error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for (const answer of ["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc", "HTTP/1.1 200 OK\r\n\r\nabc"]) {
      const conn = await listener.accept();
      const buf = new Uint8Array(1024);
      await conn.read(buf);
      await conn.write(new TextEncoder().encode(answer));
      conn.close();
    }
  })();
  try {
    const origin = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    const short = await RawConnection.open(origin);
    await assert.rejects(short.request("GET", "/", { host: "x" }), /body ended after 3 of 10 bytes/);
    short.close();
    const chunked = await RawConnection.open(origin);
    await assert.rejects(chunked.request("GET", "/", { host: "x" }), /without content-length/);
    chunked.close();
  } finally {
    await served;
    listener.close();
  }
});

Deno.test("rawGet: drains a presigned-style URL's body and refuses what is not a 200", async () => {
  await withServer((req) => {
    const n = Number(new URL(req.url).searchParams.get("n"));
    return n ? new Response(new Uint8Array(n)) : new Response("no", { status: 403 });
  }, async (origin) => {
    assert.equal(await rawGet(`${origin}/obj?n=3000000`), 3_000_000);
    await assert.rejects(rawGet(`${origin}/obj`), /rawGet: answered HTTP\/1.1 403/);
    await assert.rejects(rawGet(`https://127.0.0.1:1/x`), /only http:/);
  });
});
