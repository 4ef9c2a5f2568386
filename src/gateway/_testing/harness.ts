/**
 * Test harness: a gateway over the memory store with static credentials, a capturing event bus, and requests
 * signed by the AWS SDK's own SigV4 signer (`@smithy/signature-v4`), so tests check us against AWS's code.
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { type Clock, systemClock } from "../../clock.ts";
import { createEventBus, type OperationEvent } from "../../events/mod.ts";
import { type Logger, silentLogger } from "../../log.ts";
import { createMemoryStore } from "../../storage/memory.ts";
import type { ObjectStore } from "../../storage/mod.ts";
import { createStaticCredentialStore, type Credential } from "../credentials.ts";
import { createGateway, type Gateway, type GatewayDeps } from "../mod.ts";

export const ADMIN = {
  accessKeyId: "AKADMINEXAMPLE000001",
  secretAccessKey: "admin/secret/EXAMPLEKEY0000000000000000",
};
export const READER = {
  accessKeyId: "AKREADEREXAMPLE00002",
  secretAccessKey: "reader/secret/EXAMPLEKEY000000000000000",
};
export const WRITER = {
  accessKeyId: "AKWRITEREXAMPLE00003",
  secretAccessKey: "writer/secret/EXAMPLEKEY000000000000000",
};

function bytesOf(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class Sha256 {
  #h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#h = secret === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.#h.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#h.digest()));
  }
}

/** The `Content-MD5` header value of a request body (S3 requires one on bucket setting documents). */
export function contentMd5(body: string | Uint8Array): string {
  return createHash("md5").update(body).digest("base64");
}

export function sdkSigner(key: { accessKeyId: string; secretAccessKey: string }, region = "us-east-1"): SignatureV4 {
  return new SignatureV4({ credentials: key, region, service: "s3", sha256: Sha256, uriEscapePath: false });
}

export interface TestRequest {
  method?: string;
  /** Path with the raw (already encoded) key, e.g. `/bucket/a%20b`. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array | string | ReadableStream<Uint8Array>;
  /** Payload hash header; defaults to the SHA-256 of a byte body, UNSIGNED-PAYLOAD for streams. */
  contentSha256?: string;
  as?: { accessKeyId: string; secretAccessKey: string } | "anonymous";
  signingDate?: Date;
  presign?: { expiresIn: number };
  host?: string;
}

export interface Harness {
  gateway: Gateway;
  store: ObjectStore;
  events: OperationEvent[];
  request(r: TestRequest): Promise<Response>;
  /** Like `request`, reading the body as text. */
  text(r: TestRequest): Promise<{ res: Response; body: string }>;
}

export function createHarness(
  options: { clock?: Clock; store?: ObjectStore; virtualHostDomain?: string; logger?: Logger } = {},
): Harness {
  const store = options.store ?? createMemoryStore();
  const bus = createEventBus<OperationEvent>();
  const events: OperationEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const entries: Record<string, Credential> = {
    [ADMIN.accessKeyId]: { secretAccessKey: ADMIN.secretAccessKey, admin: true, grants: [] },
    [READER.accessKeyId]: {
      secretAccessKey: READER.secretAccessKey,
      admin: false,
      grants: [{ bucket: "shared", prefix: "public/", permission: "read" }],
    },
    [WRITER.accessKeyId]: {
      secretAccessKey: WRITER.secretAccessKey,
      admin: false,
      grants: [{ bucket: "shared", prefix: "team/", permission: "write" }],
    },
  };
  const deps: GatewayDeps = {
    buckets: store,
    credentials: createStaticCredentialStore(entries),
    events: bus,
    clock: options.clock ?? systemClock(),
    logger: options.logger ?? silentLogger(),
    ...(options.virtualHostDomain ? { virtualHostDomain: options.virtualHostDomain } : {}),
  };
  const gateway = createGateway(deps);

  async function request(r: TestRequest): Promise<Response> {
    const host = r.host ?? "localhost:9000";
    const body = typeof r.body === "string" ? new TextEncoder().encode(r.body) : r.body;
    const headers: Record<string, string> = { host, ...r.headers };
    if (body instanceof Uint8Array && headers["content-length"] === undefined) {
      headers["content-length"] = String(body.length);
    }
    if (!r.presign) {
      headers["x-amz-content-sha256"] ??= r.contentSha256 ??
        (body instanceof ReadableStream
          ? "UNSIGNED-PAYLOAD"
          : createHash("sha256").update(body ?? new Uint8Array()).digest("hex"));
    }
    let query = r.query ?? {};
    if (r.as !== "anonymous") {
      const signer = sdkSigner(r.as ?? ADMIN);
      const [hostname, port] = host.split(":");
      const unsigned = {
        method: r.method ?? "GET",
        protocol: "http:",
        hostname: hostname!,
        port: Number(port ?? 80),
        path: r.path,
        query,
        headers,
      };
      const signed = r.presign
        ? await signer.presign(
          // As @aws-sdk/s3-request-presigner: the payload is unsigned and the marker header is not sent.
          { ...unsigned, headers: { ...headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } },
          {
            expiresIn: r.presign.expiresIn,
            signingDate: r.signingDate ?? new Date(),
            unsignableHeaders: new Set(["x-amz-content-sha256"]),
          },
        )
        : await signer.sign(unsigned, { signingDate: r.signingDate ?? new Date() });
      Object.assign(headers, signed.headers);
      if (r.presign) delete headers["x-amz-content-sha256"];
      query = signed.query as Record<string, string>;
    }
    const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
    const url = `http://${host}${r.path}${qs ? "?" + qs : ""}`;
    const init: RequestInit = {
      method: r.method ?? "GET",
      headers,
      ...(body !== undefined ? { body: body as BodyInit } : {}),
    };
    return await gateway.fetch(new Request(url, init), { remoteAddr: "127.0.0.1" });
  }

  return {
    gateway,
    store,
    events,
    request,
    async text(r) {
      const res = await request(r);
      return { res, body: await res.text() };
    },
  };
}

/** The `<Code>` of an S3 error body. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}
