/** Response shapes shared by handlers. @module */
import { buildXml, type XmlNode } from "../wire/xml.ts";

export function xmlResponse(
  root: string,
  body: XmlNode,
  init: { status?: number; headers?: HeadersInit } = {},
): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/xml");
  return new Response(buildXml(root, body), { status: init.status ?? 200, headers });
}

export function emptyResponse(status = 200, headers?: HeadersInit): Response {
  return new Response(null, { status, headers });
}

/** S3 timestamps in listings: ISO 8601 with milliseconds. */
export function isoDate(d: Date): string {
  return d.toISOString();
}

/** Objects carry no owner of their own; listings report the appliance. */
export const OWNER = { ID: "s3plugin", DisplayName: "s3plugin" };
