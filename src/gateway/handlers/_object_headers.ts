/**
 * Object headers both ways: what a PUT/copy/multipart-create stores (standard headers, `x-amz-meta-*`, storage
 * class) and what GET/HEAD return, plus S3's conditional-request precedence.
 *
 * @module
 */
import { utf8ByteString } from "../../bytes.ts";
import type { ObjectInfo, PutOptions, StoredHeaders } from "../../storage/mod.ts";
import type { HeaderReader } from "../request_headers.ts";
import { type RequestIds, withIds } from "../request_ids.ts";
import { S3Error } from "../s3_errors.ts";
import { checksumType } from "../wire/checksums.ts";
import { type S3Answer, s3Answer } from "../answer.ts";

/** S3 limit on the total size of user metadata (names + values). */
export const MAX_USER_METADATA_BYTES = 2048;

const STORED: [keyof StoredHeaders, string][] = [
  ["contentType", "content-type"],
  ["contentEncoding", "content-encoding"],
  ["contentDisposition", "content-disposition"],
  ["contentLanguage", "content-language"],
  ["cacheControl", "cache-control"],
  ["expires", "expires"],
];

/** Whether a PUT stores the header `name` (lower case) and GET/HEAD send it back. */
export function isStoredHeader(name: string): boolean {
  return name.startsWith("x-amz-meta-") || STORED.some(([, stored]) => stored === name);
}

/** Control characters, which no header value can carry (a tab can). */
// deno-lint-ignore no-control-regex -- the control characters are what it finds
const CONTROL_CHARACTER = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * The header value for `text` given outside a header (a query parameter, a form field): its UTF-8 bytes, as a
 * header value that arrived beyond ASCII is kept and sent back. Control characters are refused: sent back they would
 * break every answer about the object.
 */
export function headerValueOfText(text: string, argumentName: string): string {
  if (CONTROL_CHARACTER.test(text)) {
    throw new S3Error("InvalidArgument", `${argumentName} cannot hold control characters`, {
      fields: { ArgumentName: argumentName },
    });
  }
  return utf8ByteString(text);
}

/** Stored headers, user metadata and storage class from a request. */
export function putOptionsFrom(headers: HeaderReader): PutOptions {
  const options: PutOptions = {};
  for (const [field, name] of STORED) {
    let value = headers.get(name);
    // aws-chunked is transfer framing, not a stored encoding; the others are kept as the client wrote them.
    if (name === "content-encoding" && value !== null) {
      const codings = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
      const stored = codings.filter((s) => s !== "aws-chunked");
      if (stored.length < codings.length) value = stored.join(", ") || null;
    }
    if (value !== null) options[field] = value;
  }
  const metadata: Record<string, string> = {};
  let size = 0;
  headers.forEach((value, name) => {
    if (!name.startsWith("x-amz-meta-")) return;
    const short = name.slice("x-amz-meta-".length);
    metadata[short] = value;
    size += short.length + value.length;
  });
  if (size > MAX_USER_METADATA_BYTES) {
    throw new S3Error(
      "MetadataTooLarge",
      `Your metadata headers exceed the maximum allowed metadata size (${MAX_USER_METADATA_BYTES} bytes)`,
    );
  }
  options.metadata = metadata;
  const storageClass = requestedStorageClass(headers);
  if (storageClass !== undefined) options.storageClass = storageClass;
  return options;
}

/** S3's storage classes. The appliance stores every object the same way and keeps the class named as a label. */
const STORAGE_CLASSES = new Set([
  "STANDARD",
  "REDUCED_REDUNDANCY",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER",
  "DEEP_ARCHIVE",
  "OUTPOSTS",
  "GLACIER_IR",
  "SNOW",
  "EXPRESS_ONEZONE",
  "FSX_OPENZFS",
  "FSX_ONTAP",
]);

/** The `x-amz-storage-class` of a write; one S3 does not have is `InvalidStorageClass`, as in S3. */
export function requestedStorageClass(headers: HeaderReader): string | undefined {
  const value = headers.get("x-amz-storage-class");
  if (value === null) return undefined;
  if (!STORAGE_CLASSES.has(value)) throw new S3Error("InvalidStorageClass");
  return value;
}

/** HTTP-date (second precision) as S3 sends Last-Modified. */
export function httpDate(d: Date): string {
  return d.toUTCString();
}

/**
 * Response headers describing an object (GET/HEAD), by lower-case name: a plain record costs the response less
 * to build than a `Headers`, whose every `set` validates and searches its list.
 */
