// A stopping S3 port on `Deno.serve` (as the HTTPS port runs): requests that arrive while running ones finish are
// refused as S3 refuses a request, with ids and an event; the running ones complete.
import assert from "node:assert/strict";
import { serveHttp } from "../http_server.ts";
import { createLogger } from "../log.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { createHarness } from "./_testing/harness.ts";
import { openSignedRequest, signedRequestHeaders } from "./_testing/server.ts";

Deno.test("Deno.serve S3 port: while stopping, a new request gets S3's 503 with Retry-After and ids; the running upload completes", async () => {
  const h = createHarness({ store: createMemoryStore() });
  const server = serveHttp(
    "s3",
    { hostname: "127.0.0.1", port: 0 },
    (req, info) => h.gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
    createLogger({ level: "error" }),
    { whileStopping: (req, info) => h.gateway.stopping(req, { remoteAddr: info.remoteAddr.hostname }) },
  );
  const port = server.address.port;
  assert.equal((await h.request({ method: "PUT", path: "/wire" })).status, 200);
  const uploading = await openSignedRequest(port, {
    method: "PUT",
    path: "/wire/slow",
    headers: { "content-length": "10" },
  });
  try {
    await uploading.write(new TextEncoder().encode("12345"));
    await new Promise((r) => setTimeout(r, 100));
    const stopping = server.stop(5_000);
    const refused = await fetch(`http://127.0.0.1:${port}/wire/slow?x=1`, {
      headers: await signedRequestHeaders(port, { method: "GET", path: "/wire/slow" }),
    });
    const body = await refused.text();
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "5");
    const id = refused.headers.get("x-amz-request-id");
    assert.match(
      body,
      new RegExp(`<Code>ServiceUnavailable</Code>[^]*<Resource>/wire/slow</Resource><RequestId>${id}<`),
    );
    const event = h.events.at(-1)!;
    assert.deepEqual(
      [event.op, event.status, event.errorCode, event.requestId, event.clientAddress],
      ["Unknown", 503, "ServiceUnavailable", id, "127.0.0.1"],
    );
    await uploading.write(new TextEncoder().encode("67890"));
    const buf = new Uint8Array(4096);
    const n = await uploading.read(buf);
    assert.match(new TextDecoder().decode(buf.subarray(0, n!)), /^HTTP\/1\.1 200 /);
    assert.equal(await stopping, true);
    assert.equal(await (await h.request({ path: "/wire/slow" })).text(), "1234567890");
  } finally {
    uploading.close();
  }
});
