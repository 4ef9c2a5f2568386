/** Response shapes shared by handlers, built with the request's ids. @module */
import { type RequestIds, withIds } from "../request_ids.ts";
import { buildXml, type XmlNode } from "../wire/xml.ts";
import { type S3Answer, s3Answer } from "../answer.ts";

/** `headers` (taken, not copied) get the content type and the ids. */
export function xmlResponse(
  ids: RequestIds,
  root: string,
  body: XmlNode,
  headers: Record<string, string> = {},
): S3Answer {
  headers["content-type"] = "application/xml";
  return s3Answer(buildXml(root, body), 200, withIds(ids, headers));
}

/** `headers` (taken, not copied) get the ids. */
export function emptyResponse(ids: RequestIds, status: number, headers: Record<string, string> = {}): S3Answer {
  return s3Answer(null, status, withIds(ids, headers));
}

/** The path-style URL of an object on the endpoint `url` was sent to (the `Location` S3 answers uploads with). */
export function objectUrl(url: URL, bucket: string, key: string): string {
  return `${url.origin}/${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** S3 timestamps in listings: ISO 8601 with milliseconds. */
export function isoDate(d: Date): string {
  return d.toISOString();
}

/** Objects carry no owner of their own; listings report the appliance. */
export const OWNER = { ID: "s3plugin", DisplayName: "s3plugin" };
