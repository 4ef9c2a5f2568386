/**
 * The `CORSConfiguration` document of PutBucketCors and GetBucketCors, read strictly (what S3 refuses is refused
 * here, with its error codes) and written back in S3's element order.
 *
 * @module
 */
import { type CorsRule, isCorsMethod } from "../cors.ts";
import { S3Error } from "../s3_errors.ts";
import { childrenNamed, type XmlElement, type XmlNode } from "./xml.ts";

export const MAX_CORS_RULES = 100;
const MAX_RULE_ID = 255;
const RULE_ELEMENTS = new Set([
  "ID",
  "AllowedOrigin",
  "AllowedMethod",
  "AllowedHeader",
  "ExposeHeader",
  "MaxAgeSeconds",
]);

function malformed(message: string): S3Error {
  return new S3Error("MalformedXML", message);
}

function oneWildcardAtMost(element: string, values: string[]): void {
  for (const value of values) {
    if (value.indexOf("*") !== value.lastIndexOf("*")) {
      throw new S3Error("InvalidRequest", `${element} "${value}" can not have more than one wildcard.`);
    }
  }
}

/** An HTTP field name (RFC 9110 token). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function parseRule(el: XmlElement): CorsRule {
  for (const child of el.children) {
    if (!RULE_ELEMENTS.has(child.name)) throw malformed(`Unexpected element ${child.name} in CORSRule`);
  }
  const texts = (name: string) => childrenNamed(el, name).map((c) => c.text.trim());
  const allowedOrigins = texts("AllowedOrigin");
  const methods = texts("AllowedMethod");
  if (allowedOrigins.length === 0 || methods.length === 0) {
    throw malformed("Every CORSRule needs at least one AllowedOrigin and one AllowedMethod");
  }
  const unsupported = methods.find((m) => !isCorsMethod(m));
  if (unsupported !== undefined) {
    throw new S3Error(
      "InvalidRequest",
      `Found unsupported HTTP method in CORS config. Unsupported method is ${unsupported}`,
    );
  }
  const allowedHeaders = texts("AllowedHeader");
  oneWildcardAtMost("AllowedOrigin", allowedOrigins);
  oneWildcardAtMost("AllowedHeader", allowedHeaders);
  // Sent back in a header of every answer the rule allows.
  const exposeHeaders = texts("ExposeHeader");
  const notAName = exposeHeaders.find((v) => !FIELD_NAME.test(v));
  if (notAName !== undefined) {
    throw new S3Error("InvalidRequest", `ExposeHeader "${notAName}" is not an HTTP header name`);
  }
  const rule: CorsRule = {
    allowedOrigins,
    allowedMethods: methods.filter(isCorsMethod),
    allowedHeaders,
    exposeHeaders,
  };
  const [id, ...moreIds] = texts("ID");
  const [maxAge, ...moreMaxAges] = texts("MaxAgeSeconds");
  if (moreIds.length > 0 || moreMaxAges.length > 0) throw malformed("ID and MaxAgeSeconds may appear once per rule");
  if (id !== undefined) {
    if (id.length > MAX_RULE_ID) {
      throw new S3Error("InvalidArgument", `A CORSRule ID is at most ${MAX_RULE_ID} characters`);
    }
    rule.id = id;
  }
  if (maxAge !== undefined) {
    if (!/^\d{1,9}$/.test(maxAge)) throw malformed(`MaxAgeSeconds must be a whole number of seconds, not "${maxAge}"`);
    rule.maxAgeSeconds = Number(maxAge);
  }
  return rule;
}

/** The rules of a `CORSConfiguration` element. */
export function parseCorsConfiguration(root: XmlElement): CorsRule[] {
  if (root.children.some((c) => c.name !== "CORSRule")) {
    throw malformed("CORSConfiguration holds only CORSRule elements");
  }
  const rules = root.children.map(parseRule);
  if (rules.length === 0 || rules.length > MAX_CORS_RULES) {
    throw malformed(`A CORS configuration holds between 1 and ${MAX_CORS_RULES} rules`);
  }
  return rules;
}

/** The body of a `CORSConfiguration` document holding `rules`. */
export function corsConfigurationXml(rules: readonly CorsRule[]): XmlNode {
  return {
    CORSRule: rules.map((rule) => ({
      ID: rule.id,
      AllowedHeader: rule.allowedHeaders,
      AllowedMethod: rule.allowedMethods,
      AllowedOrigin: rule.allowedOrigins,
      ExposeHeader: rule.exposeHeaders,
      MaxAgeSeconds: rule.maxAgeSeconds,
    })),
  };
}
