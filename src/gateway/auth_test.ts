import assert from "node:assert/strict";
import { utf8ByteString } from "../bytes.ts";
import { fakeClock } from "../clock.ts";
import { ADMIN, createHarness, errorCode, sdkSigner } from "./_testing/harness.ts";
import { digestBase64 } from "./wire/checksums.ts";
import { chunkSignature, credentialScope, sha256Hex, signingKey, trailerSignature } from "./wire/sigv4.ts";

async function bucketHarness() {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/auth" });
  return h;
}

Deno.test("anonymous requests are AccessDenied and still produce one event", async () => {
  const h = await bucketHarness();
  const r = await h.text({ path: "/auth/k", as: "anonymous" });
  assert.equal(r.res.status, 403);
  assert.equal(errorCode(r.body), "AccessDenied");
  const ev = h.events[h.events.length - 1]!;
  assert.deepEqual([ev.actor, ev.op, ev.status, ev.errorCode, ev.bucket, ev.key], [
    "anonymous",
    "GetObject",
    403,
    "AccessDenied",
    "auth",
    "k",
  ]);
});

Deno.test("authentication errors: malformed header, SigV2, missing x-amz-content-sha256, skewed clock", async () => {
  const h = await bucketHarness();
  const cases: [Record<string, string>, string][] = [
    [{ authorization: "AWS4-HMAC-SHA256 Credential=x" }, "AuthorizationHeaderMalformed"],
    [{ authorization: "AWS AKIDEXAMPLE:c2lnbmF0dXJl" }, "InvalidRequest"],
  ];
  for (const [headers, code] of cases) {
    const res = await h.gateway.fetch(new Request("http://localhost/auth/k", { headers }), { remoteAddr: "127.0.0.1" });
    assert.equal(errorCode(await res.text()), code);
  }
  const signed = await sdkSigner(ADMIN).sign({
    method: "GET",
    protocol: "http:",
    hostname: "localhost",
    path: "/auth/k",
    query: {},
    headers: { host: "localhost" },
  });
  delete signed.headers["x-amz-content-sha256"];
  const res = await h.gateway.fetch(new Request("http://localhost/auth/k", { headers: signed.headers }), {
    remoteAddr: "x",
  });
  assert.equal(errorCode(await res.text()), "InvalidRequest");
  let r = await h.text({ path: "/auth", signingDate: new Date(Date.now() - 16 * 60_000) });
  assert.equal(r.res.status, 403);
  assert.equal(errorCode(r.body), "RequestTimeTooSkewed");
  r = await h.text({ path: "/auth", signingDate: new Date(Date.now() - 10 * 60_000) });
  assert.equal(r.res.status, 200, "within the 15-minute window");
});

Deno.test("clock skew is judged by the injected clock, not the host's", async () => {
  const clock = fakeClock(new Date(Date.now() + 3_600_000));
  const h = createHarness({ clock });
  let r = await h.text({ path: "/" });
  assert.equal(errorCode(r.body), "RequestTimeTooSkewed");
  assert.match(r.body, /<ServerTime>/);
  clock.set(new Date());
  r = await h.text({ path: "/" });
  assert.equal(r.res.status, 200);
});

Deno.test("presigned URLs: valid, expired, expiry over 7 days, tampered signature", async () => {
  const h = await bucketHarness();
  await h.request({ method: "PUT", path: "/auth/k", body: "v" });
  let r = await h.text({ path: "/auth/k", presign: { expiresIn: 604800 } });
  assert.equal(r.body, "v");
  r = await h.text({ path: "/auth/k", presign: { expiresIn: 60 }, signingDate: new Date(Date.now() - 61_000) });
  assert.equal(errorCode(r.body), "AccessDenied");
  assert.match(r.body, /Request has expired/);
  const qs = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
    encodeURIComponent(`${ADMIN.accessKeyId}/20260101/us-east-1/s3/aws4_request`) +
    "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0".repeat(64);
  const res = await h.gateway.fetch(new Request(`http://localhost/auth/k?${qs}`), { remoteAddr: "x" });
  const body = await res.text();
  assert.equal(res.status, 400);
  assert.equal(errorCode(body), "AuthorizationQueryParametersError");
});

