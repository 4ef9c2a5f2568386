/** Reading the small XML request bodies (bounded, verified like any payload). @module */
import { concatBytes } from "../../bytes.ts";
import { S3Error } from "../s3_errors.ts";
import { parseXml, type XmlElement } from "../wire/xml.ts";
import type { HeaderReader } from "../request_headers.ts";
import type { RequestContext } from "./_context.ts";

/** For operations whose body S3 requires a digest of (DeleteObjects, bucket settings): Content-MD5 or a checksum. */
export function requireBodyDigest(h: HeaderReader): void {
  const hasDigest = h.has("content-md5") || h.has("x-amz-trailer") ||
    [...h.keys()].some((n) => /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.test(n));
  if (!hasDigest) throw new S3Error("InvalidRequest", "Missing required header for this request: Content-MD5");
}

/**
 * Read and parse the request body as XML with root `rootName`; MalformedXML on anything else or on a body over
 * `maxBytes` (default: the gateway's XML limit).
 */
export async function readXmlBody(
  ctx: RequestContext,
  rootName: string,
  options: XmlBodyOptions = {},
): Promise<XmlElement> {
  const root = await readOptionalXmlBody(ctx, rootName, options);
  if (root === undefined) throw new S3Error("MalformedXML", `Expected the root element ${rootName}`);
  return root;
}

/**
 * Like `readXmlBody`, for operations whose body is optional: undefined when the request has none. A request without
 * `Content-Length` has an empty body, not a missing one (`curl -X PUT`), so it is told apart by reading it.
 */
export async function readOptionalXmlBody(
  ctx: RequestContext,
  rootName: string,
  options: XmlBodyOptions = {},
): Promise<XmlElement | undefined> {
  if (ctx.req.body === null || ctx.headers.get("content-length") === "0") return undefined;
  const { maxBytes = ctx.limits.maxXmlBytes, ...payloadOptions } = options;
  const reader = ctx.payload(payloadOptions).stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new S3Error("MalformedXML", `The XML body exceeds ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  if (size === 0) return undefined;
  let root: XmlElement;
  try {
    root = parseXml(new TextDecoder("utf-8", { fatal: true }).decode(concatBytes(chunks)));
  } catch (err) {
    throw new S3Error("MalformedXML", err instanceof Error ? err.message : undefined);
  }
  if (root.name !== rootName) throw new S3Error("MalformedXML", `Expected the root element ${rootName}`);
  return root;
}

interface XmlBodyOptions {
  checksumHeadersDescribeBody?: boolean;
  maxBytes?: number;
}
