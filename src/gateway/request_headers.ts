/**
 * Request headers read once: every `get` on Deno's `Headers` validates the name and lower-cases the stored names
 * again, and a request is asked for some twenty of them (signature, routing, conditions, ranges).
 *
 * @module
 */
import type { S3Error } from "./s3_errors.ts";

/** What the pipeline reads of request headers (a `Headers` is one too). */
export interface HeaderReader {
  get(name: string): string | null;
  has(name: string): boolean;
  /** Each header by lower-case name, repeated ones joined with ", " (as `Headers.forEach` gives them). */
  forEach(fn: (value: string, name: string) => void): void;
  /** The lower-case names of the headers present. */
  keys(): Iterable<string>;
}

/** A request's method and headers. */
export interface RequestHead {
  method: string;
  headers: HeaderReader;
}

/** A request's method, headers and where it goes: what routing and its signature read. */
export interface RequestTarget extends RequestHead {
  /** The absolute URL (`http://host/path?query`), parsed once. */
  url: URL;
  /**
   * The path as the client sent it, still percent-encoded (`pathOf`). The URL's own pathname has `.` and `..`
   * segments resolved, which S3 keys may hold literally (`a/../b`).
   */
  path: string;
}

/** A request as the gateway handles it, whichever HTTP server received it. */
export interface IncomingRequest extends RequestTarget {
  /** The size of the request's header section (`readHeaders`). */
  headerBytes: number;
  body: ReadableStream<Uint8Array> | null;
  /**
   * Set when the HTTP server refuses the request before the gateway reads it (malformed HTTP, a target that is no URL,
   * a server that is stopping): the gateway answers this error, with request ids and an event as for any other request,
   * and neither routes nor authenticates it.
   */
  refusal?: S3Error;
}

/**
 * A fetch `Request` (from `Deno.serve`, whose `url` is the target as sent, or from a test) as the gateway handles it.
 */
export function incomingRequest(req: Request): IncomingRequest {
  const url = new URL(req.url);
  const { reader, bytes } = readHeaders(req.headers, url.host);
  return { method: req.method, url, path: pathOf(req.url, url), headers: reader, headerBytes: bytes, body: req.body };
}

/** A request target's optional `scheme://authority` (absolute form), then its path up to the query. */
const TARGET_PATH = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)?([^?#]*)/i;

/**
 * The path of a request target as sent: `/p` of `/p?q` (origin form) or of `http://host/p?q` (absolute form). A
 * target without one (`http://host?q`) or of another shape (`http:/host/p`, which URL parsing reads leniently) gets
 * `url`'s pathname, the target parsed.
 */
export function pathOf(target: string, url: URL): string {
  const path = TARGET_PATH.exec(target)![1]!;
  return path.startsWith("/") ? path : url.pathname;
}

/**
 * Copies `headers` into a lookup by lower-case name, and sums their size (names, values, `: ` and CRLF). An HTTP/2
 * request has no `Host` header: its `:authority` (the host of the request's URL, `authority`) stands in for it, as
 * SigV4 signs it under that name.
 */
export function readHeaders(headers: Headers, authority: string): { reader: HeaderReader; bytes: number } {
  const values = new Map<string, string>();
  let bytes = 0;
  // forEach, not for…of: Deno's Headers iterator costs ~20× more per request. Names arrive lower-case, and
  // repeated headers joined with ", " as `Headers.get` returns them.
  headers.forEach((value, name) => {
    bytes += name.length + value.length + 4;
    values.set(name, value);
  });
  if (!values.has("host")) values.set("host", authority);
  return { reader: mapReader(values), bytes };
}

/**
 * The headers of a raw header list (`name, value, name, value, …`, as `node:http` gives them) read as `readHeaders`
 * reads a `Headers`: lower-case names, repeated ones joined with ", ", sizes summed.
 */
export function readHeaderList(list: readonly string[]): { reader: HeaderReader; bytes: number } {
  const values = new Map<string, string>();
  let bytes = 0;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    const value = list[i + 1]!;
    bytes += name.length + value.length + 4;
    const before = values.get(name);
    values.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return { reader: mapReader(values), bytes };
}

/** A reader over `values` (lower-case names): also what the fields of a POST form are read as. */
export function mapReader(values: Map<string, string>): HeaderReader {
  return {
    get: (name) => values.get(name.toLowerCase()) ?? null,
    has: (name) => values.has(name.toLowerCase()),
    forEach: (fn) => values.forEach(fn),
    keys: () => values.keys(),
  };
}
