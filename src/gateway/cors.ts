/**
 * Cross-origin resource sharing for browsers, with S3's rules: a bucket holds up to 100 CORS rules, and a request from
 * a web page (its `Origin`, its method and, for a preflight, the headers it wants to send) is allowed by the first rule
 * whose origins, methods and allowed headers all cover it. Origins and headers may hold one `*` each.
 *
 * @module
 */

export const CORS_METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"] as const;
export type CorsMethod = typeof CORS_METHODS[number];

export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: CorsMethod[];
  /** Headers a preflight may ask to send (matched case-insensitively). */
  allowedHeaders: string[];
  /** Response headers the page's script may read. */
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export function isCorsMethod(method: string): method is CorsMethod {
  return (CORS_METHODS as readonly string[]).includes(method);
}

/** `pattern` with at most one `*`, which stands for any run of characters. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf("*");
  if (star === -1) return pattern === value;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  return value.length >= prefix.length + suffix.length && value.startsWith(prefix) && value.endsWith(suffix);
}

export interface CorsRequest {
  origin: string;
  method: string;
  /** Lower-case names of the headers a preflight asks for (none for an actual request). */
  headers: string[];
}

/** The first rule allowing `request`. Origins compare case-insensitively: browsers send them in lower case. */
export function matchingRule(rules: readonly CorsRule[], request: CorsRequest): CorsRule | undefined {
  const origin = request.origin.toLowerCase();
  return rules.find((rule) =>
    rule.allowedMethods.includes(request.method as CorsMethod) &&
    rule.allowedOrigins.some((pattern) => wildcardMatch(pattern.toLowerCase(), origin)) &&
    request.headers.every((name) => rule.allowedHeaders.some((pattern) => wildcardMatch(pattern.toLowerCase(), name)))
  );
}

/** The headers split from an `Access-Control-Request-Headers` value, lower-cased. */
export function requestedHeaders(value: string | null): string[] {
  if (value === null) return [];
  return value.split(",").map((name) => name.trim().toLowerCase()).filter((name) => name !== "");
}

/** What caches must key a response on once a bucket has CORS rules. */
export const CORS_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/**
 * The response headers `rule` gives a request from `origin`: a rule open to every origin answers `*` and no
 * credentials, as S3 does; any other names the origin and allows credentials. `preflightHeaders` are the
 * headers a preflight asked for, all allowed.
 */
export function corsResponseHeaders(
  rule: CorsRule,
  origin: string,
  preflightHeaders: string[] = [],
): Record<string, string> {
  const anyOrigin = rule.allowedOrigins.includes("*");
  const headers: Record<string, string> = {
    "access-control-allow-origin": anyOrigin ? "*" : origin,
    "access-control-allow-methods": rule.allowedMethods.join(", "),
    vary: CORS_VARY,
  };
  if (!anyOrigin) headers["access-control-allow-credentials"] = "true";
  if (preflightHeaders.length > 0) headers["access-control-allow-headers"] = preflightHeaders.join(", ");
  if (rule.exposeHeaders.length > 0) headers["access-control-expose-headers"] = rule.exposeHeaders.join(", ");
  if (rule.maxAgeSeconds !== undefined) headers["access-control-max-age"] = String(rule.maxAgeSeconds);
  return headers;
}
