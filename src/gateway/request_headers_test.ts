import assert from "node:assert/strict";
import { incomingRequest, pathOf, readHeaderList, readHeaders } from "./request_headers.ts";

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

Deno.test("readHeaderList() reads node's raw header list as readHeaders() reads the same Headers, sizing every line", () => {
  const list = ["Host", "s3.example:9000", "X-Amz-Date", "20260101T000000Z", "x-amz-meta-a", "1", "X-Amz-Meta-A", "2"];
  const pairs: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) pairs.push([list[i]!, list[i + 1]!]);
  const fromList = readHeaderList(list);
  const fromHeaders = readHeaders(new Headers(pairs), "other:1");
  // Each line as sent, a repeated header too (a Headers has joined them already).
  assert.equal(fromList.bytes, list.reduce((sum, s) => sum + s.length, 0) + 4 * pairs.length);
  for (const name of ["host", "X-AMZ-DATE", "x-amz-meta-a", "range"]) {
    assert.equal(fromList.reader.get(name), fromHeaders.reader.get(name), name);
    assert.equal(fromList.reader.has(name), fromHeaders.reader.has(name), name);
  }
  assert.equal(fromList.reader.get("x-amz-meta-a"), "1, 2");
  assert.deepEqual([...fromList.reader.keys()].sort(), ["host", "x-amz-date", "x-amz-meta-a"]);
});

Deno.test("incomingRequest() gives the gateway a Request's method, URL, headers read once, size and body", async () => {
  const req = new Request("http://s3.example:9000/b/k?x=1", { method: "PUT", headers: { "x-a": "bc" }, body: "data" });
  const incoming = incomingRequest(req);
  assert.equal(incoming.method, "PUT");
  assert.equal(incoming.url.href, "http://s3.example:9000/b/k?x=1");
  assert.equal(incoming.headers.get("host"), "s3.example:9000");
  assert.equal(incoming.headerBytes, readHeaders(req.headers, "s3.example:9000").bytes);
  assert.equal(await new Response(incoming.body).text(), "data");
});

Deno.test("pathOf() takes a request target's path as sent, up to its query", () => {
  const pathOfTarget = (target: string) => pathOf(target, new URL(target, "http://h"));
  assert.equal(pathOfTarget("/b/a/../k?x=1"), "/b/a/../k");
  assert.equal(pathOfTarget("/b/%2e%2e/k"), "/b/%2e%2e/k");
  assert.equal(pathOfTarget("http://h:9000/b/./k?a/b"), "/b/./k");
  assert.equal(pathOfTarget("http://h:9000?a/b"), "/");
  assert.equal(pathOfTarget("http://h:9000"), "/");
  assert.equal(pathOfTarget("/"), "/");
  assert.equal(pathOfTarget("http:/h/../k"), "/k", "not scheme://: the parsed URL's path");
});
