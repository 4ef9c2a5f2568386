import assert from "node:assert/strict";
import { s3Answer, toResponse } from "./answer.ts";

Deno.test("s3Answer(): a string body is UTF-8 bytes, text/plain unless the headers name a type; other bodies as given", async () => {
  const text = s3Answer("Grüße\n", 400, { connection: "close" });
  assert.deepEqual(text.body, new TextEncoder().encode("Grüße\n"));
  assert.deepEqual(text.headers, { connection: "close", "content-type": "text/plain;charset=UTF-8" });

  const xml = s3Answer("<a/>", 200, { "content-type": "application/xml" });
  assert.equal(xml.headers["content-type"], "application/xml");

  const bytes = new Uint8Array([1, 2, 3]);
  assert.equal(s3Answer(bytes, 200, {}).body, bytes);
  assert.equal(s3Answer(null, 304, {}).body, null);

  const response = toResponse(s3Answer("<a/>", 201, { "content-type": "application/xml", etag: '"e"' }));
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("etag"), '"e"');
  assert.equal(await response.text(), "<a/>");
});
