import assert from "node:assert/strict";
import { readHeaders } from "./request_headers.ts";

Deno.test("readHeaders() answers like Headers: any case, repeated headers joined, null when absent, lower-case names", () => {
  const headers = new Headers([["X-Amz-Date", "20260101T000000Z"], ["x-amz-meta-a", "1"], ["X-Amz-Meta-A", "2"]]);
  const { reader } = readHeaders(new Headers([...headers, ["host", "s3.example:9000"]]), "other:1");
  for (const name of ["x-amz-date", "X-AMZ-DATE", "x-amz-meta-a", "range"]) {
    assert.equal(reader.get(name), headers.get(name), name);
    assert.equal(reader.has(name), headers.has(name), name);
  }
  assert.equal(reader.get("x-amz-meta-a"), "1, 2");
  assert.equal(reader.get("host"), "s3.example:9000");
  assert.deepEqual([...reader.keys()].sort(), ["host", "x-amz-date", "x-amz-meta-a"]);
});

Deno.test("readHeaders() sums names, values and the framing of each header line", () => {
  const { bytes } = readHeaders(new Headers({ host: "h", "x-a": "bc" }), "h");
  assert.equal(bytes, 4 + 1 + 4 + 3 + 2 + 4);
});

Deno.test("readHeaders() gives an HTTP/2 request, which has no Host header, its :authority as the host", () => {
  const { reader, bytes } = readHeaders(new Headers({ "x-a": "bc" }), "127.0.0.1:9000");
  assert.equal(reader.get("host"), "127.0.0.1:9000");
  assert.equal(bytes, 3 + 2 + 4, "what the client sent");
});
