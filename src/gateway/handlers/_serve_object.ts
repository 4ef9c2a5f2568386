/**
 * GET and HEAD of an object: conditions, ranges and parts, response-* overrides, checksum headers and the
 * lifecycle's expiration. @module
 */
import type { GetResult } from "../../storage/mod.ts";
import { withIds } from "../request_ids.ts";
import { S3Error } from "../s3_errors.ts";
import { contentRange, parseRange } from "../wire/range.ts";
import { objectOf, type RequestContext, requireAccess } from "./_context.ts";
import { expirationOf } from "./_expiration.ts";
import { onOneVersion } from "./_one_version.ts";
import { addChecksumHeaders, headerValueOfText, notModifiedAnswer, objectHeaders } from "./_object_headers.ts";
import { versionHeaders } from "./_version.ts";
import { type S3Answer, s3Answer } from "../answer.ts";

const OVERRIDES = [
  "content-type",
  "content-language",
  "expires",
  "cache-control",
  "content-disposition",
  "content-encoding",
];

export async function serveObject(ctx: RequestContext, options: { body: boolean }): Promise<S3Answer> {
  const { bucket, key } = objectOf(ctx);
  requireAccess(ctx, { bucket, key, permission: "read" });
  // Most requests have no query: no parameters to parse.
  const overrides = ctx.url.search === "" ? {} : { ...headerOverrides(ctx.url), ...versionHeaders(ctx.url) };
  const partNumber = requestedPart(ctx);
  // Without a Range header one open serves both the checks and the body; a part is read with its object's info.
  const whole = partNumber !== undefined
    ? await ctx.store.getObject(bucket, key, { partNumber })
    : options.body && ctx.headers.get("range") === null
    ? await ctx.store.getObject(bucket, key)
    : undefined;
  try {
    return await onOneVersion(() =>
      respond(ctx, bucket, key, { ...options, overrides }, whole, partNumber !== undefined)
    );
  } catch (err) {
    await discard(whole).catch(() => {});
    throw err;
  }
}

/** The headers the `response-*` query parameters set, checked before anything is read. */
function headerOverrides(url: URL): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of OVERRIDES) {
    const v = url.searchParams.get(`response-${name}`);
    if (v !== null) headers[name] = headerValueOfText(v, `response-${name}`);
  }
  return headers;
}

/** The `partNumber` query parameter, checked (S3: an integer 1-10000, and never with a Range header). */
function requestedPart(ctx: RequestContext): number | undefined {
  // Most requests have no query: no parameters to parse.
  const value = ctx.url.search === "" ? null : ctx.url.searchParams.get("partNumber");
  if (value === null) return undefined;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 10_000)) {
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", {
      fields: { ArgumentName: "partNumber", ArgumentValue: value },
    });
  }
  if (ctx.headers.get("range") !== null) {
    throw new S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter");
  }
  return n;
}

/** Cancels an unsent body (one held in memory has no stream to cancel). */
async function discard(whole: GetResult | undefined): Promise<void> {
  if (whole && whole.bytes === undefined) await whole.body.cancel();
}

/**
 * The answer to a GET or HEAD; undefined when the object was replaced between the checks of a ranged GET (on its
 * description) and the read of its bytes.
 */
async function respond(
  ctx: RequestContext,
  bucket: string,
  key: string,
  options: { body: boolean; overrides: Record<string, string> },
  whole: GetResult | undefined,
  part: boolean,
): Promise<S3Answer | undefined> {
  const head = whole?.info ?? await ctx.store.headObject(bucket, key);
  const notModified = notModifiedAnswer(ctx.headers, head, ctx.ids);
  if (notModified) {
    await discard(whole);
    return notModified;
  }
  const range = part ? whole!.range : parseRange(ctx.headers.get("range"), head.size);
  if (range === "unsatisfiable") {
    throw new S3Error("InvalidRange", undefined, {
      headers: { "content-range": `bytes */${head.size}` },
      fields: { ActualObjectSize: String(head.size), RangeRequested: ctx.headers.get("range") ?? "" },
    });
  }
  const checksumMode = ctx.headers.get("x-amz-checksum-mode")?.toUpperCase() === "ENABLED";
  let info = head;
  let body: ReadableStream<Uint8Array> | null = null;
  if (options.body && !whole) {
    const result = await ctx.store.getObject(bucket, key, { ...(range ? { range } : {}) });
    if (result.info.etag !== head.etag) {
      // A ranged download pinned by If-Match must never get bytes of another version than the one checked.
      await result.body.cancel();
      return undefined;
    }
    info = result.info;
    body = result.body;
  } else if (!options.body) await discard(whole);
  else if (whole && !whole.bytes) body = whole.body;
  // S3 names the checksum of what it sends: a composite object's part has its own, a range or part that is all of
  // the object the object's, any other range none.
  const partChecksums = checksumMode ? whole?.partChecksums : undefined;
  const headers = objectHeaders(info, {
    checksums: checksumMode && !partChecksums && (!range || (range.start === 0 && range.end === info.size - 1)),
  });
  if (partChecksums) addChecksumHeaders(headers, partChecksums, "COMPOSITE");
  const expiration = await expirationOf(ctx, bucket, head);
  if (expiration) headers["x-amz-expiration"] = expiration;
  Object.assign(headers, options.overrides);
  const length = range ? range.end - range.start + 1 : info.size;
  // A part of zero bytes (an empty object's part 1) is answered like the empty object: there is no range to name.
  const partial = range !== undefined && length > 0;
  headers["content-length"] = String(length);
  if (partial) headers["content-range"] = contentRange(range, info.size);
  ctx.event.size = length;
  ctx.event.etag = info.etag;
  withIds(ctx.ids, headers);
  const status = partial ? 206 : 200;
  return s3Answer(options.body && whole?.bytes ? whole.bytes : body, status, headers);
}
