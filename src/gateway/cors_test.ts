import assert from "node:assert/strict";
import { CORS_VARY, corsResponseHeaders, type CorsRule, matchingRule, requestedHeaders } from "./cors.ts";

const rule = (over: Partial<CorsRule>): CorsRule => ({
  allowedOrigins: ["https://app.example"],
  allowedMethods: ["GET"],
  allowedHeaders: [],
  exposeHeaders: [],
  ...over,
});

Deno.test("matchingRule: origin, method and every requested header must be allowed; the first such rule wins", () => {
  const readOnly = rule({ id: "read" });
  const upload = rule({
    id: "upload",
    allowedOrigins: ["https://*.example"],
    allowedMethods: ["PUT", "POST"],
    allowedHeaders: ["content-type", "x-amz-*"],
  });
  const anyone = rule({ id: "anyone", allowedOrigins: ["*"], allowedMethods: ["GET", "HEAD"] });
  const rules = [readOnly, upload, anyone];
  const match = (origin: string, method: string, headers: string[] = []) =>
    matchingRule(rules, { origin, method, headers })?.id;
  assert.equal(match("https://app.example", "GET"), "read");
  assert.equal(match("https://other.site", "GET"), "anyone");
  assert.equal(match("https://other.site", "HEAD"), "anyone");
  assert.equal(match("https://other.site", "PUT"), undefined);
  assert.equal(match("https://up.example", "PUT", ["content-type", "x-amz-meta-a"]), "upload");
  assert.equal(match("https://UP.example", "PUT", ["content-type"]), "upload", "origins compare case-insensitively");
  assert.equal(match("https://up.example", "PUT", ["authorization"]), undefined, "a header no rule allows");
  assert.equal(match("https://.example", "PUT"), "upload", "the wildcard matches an empty run too");
  assert.equal(match("https://example", "PUT"), undefined, "but never overlaps the text around it");
  assert.equal(match("http://up.example", "PUT"), undefined, "the scheme is part of the origin");
});

Deno.test("requestedHeaders splits, trims and lower-cases Access-Control-Request-Headers", () => {
  assert.deepEqual(requestedHeaders("Content-Type, X-Amz-Date ,,x-amz-meta-a"), [
    "content-type",
    "x-amz-date",
    "x-amz-meta-a",
  ]);
  assert.deepEqual(requestedHeaders(null), []);
});

Deno.test("corsResponseHeaders: a named origin is echoed with credentials; a rule for any origin answers *", () => {
  const named = rule({
    allowedMethods: ["GET", "PUT"],
    exposeHeaders: ["ETag", "x-amz-request-id"],
    maxAgeSeconds: 600,
  });
  assert.deepEqual(corsResponseHeaders(named, "https://app.example", ["content-type"]), {
    "access-control-allow-origin": "https://app.example",
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": "GET, PUT",
    "access-control-allow-headers": "content-type",
    "access-control-expose-headers": "ETag, x-amz-request-id",
    "access-control-max-age": "600",
    vary: CORS_VARY,
  });
  assert.deepEqual(corsResponseHeaders(rule({ allowedOrigins: ["*"] }), "https://x.example"), {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET",
    vary: CORS_VARY,
  });
});
