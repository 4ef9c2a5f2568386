import assert from "node:assert/strict";
import { S3Error } from "../s3_errors.ts";
import { checkPostPolicy, parsePostPolicy } from "./post_policy.ts";

const NOW = new Date("2026-11-26T12:00:00Z");
const encode = (doc: unknown) => new TextEncoder().encode(JSON.stringify(doc)).toBase64();

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, String(err));
    return `${err.s3Code}: ${err.message}`;
  }
  return "no error";
}

const policy = parsePostPolicy(encode({
  expiration: "2026-11-26T13:00:00.000Z",
  conditions: [
    { bucket: "photos" },
    ["starts-with", "$key", "user/42/"],
    ["eq", "$Content-Type", "image/png"],
    ["starts-with", "$x-amz-meta-tag", ""],
    ["content-length-range", 10, 1000],
    { "x-amz-algorithm": "AWS4-HMAC-SHA256" },
  ],
}));

const form = (extra: [string, string][] = []) =>
  new Map<string, string>([
    ["bucket", "photos"],
    ["key", "user/42/a.png"],
    ["content-type", "image/png"],
    ["x-amz-meta-tag", "anything"],
    ["x-amz-algorithm", "AWS4-HMAC-SHA256"],
    ["policy", "…"],
    ["x-amz-signature", "…"],
    ...extra,
  ]);

Deno.test("checkPostPolicy(): every condition holds and every field is named; the size range is returned", () => {
  assert.deepEqual(checkPostPolicy(policy, form([["x-ignore-me", "1"]]), NOW), { minBytes: 10, maxBytes: 1000 });
});

Deno.test("checkPostPolicy(): a failed condition, an extra field, another bucket or an expired policy is denied", () => {
  assert.match(
    failure(() => checkPostPolicy(policy, form([["key", "user/43/a.png"]]), NOW)),
    /^AccessDenied: .*starts-with.*\$key/,
  );
  assert.match(
    failure(() => checkPostPolicy(policy, form([["content-type", "text/html"]]), NOW)),
    /^AccessDenied: .*eq.*content-type/,
  );
  assert.match(
    failure(() => checkPostPolicy(policy, form([["x-amz-meta-other", "x"]]), NOW)),
    /Extra input fields: x-amz-meta-other/,
  );
  assert.match(failure(() => checkPostPolicy(policy, form([["bucket", "other"]]), NOW)), /^AccessDenied: .*bucket/);
  const missing = form();
  missing.delete("x-amz-meta-tag");
  assert.equal(checkPostPolicy(policy, missing, NOW).maxBytes, 1000, 'starts-with "" also holds for an absent field');
  assert.match(failure(() => checkPostPolicy(policy, form(), new Date("2026-11-26T13:00:01Z"))), /Policy expired/);
});

Deno.test("parsePostPolicy(): documents that are not a policy are InvalidPolicyDocument", () => {
  for (
    const bad of [
      "not base64!",
      encode({ conditions: [] }),
      encode({ expiration: "soon", conditions: [] }),
      encode({ expiration: "2026-12-01T00:00:00Z", conditions: {} }),
      encode({ expiration: "2026-12-01T00:00:00Z", conditions: [["starts-with", "key", "a"]] }),
      encode({ expiration: "2026-12-01T00:00:00Z", conditions: [["content-length-range", 10, 5]] }),
      encode({ expiration: "2026-12-01T00:00:00Z", conditions: [["gt", "$key", "a"]] }),
      encode({ expiration: "2026-12-01T00:00:00Z", conditions: [{ a: "1", b: "2" }] }),
    ]
  ) {
    assert.match(failure(() => parsePostPolicy(bad)), /^InvalidPolicyDocument/, bad);
  }
});
