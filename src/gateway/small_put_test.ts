// A small PUT (declared length ≤ 64 KiB) is read whole and checked in one pass; against the fs store it is then
// published through the group commit. Every wrong digest or length is the S3 error AWS returns and stores nothing.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createFsStore } from "../storage/fs.ts";
import { tempLeftovers } from "../storage/_testing/contract_helpers.ts";
import { createHarness, errorCode, type TestRequest } from "./_testing/harness.ts";
import { digestBase64 } from "./wire/checksums.ts";

const body = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7 + (i >>> 8)) & 0xff);
const other = body.map((b) => b ^ 1);
const sha256Hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

Deno.test("small PUT: SHA-256, CRC32 and Content-MD5 verified in one pass; a wrong one or a wrong length stores nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "gateway-small-put-" });
  const store = await createFsStore({ root });
  const h = createHarness({ store });
  try {
    assert.equal((await h.request({ method: "PUT", path: "/small" })).status, 200);
    const good = await h.request({
      method: "PUT",
      path: "/small/ok",
      body,
      headers: { "x-amz-checksum-crc32": digestBase64("crc32", body), "content-md5": digestBase64("md5", body) },
    });
    assert.equal(good.status, 200);
    assert.equal(good.headers.get("x-amz-checksum-crc32"), digestBase64("crc32", body));
    assert.equal(good.headers.get("etag"), `"${createHash("md5").update(body).digest("hex")}"`);
    const got = await h.request({ path: "/small/ok" });
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), body);

    const cases: [string, Pick<TestRequest, "contentSha256" | "headers">, number, string][] = [
      ["signed SHA-256 of other bytes", { contentSha256: sha256Hex(other) }, 400, "XAmzContentSHA256Mismatch"],
      ["CRC32 of other bytes", { headers: { "x-amz-checksum-crc32": digestBase64("crc32", other) } }, 400, "BadDigest"],
      ["Content-MD5 of other bytes", { headers: { "content-md5": digestBase64("md5", other) } }, 400, "BadDigest"],
      [
        "CRC32C of other bytes",
        { headers: { "x-amz-checksum-crc32c": digestBase64("crc32c", other) } },
        400,
        "BadDigest",
      ],
    ];
    for (const [what, extra, status, code] of cases) {
      const { res, body: xml } = await h.text({ method: "PUT", path: `/small/bad`, body, ...extra });
      assert.equal(res.status, status, what);
      assert.equal(errorCode(xml), code, what);
    }
    // A body shorter than its Content-Length (the client stops sending): IncompleteBody.
    const short = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(body.subarray(0, 1000));
        c.close();
      },
    });
    const { res: cut, body: cutXml } = await h.text({
      method: "PUT",
      path: "/small/bad",
      body: short,
      headers: { "content-length": String(body.byteLength) },
    });
    assert.equal(cut.status, 400);
    assert.equal(errorCode(cutXml), "IncompleteBody");
    assert.equal((await h.request({ method: "HEAD", path: "/small/bad" })).status, 404);
    assert.deepEqual(tempLeftovers(`${root}/tmp`), [], "no temp file left");
  } finally {
    await store.close();
    await Deno.remove(root, { recursive: true });
  }
});
