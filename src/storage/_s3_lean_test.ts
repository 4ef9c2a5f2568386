import assert from "node:assert/strict";
import { systemClock } from "../clock.ts";
import { isAppError } from "../errors.ts";
import { createLeanS3, headOutput, leanKey, xmlText } from "./_s3_lean.ts";

const KEYS = { region: "us-east-1", accessKeyId: "AKLEANTEST", secretAccessKey: "lean/secret" };

Deno.test("xmlText: first element's text with entities decoded; undefined when absent", () => {
  const xml =
    "<CopyObjectResult><ETag>&quot;abc&quot;</ETag><M>a &amp; b &#65;&#x42; &lt;&gt;&apos;</M></CopyObjectResult>";
  assert.equal(xmlText(xml, "ETag"), '"abc"');
  assert.equal(xmlText(xml, "M"), "a & b AB <>'");
  assert.equal(xmlText(xml, "Code"), undefined);
  assert.equal(xmlText("<Error><Code></Code></Error>", "Code"), "");
});

Deno.test("leanKey: keys with '.' or '..' segments, which URL parsing would resolve, are refused", () => {
  for (const key of ["a", "a/b", "a..b", ".hidden", "a/.b", "...", "a//b", "%2e%2e"]) assert.ok(leanKey(key), key);
  for (const key of [".", "..", "a/.", "a/..", "./a", "../a", "a/./b", "a/../b"]) assert.ok(!leanKey(key), key);
});

Deno.test("headOutput: metadata, checksums, headers and parts count from a HEAD answer", () => {
  const out = headOutput(
    new Headers({
      "content-length": "42",
      etag: '"e"',
      "last-modified": "Wed, 25 Nov 2026 10:00:00 GMT",
      "content-type": "text/plain",
      "x-amz-meta-color": "blue",
      "x-amz-checksum-crc64nvme": "AAAAAAAAAAA=",
      "x-amz-checksum-sha256": "c2hh",
      "x-amz-mp-parts-count": "3",
    }),
  );
  assert.equal(out.ContentLength, 42);
  assert.equal(out.ETag, '"e"');
  assert.equal(out.LastModified?.toISOString(), "2026-11-25T10:00:00.000Z");
  assert.equal(out.ContentType, "text/plain");
  assert.deepEqual(out.Metadata, { color: "blue" });
  assert.equal(out.ChecksumCRC64NVME, "AAAAAAAAAAA=");
  assert.equal(out.ChecksumSHA256, "c2hh");
  assert.equal(out.PartsCount, 3);
});

/** A real HTTP server answering with `answers` in turn (the last one repeats), recording the requests. */
function upstream(answers: (() => Response)[]) {
  const seen: { path: string; authorization: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push({ path: new URL(req.url).pathname, authorization: req.headers.get("authorization") ?? "" });
    return answers[Math.min(seen.length, answers.length) - 1]!();
  });
  return { endpoint: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

Deno.test("lean requests: signed, path-style for dotted buckets, retried on 503, a 200 carrying <Error> fails mapped", async () => {
  const error = (code: string, status: number) =>
    new Response(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`, { status });
  const up = upstream([
    () => error("ServiceUnavailable", 503),
    () => new Response(null, { status: 204 }),
    () => error("InternalError", 200),
    () => error("PreconditionFailed", 412),
    () => new Response(null, { status: 404 }),
  ]);
  // Virtual-hosted style, except for a dotted bucket name (the only kind reachable on 127.0.0.1).
  const lean = createLeanS3({ ...KEYS, endpoint: up.endpoint }, systemClock())!;
  try {
    const ok = await lean.send({ method: "DELETE", bucket: "b.x", key: "dir/ä b+c" }, "NoSuchBucket");
    assert.equal(ok.status, 204);
    assert.equal(up.seen.length, 2);
    const req = up.seen[1]!;
    assert.equal(req.path, "/b.x/dir/%C3%A4%20b%2Bc");
    assert.match(req.authorization, /^AWS4-HMAC-SHA256 Credential=AKLEANTEST\/\d{8}\/us-east-1\/s3\//);
    assert.match(req.authorization, /SignedHeaders=host;x-amz-content-sha256;x-amz-date,/);

    await assert.rejects(
      lean.send({ method: "PUT", bucket: "b.x", key: "k", headers: { "x-amz-copy-source": "b/s" } }, "NoSuchKey"),
      (err) => isAppError(err, "PreconditionFailed"),
    );
    // The 200 carrying InternalError was retried; the 412 that followed is final.
    assert.equal(up.seen.length, 4);
    await assert.rejects(lean.send({ method: "HEAD", bucket: "b.x", key: "k" }, "NoSuchKey"), (err) => {
      return isAppError(err, "NoSuchKey");
    });
  } finally {
    lean.close();
    await up.close();
  }
});

Deno.test("lean requests: an unreachable upstream is Unavailable; endpoints with a base path are not handled", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const lean = createLeanS3({ ...KEYS, endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2 }, systemClock())!;
  try {
    await assert.rejects(lean.send({ method: "HEAD", bucket: "b", key: "k" }, "NoSuchKey"), (err) => {
      return isAppError(err, "Unavailable");
    });
  } finally {
    lean.close();
  }
  assert.equal(createLeanS3({ ...KEYS, endpoint: "http://127.0.0.1:1/s3" }, systemClock()), null);
});
