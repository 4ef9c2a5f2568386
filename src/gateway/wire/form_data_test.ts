import assert from "node:assert/strict";
import { S3Error } from "../s3_errors.ts";
import { streamOf } from "../../storage/_testing/contract_helpers.ts";
import { formBoundary, MAX_FIELD_BYTES, readFormUpload } from "./form_data.ts";

/** A form encoded by the platform's own multipart/form-data serializer. */
async function encoded(form: FormData): Promise<{ bytes: Uint8Array; boundary: string }> {
  const res = new Response(form);
  const boundary = formBoundary(res.headers.get("content-type"));
  assert.ok(boundary);
  return { bytes: new Uint8Array(await res.arrayBuffer()), boundary };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    const got = await p;
    if (got && typeof got === "object" && "file" in got) {
      await new Response((got as { file: ReadableStream }).file).arrayBuffer();
    }
  } catch (err) {
    assert.ok(err instanceof S3Error, String(err));
    return err.s3Code;
  }
  return "no error";
}

// Binary content with CRLFs, dashes and a fake boundary prefix inside.
const content = new Uint8Array([
  ...new TextEncoder().encode("line\r\n--\r\n--not the boundary\r\n"),
  ...Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff),
]);

Deno.test("readFormUpload(): fields before the file, the file streamed, across any chunking of the body", async () => {
  const form = new FormData();
  form.append("key", "uploads/${filename}");
  form.append("Content-Type", "image/png");
  form.append("x-amz-meta-note", "ünïcode");
  form.append("file", new File([content], "photo.png", { type: "image/png" }));
  form.append("after", "ignored");
  const { bytes, boundary } = await encoded(form);
  for (const size of [1, 7, 100, 65_536, bytes.byteLength]) {
    const got = await readFormUpload(streamOf(bytes, size), boundary);
    assert.deepEqual([...got.fields], [
      ["key", "uploads/${filename}"],
      ["content-type", "image/png"],
      ["x-amz-meta-note", "ünïcode"],
    ], `chunks of ${size}`);
    assert.equal(got.filename, "photo.png");
    assert.deepEqual(new Uint8Array(await new Response(got.file).arrayBuffer()), content, `chunks of ${size}`);
  }
});

Deno.test("readFormUpload(): no file, a body cut off inside the file, oversized fields, no boundary", async () => {
  const noFile = new FormData();
  noFile.append("key", "k");
  let form = await encoded(noFile);
  assert.equal(
    await code(readFormUpload(streamOf(form.bytes, 5), form.boundary)),
    "IncorrectNumberOfFilesInPostRequest",
  );

  const withFile = new FormData();
  withFile.append("key", "k");
  withFile.append("file", new File([content], "f"));
  form = await encoded(withFile);
  const cut = form.bytes.subarray(0, form.bytes.byteLength - 200);
  assert.equal(await code(readFormUpload(streamOf(cut, 1000), form.boundary)), "MalformedPOSTRequest");

  const big = new FormData();
  big.append("x-amz-meta-big", "x".repeat(MAX_FIELD_BYTES + 1));
  big.append("file", new File(["data"], "f"));
  form = await encoded(big);
  assert.equal(await code(readFormUpload(streamOf(form.bytes, 4096), form.boundary)), "MalformedPOSTRequest");

  assert.equal(
    await code(readFormUpload(streamOf(new TextEncoder().encode("no form here"), 4), "b")),
    "MalformedPOSTRequest",
  );
  assert.equal(formBoundary('multipart/form-data; boundary="a b"'), "a b");
  assert.equal(formBoundary("application/octet-stream"), undefined);
});
