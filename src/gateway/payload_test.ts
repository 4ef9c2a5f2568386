import assert from "node:assert/strict";
import { concatBytes } from "../bytes.ts";
import { createPayload, type Payload } from "./payload.ts";
import { S3Error } from "./s3_errors.ts";
import { digestBase64 } from "./wire/checksums.ts";

const MiB = 1024 * 1024;
const enc = new TextEncoder();

function data(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed * 7 + (i >>> 9)) & 0xff);
}

/** A byte stream delivering `raw` in pieces cycling through `pieces` (like request bytes off a socket). */
function wire(raw: Uint8Array, pieces: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= raw.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const view = controller.byobRequest!.view!;
      const n = Math.min(pieces[i++ % pieces.length]!, view.byteLength, raw.byteLength - offset);
      new Uint8Array(view.buffer, view.byteOffset, n).set(raw.subarray(offset, offset + n));
      offset += n;
      controller.byobRequest!.respond(n);
    },
  });
}

/** An unsigned aws-chunked body (chunks of `chunk` bytes) with an x-amz-checksum-crc32 trailer. */
function awsChunked(body: Uint8Array, chunk: number, crc32 = digestBase64("crc32", body)): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < body.byteLength; at += chunk) {
    const piece = body.subarray(at, at + chunk);
    parts.push(enc.encode(`${piece.byteLength.toString(16)}\r\n`), piece, enc.encode("\r\n"));
  }
  parts.push(enc.encode(`0\r\nx-amz-checksum-crc32:${crc32}\r\n\r\n`));
  return concatBytes(parts);
}

function chunkedRequest(raw: Uint8Array, decoded: number, pieces: number[]): Request {
  return new Request("http://127.0.0.1/b/k", {
    method: "PUT",
    body: wire(raw, pieces),
    headers: {
      "content-length": String(raw.byteLength),
      "x-amz-decoded-content-length": String(decoded),
      "x-amz-trailer": "x-amz-checksum-crc32",
    },
  });
}

/** Reads the payload with BYOB views of `viewBytes` (the fs store's way) or, with 0, a default reader. */
async function readAll(payload: Payload, viewBytes: number): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  if (viewBytes === 0) {
    for await (const c of payload.stream) out.push(c.slice());
    return concatBytes(out);
  }
  const reader = payload.stream.getReader({ mode: "byob" });
  let buf = new Uint8Array(viewBytes);
  while (true) {
    const { done, value } = await reader.read(buf);
    if (done) break;
    out.push(value.slice());
    buf = new Uint8Array(value.buffer);
  }
  return concatBytes(out);
}

const CHUNKED = { mode: { kind: "chunked", signed: false, trailer: true }, maxBytes: 64 * MiB } as const;

Deno.test("payload: aws-chunked bodies decode in place into the reader's buffer, for any read and view sizes", async () => {
  const large = data(2 * MiB + 4321, 1);
  const small = data(70_001, 4);
  // Tiny reads and views only on the small body: a byte at a time through 2 MiB would only test patience.
  const cases = [
    ...[65_536, MiB, 1000].flatMap((chunk) =>
      [[MiB], [7, 65_536, 13]].flatMap((pieces) =>
        [MiB, 4096, 0].map((viewBytes) => ({ body: large, chunk, pieces, viewBytes }))
      )
    ),
    ...[[1], [3, 8191]].flatMap((pieces) =>
      [5, 65_536, 0].map((viewBytes) => ({ body: small, chunk: 8000, pieces, viewBytes }))
    ),
  ];
  for (const { body, chunk, pieces, viewBytes } of cases) {
    const raw = awsChunked(body, chunk);
    const payload = createPayload(chunkedRequest(raw, body.byteLength, pieces), CHUNKED);
    const got = await readAll(payload, viewBytes);
    const what = `${body.byteLength} bytes, chunk ${chunk}, pieces ${pieces}, view ${viewBytes}`;
    assert.equal(got.byteLength, body.byteLength, what);
    assert.ok(got.every((b, i) => b === body[i]), what);
    assert.equal(payload.checksums.crc32, digestBase64("crc32", body), what);
    assert.equal(payload.bytesIn(), raw.byteLength, what);
  }
});

Deno.test("payload: a plain body is read straight into the reader's buffer and checked against Content-MD5", async () => {
  const body = data(3 * MiB + 17, 2);
  for (const viewBytes of [MiB, 65_536, 0]) {
    const payload = createPayload(
      new Request("http://127.0.0.1/b/k", {
        method: "PUT",
        body: wire(body, [65_536, 1, MiB + 3]),
        headers: { "content-length": String(body.byteLength), "content-md5": digestBase64("md5", body) },
      }),
      { mode: { kind: "unsigned" }, maxBytes: 64 * MiB },
    );
    const got = await readAll(payload, viewBytes);
    assert.ok(got.byteLength === body.byteLength && got.every((b, i) => b === body[i]), `view ${viewBytes}`);
  }
});

Deno.test("payload: a wrong trailer checksum or a short body fails the stream with the S3 error", async () => {
  const body = data(MiB + 5, 3);
  const bad = createPayload(
    chunkedRequest(awsChunked(body, 65_536, digestBase64("crc32", data(10, 1))), body.byteLength, [MiB]),
    CHUNKED,
  );
  await assert.rejects(readAll(bad, MiB), (err) => err instanceof S3Error && err.s3Code === "BadDigest");
  assert.equal((bad.failure() as S3Error).s3Code, "BadDigest");
  const short = createPayload(
    new Request("http://127.0.0.1/b/k", {
      method: "PUT",
      body: wire(body.subarray(0, MiB), [65_536]),
      headers: { "content-length": String(body.byteLength) },
    }),
    { mode: { kind: "unsigned" }, maxBytes: 64 * MiB },
  );
  await assert.rejects(readAll(short, MiB), (err) => err instanceof S3Error && err.s3Code === "IncompleteBody");
});

Deno.test("payload: md5CheckedByStore leaves a streamed body's Content-MD5 to the store, not a small one's", async () => {
  const body = data(MiB + 9, 4);
  const wrong = digestBase64("md5", data(10, 1));
  const request = (b: Uint8Array) =>
    new Request("http://127.0.0.1/b/k", {
      method: "PUT",
      body: b.byteLength > 65_536 ? wire(b, [65_536]) : b.slice(),
      headers: { "content-length": String(b.byteLength), "content-md5": wrong },
    });
  const options = { mode: { kind: "unsigned" } as const, maxBytes: 64 * MiB, md5CheckedByStore: true };
  const streamed = createPayload(request(body), options);
  const wrongHex = Uint8Array.fromBase64(wrong).toHex();
  assert.equal(streamed.storeMd5Hex, wrongHex);
  assert.equal((await readAll(streamed, MiB)).byteLength, body.byteLength, "not hashed or failed here");
  const small = createPayload(request(body.subarray(0, 1000)), options);
  assert.equal(small.storeMd5Hex, undefined);
  await assert.rejects(readAll(small, 0), (err) => err instanceof S3Error && err.s3Code === "BadDigest");
  const unset = createPayload(request(body), { ...options, md5CheckedByStore: false });
  assert.equal(unset.storeMd5Hex, undefined);
  await assert.rejects(readAll(unset, MiB), (err) => err instanceof S3Error && err.s3Code === "BadDigest");
});
