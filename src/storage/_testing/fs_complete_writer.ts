/**
 * Child process for the fs crash-during-completion test: uploads two parts of a multipart upload, prints the
 * upload id and part ETags, then completes the upload (the parent kills it with SIGKILL meanwhile).
 *
 * Usage: deno run -A fs_complete_writer.ts <root> <bucket> <key>
 *
 * @module
 */
import { MIN_PART_SIZE } from "../mod.ts";
import { createFsStore } from "../fs.ts";
import { bytes, streamOf } from "./contract_helpers.ts";

const [root, bucket, key] = Deno.args;
if (!root || !bucket || !key) throw new Error("Usage: fs_complete_writer.ts <root> <bucket> <key>");
const store = await createFsStore({ root });
const uploadId = await store.createMultipartUpload(bucket, key);
const parts = [];
for (const [partNumber, size] of [[1, MIN_PART_SIZE], [2, 1000]] as const) {
  const part = await store.uploadPart(bucket, key, { uploadId, partNumber }, streamOf(bytes(size, partNumber)));
  parts.push({ partNumber, etag: part.etag });
}
console.log(JSON.stringify({ uploadId, parts }));
await store.completeMultipartUpload(bucket, key, uploadId, parts);
console.log("completed");
