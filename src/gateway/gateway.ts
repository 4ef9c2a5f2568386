/**
 * The request pipeline: route → authenticate → handler → S3 error mapping, with request ids on every response,
 * one `OperationEvent` per request (published when the response body has been sent, or handed over whole when it
 * is a byte array) and metrics.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { EventBus, OperationEvent, S3Operation } from "../events/mod.ts";
import { ReportedBodyFailure, SHUTTING_DOWN } from "../http_server.ts";
import type { Logger } from "../log.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { authenticate, authenticatePostForm, type AuthResult } from "./auth.ts";
import type { CredentialStore, Identity } from "./credentials.ts";
import type { S3Answer } from "./answer.ts";
import type { BucketConfigStore } from "./bucket_config.ts";
import { CORS_VARY, type CorsRequest, corsResponseHeaders, type CorsRule, matchingRule } from "./cors.ts";
import type { EventDraft, GatewayLimits, RequestContext } from "./handlers/_context.ts";
import { HANDLERS } from "./handlers/mod.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { createPayload, type Payload } from "./payload.ts";
import type { IncomingRequest } from "./request_headers.ts";
import { createRequestIds, type RequestIds } from "./request_ids.ts";
import { resolveRoute, type Route } from "./routes.ts";
import { errorResponse, S3Error } from "./s3_errors.ts";
import { createSigningKeyCache, type SigningKeys } from "./wire/sigv4.ts";

/** Largest total size of request header names and values. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** What a stopping server answers a new request: 503, with when to try again, on a connection it closes. */
export function stoppingRefusal(): S3Error {
  return new S3Error("ServiceUnavailable", "The server is stopping; retry in a few seconds", {
    headers: { ...SHUTTING_DOWN.headers },
  });
}

export interface PipelineDeps {
  buckets: ObjectStore;
  bucketConfig: BucketConfigStore;
  credentials: CredentialStore;
  events: EventBus<OperationEvent>;
  clock: Clock;
  logger: Logger;
  region: string;
  virtualHostDomain: string | undefined;
  maxClockSkewMs: number;
  limits: GatewayLimits;
  metrics: GatewayMetrics;
}

/** The caller of a request that has not (yet) proven who it is. */
const ANONYMOUS: Identity = { accessKeyId: "anonymous", admin: false, grants: [] };

type Deps = PipelineDeps & { signingKeys: SigningKeys; requestIds: () => RequestIds };

/** The request handler over `deps`. */
export function createRequestHandler(
  deps: PipelineDeps,
): (req: IncomingRequest, remoteAddr: string) => Promise<S3Answer> {
  const withKeys: Deps = { ...deps, signingKeys: createSigningKeyCache(), requestIds: createRequestIds() };
  return (req, remoteAddr) => handleRequest(req, remoteAddr, withKeys);
}