export function objectHeaders(info: ObjectInfo, options: { checksums: boolean }): Record<string, string> {
  const h: Record<string, string> = {
    etag: info.etag,
    "last-modified": httpDate(info.lastModified),
    "accept-ranges": "bytes",
    "content-type": info.contentType ?? "binary/octet-stream",
  };
  for (const [field, name] of STORED) {
    const v = info[field];
    if (field !== "contentType" && v !== undefined) h[name] = v;
  }
  for (const k in info.metadata) h[`x-amz-meta-${k}`] = info.metadata[k]!;
  if (info.storageClass && info.storageClass !== "STANDARD") h["x-amz-storage-class"] = info.storageClass;
  if (info.partsCount !== undefined) h["x-amz-mp-parts-count"] = String(info.partsCount);
  if (info.tagCount) h["x-amz-tagging-count"] = String(info.tagCount);
  if (options.checksums) addChecksumHeaders(h, info.checksums);
  return h;
}

/**
 * Adds `x-amz-checksum-<algorithm>` and `x-amz-checksum-type` for `checksums`: of the type their values show, or
 * `type` (a part's checksums are plain values of a composite object).
 */
export function addChecksumHeaders(
  headers: Record<string, string>,
  checksums: ObjectInfo["checksums"],
  type?: "COMPOSITE",
): void {
  for (const [alg, v] of Object.entries(checksums)) {
    headers[`x-amz-checksum-${alg}`] = v;
    headers["x-amz-checksum-type"] = type ?? checksumType(v);
  }
}

function etagMatches(list: string, etag: string): boolean {
  const bare = etag.replace(/^"|"$/g, "");
  return list.split(",").some((t) => {
    const v = t.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
    return v === "*" || v === bare;
  });
}

function parseDate(value: string | null): Date | undefined {
  if (value === null) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Last-Modified compared at the second granularity the client saw. */
function secondsOf(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

export interface Conditions {
  ifMatch: string | null;
  ifNoneMatch: string | null;
  ifModifiedSince: string | null;
  ifUnmodifiedSince: string | null;
}

/**
 * Evaluate conditions with S3's precedence: If-Match (else If-Unmodified-Since) fails with 412; then
 * If-None-Match (else If-Modified-Since) yields 304 for reads, or 412 when `notModifiedIsFailure` (copies).
 */
export function evaluateConditions(
  c: Conditions,
  info: ObjectInfo,
  options: { notModifiedIsFailure: boolean },
): "ok" | "precondition-failed" | "not-modified" {
  const modified = secondsOf(info.lastModified);
  if (c.ifMatch !== null) {
    if (!etagMatches(c.ifMatch, info.etag)) return "precondition-failed";
  } else {
    const since = parseDate(c.ifUnmodifiedSince);
    if (since && modified > secondsOf(since)) return "precondition-failed";
  }
  const notModified = options.notModifiedIsFailure ? "precondition-failed" : "not-modified";
  if (c.ifNoneMatch !== null) {
    if (etagMatches(c.ifNoneMatch, info.etag)) return notModified;
  } else {
    const since = parseDate(c.ifModifiedSince);
    if (since && modified <= secondsOf(since)) return notModified;
  }
  return "ok";
}

/**
 * The conditions of a read (GET, HEAD, GetObjectAttributes) against the object's `info`: throws PreconditionFailed,
 * or returns the 304 answer (ETag and Last-Modified) when the client's copy is current; undefined to go on.
 */
export function notModifiedAnswer(headers: HeaderReader, info: ObjectInfo, ids: RequestIds): S3Answer | undefined {
  const verdict = evaluateConditions(requestConditions(headers), info, { notModifiedIsFailure: false });
  if (verdict === "precondition-failed") throw new S3Error("PreconditionFailed");
  if (verdict === "ok") return undefined;
  const h = withIds(ids, { etag: info.etag, "last-modified": httpDate(info.lastModified) });
  return s3Answer(null, 304, h);
}

export function requestConditions(headers: HeaderReader, prefix = ""): Conditions {
  return {
    ifMatch: headers.get(`${prefix}if-match`),
    ifNoneMatch: headers.get(`${prefix}if-none-match`),
    ifModifiedSince: headers.get(`${prefix}if-modified-since`),
    ifUnmodifiedSince: headers.get(`${prefix}if-unmodified-since`),
  };
}
