/**
 * Request authentication: SigV4 by `Authorization` header or presigned query, clock-skew and expiry checks, and
 * the payload mode the signature commits to (unsigned, hex SHA-256, or aws-chunked signed/unsigned with trailers).
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { CredentialStore, Identity } from "./credentials.ts";
import type { RequestHead, RequestTarget } from "./request_headers.ts";
import { hasBeyondAscii } from "../bytes.ts";
import { S3Error } from "./s3_errors.ts";
import {
  type CanonicalEncoding,
  canonicalQuery,
  canonicalRequest,
  canonicalUris,
  credentialScope,
  parseAmzDate,
  parseAuthorizationHeader,
  parsePostForm,
  parsePresignedQuery,
  signaturesEqual,
  signHex,
  signingKey,
  type SigningKeys,
  type SigV4Credential,
  stringToSign,
  toAmzDate,
} from "./wire/sigv4.ts";

/** What the signature says about the body. */
export type PayloadMode =
  | { kind: "unsigned" }
  | { kind: "sha256"; hex: string }
  | { kind: "chunked"; signed: boolean; trailer: boolean };

/** Context to verify aws-chunked chunk and trailer signatures. */
export interface ChunkSigning {
  key: Uint8Array;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export interface AuthResult {
  identity: Identity;
  payload: PayloadMode;
  chunkSigning?: ChunkSigning;
}

export interface AuthDeps {
  credentials: CredentialStore;
  clock: Clock;
  maxClockSkewMs: number;
  /** The region requests must be signed for; a signature for another region is rejected, as AWS does. */
  region: string;
  /** Memoized signing keys (`createSigningKeyCache`); computed per request without it. */
  signingKeys?: SigningKeys;
}

const STREAMING: Record<string, PayloadMode> = {
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": { kind: "chunked", signed: true, trailer: false },
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": { kind: "chunked", signed: true, trailer: true },
  "STREAMING-UNSIGNED-PAYLOAD-TRAILER": { kind: "chunked", signed: false, trailer: true },
};

function payloadMode(value: string): PayloadMode {
  if (value === "UNSIGNED-PAYLOAD") return { kind: "unsigned" };
  const streaming = STREAMING[value];
  if (streaming) return streaming;
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: "sha256", hex: value.toLowerCase() };
  if (value.startsWith("STREAMING-AWS4-ECDSA")) throw new S3Error("NotImplemented", "SigV4a signing is not supported");
  throw new S3Error(
    "InvalidArgument",
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a SHA-256 hex digest",
  );
}

function malformed(err: unknown, code: "AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError"): never {
  throw new S3Error(code, err instanceof Error ? err.message : String(err));
}

/** Authenticate `req`; throws `S3Error` (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId, …). */
export async function authenticate(req: RequestTarget, deps: AuthDeps): Promise<AuthResult> {
  const { url } = req;
  const header = req.headers.get("authorization");
  const presigned = url.searchParams.has("X-Amz-Algorithm") || url.searchParams.has("X-Amz-Signature");
  if (header !== null && presigned) {
    throw new S3Error(
      "InvalidArgument",
      "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified",
    );
  }
  if (header !== null) return await byHeader(req, header, deps);
  if (presigned) return await byQuery(req, deps);
  if (url.searchParams.has("AWSAccessKeyId")) {
    throw new S3Error(
      "InvalidRequest",
      "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256",
    );
  }
  throw new S3Error("AccessDenied", "Anonymous access is not allowed");
}