async function handleRequest(
  req: IncomingRequest,
  remoteAddr: string,
  deps: Deps,
): Promise<S3Answer> {
  const time = deps.clock.now();
  const ids = deps.requestIds();
  const { url, path, headers, headerBytes } = req;
  const route: Route = req.refusal ? { op: "Unknown" } : resolveRoute(req, deps.virtualHostDomain);
  const draft: EventDraft = {};
  let auth: AuthResult | undefined;
  let payload: Payload | undefined;
  let errorCode: string | undefined;
  deps.metrics.started();
  let response: S3Answer;
  try {
    if (req.refusal) throw req.refusal;
    if (headerBytes > MAX_HEADER_BYTES) throw new S3Error("RequestHeaderSectionTooLarge");
    // A browser-based upload is authenticated by its form (`signPostForm`), read by the handler; a browser's
    // preflight carries no authentication.
    auth = route.op === "PostObject" || route.op === "PreflightRequest" ? undefined : await authenticate(req, deps);
    if (route.error) throw route.error;
    const authed = auth;
    const ctx: RequestContext = {
      req,
      headers,
      url,
      bucket: route.bucket,
      key: route.key,
      store: deps.buckets,
      bucketConfig: deps.bucketConfig,
      identity: auth?.identity ?? ANONYMOUS,
      signPostForm: async (fields) => {
        const identity = await authenticatePostForm(fields, deps);
        auth = { identity, payload: { kind: "unsigned" } };
        return identity;
      },
      clock: deps.clock,
      region: deps.region,
      limits: deps.limits,
      event: draft,
      ids,
      payload: (options) =>
        payload ??= createPayload(req, {
          mode: authed?.payload ?? { kind: "unsigned" },
          maxBytes: deps.limits.maxObjectBytes,
          ...(authed?.chunkSigning ? { chunkSigning: authed.chunkSigning } : {}),
          ...options,
        }, headers),
    };
    response = await HANDLERS[route.op as Exclude<S3Operation, "Unknown">](ctx);
  } catch (thrown) {
    const err = payload?.failure() ?? thrown;
    await payload?.release(err);
    const mapped = errorResponse(err, { method: req.method, resource: path, ids });
    if (!mapped.known) {
      deps.logger.error("S3 request failed unexpectedly", {
        requestId: ids.requestId,
        op: route.op,
        error: String(err),
      });
    }
    errorCode = mapped.code;
    response = mapped.response;
  }
  const origin = headers.get("origin");
  if (origin !== null && route.bucket !== undefined && route.op !== "PreflightRequest") {
    await addCorsHeaders(response, deps.bucketConfig, route.bucket, { origin, method: req.method, headers: [] });
  }
  // A request without a body that expects `100 Continue` gets its answer without one (as HTTP allows); botocore (the
  // AWS CLI, boto3) then misreads the next answer on that kept-alive connection and waits out its read timeout. On a
  // new connection it does not.
  if (headers.get("expect") !== null && (req.body === null || headers.get("content-length") === "0")) {
    response.headers["connection"] = "close";
  }
  const finish = (bytesOut: number, brokeOff?: BrokenBody) => {
    // A body that broke off mid-way (store failure, client gone) is recorded as an incomplete transfer.
    if (brokeOff !== undefined) errorCode ??= "IncompleteBody";
    const end = deps.clock.now();
    const bytesIn = payload?.bytesIn() ?? 0;
    const event: OperationEvent = {
      actor: auth?.identity.accessKeyId ?? "anonymous",
      op: route.op,
      status: response.status,
      requestId: ids.requestId,
      clientAddress: remoteAddr,
      time,
      durationMs: end.getTime() - time.getTime(),
      bytesIn,
      bytesOut,
    };
    // Optional fields are set only when known, so subscribers never see them present but undefined.
    if (route.bucket !== undefined) event.bucket = route.bucket;
    const key = route.key ?? draft.key;
    if (key !== undefined) event.key = key;
    if (draft.size !== undefined) event.size = draft.size;
    if (draft.etag !== undefined) event.etag = draft.etag;
    if (draft.checksums && Object.keys(draft.checksums).length > 0) {
      event.checksums = draft.checksums as Record<string, string>;
    }
    if (draft.source) event.source = draft.source;
    if (draft.deletedKeys) event.deletedKeys = draft.deletedKeys;
    if (errorCode !== undefined) event.errorCode = errorCode;
    deps.metrics.finished({
      op: route.op,
      status: response.status,
      seconds: event.durationMs / 1000,
      bytesIn,
      bytesOut,
    });
    deps.events.publish(event);
    if (brokeOff?.by === "source") {
      deps.logger.warn("S3 response broke off: the client got a short body", {
        requestId: ids.requestId,
        op: route.op,
        ...(event.bucket !== undefined ? { bucket: event.bucket } : {}),
        ...(event.key !== undefined ? { key: event.key } : {}),
        bytesOut,
        error: String(brokeOff.error),
      });
    }
  };
  const { body } = response;
  // A body in memory is handed to the server in one piece: recorded as sent now.
  if (body === null || body instanceof Uint8Array) {
    finish(body?.byteLength ?? 0);
    return response;
  }
  return { ...response, body: countingStream(body, finish) };
}

/**
 * The CORS headers of a web page's request, success or error, from the first of the bucket's rules that allows it;
 * only `Vary` when none does, and nothing when the bucket has no rules (or does not exist: the answer says so).
 */
async function addCorsHeaders(
  response: S3Answer,
  config: BucketConfigStore,
  bucket: string,
  request: CorsRequest,
): Promise<void> {
  let rules: CorsRule[] | undefined;
  try {
    rules = await config.configOf(bucket, "cors");
  } catch {
    return;
  }
  if (rules === undefined) return;
  const rule = matchingRule(rules, request);
  const added = rule ? corsResponseHeaders(rule, request.origin) : { vary: CORS_VARY };
  Object.assign(response.headers, added);
}

/** Why a response body ended before its last byte: its source failed, or the client went away. */
interface BrokenBody {
  by: "source" | "client";
  error: unknown;
}

/**
 * Pass `body` through, calling `done` once with the bytes sent when it ends, fails or is cancelled. A failure of
 * `body` is reported by `done`; the stream then fails with a `ReportedBodyFailure`, which the HTTP server answers by
 * cutting the connection without logging it again.
 */
function countingStream(
  body: ReadableStream<Uint8Array>,
  done: (bytes: number, brokeOff?: BrokenBody) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let finished = false;
  const once = (brokeOff?: BrokenBody) => {
    if (finished) return;
    finished = true;
    done(bytes, brokeOff);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          controller.close();
          once();
          return;
        }
        bytes += value.byteLength;
        controller.enqueue(value);
      } catch (err) {
        once({ by: "source", error: err });
        controller.error(new ReportedBodyFailure(String(err), { cause: err }));
      }
    },
    async cancel(reason) {
      once({ by: "client", error: reason ?? new Error("cancelled") });
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
