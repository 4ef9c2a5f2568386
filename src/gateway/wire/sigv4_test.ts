// Vectors from the Amazon S3 API reference, "Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk" and "Authenticating Requests: Using Query Parameters".
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUris,
  createSigningKeyCache,
  credentialScope,
  EMPTY_SHA256,
  parseAuthorizationHeader,
  parsePresignedQuery,
  sha256Hex,
  signHex,
  signingKey,
  stringToSign,
  uriEncode,
} from "./sigv4.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SCOPE = { date: "20130524", region: "us-east-1", service: "s3" };
const AMZ_DATE = "20130524T000000Z";

function sign(method: string, rawPath: string, rawQuery: string, headers: Record<string, string>, payloadHash: string) {
  const signedHeaders = Object.keys(headers).sort();
  const creq = canonicalRequest({
    method,
    canonicalUri: canonicalUris(rawPath)[0]!,
    canonicalQuery: canonicalQuery(rawQuery, "X-Amz-Signature"),
    header: (n) => headers[n] ?? null,
    signedHeaders,
    payloadHash,
  });
  return signHex(signingKey(SECRET, SCOPE), stringToSign(AMZ_DATE, credentialScope(SCOPE), creq));
}

Deno.test("SigV4 AWS example: GET Object with Range", () => {
  const sig = sign("GET", "/test.txt", "", {
    host: "examplebucket.s3.amazonaws.com",
    range: "bytes=0-9",
    "x-amz-content-sha256": EMPTY_SHA256,
    "x-amz-date": AMZ_DATE,
  }, EMPTY_SHA256);
  assert.equal(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
});

Deno.test("SigV4 AWS example: PUT Object with a $ in the key", () => {
  const payload = sha256Hex("Welcome to Amazon S3.");
  assert.equal(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const sig = sign("PUT", "/test%24file.text", "", {
    date: "Fri, 24 May 2013 00:00:00 GMT",
    host: "examplebucket.s3.amazonaws.com",
    "x-amz-content-sha256": payload,
    "x-amz-date": AMZ_DATE,
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
  }, payload);
  assert.equal(sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  // The same request with "$" sent unencoded canonicalises identically.
  assert.equal(canonicalUris("/test$file.text")[0], "/test%24file.text");
});

Deno.test("SigV4 AWS example: GET Bucket Lifecycle (valueless query parameter)", () => {
  const sig = sign("GET", "/", "lifecycle", {
    host: "examplebucket.s3.amazonaws.com",
    "x-amz-content-sha256": EMPTY_SHA256,
    "x-amz-date": AMZ_DATE,
  }, EMPTY_SHA256);
  assert.equal(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
});

Deno.test("SigV4 AWS example: GET Bucket (list objects) with sorted query", () => {
  const sig = sign("GET", "/", "max-keys=2&prefix=J", {
    host: "examplebucket.s3.amazonaws.com",
    "x-amz-content-sha256": EMPTY_SHA256,
    "x-amz-date": AMZ_DATE,
  }, EMPTY_SHA256);
  assert.equal(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
});

Deno.test("SigV4 AWS example: presigned GET Object URL", () => {
  const query =
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  const params = parsePresignedQuery(new URLSearchParams(query));
  assert.equal(params.accessKeyId, "AKIAIOSFODNN7EXAMPLE");
  assert.equal(params.expiresSeconds, 86400);
  const sig = sign("GET", "/test.txt", query, { host: "examplebucket.s3.amazonaws.com" }, "UNSIGNED-PAYLOAD");
  assert.equal(sig, params.signature);
});

Deno.test("parsePresignedQuery() rejects expiry over 7 days and missing fields", () => {
  const base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
    "&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "a".repeat(64);
  assert.throws(() => parsePresignedQuery(new URLSearchParams(base + "&X-Amz-Expires=604801")), RangeError);
  assert.equal(parsePresignedQuery(new URLSearchParams(base + "&X-Amz-Expires=604800")).expiresSeconds, 604800);
  assert.throws(() => parsePresignedQuery(new URLSearchParams(base)), SyntaxError);
});

Deno.test("parseAuthorizationHeader() reads the documented header and rejects malformed ones", () => {
  const parsed = parseAuthorizationHeader(
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
      "SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
  );
  assert.deepEqual(parsed, {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    date: "20130524",
    region: "us-east-1",
    service: "s3",
    signedHeaders: ["host", "range", "x-amz-date"],
    signature: "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
  });
  for (
    const bad of [
      "AWS AKIA:sig",
      "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3, SignedHeaders=host, Signature=" + "a".repeat(64),
      "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host",
      "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=Host, Signature=" +
      "a".repeat(64),
      "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=xyz",
    ]
  ) {
    assert.throws(() => parseAuthorizationHeader(bad), SyntaxError, bad);
  }
});

Deno.test("uriEncode() and canonicalQuery() follow the S3 encoding rules", () => {
  assert.equal(uriEncode("a b/c~d*é", true), "a%20b/c~d%2A%C3%A9");
  assert.equal(uriEncode("a/b", false), "a%2Fb");
  assert.equal(canonicalQuery("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
  assert.equal(canonicalQuery("prefix=a%2fb&x=%7e"), "prefix=a%2Fb&x=~");
  // No double encoding of an already-encoded path.
  assert.deepEqual(canonicalUris("/bucket/a%20b"), ["/bucket/a%20b"]);
  assert.deepEqual(canonicalUris("/bucket/a!b"), ["/bucket/a%21b", "/bucket/a!b"]);
});

// AWS SigV4 test suite (aws-sig-v4-test-suite, credentials AKIDEXAMPLE, 20150830T123600Z, service "service"):
// the cases whose rules S3 shares (query sorting by name then value, header value trimming and folding).
Deno.test("SigV4 test suite: get-vanilla, query ordering and header trimming", () => {
  const cred = { date: "20150830", region: "us-east-1", service: "service" };
  const key = signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", cred);
  const base = { host: "example.amazonaws.com", "x-amz-date": "20150830T123600Z" };
  const cases: [string, string, Record<string, string>, string][] = [
    ["get-vanilla", "", base, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"],
    [
      "get-vanilla-query-order-key-case",
      "Param2=value2&Param1=value1",
      base,
      "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ],
    [
      "get-vanilla-query-order-key",
      "Param1=value2&Param1=Value1",
      base,
      "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
    ],
    [
      "get-header-value-trim",
      "",
      { ...base, "my-header1": " value1", "my-header2": ' "a   b   c"' },
      "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    ],
  ];
  for (const [name, query, headers, expected] of cases) {
    const creq = canonicalRequest({
      method: "GET",
      canonicalUri: "/",
      canonicalQuery: canonicalQuery(query),
      header: (n) => headers[n] ?? null,
      signedHeaders: Object.keys(headers).sort(),
      payloadHash: EMPTY_SHA256,
    });
    assert.equal(signHex(key, stringToSign("20150830T123600Z", credentialScope(cred), creq)), expected, name);
  }
});

Deno.test("createSigningKeyCache() returns the signing key of each secret, day, region and service", () => {
  const keys = createSigningKeyCache(2);
  const other = { ...SCOPE, date: "20130525" };
  assert.deepEqual(keys(SECRET, SCOPE), signingKey(SECRET, SCOPE));
  assert.equal(keys(SECRET, SCOPE), keys(SECRET, SCOPE), "the second call is served from the cache");
  assert.deepEqual(keys(SECRET, other), signingKey(SECRET, other));
  assert.deepEqual(keys("another-secret", SCOPE), signingKey("another-secret", SCOPE), "a rotated secret gets its key");
  assert.deepEqual(
    keys(SECRET, { ...SCOPE, region: "eu-west-1" }),
    signingKey(SECRET, { ...SCOPE, region: "eu-west-1" }),
  );
});

Deno.test("signHex() is HMAC-SHA256 for short, block-sized and long keys, and for a key reused", () => {
  for (const length of [1, 32, 64, 65, 100]) {
    const key = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
    for (const data of ["", "AWS4-HMAC-SHA256\n20260101T000000Z\nscope\nhash", "é€ ".repeat(50)]) {
      assert.equal(signHex(key, data), createHmac("sha256", key).update(data).digest("hex"), `${length} ${data}`);
    }
  }
});

Deno.test("canonicalHeaders trims values and folds every whitespace run to one space, as SigV4 asks", () => {
  const values: Record<string, string> = {
    plain: "a b c",
    runs: "  a   b\t\tc  ",
    tab: "a\tb",
    newline: "a\nb",
    nbsp: "a\u00a0b",
    mixed: "a \u2028 b",
    empty: "",
  };
  const names = [...Object.keys(values), "absent"];
  const want = names.map((n) => `${n}:${(values[n] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  assert.equal(canonicalHeaders((n) => values[n] ?? null, names), want);
  assert.equal(
    canonicalHeaders((n) => values[n] ?? null, ["runs", "tab", "nbsp"]),
    "runs:a b c\ntab:a b\nnbsp:a b\n",
  );
});

Deno.test("stringToSign hashes a canonical request one byte per character, whatever its length, and as UTF-8 when asked", () => {
  const expected = (canonical: string, encoding: "latin1" | "utf8") =>
    `AWS4-HMAC-SHA256\n20150830T123600Z\nscope\n${createHash("sha256").update(canonical, encoding).digest("hex")}`;
  const beyondAscii = "x-amz-meta-city:Z\u00c3\u00bcrich\u00ff\n";
  // A long one first, then shorter ones: what a longer request left behind is not hashed again.
  for (const canonical of ["GET\n/" + "k".repeat(10_000) + beyondAscii, beyondAscii, "GET\n/\n\n", ""]) {
    for (const encoding of ["latin1", "utf8"] as const) {
      assert.equal(stringToSign("20150830T123600Z", "scope", canonical, encoding), expected(canonical, encoding));
    }
  }
});
