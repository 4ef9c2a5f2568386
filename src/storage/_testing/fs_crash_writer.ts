/**
 * Child process for the fs crash tests: starts a multipart upload (one complete part), then begins a simple put
 * and a second part whose bodies never end, prints the upload id and waits to be killed with SIGKILL.
 *
 * Usage: deno run -A fs_crash_writer.ts <root> <bucket>
 *
 * @module
 */
import { MIN_PART_SIZE } from "../mod.ts";
import { createFsStore } from "../fs.ts";
import { bytes, streamOf } from "./contract_helpers.ts";

const [root, bucket] = Deno.args;
if (!root || !bucket) throw new Error("Usage: fs_crash_writer.ts <root> <bucket>");
const store = await createFsStore({ root });
await store.createBucket(bucket);
const uploadId = await store.createMultipartUpload(bucket, "big", { contentType: "application/x-crash" });
await store.uploadPart(bucket, "big", { uploadId, partNumber: 1 }, streamOf(bytes(MIN_PART_SIZE, 1)));

// The id is printed once BOTH bodies are 1 MiB in, so both temp files exist by then.
let streamsIn = 0;
function endless(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      controller.enqueue(bytes(64 * 1024, ++sent));
      if (sent === 16 && ++streamsIn === 2) console.log(JSON.stringify({ uploadId }));
      if (sent > 16) await new Promise((r) => setTimeout(r, 50));
    },
  });
}

await Promise.all([
  store.putObject(bucket, "half-written", endless()),
  store.uploadPart(bucket, "big", { uploadId, partNumber: 2 }, endless()),
]);