interface ChunkedOptions {
  trailer?: [string, string];
  signed: boolean;
  tamper?: "data" | "trailer-signature";
  /** Leave out x-amz-decoded-content-length, as clients streaming bodies of unknown length do. */
  noDecodedLength?: boolean;
}

/** Build and send an aws-chunked PUT: seed signature by the SDK signer, chunk signatures by the documented chain. */
async function chunkedPut(h: ReturnType<typeof createHarness>, key: string, data: Uint8Array, o: ChunkedOptions) {
  const mode = o.signed
    ? (o.trailer ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" : "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    : "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
  const date = new Date();
  const headers: Record<string, string> = {
    host: "localhost",
    "content-encoding": "aws-chunked",
    "x-amz-content-sha256": mode,
    ...(o.noDecodedLength ? {} : { "x-amz-decoded-content-length": String(data.length) }),
    ...(o.trailer ? { "x-amz-trailer": o.trailer[0] } : {}),
  };
  const signed = await sdkSigner(ADMIN).sign(
    { method: "PUT", protocol: "http:", hostname: "localhost", path: `/auth/${key}`, query: {}, headers },
    { signingDate: date },
  );
  const seed = /Signature=([0-9a-f]{64})/.exec(signed.headers["authorization"]!)![1]!;
  const amzDate = signed.headers["x-amz-date"]!;
  const cred = { date: amzDate.slice(0, 8), region: "us-east-1", service: "s3" };
  const k = signingKey(ADMIN.secretAccessKey, cred);
  const ctx = { amzDate, scope: credentialScope(cred) };
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let previous = seed;
  const chunkSize = 8192;
  for (let off = 0; off <= data.length; off += chunkSize) {
    const piece = data.subarray(off, Math.min(off + chunkSize, data.length));
    if (piece.length === 0 && off < data.length) continue;
    const sig = chunkSignature({ ...ctx, key: k, previousSignature: previous }, sha256Hex(piece));
    previous = sig;
    const sent = o.tamper === "data" && off === 0 ? piece.map((b) => b ^ 1) : piece;
    parts.push(
      enc.encode(`${piece.length.toString(16)}${o.signed ? `;chunk-signature=${sig}` : ""}\r\n`),
      sent,
      enc.encode("\r\n"),
    );
    if (piece.length === 0) parts.pop();
    if (off + chunkSize > data.length && piece.length > 0) {
      const fin = chunkSignature({ ...ctx, key: k, previousSignature: previous }, sha256Hex(new Uint8Array()));
      previous = fin;
      parts.push(enc.encode(`0${o.signed ? `;chunk-signature=${fin}` : ""}\r\n`));
      break;
    }
  }
  if (o.trailer) {
    let tsig = trailerSignature({ ...ctx, key: k, previousSignature: previous }, [o.trailer]);
    if (o.tamper === "trailer-signature") tsig = "0".repeat(64);
    parts.push(
      enc.encode(`${o.trailer[0]}:${o.trailer[1]}\r\n${o.signed ? `x-amz-trailer-signature:${tsig}\r\n` : ""}`),
    );
  }
  parts.push(enc.encode("\r\n"));
  const body = ReadableStream.from(parts);
  const req = new Request(`http://localhost/auth/${key}`, { method: "PUT", headers: signed.headers, body });
  const res = await h.gateway.fetch(req, { remoteAddr: "127.0.0.1" });
  return { status: res.status, body: await res.text() };
}

const DATA = Uint8Array.from({ length: 20_000 }, (_, i) => i & 0xff);

Deno.test("STREAMING-AWS4-HMAC-SHA256-PAYLOAD: every chunk signature is verified; a tampered chunk stores nothing", async () => {
  const h = await bucketHarness();
  let r = await chunkedPut(h, "signed", DATA, { signed: true });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(new Uint8Array(await (await h.request({ path: "/auth/signed" })).arrayBuffer()), DATA);
  r = await chunkedPut(h, "tampered", DATA, { signed: true, tamper: "data" });
  assert.equal(r.status, 403);
  assert.equal(errorCode(r.body), "SignatureDoesNotMatch");
  assert.equal((await h.request({ method: "HEAD", path: "/auth/tampered" })).status, 404);
});

Deno.test("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: trailer checksum and trailer signature are verified", async () => {
  const h = await bucketHarness();
  const crc = digestBase64("crc32c", DATA);
  let r = await chunkedPut(h, "t-ok", DATA, { signed: true, trailer: ["x-amz-checksum-crc32c", crc] });
  assert.equal(r.status, 200, r.body);
  const head = await h.request({ method: "HEAD", path: "/auth/t-ok", headers: { "x-amz-checksum-mode": "ENABLED" } });
  assert.equal(head.headers.get("x-amz-checksum-crc32c"), crc);
  r = await chunkedPut(h, "t-badsum", DATA, {
    signed: true,
    trailer: ["x-amz-checksum-crc32c", digestBase64("crc32c", DATA.subarray(1))],
  });
  assert.equal(errorCode(r.body), "BadDigest");
  r = await chunkedPut(h, "t-badsig", DATA, {
    signed: true,
    trailer: ["x-amz-checksum-crc32c", crc],
    tamper: "trailer-signature",
  });
  assert.equal(errorCode(r.body), "SignatureDoesNotMatch");
  for (const k of ["t-badsum", "t-badsig"]) {
    assert.equal((await h.request({ method: "HEAD", path: `/auth/${k}` })).status, 404);
  }
});

Deno.test("STREAMING-UNSIGNED-PAYLOAD-TRAILER: CRC64NVME trailer verified; a wrong one is BadDigest", async () => {
  const h = await bucketHarness();
  let r = await chunkedPut(h, "u-ok", DATA, {
    signed: false,
    trailer: ["x-amz-checksum-crc64nvme", digestBase64("crc64nvme", DATA)],
  });
  assert.equal(r.status, 200, r.body);
  r = await chunkedPut(h, "u-nolen", DATA, {
    signed: false,
    trailer: ["x-amz-checksum-crc32", digestBase64("crc32", DATA)],
    noDecodedLength: true,
  });
  assert.equal(r.status, 200, r.body);
  assert.equal(
    (await h.request({ method: "HEAD", path: "/auth/u-nolen" })).headers.get("content-length"),
    String(DATA.length),
  );
  r = await chunkedPut(h, "u-bad", DATA, {
    signed: false,
    trailer: ["x-amz-checksum-crc64nvme", digestBase64("crc64nvme", new Uint8Array(3))],
  });
  assert.equal(errorCode(r.body), "BadDigest");
  assert.equal((await h.request({ method: "HEAD", path: "/auth/u-bad" })).status, 404);
});

Deno.test("events: one per request with sizes and bytes; GET's event waits for the body; metrics count it", async () => {
  const h = await bucketHarness();
  await h.request({ method: "PUT", path: "/auth/e", body: "12345" });
  const put = h.events[h.events.length - 1]!;
  assert.equal(put.op, "PutObject");
  assert.equal(put.size, 5);
  assert.equal(put.bytesIn, 5);
  assert.equal(put.etag, '"827ccb0eea8a706c4c34a16891f84e7b"');
  const before = h.events.length;
  const res = await h.request({ path: "/auth/e" });
  assert.equal(h.events.length, before, "not yet published: the body is unread");
  assert.equal(await res.text(), "12345");
  const get = h.events[h.events.length - 1]!;
  assert.deepEqual([get.op, get.status, get.bytesOut, get.size], ["GetObject", 200, 5, 5]);
  const metrics = h.gateway.metrics();
  assert.match(metrics, /s3_requests_total\{op="PutObject",status="200"\} 1/);
  assert.match(metrics, /s3_requests_total\{op="CreateBucket",status="200"\} 1/);
  assert.match(metrics, /s3_bytes_out_total 5/);
  assert.match(metrics, /s3_request_duration_seconds_count\{op="GetObject"\} 1/);
  assert.match(metrics, /s3_requests_in_flight 0/);
});

Deno.test("a signature for another region is rejected naming the gateway's region (header and presigned)", async () => {
  const h = await bucketHarness();
  const signed = await sdkSigner(ADMIN, "eu-west-1").sign({
    method: "GET",
    protocol: "http:",
    hostname: "localhost",
    path: "/auth",
    query: {},
    headers: { host: "localhost", "x-amz-content-sha256": sha256Hex("") },
  });
  let res = await h.gateway.fetch(new Request("http://localhost/auth", { headers: signed.headers }), {
    remoteAddr: "127.0.0.1",
  });
  let body = await res.text();
  assert.equal(res.status, 400);
  assert.equal(errorCode(body), "AuthorizationHeaderMalformed");
  assert.match(body, /the region &apos;eu-west-1&apos; is wrong; expecting &apos;us-east-1&apos;/);
  assert.match(body, /<Region>us-east-1<\/Region>/);
  const presigned = await sdkSigner(ADMIN, "eu-west-1").presign({
    method: "GET",
    protocol: "http:",
    hostname: "localhost",
    path: "/auth",
    query: {},
    headers: { host: "localhost" },
  }, { expiresIn: 60 });
  const query = new URLSearchParams(presigned.query as Record<string, string>);
  res = await h.gateway.fetch(new Request(`http://localhost/auth?${query}`), { remoteAddr: "127.0.0.1" });
  body = await res.text();
  assert.equal(res.status, 400);
  assert.equal(errorCode(body), "AuthorizationQueryParametersError");
  assert.match(body, /<Region>us-east-1<\/Region>/);
  assert.equal((await h.text({ path: "/auth" })).res.status, 200, "the gateway's own region is accepted");
});

Deno.test("a header value beyond ASCII verifies as the bytes sent, or as their UTF-8 when sent as Latin-1; not altered", async () => {
  const h = await bucketHarness();
  // The signer signs the UTF-8 form of the value; a request carries either those bytes or one byte per character.
  const signed = await sdkSigner(ADMIN).sign({
    method: "GET",
    protocol: "http:",
    hostname: "localhost",
    path: "/auth",
    query: {},
    headers: { host: "localhost", "x-amz-meta-city": "Zürich" },
  });
  const sent = (city: string) =>
    h.gateway.fetch(
      new Request("http://localhost/auth", { headers: { ...signed.headers, "x-amz-meta-city": city } }),
      { remoteAddr: "127.0.0.1" },
    );
  for (const city of [utf8ByteString("Zürich"), "Zürich"]) assert.equal((await sent(city)).status, 200, city);
  for (const city of [utf8ByteString("Zurich"), "Zürichs", "Z\u00fcrich\u00e9"]) {
    assert.equal(errorCode(await (await sent(city)).text()), "SignatureDoesNotMatch", city);
  }
});

Deno.test("an x-amz-* header the signature does not cover is refused, on a presigned URL or a signed request", async () => {
  const h = await bucketHarness();
  await h.request({ method: "PUT", path: "/auth/secret", body: "top secret" });
  const signer = sdkSigner(ADMIN);
  const base = {
    method: "PUT",
    protocol: "http:",
    hostname: "localhost",
    path: "/auth/mine",
    query: {},
    headers: { host: "localhost", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
  };
  const presigned = await signer.presign(base, { expiresIn: 60, unsignableHeaders: new Set(["x-amz-content-sha256"]) });
  const signed = await signer.sign(base);
  const send = (request: typeof signed, added: Record<string, string>) => {
    const query = new URLSearchParams(request.query as Record<string, string>).toString();
    return h.gateway.fetch(
      new Request(`http://localhost/auth/mine${query ? `?${query}` : ""}`, {
        method: "PUT",
        headers: { ...request.headers, ...added },
        body: "mine",
      }),
      { remoteAddr: "127.0.0.1" },
    );
  };
  // The holder of a URL to write one key must not turn the write into a copy of another object, or add to it.
  for (const request of [presigned, signed]) {
    for (
      const added of [{ "x-amz-copy-source": "/auth/secret" }, {
        "x-amz-meta-owner": "eve",
        "x-amz-tagging": "a=b",
      }] as Record<string, string>[]
    ) {
      const res = await send(request, added);
      const body = await res.text();
      assert.equal(res.status, 403, body);
      assert.equal(errorCode(body), "AccessDenied");
      assert.match(body, new RegExp(`<HeadersNotSigned>${Object.keys(added).join(", ")}</HeadersNotSigned>`));
    }
  }
  assert.equal((await h.request({ method: "HEAD", path: "/auth/mine" })).status, 404, "nothing written");
  // As sent by the signer, both write; a presigned URL's unsigned x-amz-content-sha256 is not read, so it may come.
  assert.equal((await send(presigned, { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" })).status, 200);
  assert.equal((await send(signed, {})).status, 200);
  assert.equal((await h.text({ path: "/auth/mine" })).body, "mine");
});
