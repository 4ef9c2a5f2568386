/**
 * A sink that speaks just enough S3 for multipart uploads (create, upload part, complete, HEAD,
 * abort) and discards the bytes after hashing them, so very large uploads can be streamed without
 * storing them. ETags are real: MD5 per part, MD5-of-MD5s for the completed object.
 * No authentication; for tests only.
 *
 * Usage: deno run -A perl/t/tools/discard_s3.ts <port-file>
 *
 * @module
 */
import { createHash } from "node:crypto";

const [portFile] = Deno.args;
if (!portFile) {
  console.error("usage: discard_s3.ts <port-file>");
  Deno.exit(2);
}

interface Part {
  md5: string;
  size: number;
}
const uploads = new Map<string, Map<number, Part>>();
const objects = new Map<string, { etag: string; size: number }>();
let nextId = 1;

async function drain(body: ReadableStream<Uint8Array> | null): Promise<Part> {
  const hash = createHash("md5");
  let size = 0;
  if (body) {
    for await (const chunk of body) {
      hash.update(chunk);
      size += chunk.length;
    }
  }
  return { md5: hash.digest("hex"), size };
}

function xml(body: string, status = 200): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>${body}`, {
    status,
    headers: { "content-type": "application/xml" },
  });
}

async function handle(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const key = decodeURIComponent(url.pathname);
  const q = url.searchParams;
  if (req.method === "POST" && q.has("uploads")) {
    const id = String(nextId++);
    uploads.set(id, new Map());
    return xml(`<InitiateMultipartUploadResult><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
  }
  if (req.method === "PUT" && q.has("uploadId")) {
    const parts = uploads.get(q.get("uploadId")!);
    if (!parts) return xml("<Error><Code>NoSuchUpload</Code></Error>", 404);
    const part = await drain(req.body);
    parts.set(Number(q.get("partNumber")), part);
    return new Response(null, { headers: { etag: `"${part.md5}"` } });
  }
  if (req.method === "POST" && q.has("uploadId")) {
    await drain(req.body);
    const parts = uploads.get(q.get("uploadId")!);
    if (!parts) return xml("<Error><Code>NoSuchUpload</Code></Error>", 404);
    const ordered = [...parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    const hash = createHash("md5");
    for (const p of ordered) hash.update(Buffer.from(p.md5, "hex"));
    const etag = `${hash.digest("hex")}-${ordered.length}`;
    objects.set(key, { etag, size: ordered.reduce((n, p) => n + p.size, 0) });
    uploads.delete(q.get("uploadId")!);
    return xml(`<CompleteMultipartUploadResult><ETag>"${etag}"</ETag></CompleteMultipartUploadResult>`);
  }
  if (req.method === "DELETE" && q.has("uploadId")) {
    uploads.delete(q.get("uploadId")!);
    return new Response(null, { status: 204 });
  }
  if (req.method === "PUT") {
    const part = await drain(req.body);
    objects.set(key, { etag: part.md5, size: part.size });
    return new Response(null, { headers: { etag: `"${part.md5}"` } });
  }
  if (req.method === "HEAD") {
    const o = objects.get(key);
    if (!o) return new Response(null, { status: 404 });
    return new Response(null, { headers: { etag: `"${o.etag}"`, "content-length": String(o.size) } });
  }
  await drain(req.body);
  return xml("<Error><Code>NotImplemented</Code></Error>", 501);
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
await Deno.writeTextFile(`${portFile}.tmp`, String(server.addr.port));
await Deno.rename(`${portFile}.tmp`, portFile);
const stop = async () => {
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
