/**
 * The benchmarks' HTTP/1.1 client: requests on one plain TCP connection, kept alive, with bodies read into one
 * reused buffer, so that the server is what is measured. Deno's `fetch` spends 0.15-0.25 ms of CPU per small
 * request and 0.85-2.7 ms per MiB of body drained; on the shared 2-core bench machine that time is taken from the
 * server. Only what the benchmarks need: content-length bodies (no chunked answers), no redirects, no TLS.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { concatBytes } from "../src/bytes.ts";

const HEAD_END = "\r\n\r\n";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface RawResponse {
  status: number;
  /** The response head, status line included, without the blank line. */
  head: string;
  /** Body bytes received (all of them were read; only the last buffer-full is kept). */
  length: number;
}

export class RawConnection {
  readonly #conn: Deno.Conn;
  #buffer: Uint8Array;
  /** Bytes at the start of the buffer that belong to the next response. */
  #have = 0;

  private constructor(conn: Deno.Conn, bufferBytes: number) {
    this.#conn = conn;
    this.#buffer = new Uint8Array(bufferBytes);
  }

  /** A connection to `origin` (http://host:port); `bufferBytes` bounds a response head and a body read. */
  static async open(origin: string, bufferBytes = 64 * 1024): Promise<RawConnection> {
    const u = new URL(origin);
    if (u.protocol !== "http:") throw new Error(`RawConnection: only http:, not ${u.protocol}`);
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 80) });
    conn.setNoDelay(true);
    return new RawConnection(conn, bufferBytes);
  }

  /**
   * Sends one request and reads its whole answer. `target` is the path and query; `headers` must hold `host` and,
   * with a body, `content-length`. HEAD answers and 204/304 have no body.
   */
  async request(
    method: string,
    target: string,
    headers: Record<string, string>,
    body?: Uint8Array,
  ): Promise<RawResponse> {
    let head = `${method} ${target} HTTP/1.1\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    const bytes = encoder.encode(`${head}\r\n`);
    await this.#writeAll(body ? concatBytes([bytes, body]) : bytes);
    return await this.#readResponse(method === "HEAD");
  }

  close(): void {
    this.#conn.close();
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.byteLength;) at += await this.#conn.write(bytes.subarray(at));
  }

  async #readResponse(headOnly: boolean): Promise<RawResponse> {
    let headEnd = Buffer.from(this.#buffer.buffer, 0, this.#have).indexOf(HEAD_END);
    while (headEnd < 0) {
      if (this.#have === this.#buffer.byteLength) throw new Error("RawConnection: response head too large");
      const n = await this.#conn.read(this.#buffer.subarray(this.#have));
      if (n === null) throw new Error("RawConnection: connection closed before the response head ended");
      this.#have += n;
      headEnd = Buffer.from(this.#buffer.buffer, 0, this.#have).indexOf(HEAD_END);
    }
    const head = decoder.decode(this.#buffer.subarray(0, headEnd));
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (!status) throw new Error(`RawConnection: not an HTTP/1.1 answer: ${head.split("\r\n", 1)[0]}`);
    const declared = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    const noBody = headOnly || status === 204 || status === 304;
    if (declared === undefined && !noBody) throw new Error("RawConnection: answer without content-length");
    const size = noBody ? 0 : Number(declared);
    const start = headEnd + HEAD_END.length;
    let got = Math.min(this.#have - start, size);
    // Bytes past this body (none with one request at a time) stay for the next response.
    const rest = this.#have - start - got;
    this.#buffer.copyWithin(0, start + got, this.#have);
    this.#have = rest;
    while (got < size) {
      const n = await this.#conn.read(this.#buffer.subarray(0, Math.min(this.#buffer.byteLength, size - got)));
      if (n === null) throw new Error(`RawConnection: body ended after ${got} of ${size} bytes`);
      got += n;
    }
    return { status, head, length: got };
  }
}

/**
 * GETs `url` (http:, e.g. a presigned URL) on a connection of its own with a 1 MiB buffer and drains the body;
 * returns the number of body bytes received. Fails unless the answer is a 200 with a content-length or if the body
 * ends short of it.
 */
export async function rawGet(url: string): Promise<number> {
  const u = new URL(url);
  const conn = await RawConnection.open(u.origin, 1024 * 1024);
  try {
    const res = await conn.request("GET", `${u.pathname}${u.search}`, { host: u.host, connection: "close" });
    if (res.status !== 200) throw new Error(`rawGet: answered ${res.head.split("\r\n", 1)[0]}`);
    return res.length;
  } finally {
    conn.close();
  }
}