async function byHeader(req: RequestTarget, header: string, deps: AuthDeps): Promise<AuthResult> {
  if (header.startsWith("AWS ")) {
    throw new S3Error(
      "InvalidRequest",
      "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256",
    );
  }
  let cred: SigV4Credential;
  try {
    cred = parseAuthorizationHeader(header);
  } catch (err) {
    malformed(err, "AuthorizationHeaderMalformed");
  }
  const amzDate = req.headers.get("x-amz-date");
  const date = amzDate ? parseAmzDate(amzDate) : dateHeader(req.headers.get("date"));
  if (!date) throw new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
  if (Math.abs(deps.clock.now().getTime() - date.getTime()) > deps.maxClockSkewMs) {
    throw new S3Error("RequestTimeTooSkewed", undefined, {
      fields: {
        RequestTime: amzDate ?? req.headers.get("date") ?? "",
        ServerTime: deps.clock.now().toISOString(),
      },
    });
  }
  const contentSha = req.headers.get("x-amz-content-sha256");
  if (contentSha === null) {
    throw new S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  }
  const payload = payloadMode(contentSha);
  const signedAmzDate = amzDate ?? toAmzDate(date);
  const secret = await checkScope(cred, signedAmzDate, deps, "AuthorizationHeaderMalformed");
  const key = (deps.signingKeys ?? signingKey)(secret.secretAccessKey, cred);
  verify(req, cred, { amzDate: signedAmzDate, key, payloadHash: contentSha, excludeQuery: undefined });
  const identity = { accessKeyId: cred.accessKeyId, admin: secret.admin, grants: secret.grants };
  if (payload.kind === "chunked" && payload.signed) {
    return {
      identity,
      payload,
      chunkSigning: { key, amzDate: signedAmzDate, scope: credentialScope(cred), seedSignature: cred.signature },
    };
  }
  return { identity, payload };
}

async function byQuery(req: RequestTarget, deps: AuthDeps): Promise<AuthResult> {
  let params;
  try {
    params = parsePresignedQuery(req.url.searchParams);
  } catch (err) {
    malformed(err, "AuthorizationQueryParametersError");
  }
  const date = parseAmzDate(params.amzDate);
  if (!date) throw new S3Error("AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format");
  const now = deps.clock.now().getTime();
  if (date.getTime() - now > deps.maxClockSkewMs) throw new S3Error("AccessDenied", "Request is not valid yet");
  if (now > date.getTime() + params.expiresSeconds * 1000) throw new S3Error("AccessDenied", "Request has expired");
  const secret = await checkScope(params, params.amzDate, deps, "AuthorizationQueryParametersError");
  const key = (deps.signingKeys ?? signingKey)(secret.secretAccessKey, params);
  const contentSha = req.headers.get("x-amz-content-sha256");
  const payloadHash = contentSha !== null && params.signedHeaders.includes("x-amz-content-sha256")
    ? contentSha
    : "UNSIGNED-PAYLOAD";
  verify(req, params, {
    amzDate: params.amzDate,
    key,
    payloadHash,
    excludeQuery: "X-Amz-Signature",
    // Unsigned, it is not read (the payload counts as unsigned), so it changes nothing.
    mayBeUnsigned: "x-amz-content-sha256",
  });
  const payload = payloadHash === "UNSIGNED-PAYLOAD" ? { kind: "unsigned" as const } : payloadMode(payloadHash);
  if (payload.kind === "chunked") throw new S3Error("NotImplemented", "aws-chunked bodies need header authentication");
  return { identity: { accessKeyId: params.accessKeyId, admin: secret.admin, grants: secret.grants }, payload };
}

/**
 * The signer of a browser-based upload form (lower-case field names): its SigV4 fields and the signature over its
 * policy. The policy's own conditions are checked by the caller (`wire/post_policy.ts`).
 */
export async function authenticatePostForm(fields: Map<string, string>, deps: AuthDeps): Promise<Identity> {
  if (fields.has("awsaccesskeyid")) {
    throw new S3Error(
      "InvalidRequest",
      "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256",
    );
  }
  if (!fields.has("x-amz-signature")) throw new S3Error("AccessDenied", "Anonymous access is not allowed");
  let form;
  try {
    form = parsePostForm(fields);
  } catch (err) {
    throw new S3Error("InvalidArgument", err instanceof Error ? err.message : String(err));
  }
  if (!parseAmzDate(form.amzDate)) {
    throw new S3Error("InvalidArgument", "x-amz-date must be in the ISO8601 Long Format");
  }
  const secret = await checkScope(form, form.amzDate, deps, "AuthorizationQueryParametersError");
  const key = (deps.signingKeys ?? signingKey)(secret.secretAccessKey, form);
  if (!signaturesEqual(signHex(key, form.policy), form.signature)) {
    throw new S3Error("SignatureDoesNotMatch", undefined, { fields: { AWSAccessKeyId: form.accessKeyId } });
  }
  return { accessKeyId: form.accessKeyId, admin: secret.admin, grants: secret.grants };
}

