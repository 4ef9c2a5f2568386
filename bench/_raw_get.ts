/**
 * The benchmarks' download client: one GET over a plain HTTP/1.1 connection whose body is read into one reused
 * buffer and only counted, so that the server is what is measured. Draining a body, Deno's `fetch` spends 0.85-2.7
 * ms of CPU per MiB and node:http ~1.9; this 0.3-0.45. A/B on the gateway's hot 1 GiB GET: fetch 330-590 MiB/s,
 * this 990-1,000 (on the shared 2-core machine, where the client's CPU takes the server's core time).
 *
 * @module
 */

import { Buffer } from "node:buffer";

const HEAD_END = "\r\n\r\n";

/**
 * GETs `url` (http:, e.g. a presigned URL) and drains its body; returns the number of body bytes received. Fails
 * unless the answer is a 200 with a content-length (no chunked bodies) or if the body ends short of it.
 */
export async function rawGet(url: string): Promise<number> {
  const u = new URL(url);
  if (u.protocol !== "http:") throw new Error(`rawGet: only http: URLs, not ${u.protocol}`);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 80) });
  try {
    const request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\nconnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(1024 * 1024);
    let have = 0;
    let headEnd = -1;
    while (headEnd < 0) {
      if (have === buffer.length) throw new Error("rawGet: response head larger than 1 MiB");
      const n = await conn.read(buffer.subarray(have));
      if (n === null) throw new Error("rawGet: connection closed before the response head ended");
      have += n;
      headEnd = Buffer.from(buffer.buffer, 0, have).indexOf(HEAD_END);
    }
    const head = new TextDecoder().decode(buffer.subarray(0, headEnd));
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
    if (status !== "200") throw new Error(`rawGet: answered ${head.split("\r\n", 1)[0]}`);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) throw new Error("rawGet: answer without content-length");
    const size = Number(length);
    let got = have - headEnd - HEAD_END.length;
    while (got < size) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`rawGet: body ended after ${got} of ${size} bytes`);
      got += n;
    }
    return got;
  } finally {
    conn.close();
  }
}
