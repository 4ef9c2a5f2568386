/**
 * The S3 gateway: an S3 REST protocol server (SigV4 header and presigned auth, aws-chunked uploads with signed
 * chunks and checksum trailers, S3 XML errors) over any `ObjectStore`, emitting one `OperationEvent` per request.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ buckets, credentials, events, clock, logger, region: "us-east-1" });
 * Deno.serve({ port: 9000 }, (req, info) => gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname }));
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import type { Clock } from "../clock.ts";
import type { EventBus, OperationEvent } from "../events/mod.ts";
import type { Logger } from "../log.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { type BucketConfigStore, createMemoryBucketConfigStore } from "./bucket_config.ts";
import type { CredentialStore } from "./credentials.ts";
import { type S3Answer, toResponse } from "./answer.ts";
import { createRequestHandler, stoppingRefusal } from "./gateway.ts";
import { createGatewayMetrics } from "./metrics.ts";
import { type IncomingRequest, incomingRequest } from "./request_headers.ts";

export type { Credential, CredentialStore, Grant, Identity, Permission } from "./credentials.ts";
export { createStaticCredentialStore } from "./credentials.ts";
export type { BucketConfig, BucketConfigName, BucketConfigStore } from "./bucket_config.ts";
export type { CorsRule } from "./cors.ts";

export interface GatewayDeps {
  buckets: ObjectStore;
  /**
   * The buckets' CORS rules, lifecycle rules and tags (the bucket router keeps them in the database); default: in
   * memory.
   */
  bucketConfig?: BucketConfigStore;
  credentials: CredentialStore;
  events: EventBus<OperationEvent>;
  clock: Clock;
  logger: Logger;
  /** Region reported by GetBucketLocation and required in signatures (default "us-east-1"). */
  region?: string;
  /** With "s3.example.com", `Host: bucket.s3.example.com` addresses `bucket` (virtual-host style). */
  virtualHostDomain?: string;
  /** Allowed difference between request time and server time (default 15 minutes). */
  maxClockSkewMs?: number;
}

export type { IncomingRequest } from "./request_headers.ts";
export type { S3Answer } from "./answer.ts";

export interface Gateway {
  fetch(req: Request, info: { remoteAddr: string }): Promise<Response>;
  /**
   * The answer to a request an HTTP server other than `Deno.serve` received (see `node_server.ts`), as plain data
   * for it to write.
   */
  handle(req: IncomingRequest, info: { remoteAddr: string }): Promise<S3Answer>;
  /**
   * What a stopping server answers a request it no longer serves: `503 ServiceUnavailable` with `Retry-After`, request
   * ids and an event, as for any other request.
   */
  stopping(req: Request, info: { remoteAddr: string }): Promise<Response>;
  /** Prometheus text for `/metrics`. */
  metrics(): string;
}

/** Largest single PUT or part (S3: 5 GiB). */
export const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * 1024;
const MAX_XML_BYTES = 2 * 1024 * 1024;

export function createGateway(deps: GatewayDeps): Gateway {
  const metrics = createGatewayMetrics();
  const handle = createRequestHandler({
    ...deps,
    bucketConfig: deps.bucketConfig ?? createMemoryBucketConfigStore(deps.buckets),
    region: deps.region ?? "us-east-1",
    virtualHostDomain: deps.virtualHostDomain,
    maxClockSkewMs: deps.maxClockSkewMs ?? 15 * 60 * 1000,
    limits: { maxObjectBytes: MAX_OBJECT_BYTES, maxXmlBytes: MAX_XML_BYTES },
    metrics,
  });
  // One catch-all route: S3 names its operations by method, path and query, which the pipeline resolves itself.
  // Hono adds well under a microsecond per request here.
  const app = new Hono<{ Bindings: { remoteAddr: string } }>();
  app.all("*", async (c) => toResponse(await handle(incomingRequest(c.req.raw), c.env.remoteAddr)));
  return {
    fetch: async (req, info) => await app.fetch(req, info),
    handle: (req, info) => handle(req, info.remoteAddr),
    stopping: async (req, info) =>
      toResponse(await handle({ ...incomingRequest(req), body: null, refusal: stoppingRefusal() }, info.remoteAddr)),
    metrics: () => metrics.render(),
  };
}
