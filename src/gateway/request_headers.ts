/**
 * Request headers read once: every `get` on Deno's `Headers` validates the name and lower-cases the stored names
 * again, and a request is asked for some twenty of them (signature, routing, conditions, ranges).
 *
 * @module
 */

/** What the pipeline reads of request headers (a `Headers` is one too). */
export interface HeaderReader {
  get(name: string): string | null;
  has(name: string): boolean;
  /** Each header by lower-case name, repeated ones joined with ", " (as `Headers.forEach` gives them). */
  forEach(fn: (value: string, name: string) => void): void;
  /** The lower-case names of the headers present. */
  keys(): Iterable<string>;
}

/** A request's method and headers, as authentication and routing read them. */
export interface RequestHead {
  method: string;
  headers: HeaderReader;
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

/** A reader over `values` (lower-case names): also what the fields of a POST form are read as. */
export function mapReader(values: Map<string, string>): HeaderReader {
  return {
    get: (name) => values.get(name.toLowerCase()) ?? null,
    has: (name) => values.has(name.toLowerCase()),
    forEach: (fn) => values.forEach(fn),
    keys: () => values.keys(),
  };
}
