/**
 * Simple S3 requests (HEAD, DELETE, CopyObject, PutObject of a small buffered body) signed here with SigV4 and sent
 * with `fetch`. For these the SDK's middleware stack and its node:http handler cost several times the CPU of the
 * request itself (measured: 1.6 ms per CopyObject on the client), which bounds how many objects a sync can copy per
 * second. Streamed bodies, listings and multipart stay on the SDK. Same retries (network errors, 5xx, SlowDown) and
 * error mapping.
 *
 * @module
 */
import type { HeadObjectOutput } from "@aws-sdk/client-s3";
import type { Clock } from "../clock.ts";
import {
  ALGORITHM,
  canonicalRequest,
  createSigningKeyCache,
  credentialScope,
  EMPTY_SHA256,
  sha256Hex,
  signHex,
  stringToSign,
  toAmzDate,
  uriEncode,
} from "../gateway/wire/sigv4.ts";
import { decodeEntities } from "../gateway/wire/xml.ts";
import type { PutOptions, StoredHeaders } from "./mod.ts";
import { md5Base64 } from "./_s3_body.ts";
import { mapS3Error } from "./_s3_errors.ts";
import { type S3StoreOptions, taggingParams, upstreamIfMatch } from "./_s3_client.ts";

export interface LeanRequest {
  method: "HEAD" | "DELETE" | "PUT";
  /** Upstream bucket name. */
  bucket: string;
  key: string;
  /** Extra headers, lower-case names; all are signed. */
  headers?: Record<string, string>;
  /** A small body, sent with its SHA-256 signed. */
  body?: Uint8Array<ArrayBuffer>;
  signal?: AbortSignal;
}

export interface LeanResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Whether fetch can carry `key` unchanged: URL parsing resolves `.` and `..` path segments, which S3 keys may
 * contain literally; such keys go through the SDK.
 */
export function leanKey(key: string): boolean {
  return !/(^|\/)\.\.?(\/|$)/.test(key);
}

/** The SDK's HeadObject output fields, read from a HEAD answer's headers (for `toInfo`). */
export function headOutput(headers: Headers): HeadObjectOutput {
  const metadata: Record<string, string> = {};
  const checksums: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith("x-amz-meta-")) metadata[name.slice(11)] = value;
    const algorithm = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name)?.[1];
    if (algorithm) checksums[`Checksum${algorithm === "crc64nvme" ? "CRC64NVME" : algorithm.toUpperCase()}`] = value;
  }
  const get = (name: string) => headers.get(name) ?? undefined;
  const lastModified = get("last-modified");
  const parts = get("x-amz-mp-parts-count");
  const tags = get("x-amz-tagging-count");
  return {
    ContentLength: Number(get("content-length") ?? 0),
    ETag: get("etag"),
    ...(lastModified ? { LastModified: new Date(lastModified) } : {}),
    ContentType: get("content-type"),
    ContentEncoding: get("content-encoding"),
    ContentDisposition: get("content-disposition"),
    ContentLanguage: get("content-language"),
    CacheControl: get("cache-control"),
    ExpiresString: get("expires"),
    StorageClass: get("x-amz-storage-class") as HeadObjectOutput["StorageClass"],
    ...(parts ? { PartsCount: Number(parts) } : {}),
    ...(tags ? { TagCount: Number(tags) } : {}),
    Metadata: metadata,
    ...checksums,
  };
}

const HEADER_OF: Record<keyof StoredHeaders, string> = {
  contentType: "content-type",
  contentEncoding: "content-encoding",
  contentDisposition: "content-disposition",
  contentLanguage: "content-language",
  cacheControl: "cache-control",
  expires: "expires",
};

/**
 * PutObject headers for `opts` (stored headers, metadata, storage class, checksums, Content-MD5); null when a value
 * is not a byte string of printable characters (fetch refuses those; the SDK path handles them) or Object Lock is
 * asked for.
 */
export function putHeaders(opts: PutOptions): Record<string, string> | null {
  if (opts.objectLock) return null;
  const headers: Record<string, string> = {};
  for (const [field, name] of Object.entries(HEADER_OF)) {
    const value = opts[field as keyof StoredHeaders];
    if (value !== undefined) headers[name] = field === "expires" ? new Date(value).toUTCString() : value;
  }
  for (const [name, value] of Object.entries(opts.metadata ?? {})) headers[`x-amz-meta-${name.toLowerCase()}`] = value;
  for (const [algorithm, value] of Object.entries(opts.checksums ?? {})) headers[`x-amz-checksum-${algorithm}`] = value;
  if (opts.storageClass !== undefined) headers["x-amz-storage-class"] = opts.storageClass;
  const { Tagging } = taggingParams(opts.tags);
  if (Tagging !== undefined) headers["x-amz-tagging"] = Tagging;
  if (opts.expectedMd5Hex !== undefined) headers["content-md5"] = md5Base64(opts.expectedMd5Hex);
  if (opts.condition?.ifNoneMatch !== undefined) headers["if-none-match"] = opts.condition.ifNoneMatch;
  if (opts.condition?.ifMatch !== undefined) headers["if-match"] = upstreamIfMatch(opts.condition.ifMatch);
  // Bytes beyond ASCII go as they are, and are signed as such (see stringToSign).
  return Object.values(headers).every((v) => /^[\x20-\x7e\x80-\xff]*$/.test(v)) ? headers : null;
}

