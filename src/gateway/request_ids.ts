/**
 * The ids of a request, drawn once and given to every response it gets (`x-amz-request-id`, `x-amz-id-2`).
 *
 * @module
 */

/** A request's ids: `requestId` also names it in events, logs and error documents. */
export interface RequestIds {
  requestId: string;
  hostId: string;
}

/** Random bytes drawn at once for this many requests: one draw per request costs more than its ids. */
const IDS_PER_DRAW = 128;

/** `x-amz-request-id` (16 upper-case hex digits) and `x-amz-id-2` (base64 of 24 bytes), 32 random bytes each. */
export function createRequestIds(): () => RequestIds {
  const pool = new Uint8Array(32 * IDS_PER_DRAW);
  let at = pool.byteLength;
  return () => {
    if (at === pool.byteLength) {
      crypto.getRandomValues(pool);
      at = 0;
    }
    const requestId = pool.subarray(at, at + 8).toHex().toUpperCase();
    const hostId = pool.subarray(at + 8, at + 32).toBase64();
    at += 32;
    return { requestId, hostId };
  };
}

/**
 * Adds `ids` to the headers of a Response about to be built, and returns them: headers given to the constructor
 * as a plain record cost less than a `Headers` or writes to `Response.headers`.
 */
export function withIds(ids: RequestIds, headers: Record<string, string>): Record<string, string> {
  headers["x-amz-request-id"] = ids.requestId;
  headers["x-amz-id-2"] = ids.hostId;
  return headers;
}
