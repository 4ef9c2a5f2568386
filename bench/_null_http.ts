/**
 * The ceilings of the gateway benchmark over HTTP: a server on `Deno.serve`, as the appliance's is, that does no S3
 * work (no signature check, no checksum, nothing stored). A PUT's body is read and answered 200 with an ETag; a GET
 * is answered with a 4 KiB object, or with `?bytes=N` bytes streamed from memory in 1 MiB chunks. What the bench's
 * clients reach against it is what HTTP alone costs on the machine, as the `dd` copy and reads are for the disk.
 * Prints `{"port": N}` once listening. Usage: deno run -A bench/_null_http.ts
 *
 * @module
 */
const object = new Uint8Array(4096).map((_, i) => i & 0xff);
const etag = '"2bcd3c4de20c918e19fab5c36249c70d"'; // MD5 of `object`, as an S3 server would answer

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, async (req) => {
  if (req.method === "PUT") {
    await req.arrayBuffer();
    return new Response(null, { headers: { etag } });
  }
  const bytes = new URL(req.url).searchParams.get("bytes");
  if (bytes === null) return new Response(object, { headers: { etag, "content-type": "application/octet-stream" } });
  return new Response(fromMemory(Number(bytes)), { headers: { "content-length": bytes } });
});

/** `bytes` bytes, sent as one 1 MiB block over and over (its content never changes, so it is never copied). */
function fromMemory(bytes: number): ReadableStream<Uint8Array> {
  const block = new Uint8Array(1024 * 1024);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const n = Math.min(block.byteLength, bytes - sent);
      controller.enqueue(n === block.byteLength ? block : block.subarray(0, n));
      sent += n;
    },
  }, { highWaterMark: 0 });
}
