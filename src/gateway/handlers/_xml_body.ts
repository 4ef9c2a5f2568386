/** Reading the small XML request bodies (bounded, verified like any payload). @module */
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
  options: { checksumHeadersDescribeBody?: boolean; maxBytes?: number } = {},
): Promise<XmlElement> {
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
  const bytes = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.byteLength;
  }
  let root: XmlElement;
  try {
    root = parseXml(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new S3Error("MalformedXML", err instanceof Error ? err.message : undefined);
  }
  if (root.name !== rootName) throw new S3Error("MalformedXML", `Expected the root element ${rootName}`);
  return root;
}
