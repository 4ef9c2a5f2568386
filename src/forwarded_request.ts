/**
 * A served request re-addressed to another handler in the same process.
 *
 * @module
 */

/**
 * `request` with the URL `url`. Not `new Request(url, request)`: that would tie the copy to the served request's
 * abort signal (which `Deno.serve` aborts once the answer is sent, and warns of reading, as legacy behaviour).
 */
export function forwardedRequest(url: URL, request: Request): Request {
  const init: RequestInit = { method: request.method, headers: request.headers };
  if (request.body) Object.assign(init, { body: request.body, duplex: "half" });
  return new Request(url, init);
}
