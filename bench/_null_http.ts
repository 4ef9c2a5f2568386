/**
 * The small-object ceiling of the gateway benchmark: an HTTP server on `Deno.serve`, as the appliance's is, that does
 * no S3 work (no signature check, no checksum, nothing stored). A PUT's body is read and answered 200 with an ETag; a
 * GET is answered with 4 KiB. What the 4 KiB load reaches against it is what HTTP alone costs on the machine with the
 * bench's client, as the `dd` copy is for large objects. Prints `{"port": N}` once listening.
 * Usage: deno run -A bench/_null_http.ts
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
  return new Response(object, { headers: { etag, "content-type": "application/octet-stream" } });
});
