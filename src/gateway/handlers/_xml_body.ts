/** Reading the small XML request bodies (bounded, verified like any payload). @module */
import { S3Error } from "../s3_errors.ts";
import { parseXml, type XmlElement } from "../wire/xml.ts";
import type { RequestContext } from "./_context.ts";

/** Read and parse the request body as XML with root `rootName`; MalformedXML on anything else. */
export async function readXmlBody(
  ctx: RequestContext,
  rootName: string,
  options: { checksumHeadersDescribeBody?: boolean } = {},
): Promise<XmlElement> {
  const reader = ctx.payload(options).stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > ctx.limits.maxXmlBytes) {
      await reader.cancel();
      throw new S3Error("MalformedXML", `The XML body exceeds ${ctx.limits.maxXmlBytes} bytes`);
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