export interface LeanS3 {
  /** Sends `req`; a non-2xx answer (or a 200 carrying an S3 `<Error>`, as CopyObject may) throws a mapped AppError. */
  send(req: LeanRequest, notFound: "NoSuchBucket" | "NoSuchKey"): Promise<LeanResponse>;
  close(): void;
}

const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);

/** Text of the first `<tag>` in an S3 XML answer, entities decoded; undefined when absent. */
export function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m?.[1] === undefined ? undefined : decodeEntities(m[1]);
}

/** The S3 error an answer describes, shaped like the SDK's so that `mapS3Error` maps both alike. */
function upstreamError(status: number, body: string) {
  const code = xmlText(body, "Code");
  const message = xmlText(body, "Message") ?? `HTTP ${status}`;
  return Object.assign(new Error(message), { name: code ?? `HTTP${status}`, $metadata: { httpStatusCode: status } });
}

/**
 * Null when the endpoint has a base path (the lean path signs `/bucket/key` only); callers then use the SDK.
 * `clock` dates the signatures.
 */
export function createLeanS3(options: S3StoreOptions, clock: Clock): LeanS3 | null {
  const base = new URL(options.endpoint ?? `https://s3.${options.region}.amazonaws.com`);
  if (base.pathname !== "/" || base.search !== "") return null;
  const forcePathStyle = options.forcePathStyle ?? false;
  const signingKeys = createSigningKeyCache(4);
  const client = options.caCert ? Deno.createHttpClient({ caCerts: [options.caCert] }) : undefined;
  const attempts = options.maxAttempts ?? 3;
  const timeoutMs = options.requestTimeoutMs ?? 120_000;

  function signed(req: LeanRequest): { url: string; headers: Record<string, string> } {
    const payloadHash = req.body ? sha256Hex(req.body) : EMPTY_SHA256;
    // Dotted bucket names do not fit a TLS wildcard certificate as a host label: path-style, as the SDK does.
    const pathStyle = forcePathStyle || req.bucket.includes(".");
    const host = pathStyle ? base.host : `${req.bucket}.${base.host}`;
    const path = pathStyle
      ? `/${uriEncode(req.bucket, false)}/${uriEncode(req.key, true)}`
      : `/${uriEncode(req.key, true)}`;
    const now = toAmzDate(clock.now());
    const headers: Record<string, string> = {
      ...req.headers,
      host,
      "x-amz-date": now,
      "x-amz-content-sha256": payloadHash,
      ...(options.sessionToken ? { "x-amz-security-token": options.sessionToken } : {}),
    };
    const signedHeaders = Object.keys(headers).sort();
    const scope = { date: now.slice(0, 8), region: options.region, service: "s3" };
    const canonical = canonicalRequest({
      method: req.method,
      canonicalUri: path,
      canonicalQuery: "",
      header: (name) => headers[name] ?? null,
      signedHeaders,
      payloadHash,
    });
    const signature = signHex(
      signingKeys(options.secretAccessKey, scope),
      stringToSign(now, credentialScope(scope), canonical),
    );
    headers.authorization = `${ALGORITHM} Credential=${options.accessKeyId}/${credentialScope(scope)}, ` +
      `SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}`;
    delete headers.host; // fetch sends the URL's host, which is what was signed
    return { url: `${base.protocol}//${host}${path}`, headers };
  }

  async function attempt(req: LeanRequest): Promise<LeanResponse> {
    const { url, headers } = signed(req);
    let res: Response;
    try {
      res = await fetch(url, {
        method: req.method,
        headers,
        signal: req.signal
          ? AbortSignal.any([req.signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs),
        ...(req.body ? { body: req.body } : {}),
        ...(client ? { client } : {}),
      });
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (err instanceof DOMException) throw err; // TimeoutError: mapped by name
      throw Object.assign(new Error(`Upstream unreachable: ${(err as Error).message}`), { code: "ECONNREFUSED" });
    }
    const body = await res.text();
    if (res.status >= 300 || (res.status === 200 && body.includes("<Error>"))) {
      throw upstreamError(res.status >= 300 ? res.status : 500, body);
    }
    return { status: res.status, headers: res.headers, body };
  }

  return {
    async send(req, notFound) {
      for (let n = 1;; n++) {
        try {
          return await attempt(req);
        } catch (err) {
          const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
          const retryable = e.code === "ECONNREFUSED" || e.name === "SlowDown" || e.name === "TimeoutError" ||
            RETRYABLE_STATUS.has(e.$metadata?.httpStatusCode ?? 0);
          if (req.signal?.aborted) throw req.signal.reason;
          if (!retryable || n >= attempts) throw mapS3Error(err, notFound);
          await new Promise((r) => setTimeout(r, 50 * 2 ** (n - 1)));
        }
      }
    },
    close() {
      client?.close();
    },
  };
}