async function checkScope(
  cred: Pick<SigV4Credential, "accessKeyId" | "date" | "region" | "service">,
  amzDate: string,
  deps: AuthDeps,
  malformedCode: "AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError",
) {
  if (cred.service !== "s3") {
    throw new S3Error(malformedCode, `The service '${cred.service}' in the credential scope is wrong; expecting 's3'`);
  }
  if (cred.region !== deps.region) {
    const what = malformedCode === "AuthorizationHeaderMalformed"
      ? "The authorization header is malformed"
      : "Error parsing the X-Amz-Credential parameter";
    throw new S3Error(malformedCode, `${what}; the region '${cred.region}' is wrong; expecting '${deps.region}'`, {
      fields: { Region: deps.region },
    });
  }
  if (!amzDate.startsWith(cred.date)) {
    throw new S3Error("SignatureDoesNotMatch", "The credential date does not match the request date");
  }
  const secret = await deps.credentials.lookup(cred.accessKeyId);
  if (!secret) throw new S3Error("InvalidAccessKeyId", undefined, { fields: { AWSAccessKeyId: cred.accessKeyId } });
  return secret;
}

/**
 * The `x-amz-*` headers of `req` its signature does not cover. S3 refuses a request with any: added to a signed
 * request (a presigned URL's, say), one would change what the request does — `x-amz-copy-source` turns a PUT into
 * a copy of another object, `x-amz-meta-*` or `x-amz-tagging` add to what is stored.
 */
function unsignedAmzHeaders(req: RequestHead, signed: readonly string[], mayBeUnsigned: string | undefined): string[] {
  const unsigned: string[] = [];
  req.headers.forEach((_, name) => {
    if (name.startsWith("x-amz-") && name !== mayBeUnsigned && !signed.includes(name)) unsigned.push(name);
  });
  return unsigned;
}

function verify(
  req: RequestTarget,
  cred: SigV4Credential,
  opts: {
    amzDate: string;
    key: Uint8Array;
    payloadHash: string;
    excludeQuery: string | undefined;
    mayBeUnsigned?: string;
  },
): void {
  if (!cred.signedHeaders.includes("host")) {
    throw new S3Error("AccessDenied", "The host header must be signed");
  }
  const unsigned = unsignedAmzHeaders(req, cred.signedHeaders, opts.mayBeUnsigned);
  if (unsigned.length > 0) {
    throw new S3Error("AccessDenied", "There were headers present in the request which were not signed", {
      fields: { HeadersNotSigned: unsigned.join(", ") },
    });
  }
  const query = canonicalQuery(req.url.search.slice(1), opts.excludeQuery);
  const scope = credentialScope(cred);
  for (const uri of canonicalUris(req.path)) {
    const creq = canonicalRequest({
      method: req.method,
      canonicalUri: uri,
      canonicalQuery: query,
      header: (name) => req.headers.get(name),
      signedHeaders: cred.signedHeaders,
      payloadHash: opts.payloadHash,
    });
    const signs = (encoding: CanonicalEncoding) =>
      signaturesEqual(signHex(opts.key, stringToSign(opts.amzDate, scope, creq, encoding)), cred.signature);
    // The UTF-8 reading only differs, and is only tried, for a request with bytes beyond ASCII.
    if (signs("latin1") || (hasBeyondAscii(creq) && signs("utf8"))) return;
  }
  throw new S3Error("SignatureDoesNotMatch", undefined, { fields: { AWSAccessKeyId: cred.accessKeyId } });
}

function dateHeader(value: string | null): Date | undefined {
  if (value === null) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
