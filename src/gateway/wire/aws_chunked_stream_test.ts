// The signed example is "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
// Chunks" from the Amazon S3 API reference: 65536 + 1024 bytes of "a", with its published signatures.
import assert from "node:assert/strict";
import { concatBytes } from "../../bytes.ts";
import { createAwsChunkedParser } from "./aws_chunked_stream.ts";
import { digestBase64 } from "./checksums.ts";
import {
  canonicalRequest,
  chunkSignature,
  credentialScope,
  signHex,
  signingKey,
  stringToSign,
  trailerSignature,
} from "./sigv4.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const CRED = { date: "20130524", region: "us-east-1", service: "s3" };
const AMZ_DATE = "20130524T000000Z";
const enc = new TextEncoder();

function concat(...parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of bytes) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

function decode(
  body: Uint8Array,
  options: Parameters<typeof createAwsChunkedParser>[0],
  pieceSize = 7,
): Promise<Uint8Array> {
  return Promise.try(() => {
    const parser = createAwsChunkedParser(options);
    const out: Uint8Array[] = [];
    for (let i = 0; i < body.length; i += pieceSize) {
      parser.push(body.slice(i, i + pieceSize), (piece) => out.push(piece));
    }
    parser.end();
    return concatBytes(out);
  });
}

const SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const SIG1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
const SIG2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
const SIG3 = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

function awsExampleBody(sig1 = SIG1): Uint8Array {
  return concat(
    `10000;chunk-signature=${sig1}\r\n`,
    new Uint8Array(65536).fill(97),
    `\r\n400;chunk-signature=${SIG2}\r\n`,
    new Uint8Array(1024).fill(97),
    `\r\n0;chunk-signature=${SIG3}\r\n\r\n`,
  );
}

function chainVerifier(seed: string) {
  const key = signingKey(SECRET, CRED);
  let previous = seed;
  return {
    seen: [] as string[],
    onChunk(signature: string | undefined, sha: string) {
      const expected = chunkSignature({
        key,
        amzDate: AMZ_DATE,
        scope: credentialScope(CRED),
        previousSignature: previous,
      }, sha);
      if (signature !== expected) throw new Error(`chunk signature mismatch`);
      this.seen.push(expected);
      previous = expected;
    },
  };
}

Deno.test("AWS chunked-upload example: seed signature of the documented request", () => {
  const headers: Record<string, string> = {
    "content-encoding": "aws-chunked",
    "content-length": "66824",
    host: "s3.amazonaws.com",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "x-amz-date": AMZ_DATE,
    "x-amz-decoded-content-length": "66560",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
  };
  const creq = canonicalRequest({
    method: "PUT",
    canonicalUri: "/examplebucket/chunkObject.txt",
    canonicalQuery: "",
    header: (n) => headers[n] ?? null,
    signedHeaders: Object.keys(headers).sort(),
    payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  });
  const sig = signHex(signingKey(SECRET, CRED), stringToSign(AMZ_DATE, credentialScope(CRED), creq));
  assert.equal(sig, SEED);
  assert.equal(awsExampleBody().length, 66824);
});

Deno.test("createAwsChunkedParser() verifies the AWS example chunk signatures and yields the payload", async () => {
  const verifier = chainVerifier(SEED);
  const out = await decode(awsExampleBody(), { signed: true, onChunk: (s, h) => verifier.onChunk(s, h) }, 1000);
  assert.equal(out.length, 66560);
  assert.ok(out.every((b) => b === 97));
  assert.deepEqual(verifier.seen, [SIG1, SIG2, SIG3]);
});

Deno.test("createAwsChunkedParser() errors the stream on a tampered chunk signature", async () => {
  const verifier = chainVerifier(SEED);
  const body = awsExampleBody("0".repeat(64));
  await assert.rejects(decode(body, { signed: true, onChunk: (s, h) => verifier.onChunk(s, h) }), /mismatch/);
});

Deno.test("createAwsChunkedParser() decodes unsigned chunks with a checksum trailer", async () => {
  let got: [string, string][] = [];
  const body = concat("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
  const out = await decode(body, { signed: false, onTrailers: (t) => void (got = t) }, 3);
  assert.equal(new TextDecoder().decode(out), "hello world");
  assert.deepEqual(got, [["x-amz-checksum-crc32", "DUoRhQ=="]]);
});

Deno.test("createAwsChunkedParser() passes the trailer signature for signed trailers", async () => {
  const key = signingKey(SECRET, CRED);
  const ctx = { key, amzDate: AMZ_DATE, scope: credentialScope(CRED), previousSignature: SIG3 };
  const tsig = trailerSignature(ctx, [["x-amz-checksum-crc32c", "sOO8/Q=="]]);
  let seen: { trailers: [string, string][]; sig: string | undefined } | undefined;
  const body = concat(
    `0;chunk-signature=${SIG3}\r\nx-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:${tsig}\r\n\r\n`,
  );
  await decode(body, { signed: true, onTrailers: (trailers, sig) => void (seen = { trailers, sig }) });
  assert.deepEqual(seen, { trailers: [["x-amz-checksum-crc32c", "sOO8/Q=="]], sig: tsig });
});

Deno.test("createAwsChunkedParser() rejects malformed framing", async () => {
  const cases: [string, string | Uint8Array][] = [
    ["bad size", "zz\r\nabc\r\n0\r\n\r\n"],
    ["missing CRLF after data", "3\r\nabcX\r\n0\r\n\r\n"],
    ["truncated body", "a\r\nabc"],
    ["no final chunk", "3\r\nabc\r\n"],
    ["bare LF", "3\nabc\r\n0\r\n\r\n"],
    ["overlong line", "3" + ";x".repeat(5000) + "\r\n"],
    ["data after end", "0\r\n\r\nXYZ"],
    ["unsigned chunk in signed mode", "3\r\nabc\r\n0\r\n\r\n"],
  ];
  for (const [name, body] of cases) {
    const signed = name.includes("signed mode");
    await assert.rejects(decode(concat(body), { signed, onChunk: () => {} }), SyntaxError, name);
  }
});

// "Signature Calculations for Trailing Headers (Chunked Upload)": the same 66560 bytes of "a" with a CRC32C trailer.
Deno.test("AWS trailer example: chunk signatures and the trailer signature verify; the CRC32C trailer matches", async () => {
  const seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
  const sigs = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
  ];
  const documentedTrailerSignature = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";
  const body = concat(
    `10000;chunk-signature=${sigs[0]}\r\n`,
    new Uint8Array(65536).fill(97),
    `\r\n400;chunk-signature=${sigs[1]}\r\n`,
    new Uint8Array(1024).fill(97),
    `\r\n0;chunk-signature=${sigs[2]}\r\n`,
    `x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:${documentedTrailerSignature}\r\n\r\n`,
  );
  const verifier = chainVerifier(seed);
  const key = signingKey(SECRET, CRED);
  let trailerOk = false;
  const out = await decode(body, {
    signed: true,
    onChunk: (s, h) => verifier.onChunk(s, h),
    onTrailers(trailers, signature) {
      const ctx = { key, amzDate: AMZ_DATE, scope: credentialScope(CRED), previousSignature: sigs[2]! };
      assert.deepEqual(trailers, [["x-amz-checksum-crc32c", "sOO8/Q=="]]);
      assert.equal(trailerSignature(ctx, trailers), signature);
      trailerOk = true;
    },
  }, 4096);
  assert.deepEqual(verifier.seen, sigs);
  assert.ok(trailerOk);
  assert.equal(digestBase64("crc32c", out), "sOO8/Q==");
});
