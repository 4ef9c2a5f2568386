/**
 * The ceilings of the gateway benchmark over HTTP: a server that does no S3 work (no signature check, no checksum,
 * nothing stored). A PUT's body is read and answered 200 with an ETag; a GET is answered with a 4 KiB object, or with
 * `?bytes=N` bytes sent from memory in 1 MiB chunks. What the bench's clients reach against it is what HTTP alone costs
 * on the machine, as the `dd` copy and reads are for the disk.
 *
 * The server is `Deno.serve`, as the appliance's is, unless the first argument is `node-http`: Deno's `node:http`
 * server, the other HTTP server the runtime has (`bench/http_servers.ts` compares the two).
 * Prints `{"port": N}` once listening. Usage: deno run -A bench/_null_http.ts [deno-serve|node-http]
 *
 * @module
 */
import http from "node:http";

const object = new Uint8Array(4096).map((_, i) => i & 0xff);
const etag = '"2bcd3c4de20c918e19fab5c36249c70d"'; // MD5 of `object`, as an S3 server would answer
const block = new Uint8Array(1024 * 1024);
const onListen = (port: number) => console.log(JSON.stringify({ port }));

/** The `?bytes=N` of a request target, or null. */
const bytesAsked = (target: string) => new URL(target, "http://null").searchParams.get("bytes");

const kind = Deno.args[0] ?? "deno-serve";
if (kind === "deno-serve") serveDeno();
else if (kind === "node-http") serveNode();
else throw new Error(`_null_http.ts: no server "${kind}" (deno-serve or node-http)`);

function serveDeno() {
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => onListen(port) }, async (req) => {
    if (req.method === "PUT") {
      await req.arrayBuffer();
      return new Response(null, { headers: { etag } });
    }
    const bytes = bytesAsked(req.url);
    if (bytes === null) return new Response(object, { headers: { etag, "content-type": "application/octet-stream" } });
    return new Response(fromMemory(Number(bytes)), { headers: { "content-length": bytes } });
  });
}

/** `bytes` bytes, sent as one 1 MiB block over and over (its content never changes, so it is never copied). */
function fromMemory(bytes: number): ReadableStream<Uint8Array> {
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

function serveNode() {
  const server = http.createServer((req, res) => {
    if (req.method === "PUT") {
      req.resume();
      req.on("end", () => res.writeHead(200, { etag, "content-length": "0" }).end());
      return;
    }
    const bytes = bytesAsked(req.url ?? "/");
    if (bytes === null) {
      res.writeHead(200, { etag, "content-type": "application/octet-stream", "content-length": "4096" }).end(object);
      return;
    }
    res.writeHead(200, { "content-length": bytes });
    let left = Number(bytes);
    const pump = () => {
      while (left > 0) {
        const n = Math.min(block.byteLength, left);
        left -= n;
        if (!res.write(n === block.byteLength ? block : block.subarray(0, n))) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => onListen((server.address() as { port: number }).port));
}
