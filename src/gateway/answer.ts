/**
 * What the gateway answers a request with: a status, headers by lower-case name and a body, as plain data. The S3
 * port's server writes it as it is; `toResponse` makes a fetch `Response` of it for `Deno.serve` (HTTPS) and tests.
 * A `Response` per request, with its `Headers` and the stream its body becomes when a server reads it, cost ~8 µs
 * (and garbage) of the ~0.15 ms a 4 KiB GET takes the appliance.
 *
 * @module
 */

export interface S3Answer {
  status: number;
  /** By lower-case name. */
  headers: Record<string, string>;
  /** A body in memory is sent whole, with its length. */
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null;
}

const encoder = new TextEncoder();

/**
 * An answer; `headers` are taken, not copied. A string body is sent as UTF-8 and, without a content type, as
 * `text/plain;charset=UTF-8` (what a `Response` would say).
 */
export function s3Answer(
  body: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null,
  status: number,
  headers: Record<string, string>,
): S3Answer {
  if (typeof body !== "string") return { status, headers, body };
  headers["content-type"] ??= "text/plain;charset=UTF-8";
  return { status, headers, body: encoder.encode(body) };
}

/** The answer as a fetch `Response`. */
export function toResponse(answer: S3Answer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
